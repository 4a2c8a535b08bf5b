"""The tokentrace demo: a small app making calls of every kind against the built-in fake provider.

Run ``python -m tokentrace.demo`` (or ``make demo``). No API key and no network: the real
``openai`` and ``anthropic`` SDKs talk to a loopback fake shaped like the real APIs. Telemetry
goes to an OTLP JSON Lines file (the Collector file exporter's format), is summarised on the
console, and is also exported over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

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


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def run_openai(fake: FakeProvider, base_url: str) -> None:
    import openai

    client = openai.OpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0)
    for question in QUESTIONS:
        client.chat.completions.create(model=CHAT_MODEL, messages=_user(question), temperature=0.2)
        for _ in client.chat.completions.create(model=CHAT_MODEL, messages=_user(question), stream=True):
            pass
    fake.queue(FakeReply(text="", tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    client.chat.completions.create(model=CHAT_MODEL, messages=_user("Weather in Paris?"), tools=[WEATHER_TOOL])
    fake.queue(FakeReply(text="hello", input_tokens=2000, output_tokens=5, cached_tokens=1536))
    client.chat.completions.create(model=CHAT_MODEL, messages=_user("A long cached prompt"))
    if hasattr(client.chat.completions, "stream"):
        with client.chat.completions.stream(model=CHAT_MODEL, messages=_user("Stream with the helper")) as stream:
            stream.get_final_completion()
    parse = getattr(client.chat.completions, "parse", None) or getattr(client.beta.chat.completions, "parse", None)
    if parse is not None:
        fake.queue(FakeReply(text='{"city": "Paris", "country": "France"}'))
        parse(model=CHAT_MODEL, messages=_user("Capital of France?"), response_format=CityAnswer)
    if hasattr(client, "responses"):
        client.responses.create(model=RESPONSES_MODEL, input="Say hello", instructions="Be brief.")
        for _ in client.responses.create(model=RESPONSES_MODEL, input="Stream hello", stream=True):
            pass
    client.embeddings.create(model=EMBEDDING_MODEL, input=QUESTIONS)
    raw = client.chat.completions.with_raw_response.create(model=CHAT_MODEL, messages=_user("raw"))
    raw.parse()
    fake.queue(FakeError(status=429))
    try:
        client.chat.completions.create(model=CHAT_MODEL, messages=_user("rate limited"))
    except openai.RateLimitError:
        pass
    client.close()


def run_anthropic(fake: FakeProvider, base_url: str) -> None:
    import anthropic

    client = anthropic.Anthropic(api_key="demo-key", base_url=base_url, max_retries=0)
    for question in QUESTIONS:
        client.messages.create(model=CLAUDE_MODEL, max_tokens=256, messages=_user(question), system="Be brief.")
        for _ in client.messages.create(model=CLAUDE_MODEL, max_tokens=256, messages=_user(question), stream=True):
            pass
    with client.messages.stream(model=CLAUDE_MODEL, max_tokens=256, messages=_user("Stream helper")) as stream:
        "".join(stream.text_stream)
    fake.queue(FakeReply(text="cached", input_tokens=20, output_tokens=3, cached_tokens=4000, cache_creation_tokens=0))
    client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("Reuse the cached context"))
    fake.queue(FakeError(status=529))
    try:
        client.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("overloaded"))
    except anthropic.APIStatusError:
        pass
    client.close()


def run_cached(base_url: str) -> None:
    """Repeated deterministic questions: the response cache answers them without a call."""
    import anthropic
    import openai

    client = openai.OpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0)
    for _ in range(3):
        for question in QUESTIONS[:2]:
            client.chat.completions.create(model=CHAT_MODEL, messages=_user(question), temperature=0)
    for _ in client.chat.completions.create(model=CHAT_MODEL, messages=_user(QUESTIONS[0]), temperature=0, stream=True):
        pass  # a stream replayed from the cached answer
    claude = anthropic.Anthropic(api_key="demo-key", base_url=base_url, max_retries=0)
    with tokentrace_cache_control(scope="tenant-a"):
        for _ in range(2):
            claude.messages.create(model=CLAUDE_MODEL, max_tokens=64, messages=_user("Cache me"))
    client.close()
    claude.close()


def tokentrace_cache_control(**options: Any) -> Any:
    import tokentrace

    return tokentrace.cache_control(**options)


async def run_async(base_url: str) -> None:
    import anthropic
    import openai

    async with openai.AsyncOpenAI(api_key="demo-key", base_url=f"{base_url}/v1", max_retries=0) as oa, \
            anthropic.AsyncAnthropic(api_key="demo-key", base_url=base_url, max_retries=0) as an:
        calls: list[Any] = []
        for question in QUESTIONS:
            calls.append(oa.chat.completions.create(model=CHAT_MODEL, messages=_user(question)))
            calls.append(an.messages.create(model=CLAUDE_MODEL, max_tokens=128, messages=_user(question)))
        await asyncio.gather(*calls)
        stream = await oa.chat.completions.create(model=CHAT_MODEL, messages=_user("async stream"), stream=True)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tokentrace-telemetry.jsonl", help="OTLP JSON Lines output file")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    if out.exists():
        out.unlink()
    exporting = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "otlp" if exporting else "none")
    os.environ.setdefault("OTEL_METRICS_EXPORTER", "otlp" if exporting else "none")
    os.environ.setdefault("OTEL_LOGS_EXPORTER", "none")
    os.environ.setdefault("OTEL_SERVICE_NAME", "tokentrace-demo")

    import tokentrace
    from opentelemetry import metrics, trace

    # The cache answers only deterministic requests (temperature 0) and Anthropic's default-sampled
    # ones here; the other demo calls sample and go to the provider.
    tokentrace.instrument(otlp_file=str(out), cache=tokentrace.CacheSettings(backend="memory", max_temperature=1.0))
    fake = FakeProvider()
    with fake.serve() as server:
        run_openai(fake, server.base_url)
        run_anthropic(fake, server.base_url)
        run_cached(server.base_url)
        asyncio.run(run_async(server.base_url))
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    metrics.get_meter_provider().force_flush()  # type: ignore[attr-defined]
    print(summarise(out))
    print(f"\nTelemetry (OTLP JSON Lines): {out}")
    if exporting:
        print(f"Also exported over OTLP to {os.environ['OTEL_EXPORTER_OTLP_ENDPOINT']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
