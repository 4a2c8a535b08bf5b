#!/usr/bin/env python3
"""Before/after overhead of tokentrace, in one process, alternating in short rotations.

``overhead.py`` measures fresh processes and needs a quiet machine; when the machine has slow
phases of seconds (this 2-vCPU VM often does) most of its batches are thrown away. This script
trades that isolation for robustness: in one process it rotates, many times and in a shuffled
order, between no instrumentation, an older tokentrace (``--baseline DIR``: DIR/tokentrace is
imported under another name) and the working tree's tokentrace (default settings, and optionally
with ``TOKENTRACE_CHUNK_METRICS=false``). Each rotation times one short batch per variant, so
a slow phase hits every variant of that rotation alike; a variant's overhead is the median over
rotations of (its batch − that rotation's uninstrumented batch).

    python benchmarks/ab_inprocess.py --baseline /tmp/before --rotations 40

Each variant gets its own TracerProvider (BatchSpanProcessor into a discarding exporter, as in
overhead.py) and MeterProvider (InMemoryMetricReader); the SDKs are instrumented before its
batch and uninstrumented after it (untimed). Figures are µs per call.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import overhead  # noqa: E402

DEFAULT_ROWS = ("openai.chat", "openai.embeddings", "anthropic.messages", "openai.stream20",
                "anthropic.stream20", "openai.stream1", "anthropic.stream1")


def load_baseline(directory: str) -> Any:
    """Import DIR/tokentrace as ``tokentrace_before`` (its imports are relative)."""
    src = Path(directory) / "tokentrace"
    if not (src / "__init__.py").exists():
        raise SystemExit(f"--baseline: no tokentrace package in {directory}")
    dest = Path(tempfile.mkdtemp(prefix="tokentrace-ab-")) / "tokentrace_before"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    sys.path.insert(0, str(dest.parent))
    return importlib.import_module("tokentrace_before")


def providers() -> Tuple[Any, Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> Any:
            return SpanExportResult.SUCCESS

    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(Discard(), max_queue_size=65536, schedule_delay_millis=500))
    reader = InMemoryMetricReader()
    return tp, MeterProvider(metric_readers=[reader]), reader


class Variant:
    def __init__(self, name: str, package: Any, env: Dict[str, str]) -> None:
        self.name, self.package, self.env = name, package, env
        self.sdks = ("openai", "anthropic")
        if package is not None:
            self.tp, self.mp, self.reader = providers()

    def applies(self, sdk: str) -> bool:
        return sdk in self.sdks

    def on(self, sdk: str) -> None:
        if self.package is None:
            return
        os.environ.update(self.env)
        self.package.instrument(tracer_provider=self.tp, meter_provider=self.mp, sdks=(sdk,))

    def off(self) -> None:
        if self.package is None:
            return
        self.reader.get_metrics_data()  # untimed, as a periodic reader collects on its own thread
        self.package.uninstrument()
        for key in self.env:
            os.environ.pop(key, None)


class PeerVariant(Variant):
    """A peer instrumentation (``BaseInstrumentor``), instrumented and uninstrumented like ours."""

    def __init__(self, name: str, instrumentors: Dict[str, Callable[[], Any]]) -> None:
        self.name, self.env, self.package = name, {}, True
        self.sdks = tuple(instrumentors)
        self._factories = instrumentors
        self._current: Any = None
        self.tp, self.mp, self.reader = providers()

    def on(self, sdk: str) -> None:
        self._current = self._factories[sdk]()
        self._current.instrument(tracer_provider=self.tp, meter_provider=self.mp)

    def off(self) -> None:
        self.reader.get_metrics_data()
        self._current.uninstrument()
        self._current = None


def peer_variants() -> List[Variant]:
    def contrib() -> Any:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        return OpenAIInstrumentor()

    def openllmetry_openai() -> Any:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor()

    def openllmetry_anthropic() -> Any:
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

        return AnthropicInstrumentor()

    return [PeerVariant("contrib-openai-v2", {"openai": contrib}),
            PeerVariant("openllmetry", {"openai": openllmetry_openai, "anthropic": openllmetry_anthropic})]


def time_batch(fn: Callable[[], Any], calls: int) -> float:
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        fn()
    return (time.perf_counter_ns() - t0) / calls / 1000


def run_row(row_key: str, variants: List[Variant], rotations: int, calls: int, warmup: int,
            rng: random.Random) -> Dict[str, List[float]]:
    from tokentrace.testing import FakeProvider

    row = overhead.ROWS[row_key]
    fake = FakeProvider(chunks=row.chunks, max_requests=0)
    fn, is_async = overhead._call_fn(row, fake)
    if is_async:
        raise SystemExit(f"{row_key}: async rows are not supported here")
    n = max(5, round(calls * row.weight))
    variants = [v for v in variants if v.applies(row.sdk)]
    samples: Dict[str, List[float]] = {v.name: [] for v in variants}
    for _ in range(rotations):
        order = variants[:]
        rng.shuffle(order)
        for v in order:
            v.on(row.sdk)
            try:
                for _ in range(max(1, round(warmup * row.weight))):
                    fn()
                samples[v.name].append(time_batch(fn, n))
            finally:
                v.off()
    return samples


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", metavar="DIR", help="directory holding the older tokentrace package")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS))
    ap.add_argument("--rotations", type=int, default=30)
    ap.add_argument("--calls", type=int, default=100, help="calls per batch (non-stream rows; streams fewer)")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--no-chunk-metrics", action="store_true",
                    help="also measure the working tree with TOKENTRACE_CHUNK_METRICS=false")
    ap.add_argument("--peers", action="store_true",
                    help="also the peer instrumentations (contrib openai-v2, OpenLLMetry) in the same rotations")
    ap.add_argument("--out", default="", help="also write the table (markdown) to this file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    os.environ.update(overhead.COMMON_ENV)
    os.environ["ANTHROPIC_OPEN_TELEMETRY"] = "false"  # only tokentrace traces, in every variant
    for key in [k for k in os.environ if k.startswith("TOKENTRACE_")]:
        os.environ.pop(key)
    import warnings

    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("opentelemetry").setLevel(logging.ERROR)
    import tokentrace

    variants = [Variant("none", None, {})]
    if args.baseline:
        variants.append(Variant("before", load_baseline(args.baseline), {}))
    variants.append(Variant("after", tokentrace, {}))
    if args.no_chunk_metrics:
        variants.append(Variant("after, no chunk metrics", tokentrace, {"TOKENTRACE_CHUNK_METRICS": "false"}))
    if args.peers:
        variants += peer_variants()
    rng = random.Random(args.seed)
    names = [v.name for v in variants if v.name != "none"]
    lines = [f"{args.rotations} rotations, `python benchmarks/ab_inprocess.py {' '.join(sys.argv[1:])}`; overhead = "
             "median over rotations of (variant − none in the same rotation), µs per call [interquartile range]; "
             "— = the library does not instrument that SDK.", "",
             "| row | none µs | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    print("\n".join(lines), flush=True)
    medians: Dict[Tuple[str, str], float] = {}
    for row_key in [r for r in args.rows.split(",") if r]:
        samples = run_row(row_key, variants, args.rotations, args.calls, args.warmup, rng)
        base = samples["none"]
        cells = [overhead.ROWS[row_key].label, f"{statistics.median(base):.0f}"]
        for n in names:
            if n not in samples:
                cells.append("—")
                continue
            diffs = sorted(a - b for a, b in zip(samples[n], base))
            q1, q3 = diffs[len(diffs) // 4], diffs[(3 * len(diffs)) // 4]
            medians[(n, row_key)] = statistics.median(diffs)
            cells.append(f"{statistics.median(diffs):.0f} [{q1:.0f} … {q3:.0f}]")
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    chunk_rows = [(r, overhead.PER_CHUNK[r]) for r in overhead.PER_CHUNK
                  if ("none", r) not in medians and any((n, r) in medians for n in names)
                  and any((n, overhead.PER_CHUNK[r]) in medians for n in names)]
    if chunk_rows:
        lines += ["", "Per extra chunk ((20-chunk overhead − 1-chunk overhead) ÷ 19 chunks), µs:", "",
                  "| stream | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for row, one in chunk_rows:
            cells = [overhead.ROWS[row].label]
            for n in names:
                if (n, row) in medians and (n, one) in medians:
                    cells.append(f"{(medians[(n, row)] - medians[(n, one)]) / (overhead.STREAM_CHUNKS - 1):.1f}")
                else:
                    cells.append("—")
            lines.append("| " + " | ".join(cells) + " |")
        print("\n".join(lines[-(len(chunk_rows) + 4):]), flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
