"""The demo runs end to end and writes every kind of call to its OTLP JSON Lines file."""

from __future__ import annotations

import os
import subprocess
import sys

from tokentrace.exporters.file import iter_spans


def test_demo_writes_every_kind_of_call(tmp_path):
    """All providers, operations, streaming and errors appear in the demo's output file."""
    out = tmp_path / "demo.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TOKENTRACE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "tokentrace.demo", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "provider" in done.stdout and str(out) in done.stdout
    spans = [s["attributes"] for s in iter_spans(out)]
    assert len(spans) >= 30
    kinds = {(a["gen_ai.provider.name"], a["gen_ai.operation.name"], bool(a.get("gen_ai.request.stream"))) for a in spans}
    assert {("openai", "chat", False), ("openai", "chat", True), ("openai", "embeddings", False),
            ("anthropic", "chat", False), ("anthropic", "chat", True)} <= kinds
    assert any(a.get("error.type") == "RateLimitError" for a in spans)
    hits = [a for a in spans if a.get("tokentrace.cache.result") == "hit"]
    assert hits and all(a["tokentrace.cache.saved.input_tokens"] > 0 for a in hits)
    assert any(a.get("gen_ai.request.stream") for a in hits)  # a stream replayed from the cache
    sent = [a for a in spans if "error.type" not in a and a not in hits]
    assert all(a.get("gen_ai.usage.input_tokens", 0) > 0 for a in sent)
    assert all(a["tokentrace.cost.status"] in ("reported", "estimated") for a in sent)
    assert "saved by the response cache" in done.stdout
