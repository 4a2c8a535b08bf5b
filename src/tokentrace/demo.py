"""The tokentrace demo: a small app making calls of every kind against the built-in fake provider.

Run ``python -m tokentrace.demo`` (or ``make demo``). No API key and no network: the real
``openai`` and ``anthropic`` SDKs talk to a loopback fake shaped like the real APIs. Telemetry
goes to an OTLP JSON Lines file (the Collector file exporter's format), is summarised on the
console, and is also exported over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Exporting, the demo runs its calls in several rounds (``--rounds``, ``--interval``), flushing the
telemetry after each: Prometheus derives every rate and increase from two samples of a series, so
one burst flushed once would reach it at its final value and leave the dashboards at 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel

from .exporters.file import iter_spans
from .testing import FakeError, FakeProvider, FakeReply, FakeToolCall

CHAT_MODEL = "gpt-4o-mini"
RESPONSES_MODEL = "gpt-4.1-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
CLAUDE_MODEL = "claude-haiku-4-5"
QUESTIONS = [
    "What is OpenTelemetry?",
    "Explain time to first token in one sentence.",
    "Why cache LLM responses?",
    "Name three GenAI semantic convention attributes.",
]
DEFAULT_EXPORT_ROUNDS = 6
DEFAULT_EXPORT_INTERVAL_S = 30.0
"""Longer than the shipped stack's Prometheus scrape interval (15 s) plus its Collector's batch
timeout (5 s): every round's values are scraped before the next round's arrive."""
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


class CityAnswer(BaseModel):
    city: str
    country: str


def _prompt(text: str, round_no: int) -> str:
    """Round 1 asks ``text``; later rounds a variant of it, so the response cache answers the same
    share of each round instead of every call after the first round."""
    return text if round_no == 1 else f"{text} (round {round_no})"


def _user(text: str, round_no: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": _prompt(text, round_no)}]


def run_openai(fake: FakeProvider, base_url: str, round_no: int = 1) -> None:
    import openai

    client = openai.OpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0)
    for question in QUESTIONS:
        messages = _user(question, round_no)
        client.chat.completions.create(model=CHAT_MODEL, messages=messages, temperature=0.2)
        for _ in client.chat.completions.create(model=CHAT_MODEL, messages=messages, stream=True):
            pass
    fake.queue(FakeReply(text="", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    client.chat.completions.create(model=CHAT_MODEL, messages=_user("Weather in Paris?", round_no),
                                   tools=[WEATHER_TOOL])
    fake.queue(FakeReply(text="hello", input_tokens=2000, output_tokens=5, cached_tokens=1536))
    client.chat.completions.create(model=CHAT_MODEL, messages=_user("A long cached prompt", round_no))
    if hasattr(client.chat.completions, "stream"):
        helper = _user("Stream with the helper", round_no)
        with client.chat.completions.stream(model=CHAT_MODEL, messages=helper) as stream:
            stream.get_final_completion()
    parse = getattr(client.chat.completions, "parse", None) or getattr(client.beta.chat.completions, "parse", None)
    if parse is not None:
        fake.queue(FakeReply(text='{"city": "Paris", "country": "France"}'))
        parse(model=CHAT_MODEL, messages=_user("Capital of France?", round_no), response_format=CityAnswer)
    if hasattr(client, "responses"):
        client.responses.create(model=RESPONSES_MODEL, input=_prompt("Say hello", round_no),
                                instructions="Be brief.")
        for _ in client.responses.create(model=RESPONSES_MODEL, input=_prompt("Stream hello", round_no),
                                         stream=True):
            pass
    client.embeddings.create(model=EMBEDDING_MODEL, input=[_prompt(q, round_no) for q in QUESTIONS])
    raw = client.chat.completions.with_raw_response.create(model=CHAT_MODEL, messages=_user("raw", round_no))
    raw.parse()
    fake.queue(FakeError(status=429))
    try:
        client.chat.completions.create(model=CHAT_MODEL, messages=_user("rate limited", round_no))
    except openai.RateLimitError:
        pass
    client.close()


def run_anthropic(fake: FakeProvider, base_url: str, round_no: int = 1) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="demo-key", base_url=base_url, max_retries=0)
    # The first call writes its prompt to Anthropic's prompt cache; "Reuse the cached context" reads it.
    fake.queue(FakeReply(cache_creation_tokens=4000))
    for question in QUESTIONS:
        messages = _user(question, round_no)
        client.messages.create(model=CLAUDE_MODEL, max_tokens=256, messages=messages, system="Be brief.")
        for _ in client.messages.create(model=CLAUDE_MODEL, max_tokens=256, messages=messages, stream=True):
            pass
    helper = _user("Stream helper", round_no)
    with client.messages.stream(model=CLAUDE_MODEL, max_tokens=256, messages=helper) as stream:
        "".join(stream.text_stream)
    fake.queue(FakeReply(text="cached", input_tokens=20, output_tokens=3, cached_tokens=4000, cache_creation_tokens=0))
    client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("Reuse the cached context", round_no))
    fake.queue(FakeError(status=529))
    try:
        client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("overloaded", round_no))
    except anthropic.APIStatusError:
        pass
    client.close()


def run_cached(base_url: str, round_no: int = 1) -> None:
    """Repeated deterministic questions: the response cache answers them without a call."""
    import anthropic
    import openai

    client = openai.OpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0)
    for _ in range(3):
        for question in QUESTIONS[:2]:
            client.chat.completions.create(model=CHAT_MODEL, messages=_user(question, round_no), temperature=0)
    repeated = _user(QUESTIONS[0], round_no)
    for _ in client.chat.completions.create(model=CHAT_MODEL, messages=repeated, temperature=0, stream=True):
        pass  # a stream replayed from the cached answer
    claude = anthropic.Anthropic(api_key="demo-key", base_url=base_url, max_retries=0)
    with tokentrace_cache_control(scope="tenant-a"):
        for _ in range(2):
            claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("Cache me", round_no))
    client.close()
    claude.close()


def tokentrace_cache_control(**options: Any) -> Any:
    import tokentrace

    return tokentrace.cache_control(**options)


async def run_async(base_url: str, round_no: int = 1) -> None:
    import anthropic
    import openai

    async with openai.AsyncOpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0) as oa, \
            anthropic.AsyncAnthropic(api_key="demo-key", base_url=base_url, max_retries=0) as an:
        calls: list[Any] = []
        for question in QUESTIONS:
            calls.append(oa.chat.completions.create(model=CHAT_MODEL, messages=_user(question, round_no)))
            calls.append(an.messages.create(model=CLAUDE_MODEL, max_tokens=128, messages=_user(question, round_no)))
        await asyncio.gather(*calls)
        stream = await oa.chat.completions.create(model=CHAT_MODEL, messages=_user("async stream", round_no),
                                                  stream=True)
        async for _ in stream:
            pass


def summarise(path: Path) -> str:
    rows: dict[tuple, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for span in iter_spans(path):
        attrs = span["attributes"]
        if "gen_ai.operation.name" not in attrs:
            continue
        key = (
            attrs.get("gen_ai.provider.name"), attrs.get("gen_ai.operation.name"),
            attrs.get("gen_ai.request.model"), "stream" if attrs.get("gen_ai.request.stream") else "",
        )
        row = rows[key]
        row["calls"] += 1
        row["errors"] += 1 if "error.type" in attrs else 0
        row["ms"] += (int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"])) / 1e6
        row["in"] += attrs.get("gen_ai.usage.input_tokens", 0)
        row["out"] += attrs.get("gen_ai.usage.output_tokens", 0)
        row["cached"] += attrs.get("gen_ai.usage.cache_read.input_tokens", 0)
        row["hits"] += 1 if attrs.get("tokentrace.cache.result") == "hit" else 0
        row["cost"] += attrs.get("tokentrace.cost.total_usd", 0.0)
        row["saved"] += attrs.get("tokentrace.cache.saved.cost_usd", 0.0)
        row["unknown"] += 1 if attrs.get("tokentrace.cost.status") == "unknown" else 0
    header = (f"{'provider':<10} {'operation':<10} {'model':<24} {'mode':<6} {'calls':>5} {'errors':>6} {'hits':>4} "
              f"{'avg ms':>7} {'in':>7} {'out':>6} {'cached':>7} {'cost $':>10} {'saved $':>10}")
    lines = [header, "-" * len(header)]
    for (provider, operation, model, mode), row in sorted(rows.items(), key=lambda kv: tuple(map(str, kv[0]))):
        cost = f"{row['cost']:.6f}" + ("*" if row["unknown"] else "")
        lines.append(
            f"{provider:<10} {operation:<10} {model:<24} {mode:<6} {int(row['calls']):>5} {int(row['errors']):>6} "
            f"{int(row['hits']):>4} {row['ms'] / row['calls']:>7.1f} {int(row['in']):>7} {int(row['out']):>6} "
            f"{int(row['cached']):>7} {cost:>10} {row['saved']:>10.6f}"
        )
    total = sum(r["cost"] for r in rows.values())
    saved = sum(r["saved"] for r in rows.values())
    lines.append(f"\ntotal cost ${total:.6f}; saved by the response cache ${saved:.6f}"
                 + ("; * = some calls of unknown cost" if any(r["unknown"] for r in rows.values()) else ""))
    return "\n".join(lines)


def run_round(fake: FakeProvider, base_url: str, round_no: int) -> None:
    """Every kind of call, once."""
    run_openai(fake, base_url, round_no)
    run_anthropic(fake, base_url, round_no)
    run_cached(base_url, round_no)
    asyncio.run(run_async(base_url, round_no))


def flush_telemetry() -> None:
    from opentelemetry import metrics, trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    metrics.get_meter_provider().force_flush()  # type: ignore[attr-defined]
    from opentelemetry import _logs

    flush = getattr(_logs.get_logger_provider(), "force_flush", None)
    if flush is not None:
        flush()


def run_rounds(fake: FakeProvider, base_url: str, rounds: int, interval: float,
               say: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep) -> int:
    """``rounds`` rounds, ``interval`` seconds apart, flushing after each; returns the rounds run.

    Ctrl-C ends the rounds early; what was recorded is still flushed and summarised."""
    done = 0
    try:
        for round_no in range(1, rounds + 1):
            run_round(fake, base_url, round_no)
            flush_telemetry()
            done = round_no
            if round_no < rounds:
                say(f"round {round_no}/{rounds} flushed; the next one in {interval:g} s")
                sleep(interval)
    except KeyboardInterrupt:
        say(f"interrupted after {done} of {rounds} rounds")
    return done


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, got {text}")
    return value


def parse_args(argv: list[str] | None, exporting: bool) -> argparse.Namespace:
    """The options; ``--rounds``/``--interval`` default to several spaced rounds only when exporting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tokentrace-telemetry.jsonl", help="OTLP JSON Lines output file")
    parser.add_argument("--rounds", type=_positive_int,
                        help=f"times to run the calls (default: {DEFAULT_EXPORT_ROUNDS} with "
                             "OTEL_EXPORTER_OTLP_ENDPOINT set, else 1)")
    parser.add_argument("--interval", type=_non_negative_seconds, metavar="SECONDS",
                        help=f"pause between rounds (default: {DEFAULT_EXPORT_INTERVAL_S:g} with "
                             "OTEL_EXPORTER_OTLP_ENDPOINT set, else 0)")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = DEFAULT_EXPORT_ROUNDS if exporting else 1
    if args.interval is None:
        args.interval = DEFAULT_EXPORT_INTERVAL_S if exporting else 0.0
    return args


