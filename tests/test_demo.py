"""The demo runs end to end and writes every kind of call to its OTLP JSON Lines file; exporting,
it runs the calls in rounds with a flush after each, so Prometheus sees every series increase."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tokentrace import demo
from tokentrace.exporters.file import iter_spans


def _run_demo(out: Path, *options: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TOKENTRACE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "tokentrace.demo", "--out", str(out), *options],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _genai_spans(path: Path) -> list[dict]:
    """The GenAI spans, in the order the calls started."""
    spans = [s for s in iter_spans(path) if "gen_ai.operation.name" in s["attributes"]]
    return sorted(spans, key=lambda s: s["startTimeUnixNano"])


def _kind(span: dict) -> tuple:
    a = span["attributes"]
    return (a["gen_ai.provider.name"], a["gen_ai.operation.name"], a["gen_ai.request.model"],
            bool(a.get("gen_ai.request.stream")), a.get("error.type"), a.get("tokentrace.cache.result"))


@pytest.fixture(scope="module")
def one_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict]]:
    out = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    stdout = _run_demo(out)
    return stdout, _genai_spans(out)


def test_demo_writes_every_kind_of_call(one_round):
    """All providers, operations, streaming and errors appear in the demo's output file."""
    stdout, spans = one_round
    assert "provider" in stdout and "demo.jsonl" in stdout
    assert "saved by the response cache" in stdout
    attrs = [s["attributes"] for s in spans]
    assert len(attrs) >= 30
    kinds = {(a["gen_ai.provider.name"], a["gen_ai.operation.name"], bool(a.get("gen_ai.request.stream"))) for a in attrs}
    assert {("openai", "chat", False), ("openai", "chat", True), ("openai", "embeddings", False),
            ("anthropic", "chat", False), ("anthropic", "chat", True)} <= kinds
    assert any(a.get("error.type") == "RateLimitError" for a in attrs)
    hits = [a for a in attrs if a.get("tokentrace.cache.result") == "hit"]
    assert hits and all(a["tokentrace.cache.saved.input_tokens"] > 0 for a in hits)
    assert any(a.get("gen_ai.request.stream") for a in hits)  # a stream replayed from the cache
    sent = [a for a in attrs if "error.type" not in a and a not in hits]
    assert all(a.get("gen_ai.usage.input_tokens", 0) > 0 for a in sent)
    assert all(a["tokentrace.cost.status"] in ("reported", "estimated") for a in sent)


def test_without_an_endpoint_the_demo_runs_one_round(one_round):
    stdout, _ = one_round
    assert "1 round:" in stdout and "flushed" not in stdout


def test_every_round_makes_every_call_again(one_round, tmp_path):
    """--rounds 2: the file holds two rounds, each with the calls of a single round (new prompts,
    so the response cache answers the same calls in each)."""
    _, single = one_round
    out = tmp_path / "rounds.jsonl"
    stdout = _run_demo(out, "--rounds", "2", "--interval", "0")
    assert "round 1/2 flushed" in stdout and "2 rounds:" in stdout
    spans = _genai_spans(out)
    assert len(spans) == 2 * len(single)
    expected = Counter(map(_kind, single))
    first, second = spans[:len(single)], spans[len(single):]
    assert Counter(map(_kind, first)) == expected
    assert Counter(map(_kind, second)) == expected


def test_exporting_defaults_to_rounds_spaced_wider_than_a_scrape_and_a_batch():
    exporting = demo.parse_args([], exporting=True)
    assert exporting.rounds == demo.DEFAULT_EXPORT_ROUNDS > 1
    assert exporting.interval == demo.DEFAULT_EXPORT_INTERVAL_S > 15 + 5  # Prometheus scrape + Collector batch
    local = demo.parse_args([], exporting=False)
    assert (local.rounds, local.interval) == (1, 0)
    chosen = demo.parse_args(["--rounds", "3", "--interval", "0.5"], exporting=True)
    assert (chosen.rounds, chosen.interval) == (3, 0.5)


@pytest.mark.parametrize("options", [["--rounds", "0"], ["--interval", "-1"], ["--interval", "nan"]])
def test_rounds_and_interval_are_checked(options, capsys):
    with pytest.raises(SystemExit):
        demo.parse_args(options, exporting=False)


def _record_rounds(monkeypatch) -> list:
    steps: list = []
    monkeypatch.setattr(demo, "run_round", lambda fake, base_url, round_no: steps.append(("round", round_no)))
    monkeypatch.setattr(demo, "flush_telemetry", lambda: steps.append(("flush",)))
    return steps


def test_each_round_is_flushed_before_the_pause(monkeypatch):
    steps = _record_rounds(monkeypatch)
    rounds = demo.run_rounds(None, "", rounds=3, interval=30, say=lambda _: None,  # type: ignore[arg-type]
                             sleep=lambda seconds: steps.append(("sleep", seconds)))
    assert rounds == 3
    assert steps == [("round", 1), ("flush",), ("sleep", 30), ("round", 2), ("flush",), ("sleep", 30),
                     ("round", 3), ("flush",)]


def test_ctrl_c_ends_the_rounds_early(monkeypatch):
    steps = _record_rounds(monkeypatch)

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    said: list[str] = []
    rounds = demo.run_rounds(None, "", rounds=3, interval=30, say=said.append, sleep=interrupt)  # type: ignore[arg-type]
    assert rounds == 1
    assert steps == [("round", 1), ("flush",)] and "interrupted after 1 of 3 rounds" in said[-1]
