"""Per-chunk cost of a stream wrapper alone, without the SDK's own per-chunk work.

The per-chunk rows of ``overhead.py`` measure whole calls, where the SDK spends ~60-100 µs on
each chunk (SSE decoding, ``json.loads``, pydantic model construction) and the round-to-round
spread is several µs per chunk. This isolates what the instrumentation adds: 200 real
``ChatCompletionChunk`` objects (parsed once by the real SDK from the fake provider) are iterated
through a stand-in stream shaped like the SDK's ``Stream`` (``__iter__`` re-yielding
``_iterator``), bare and through each library's stream wrapper, built the way that library
builds it for a real call. The call's own start and end are left out (the end is switched off):
only the per-chunk step is timed. Each configuration runs in a fresh process.

    .venv-bench/bin/python benchmarks/per_chunk_pure.py [--rounds 7]

Configurations: ``tokentrace`` (default settings: usage asked for, chunk timing on) and
``contrib-openai-v2`` (the lowest peer on the openai stream rows). The usage tap, which works
on SSE events before the SDK parses them, is not part of this figure; ``--tap`` times it alone
over 200 events shaped like the provider's.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

CHUNKS = 200
TEXT = " ".join(["Paris is the capital of France and its largest city."] * 5)
MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]


class _SdkShapedStream:
    """Iterates like ``openai.Stream``: ``__iter__`` re-yields ``_iterator``; ``__next__`` delegates."""

    def __init__(self, chunks: list) -> None:
        self.response = object()
        self._iterator = iter(chunks)

    def __next__(self) -> Any:
        return self._iterator.__next__()

    def __iter__(self) -> Any:
        for item in self._iterator:
            yield item

    def close(self) -> None:
        pass


def _best(fn: Callable[[], None], n: int = 300) -> float:
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _worker(config: str, rounds: int) -> dict:
    logging.disable(logging.WARNING)
    from tokentrace.testing import CapturedTelemetry, FakeProvider, FakeReply

    fake = FakeProvider(chunks=CHUNKS, max_requests=0)
    fake.queue(*[FakeReply(text=TEXT)] * 10)
    client = fake.openai_client()
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    telemetry = CapturedTelemetry()
    if config == "tokentrace":
        import tokentrace

        tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        real = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        for _ in real:
            pass
        inv, acc_type, proxy_type = real._self_inv, type(real._self_acc), type(real)

        def wrapped() -> None:
            inv.ended, inv.chunk_times = True, []  # the call's end is not a per-chunk cost
            for _ in proxy_type(_SdkShapedStream(chunks), inv, acc_type(inv.request, True)):
                pass
    elif config == "contrib-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=telemetry.tracer_provider,
                                        meter_provider=telemetry.meter_provider)
        real = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        for _ in real:
            pass
        wrapper_type, invocation = type(real), real.invocation

        def wrapped() -> None:
            wrapper = wrapper_type(_SdkShapedStream(chunks), invocation, False)
            wrapper.cleanup = lambda error=None: None  # the call's end is not a per-chunk cost
            for _ in wrapper:
                pass
    else:
        raise SystemExit(f"unknown configuration {config!r}")

    def bare() -> None:
        for _ in _SdkShapedStream(chunks):
            pass

    per_chunk = []
    for _ in range(rounds):
        gc.collect()
        per_chunk.append((_best(wrapped) - _best(bare)) / len(chunks) * 1e6)
    return {"config": config, "chunks": len(chunks), "us_per_chunk": per_chunk}


def _tap_worker(rounds: int) -> dict:
    from openai._streaming import ServerSentEvent

    from tokentrace.instrumentation._openai_usage_tap import _tap

    data = ('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini",'
            '"system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" word"},"logprobs":null,'
            '"finish_reason":null}],"usage":null}')

    def run(tapped: bool) -> float:
        best = float("inf")
        for _ in range(300):
            events = [ServerSentEvent(data=data) for _ in range(CHUNKS)]
            start = time.perf_counter()
            for _ in (_tap(iter(events), lambda chunk: None) if tapped else iter(events)):
                pass
            best = min(best, time.perf_counter() - start)
        return best

    per_event = []
    for _ in range(rounds):
        gc.collect()
        per_event.append((run(True) - run(False)) / CHUNKS * 1e6)
    return {"config": "usage tap", "chunks": CHUNKS, "us_per_chunk": per_event}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--tap", action="store_true", help="also time the usage tap alone, per event")
    args = ap.parse_args()
    if args.worker:
        result = _tap_worker(args.rounds) if args.worker == "tap" else _worker(args.worker, args.rounds)
        print(json.dumps(result))
        return
    workers = ["tokentrace", "contrib-openai-v2"] + (["tap"] if args.tap else [])
    print(f"| configuration | chunks | µs per chunk, median of {args.rounds} (min … max) |")
    print("|---|---|---|")
    for config in workers:
        out = subprocess.run([sys.executable, __file__, "--worker", config, "--rounds", str(args.rounds)],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        v = result["us_per_chunk"]
        print(f"| {result['config']} | {result['chunks']} | {statistics.median(v):.3f} ({min(v):.3f} … {max(v):.3f}) |")


if __name__ == "__main__":
    main()