def main(argv: list[str] | None = None) -> int:
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    args = parse_args(argv, exporting)
    out = Path(args.out).resolve()
    if out.exists():
        out.unlink()
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "otlp" if exporting else "none")
    os.environ.setdefault("OTEL_METRICS_EXPORTER", "otlp" if exporting else "none")
    os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    os.environ.setdefault("OTEL_SERVICE_NAME", "tokentrace-demo")

    import tokentrace

    # The cache answers only deterministic requests (temperature 0) and Anthropic's default-sampled
    # ones here; the other demo calls sample and go to the provider.
    tokentrace.instrument(otlp_file=str(out), cache=tokentrace.CacheSettings(backend="memory", max_temperature=1.0))
    if args.rounds > 1:
        print(f"{args.rounds} rounds, {args.interval:g} s apart (about {(args.rounds - 1) * args.interval:.0f} s)")
    fake = FakeProvider()
    with fake.serve() as server:
        rounds = run_rounds(fake, server.base_url, args.rounds, args.interval)
    flush_telemetry()
    print(summarise(out))
    print(f"\nTelemetry (OTLP JSON Lines), {rounds} round{'s' if rounds != 1 else ''}: {out}")
    if exporting:
        print(f"Also exported over OTLP to {os.environ['OTEL_EXPORTER_OTLP_ENDPOINT']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
