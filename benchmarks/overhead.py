#!/usr/bin/env python3
"""Per-call overhead of tokentrace against no instrumentation and against peer instrumentations.

Every (configuration, row) pair runs in a fresh subprocess, once per round; rounds are
interleaved (round 1 runs every pair, then round 2, ...) in a shuffled order, so slow drifts of
the machine hit every configuration alike. A worker builds a real SDK client over the fake
provider's in-process transport (no sockets), sets up the same telemetry pipeline for every
configuration, warms up, then times ``--calls`` calls in equal batches with
``time.perf_counter_ns``. Its figure is the median of 20 per-batch means (µs per call), taken over
batches during which a reference loop showed the machine at full speed (this VM has multi-second
phases of 1.3-1.7x slowdown). The reported figure is the median across rounds; the overhead of a
configuration is the median across rounds of (configuration − the same round's ``none``).

Usage (inside the benchmark venv, see RESULTS.md)::

    python benchmarks/overhead.py --rounds 5 --calls 2000 --out benchmarks/RESULTS.md

``--baseline DIR`` adds a ``tokentrace-before`` configuration that runs the ``tokentrace`` package
found in DIR (e.g. an older checkout's ``src``), in the same interleaved rounds, for a before/after
comparison. When ``--out`` names an existing report, blocks between ``<!-- keep:NAME -->`` and
``<!-- /keep:NAME -->`` in it (written by ``cost_attributes.py`` / ``estimate_tokens.py
--results``) are carried over to the new report.

Internal: ``--worker CONFIG ROW`` runs one measurement and prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

OPENAI_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
ANTHROPIC_MODEL = "claude-haiku-4-5"
MESSAGES = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
# The per-chunk rows' reply: a 200-chunk reply needs 200 characters (the fake's default has ~70).
LONG_REPLY = " ".join(["Paris is the capital of France and its largest city."] * 5)
STREAM_CHUNKS = 20
LONG_STREAM_CHUNKS = 200  # for the per-chunk figure: a difference over ~200 chunks is not lost in noise
BATCHES = 20


# --------------------------------------------------------------------------------------------
# What is measured


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    sdk: str
    kind: str  # chat | stream | embeddings | messages | messages_stream | chat_async
    chunks: int = 8
    stream: bool = False
    table: bool = True  # shown in the main table (False: helper rows for the per-chunk figure)
    weight: float = 1.0  # timed and warm-up calls = --calls / --warmup times this (slow rows do fewer)
    long_reply: bool = False  # the per-chunk rows: LONG_REPLY, so that the reply has enough characters


ROWS: Dict[str, Row] = {
    r.key: r
    for r in (
        Row("openai.chat", "openai `chat.completions.create`", "openai", "chat"),
        Row("openai.stream20", f"openai chat stream, {STREAM_CHUNKS} chunks", "openai", "stream",
            chunks=STREAM_CHUNKS, stream=True, weight=1 / 8),
        Row("openai.embeddings", "openai `embeddings.create`", "openai", "embeddings"),
        Row("anthropic.messages", "anthropic `messages.create`", "anthropic", "messages"),
        Row("anthropic.stream20", f"anthropic `messages.create(stream=True)`, {STREAM_CHUNKS} chunks",
            "anthropic", "messages_stream", chunks=STREAM_CHUNKS, stream=True, weight=1 / 4),
        Row("openai.chat.async", "openai async `chat.completions.create`", "openai", "chat_async",
            weight=1 / 2),
        Row("openai.stream1", "openai chat stream, 1 chunk", "openai", "stream", chunks=1, stream=True,
            table=False, weight=1 / 2, long_reply=True),
        Row("anthropic.stream1", "anthropic stream, 1 chunk", "anthropic", "messages_stream", chunks=1,
            stream=True, table=False, weight=1 / 2, long_reply=True),
        Row("openai.stream200", f"openai chat stream, {LONG_STREAM_CHUNKS} chunks", "openai", "stream",
            chunks=LONG_STREAM_CHUNKS, stream=True, table=False, weight=1 / 40, long_reply=True),
        Row("anthropic.stream200", f"anthropic `messages.create(stream=True)`, {LONG_STREAM_CHUNKS} chunks",
            "anthropic", "messages_stream", chunks=LONG_STREAM_CHUNKS, stream=True, table=False, weight=1 / 20,
            long_reply=True),
    )
}
DEFAULT_ROWS = list(ROWS)

# Per-chunk overhead: (overhead of the long stream − overhead of the 1-chunk stream) divided by
# the difference in chunks the application receives.
PER_CHUNK = {"openai.stream200": "openai.stream1", "anthropic.stream200": "anthropic.stream1"}

# Every configuration: content capture off, whatever the library.
COMMON_ENV = {
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false",
    "TRACELOOP_TRACE_CONTENT": "false",
}
_SCRUBBED_ENV_PREFIXES = ("OTEL_", "TOKENTRACE_", "TRACELOOP_", "ANTHROPIC_OPEN_TELEMETRY")


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    sdks: Tuple[str, ...]
    env: Dict[str, str] = field(default_factory=dict)
    rows: Optional[Tuple[str, ...]] = None  # None: every row of its SDKs
    peer: bool = True  # compared with tokentrace


NO_SDK_SPANS = {"ANTHROPIC_OPEN_TELEMETRY": "false"}
CONFIGS: Dict[str, Config] = {
    c.key: c
    for c in (
        Config("none", "no instrumentation", ("openai", "anthropic"), NO_SDK_SPANS, peer=False),
        Config("tokentrace", "tokentrace", ("openai", "anthropic"), {}, peer=False),
        Config("tokentrace-no-usage", "tokentrace, TOKENTRACE_OPENAI_STREAM_USAGE=false", ("openai",),
               {"TOKENTRACE_OPENAI_STREAM_USAGE": "false"}, rows=("openai.stream20", "openai.stream1", "openai.stream200"),
               peer=False),
        Config("tokentrace-no-chunk-metrics", "tokentrace, TOKENTRACE_CHUNK_METRICS=false",
               ("openai", "anthropic"), {"TOKENTRACE_CHUNK_METRICS": "false"},
               rows=("openai.stream20", "openai.stream1", "openai.stream200", "anthropic.stream20",
                     "anthropic.stream1", "anthropic.stream200"),
               peer=False),
        Config("tokentrace-before", "tokentrace from --baseline DIR", ("openai", "anthropic"), {}, peer=False),
        Config("anthropic-sdk-tracing", "anthropic SDK's own spans", ("anthropic",), {}),
        Config("contrib-openai-v2", "opentelemetry-instrumentation-openai-v2", ("openai",), NO_SDK_SPANS),
        Config("openllmetry", "openllmetry (traceloop)", ("openai", "anthropic"), NO_SDK_SPANS),
    )
}
DEFAULT_CONFIGS = [c for c in CONFIGS if c != "tokentrace-before"]  # that one needs --baseline
TT_VARIANTS = ("tokentrace-no-usage", "tokentrace-no-chunk-metrics", "tokentrace-before")

PACKAGES = (
    "tokentrace", "openai", "anthropic", "httpx2", "httpx", "pydantic", "wrapt",
    "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-instrumentation",
    "opentelemetry-instrumentation-openai-v2", "opentelemetry-util-genai",
    "opentelemetry-instrumentation-openai", "opentelemetry-instrumentation-anthropic",
    "opentelemetry-semantic-conventions-ai",
)


def applies(config: Config, row: Row) -> bool:
    if row.sdk not in config.sdks:
        return False
    return config.rows is None or row.key in config.rows


# --------------------------------------------------------------------------------------------
# Worker: one fresh process per (config, row, round)


def _setup_telemetry() -> Tuple[Any, Any, Any, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DiscardingExporter(SpanExporter):
        """Counts spans and keeps the names of the first few; exports nothing."""

        def __init__(self) -> None:
            self.count = 0
            self.names: Dict[str, int] = {}

        def export(self, spans: Any) -> Any:
            self.count += len(spans)
            if len(self.names) < 8:
                for span in spans[:16]:
                    self.names[span.name] = self.names.get(span.name, 0) + 1
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    exporter = DiscardingExporter()
    tp = TracerProvider()
    # A bigger queue and a shorter delay than the defaults (2048 spans, 5 s): with the defaults the
    # queue overflows at these call rates on this machine (the worker thread falls behind; up to
    # 40 % of spans were dropped in some configurations), and dropped spans skip the export work
    # that the others pay.
    tp.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=65536, schedule_delay_millis=500))
    reader = InMemoryMetricReader()
    mp = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)
    return tp, mp, exporter, reader


def _instrument(config: Config, row: Row, tp: Any, mp: Any) -> None:
    if config.key in ("none", "anthropic-sdk-tracing"):
        return
    if config.key.startswith("tokentrace"):
        import tokentrace

        # Default settings; only the SDK under test is instrumented (saves importing the other).
        tokentrace.instrument(tracer_provider=tp, meter_provider=mp, sdks=(row.sdk,))
        return
    if config.key == "contrib-openai-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        return
    if config.key == "openllmetry":
        if row.sdk == "openai":
            from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Instrumentor
        else:
            from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as Instrumentor
        Instrumentor().instrument(tracer_provider=tp, meter_provider=mp)
        return
    raise SystemExit(f"unknown config {config.key}")


def _call_fn(row: Row, fake: Any) -> Tuple[Any, bool]:
    """The call to time (a coroutine function for async rows) and whether it is async."""
    if row.kind == "chat_async":
        client = fake.openai_client(async_=True)

        async def chat_async() -> int:
            await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
            return 0

        return chat_async, True
    if row.sdk == "openai":
        client = fake.openai_client()
        if row.kind == "chat":
            return (lambda: client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)), False
        if row.kind == "embeddings":
            return (lambda: client.embeddings.create(model=EMBEDDING_MODEL, input="The quick brown fox")), False

        def chat_stream() -> int:
            n = 0
            for _ in client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True):
                n += 1
            return n

        return chat_stream, False
    client = fake.anthropic_client()
    if row.kind == "messages":
        return (lambda: client.messages.create(model=ANTHROPIC_MODEL, max_tokens=256, messages=MESSAGES)), False

    def messages_stream() -> int:
        n = 0
        for _ in client.messages.create(model=ANTHROPIC_MODEL, max_tokens=256, messages=MESSAGES, stream=True):
            n += 1
        return n

    return messages_stream, False


def reference_us(n: int = 15000) -> float:
    """A fixed pure-Python loop (no GC-tracked allocation), best of two, in µs.

    This machine (a VM) has phases where all code runs 1.3-1.7x slower for seconds at a time; the
    loop tells which batches ran in such a phase, so they can be set aside (see ``_Timer``).
    """
    best = 0.0
    clock = time.perf_counter_ns
    for k in range(2):
        t0 = clock()
        x = 0
        for i in range(n):
            x += i
        d = (clock() - t0) / 1000.0
        best = d if k == 0 or d < best else best
    return best


class _Timer:
    """Timed batches of ``per_batch`` calls, each bracketed by reference measurements.

    A batch is *clean* when both references around it are at most ``threshold`` µs. Batches run
    until ``BATCHES`` clean ones are in or ``max_batches`` have run.
    """

    def __init__(self, calls: int, threshold: float, max_factor: float) -> None:
        self.per_batch = max(1, calls // BATCHES)
        self.threshold = threshold
        self.max_batches = int(BATCHES * max_factor)
        self.means: List[float] = []
        self.clean: List[bool] = []
        self.refs: List[float] = []
        self.collect_us: List[float] = []
        """Per batch: the metric reader's collection after it (untimed above), µs per call."""

    def done(self) -> bool:
        return sum(self.clean) >= BATCHES or len(self.means) >= self.max_batches

    def record(self, mean_us: float, ref_before: float, ref_after: float) -> None:
        self.means.append(mean_us)
        self.clean.append(self.threshold <= 0 or max(ref_before, ref_after) <= self.threshold)
        self.refs.append(ref_after)


def _time_sync(fn: Any, warmup: int, timer: _Timer, collect: Any) -> int:
    import gc

    chunks = fn()
    for _ in range(warmup):
        fn()
    collect()
    gc.collect()
    clock = time.perf_counter_ns
    n = timer.per_batch
    ref = reference_us()
    timer.refs.append(ref)
    while not timer.done():
        t0 = clock()
        for _ in range(n):
            fn()
        mean = (clock() - t0) / n / 1000.0
        c0 = clock()
        collect()
        timer.collect_us.append((clock() - c0) / n / 1000.0)
        after = reference_us()
        timer.record(mean, ref, after)
        ref = after
    return chunks if isinstance(chunks, int) else 0


def _time_async(fn: Any, warmup: int, timer: _Timer, collect: Any) -> int:
    import asyncio
    import gc

    async def main() -> None:
        await fn()
        for _ in range(warmup):
            await fn()
        collect()
        gc.collect()
        clock = time.perf_counter_ns
        n = timer.per_batch
        ref = reference_us()
        timer.refs.append(ref)
        while not timer.done():
            t0 = clock()
            for _ in range(n):
                await fn()
            mean = (clock() - t0) / n / 1000.0
            c0 = clock()
            collect()
            timer.collect_us.append((clock() - c0) / n / 1000.0)
            after = reference_us()
            timer.record(mean, ref, after)
            ref = after

    asyncio.run(main())
    return 0


def worker(config_key: str, row_key: str, calls: int, warmup: int, threshold: float,
           max_factor: float) -> Dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    config, row = CONFIGS[config_key], ROWS[row_key]
    tp, mp, exporter, reader = _setup_telemetry()
    _instrument(config, row, tp, mp)
    from tokentrace.testing import FakeProvider

    fake = FakeProvider(chunks=row.chunks, max_requests=0)
    if row.long_reply:
        from tokentrace.testing import FakeReply

        fake.queue(*[FakeReply(text=LONG_REPLY)] * 100_000)  # one reply object, referenced once per call
    fn, is_async = _call_fn(row, fake)
    timer = _Timer(calls, threshold, max_factor)
    # The reader collects after every batch, outside the timed loop (as a periodic reader would on
    # its own thread); what a collection costs per call is reported separately.
    chunks = (_time_async if is_async else _time_sync)(fn, warmup, timer, reader.get_metrics_data)
    total_calls = 1 + warmup + len(timer.means) * timer.per_batch
    tp.force_flush()
    data = reader.get_metrics_data()
    metric_names = sorted(
        {m.name for rm in (data.resource_metrics if data else []) for sm in rm.scope_metrics for m in sm.metrics}
    )
    clean = [m for m, ok in zip(timer.means, timer.clean) if ok]
    enough = len(clean) >= BATCHES // 2
    return {
        "config": config_key,
        "row": row_key,
        "us_per_call": statistics.median(clean if enough else timer.means),
        "collect_us_per_call": statistics.median(timer.collect_us) if timer.collect_us else None,
        "noisy": not enough,
        "batch_means": timer.means,
        "batch_clean": timer.clean,
        "refs": timer.refs,
        "per_batch": timer.per_batch,
        "chunks": chunks,
        "spans_per_call": exporter.count / total_calls,
        "span_names": sorted(exporter.names),
        "metric_names": metric_names,
        "tokentrace_file": _module_file("tokentrace"),
    }


def wait_until_fast(threshold: float, max_wait: float = 5.0) -> None:
    """Wait (at most ``max_wait`` s) until the reference loop runs fast three times in a row."""
    end = time.monotonic() + max_wait
    streak = 0
    while streak < 3 and time.monotonic() < end:
        streak = streak + 1 if reference_us() <= threshold else 0
        time.sleep(0.02)


def _module_file(name: str) -> Optional[str]:
    module = sys.modules.get(name)
    return getattr(module, "__file__", None)


def calibrate(seconds: float = 2.0) -> List[float]:
    """Reference timings over ``seconds``, spaced as in a worker (one per ~50 ms)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append(reference_us())
        spin = time.perf_counter() + 0.05
        while time.perf_counter() < spin:
            pass
    return out


# --------------------------------------------------------------------------------------------
# Driver


def worker_env(config: Config) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_ENV_PREFIXES)}
    env.update(COMMON_ENV)
    env.update(config.env)
    path = _BASELINE_PYTHONPATH if config.key == "tokentrace-before" else _WORKER_PYTHONPATH
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
    return env


def snapshot_tokentrace(dest: Path, src: Optional[Path] = None) -> Tuple[str, str]:
    """Copy the importable tokentrace package (or the package directory ``src``) to ``dest``
    (workers import it from there, so files edited during the run cannot mix versions); returns
    (source directory, sha256 prefix)."""
    import hashlib
    import importlib.util
    import shutil

    if src is None:
        spec = importlib.util.find_spec("tokentrace")
        if spec is None or spec.origin is None:
            raise SystemExit("tokentrace is not importable: install it into this venv first")
        src = Path(spec.origin).parent
    shutil.copytree(src, dest / "tokentrace", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    digest = hashlib.sha256()
    for f in sorted((dest / "tokentrace").rglob("*")):
        if f.is_file():
            digest.update(str(f.relative_to(dest)).encode() + b"\0" + f.read_bytes())
    return str(src), digest.hexdigest()[:12]


_WORKER_PYTHONPATH: Optional[str] = None
_BASELINE_PYTHONPATH: Optional[str] = None

KEEP_BEGIN = "<!-- keep:"
KEEP_END = "<!-- /keep:"


def kept_blocks(text: str) -> List[str]:
    """The ``<!-- keep:NAME -->`` … ``<!-- /keep:NAME -->`` blocks of a report, in order."""
    blocks = []
    pos = 0
    while True:
        start = text.find(KEEP_BEGIN, pos)
        if start < 0:
            return blocks
        name = text[start + len(KEEP_BEGIN):text.find("-->", start)].strip()
        end_marker = f"{KEEP_END}{name} -->"
        end = text.find(end_marker, start)
        if end < 0:
            return blocks
        blocks.append(text[start:end + len(end_marker)])
        pos = end + len(end_marker)


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with the kept block NAME set to ``body`` (appended when absent)."""
    begin, end = f"{KEEP_BEGIN}{name} -->", f"{KEEP_END}{name} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    i = text.find(begin)
    j = text.find(end, i) if i >= 0 else -1
    if i >= 0 and j >= 0:
        return text[:i] + block + text[j + len(end):]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_report(path: str, report: str) -> None:
    """Write ``report`` to ``path``, carrying over the kept blocks of the file it replaces."""
    target = Path(path)
    old = target.read_text() if target.exists() else ""
    blocks = kept_blocks(old)
    if blocks:
        report = report.rstrip("\n") + "\n\n" + "\n\n".join(blocks) + "\n"
    target.write_text(report)


def run_worker(config: Config, row: Row, calls: int, warmup: int, threshold: float, max_factor: float,
               timeout: float) -> Dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", config.key, row.key,
           "--calls", str(calls), "--warmup", str(warmup), "--threshold", f"{threshold:.1f}",
           "--max-factor", str(max_factor)]
    try:
        proc = subprocess.run(cmd, env=worker_env(config), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.strip().splitlines() if line.strip()][-3:]
        return {"error": " | ".join(tail) or f"exit {proc.returncode}"}
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"unreadable worker output: {proc.stdout[-300:]!r}"}


def versions() -> Dict[str, str]:
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def machine() -> Dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
    }


def git_state() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return f"{head}{' (with uncommitted changes in src/)' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


@dataclass
class Summary:
    baseline: Dict[str, float]
    value: Dict[Tuple[str, str], float]
    overhead: Dict[Tuple[str, str], float]
    spread: Dict[Tuple[str, str], Tuple[float, float]]
    info: Dict[Tuple[str, str], Dict[str, Any]]
    errors: Dict[Tuple[str, str], str]
    collect: Dict[Tuple[str, str], float] = field(default_factory=dict)


ESTIMATORS = ("clean-median", "fastest")
ESTIMATOR = "clean-median"
"""How a process's batches become its figure: the median of its clean batches (``clean-median``),
or its fastest batch (``fastest``: noise only ever adds time, so on a machine whose slow phases
leave few clean batches the fastest batch of each process is the steadier figure)."""


def _figure(run: Dict[str, Any]) -> float:
    if ESTIMATOR == "fastest" and run.get("batch_means"):
        return min(run["batch_means"])
    return run["us_per_call"]


def summarize(results: Dict[Tuple[str, str], List[Dict[str, Any]]]) -> Summary:
    """Medians across rounds. Runs still noisy after their reruns are left out when at least half
    of the rounds are clean (else kept: a figure from a slow machine beats none)."""
    s = Summary({}, {}, {}, {}, {}, {})

    def usable(runs: List[Dict[str, Any]]) -> List[Optional[Dict[str, Any]]]:
        ok = [r if "error" not in r else None for r in runs]
        clean = [r if r is not None and not r.get("noisy") else None for r in ok]
        return clean if sum(r is not None for r in clean) * 2 >= len(runs) else ok

    kept = {key: usable(runs) for key, runs in results.items()}
    for (cfg, row), runs in kept.items():
        good = [r for r in runs if r is not None]
        if not good:
            errors = [r["error"] for r in results[(cfg, row)] if "error" in r]
            s.errors[(cfg, row)] = errors[-1] if errors else "no usable run"
            continue
        s.value[(cfg, row)] = statistics.median(_figure(r) for r in good)
        collected = [r["collect_us_per_call"] for r in good if r.get("collect_us_per_call") is not None]
        if collected:
            s.collect[(cfg, row)] = statistics.median(collected)
        s.info[(cfg, row)] = good[-1]
    for (cfg, row), runs in kept.items():
        if cfg == "none" or (cfg, row) not in s.value:
            continue
        base_runs = kept.get(("none", row), [])
        diffs = [_figure(r) - _figure(b) for r, b in zip(runs, base_runs) if r and b]
        if diffs:
            s.overhead[(cfg, row)] = statistics.median(diffs)
            s.spread[(cfg, row)] = (min(diffs), max(diffs))
    for row in ROWS:
        if ("none", row) in s.value:
            s.baseline[row] = s.value[("none", row)]
    return s


def per_chunk(s: Summary, cfg: str, row: str) -> Optional[float]:
    one = PER_CHUNK.get(row)
    if one is None or (cfg, row) not in s.overhead or (cfg, one) not in s.overhead:
        return None
    n20 = s.info.get(("none", row), {}).get("chunks")
    n1 = s.info.get(("none", one), {}).get("chunks")
    if not n20 or not n1 or n20 == n1:
        return None
    return (s.overhead[(cfg, row)] - s.overhead[(cfg, one)]) / (n20 - n1)


def _quantile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(x: Optional[float], digits: int = 0) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _ratio(tt: Optional[float], peer: Optional[float]) -> str:
    if tt is None or peer is None:
        return "—"
    if peer <= 0:
        return "n/a (peer ≤ 0)"
    return f"{tt / peer:.2f}"


def render(s: Summary, rows: List[str], configs: List[str], meta: Dict[str, Any]) -> str:
    peers = [c for c in configs if CONFIGS[c].peer]
    lines: List[str] = []
    w = lines.append
    w("# tokentrace overhead benchmark")
    w("")
    w(f"- date: {meta['date']}")
    m = meta["machine"]
    w(f"- machine: {m['cpu']}, {m['cores']} cores, {m['os']}")
    w(f"- Python: {m['python']}")
    w(f"- tokentrace: git {meta['git']}; the package was copied once at the start of the run and every "
      f"worker imported that copy (sha256 of its files: `{meta['tt_hash']}`)")
    if meta.get("before_hash"):
        w(f"- tokentrace-before: the package in `{meta['before_source']}`, copied the same way (sha256 "
          f"`{meta['before_hash']}`)")
    w("- packages: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    w(f"- run: {meta['rounds']} rounds; per process {meta['calls']} timed calls after {meta['warmup']} "
      "warm-up calls for sync non-streaming rows, fewer for slower rows (20-chunk streams 1/8 openai, "
      "1/4 anthropic; 1-chunk streams and async 1/2); "
      f"{meta['processes']} measured processes, {meta['retries']} reruns of noisy ones, "
      f"{meta['clean_batches']}/{meta['all_batches']} batches clean; wall time {meta['elapsed']:.0f} s")
    w("")
    w("## Overhead per call")
    w("")
    w("µs per call, median across rounds. *overhead* = configuration − `none` (paired within each "
      "round, median across rounds). *tt / peer* = tokentrace overhead ÷ that peer's overhead "
      "(below 1: tokentrace is cheaper; project aim ≤ 0.5). — = not applicable (the library "
      "does not instrument that SDK/call).")
    w("")
    head = ["row", "baseline µs", "tokentrace µs"]
    for p in peers:
        head.append(f"{p} µs")
    for p in peers:
        head.append(f"tt / {p}")
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for row in rows:
        r = ROWS[row]
        if not r.table:
            continue
        cells = [r.label, fmt(s.baseline.get(row))]
        tt = s.overhead.get(("tokentrace", row))
        cells.append(_overhead_cell(s, "tokentrace", row))
        for p in peers:
            cells.append(_overhead_cell(s, p, row))
        for p in peers:
            cells.append(_ratio(tt, s.overhead.get((p, row))) if applies(CONFIGS[p], r) else "—")
        w("| " + " | ".join(cells) + " |")
    w("")
    w("Each overhead cell: median (min … max across rounds), µs per call. The libraries do not record the "
      "same telemetry (see *What each configuration recorded* below): every configuration makes one span "
      "per call, but the anthropic SDK records no metrics, contrib-openai-v2 records only the duration "
      "for streams, and tokentrace alone records a cost counter and a `time_per_output_chunk` point per "
      "chunk.")
    if any(("tokentrace-no-usage", r) in s.value for r in ("openai.stream20", "openai.stream1")):
        w("")
        w("tokentrace asks OpenAI chat streams for usage (`stream_options.include_usage`) by default, so "
          "the provider sends one extra (usage-only) chunk, which tokentrace reads from the event stream "
          "before the SDK would parse it, and a `\"usage\":null` in every other chunk, which it strips; what "
          "is left of that (the fake provider writing and the SDK splitting longer events) is part of the "
          "tokentrace figure above. With `TOKENTRACE_OPENAI_STREAM_USAGE=false`:")
        w("")
        for row in ("openai.stream20", "openai.stream1"):
            if ("tokentrace-no-usage", row) in s.overhead or ("tokentrace-no-usage", row) in s.errors:
                w(f"- {ROWS[row].label}: overhead {_overhead_cell(s, 'tokentrace-no-usage', row)} µs "
                  f"(default tokentrace: {_overhead_cell(s, 'tokentrace', row)} µs)")
    chunk_rows = [r for r in ("openai.stream20", "anthropic.stream20", "openai.stream1", "anthropic.stream1")
                  if r in rows and ("tokentrace-no-chunk-metrics", r) in s.value]
    if chunk_rows:
        w("")
        w("With `TOKENTRACE_CHUNK_METRICS=false` (no `gen_ai.client.operation.time_per_output_chunk` "
          "points; everything else as default):")
        w("")
        for row in chunk_rows:
            best = _best_peer(s, row, peers)
            tail = f"; lowest peer {best[1]:.0f} µs ({best[0]})" if best else ""
            w(f"- {ROWS[row].label}: overhead {_overhead_cell(s, 'tokentrace-no-chunk-metrics', row)} µs "
              f"(default tokentrace: {_overhead_cell(s, 'tokentrace', row)} µs{tail})")
    if any(("tokentrace-before", r) in s.value for r in rows):
        w("")
        w("## Before and after")
        w("")
        w("`tokentrace-before` is the package given with `--baseline`, measured in the same interleaved "
          "rounds as `tokentrace` (the working tree). Overhead µs per call, median (min … max across rounds).")
        w("")
        w("| row | before | after | after − before | after / before |")
        w("|---|---|---|---|---|")
        for row in rows:
            if not ROWS[row].table and row not in PER_CHUNK.values():
                continue
            b, a = s.overhead.get(("tokentrace-before", row)), s.overhead.get(("tokentrace", row))
            delta = fmt(a - b) if a is not None and b is not None else "—"
            w(f"| {ROWS[row].label} | {_overhead_cell(s, 'tokentrace-before', row)} | "
              f"{_overhead_cell(s, 'tokentrace', row)} | {delta} | {_ratio(a, b)} |")
    if s.collect:
        w("")
        w("## Work at collection")
        w("")
        w("The overhead above is what the calling thread pays. Some work happens when the metric reader "
          "collects instead: the SDK's own aggregation export for every configuration, and for tokentrace "
          "also its histogram points, which a call only queues (`src/tokentrace/_deferred.py`; the counters "
          "are summed in process and observed at collection too). The benchmark collects after every batch, "
          "outside the timed loop, as a periodic reader would on its own thread; this table is that "
          "collection's cost divided by the batch's calls, µs per call (median over rounds). In an app it is "
          "paid on the reader's thread every export interval (60 s by default), not on the call.")
        w("")
        cols = [c for c in configs if c != "none"]
        w("| row | " + " | ".join(cols) + " |")
        w("|" + "---|" * (len(cols) + 1))
        for row in rows:
            if not ROWS[row].table and row not in PER_CHUNK.values():
                continue
            cells = [ROWS[row].label]
            for c in cols:
                v = s.collect.get((c, row))
                cells.append(fmt(v, 1) if applies(CONFIGS[c], ROWS[row]) else "—")
            w("| " + " | ".join(cells) + " |")
    w("")
    w("## Per-chunk overhead")
    w("")
    w(f"Method: each stream is also measured with a 1-chunk and a {LONG_STREAM_CHUNKS}-chunk reply "
      f"(`FakeProvider(chunks=...)`), in the same rounds. Per-chunk overhead = (overhead of the "
      f"{LONG_STREAM_CHUNKS}-chunk stream − overhead of the 1-chunk stream) ÷ (difference in chunks the "
      "application receives). Everything paid once per stream (span start/end, proxy creation, request and "
      "response attributes, metrics at the end) cancels, so this is the marginal cost of one more chunk; over "
      f"~{LONG_STREAM_CHUNKS} chunks a few µs of per-call noise moves it by hundredths of a µs (over 20 chunks, "
      "as measured before, noise alone moved it by µs). (The cruder (stream − non-stream)/chunks would charge "
      "the per-stream fixed costs to the chunks.)")
    w("")
    chunk_cfgs = ["tokentrace"] + [c for c in TT_VARIANTS if c in configs and c != "tokentrace-no-usage"] + peers
    head = ["stream", f"chunks ({LONG_STREAM_CHUNKS} / 1)", "baseline µs per extra chunk"] + [f"{c} µs/chunk" for c in chunk_cfgs]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    for row, one in PER_CHUNK.items():
        if row not in rows:
            continue
        n20 = s.info.get(("none", row), {}).get("chunks")
        n1 = s.info.get(("none", one), {}).get("chunks")
        base = None
        if n20 and n1 and n20 != n1 and row in s.baseline and one in s.baseline:
            base = (s.baseline[row] - s.baseline[one]) / (n20 - n1)
        cells = [ROWS[row].label, f"{n20} / {n1}", fmt(base, 1)]
        for c in chunk_cfgs:
            cells.append(fmt(per_chunk(s, c, row), 2) if applies(CONFIGS[c], ROWS[row]) else "—")
        w("| " + " | ".join(cells) + " |")
    w("")
    w("## What each configuration recorded (sanity check, last round)")
    w("")
    w("| configuration | row | spans per call | span names | metric instruments |")
    w("|---|---|---|---|---|")
    for cfg in configs:
        for row in rows:
            if not applies(CONFIGS[cfg], ROWS[row]):
                continue
            if (cfg, row) in s.errors:
                w(f"| {cfg} | {row} | FAILED | {s.errors[(cfg, row)][:200]} | |")
                continue
            info = s.info.get((cfg, row))
            if info is None:
                continue
            w(f"| {cfg} | {row} | {info['spans_per_call']:.2f} | {', '.join(info['span_names']) or '—'} | "
              f"{', '.join(info['metric_names']) or '—'} |")
    if s.errors:
        w("")
        w("## Failures")
        w("")
        for (cfg, row), err in sorted(s.errors.items()):
            w(f"- `{cfg}` on `{row}`: {err}")
    w("")
    w("## Method")
    w("")
    w("- Transport: the SDKs' real clients (`FakeProvider().openai_client()` / `.anthropic_client()`) over "
      "tokentrace's fake provider as an in-process `httpx2` transport: real request building, JSON/SSE "
      "parsing and pydantic models, no sockets. Baselines are therefore the SDKs' own per-call CPU cost; "
      "against a real provider (tens to thousands of ms) every overhead here is far below 1 %.")
    w("- Each (configuration, row, round) runs in a fresh subprocess; rounds are interleaved and the "
      "order within a round is shuffled. Per process: 1 check call, warm-up, then the timed calls in "
      f"batches of a fixed size (1/{BATCHES} of the process's calls; `time.perf_counter_ns`); the "
      + (f"process's figure is the median of the means of {BATCHES} *clean* batches. "
         if meta.get("estimator", "clean-median") == "clean-median" else
         "process's figure is its *fastest* batch mean (`--estimator fastest`: this run had too few clean "
         "batches for the clean median, see *run* above; noise only adds time, so each process's fastest "
         "batch is the steadier figure). ")
      + "Table = median across rounds; overhead = median across rounds of the paired difference with the "
      "same round's `none`.")
    w("- Noise control: this machine (a 2-vCPU VM) has phases of seconds in which all code runs 1.3–1.7× "
      "slower (host contention; no steal time is reported). A fixed pure-Python reference loop "
      "(~0.5 ms, best of 2) runs between batches; a batch is clean when the loop on both sides of it "
      f"ran within {meta['ref_tolerance']:.0%} of its fast time ({meta['ref_fast']:.0f} µs: 5th percentile of a "
      "3 s calibration, lowered by the 10th percentile of each process's loops). A process runs "
      f"batches until it has {BATCHES} clean ones (at most 2.5× as many batches); one with fewer than "
      f"{BATCHES // 2} clean batches is rerun (up to 2 times), and before each process the driver "
      "waits (≤ 5 s) for the loop to be fast. The loop takes no GC-tracked allocation, so it does not "
      "depend on the configuration.")
    w("- Same telemetry pipeline in every configuration, registered globally as well as passed "
      "explicitly: SDK `TracerProvider` + `BatchSpanProcessor(max_queue_size=65536, "
      "schedule_delay_millis=500)` over an exporter that counts and discards (with the default 2048-span "
      "queue and 5 s delay the queue overflowed at these call rates and up to 40 % of spans were "
      "dropped, unevenly across configurations); `MeterProvider` with an `InMemoryMetricReader` (collected only after timing, for "
      "the sanity table). No logger provider is set, so event/log APIs are no-ops.")
    w("- Content capture off everywhere: `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false`, "
      "`TRACELOOP_TRACE_CONTENT=false` for every process; any other `OTEL_*`, `TOKENTRACE_*`, "
      "`TRACELOOP_*`, `ANTHROPIC_OPEN_TELEMETRY*` variable of the caller is removed.")
    w("- Configurations:")
    w("  - `none`: no instrumentation; `ANTHROPIC_OPEN_TELEMETRY=false` (anthropic ≥ 2 would otherwise "
      "emit its own spans, since a global tracer provider is registered).")
    w("  - `tokentrace`: `tokentrace.instrument(tracer_provider=tp, meter_provider=mp, sdks=(<sdk under "
      "test>,))`, default settings (it turns anthropic's own spans off itself).")
    w("  - `tokentrace-no-usage` (OpenAI stream rows): as `tokentrace` with "
      "`TOKENTRACE_OPENAI_STREAM_USAGE=false`.")
    if "tokentrace-no-chunk-metrics" in configs:
        w("  - `tokentrace-no-chunk-metrics` (stream rows): as `tokentrace` with "
          "`TOKENTRACE_CHUNK_METRICS=false`.")
    if "tokentrace-before" in configs:
        w("  - `tokentrace-before`: as `tokentrace`, with the package given by `--baseline` (see the top).")
    w("  - `anthropic-sdk-tracing` (anthropic rows): no instrumentation library, the SDK's own "
      "tracing on (default), global tracer provider registered.")
    w("  - `contrib-openai-v2` (openai rows): `opentelemetry.instrumentation.openai_v2.OpenAIInstrumentor()"
      ".instrument(tracer_provider=tp, meter_provider=mp)`, default (legacy v1.30) semantic conventions.")
    w("  - `openllmetry`: traceloop's `opentelemetry.instrumentation.openai.OpenAIInstrumentor` / "
      "`opentelemetry.instrumentation.anthropic.AnthropicInstrumentor`, `.instrument(tracer_provider=tp, "
      "meter_provider=mp)`, defaults.")
    w("  - peers run with `ANTHROPIC_OPEN_TELEMETRY=false` so only the library under test traces.")
    w("- Calls: openai `gpt-4o-mini`, one user message; embeddings `text-embedding-3-small`, one "
      "input; anthropic `claude-haiku-4-5`, `max_tokens=256`; stream rows iterate the stream to the end.")
    w("")
    w("## Rerun")
    w("")
    w("`make bench` creates `.venv-bench`, installs tokentrace with both SDKs and the pinned peers, and runs "
      "the benchmark with its defaults (5 rounds, 1000 calls, 100 warm-up calls; about 10 minutes on 2 "
      "cores, more when the machine is noisy and processes are rerun):")
    w("")
    w("```bash")
    w("python3 -m venv .venv-bench")
    w(".venv-bench/bin/pip install -e '.[openai,anthropic]' -r benchmarks/requirements.txt")
    w(".venv-bench/bin/python benchmarks/overhead.py")
    w("```")
    w("")
    w("This report was made with:")
    w("")
    w("```bash")
    argv = meta["argv"] if "--warmup" in meta["argv"] else f"{meta['argv']} --warmup {meta['warmup']}".strip()
    w(f".venv-bench/bin/python benchmarks/overhead.py {argv}")
    if meta.get("estimator", "clean-median") != "clean-median":
        w(f".venv-bench/bin/python benchmarks/overhead.py --render-json benchmarks/overhead-runs.json.gz "
          f"--estimator {meta['estimator']} --out benchmarks/RESULTS.md   # the figures above")
    w("```")
    w("")
    w("`--rounds`, `--calls`, `--warmup`, `--rows`, `--configs` shorten a run; `--json FILE` keeps every "
      "batch and `--render-json FILE` re-renders a report from it. `benchmarks/profile_tokentrace.py "
      "--row ROW [--pyinstrument]` shows where tokentrace's time goes on one row.")
    return "\n".join(lines) + "\n"


def _best_peer(s: Summary, row: str, peers: List[str]) -> Optional[Tuple[str, float]]:
    found = [(p, s.overhead[(p, row)]) for p in peers if (p, row) in s.overhead]
    return min(found, key=lambda x: x[1]) if found else None


def _overhead_cell(s: Summary, cfg: str, row: str) -> str:
    if not applies(CONFIGS[cfg], ROWS[row]):
        return "—"
    if (cfg, row) in s.errors:
        return "FAILED"
    o = s.overhead.get((cfg, row))
    if o is None:
        return "—"
    lo, hi = s.spread[(cfg, row)]
    return f"{o:.0f} ({lo:.0f} … {hi:.0f})"


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1000,
                    help="timed calls per process for the sync non-streaming rows; slower rows do a fixed "
                         "fraction (20-chunk streams: 1/8 openai, 1/4 anthropic; 1-chunk streams and "
                         "async: 1/2)")
    ap.add_argument("--warmup", type=int, default=100, help="warm-up calls (scaled per row like --calls)")
    ap.add_argument("--rows", default=",".join(DEFAULT_ROWS), help="comma list of " + ", ".join(ROWS))
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS), help="comma list of " + ", ".join(CONFIGS))
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"), help="markdown report ('' for none)")
    ap.add_argument("--json", default=None, help="also write raw per-process results here")
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="a directory holding an older tokentrace package (DIR/tokentrace): adds the "
                         "tokentrace-before configuration, measured in the same rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds per worker process")
    ap.add_argument("--ref-tolerance", type=float, default=0.15,
                    help="a batch counts when the reference loop around it ran within this fraction of its "
                         "fastest time (0: keep every batch)")
    ap.add_argument("--max-factor", type=float, default=2.5,
                    help="run at most this many times the 20 batches to collect 20 clean ones")
    ap.add_argument("--retries", type=int, default=2,
                    help="rerun a process that got fewer than 10 clean batches up to this many times")
    ap.add_argument("--estimator", choices=ESTIMATORS, default="clean-median",
                    help="a process's figure: median of clean batches, or its fastest batch")
    ap.add_argument("--render-json", metavar="FILE", default=None,
                    help="only re-render the report from a --json file of an earlier run")
    ap.add_argument("--worker", nargs=2, metavar=("CONFIG", "ROW"), help=argparse.SUPPRESS)
    ap.add_argument("--threshold", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.calls, args.warmup, args.threshold,
                                args.max_factor)))
        return 0

    global ESTIMATOR
    ESTIMATOR = args.estimator
    if args.render_json:
        path = Path(args.render_json)
        saved = json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())
        results = {(e["config"], e["row"]): e["runs"] for e in saved["results"]}
        meta = saved["meta"]
        meta["estimator"] = args.estimator
        rows = [r for r in ROWS if any(key[1] == r for key in results)]
        configs = [c for c in CONFIGS if any(key[0] == c for key in results)]
        report = render(summarize(results), rows, configs, meta)
        print(report)
        if args.out:
            write_report(args.out, report)
            print(f"wrote {args.out}", file=sys.stderr)
        return 0

    rows = [r for r in args.rows.split(",") if r]
    configs = [c for c in args.configs.split(",") if c]
    for r in rows:
        if r not in ROWS:
            ap.error(f"unknown row {r!r}")
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c!r}")
    if "none" not in configs:
        ap.error("the 'none' configuration is the baseline and must be included")
    if args.baseline and "tokentrace-before" not in configs:
        configs.append("tokentrace-before")
    if "tokentrace-before" in configs and not args.baseline:
        ap.error("tokentrace-before needs --baseline DIR")

    plan = [(CONFIGS[c], ROWS[r]) for r in rows for c in configs if applies(CONFIGS[c], ROWS[r])]
    results: Dict[Tuple[str, str], List[Dict[str, Any]]] = {(c.key, r.key): [] for c, r in plan}
    global _WORKER_PYTHONPATH
    import tempfile

    snapshot_dir = tempfile.TemporaryDirectory(prefix="tokentrace-bench-")
    tt_source, tt_hash = snapshot_tokentrace(Path(snapshot_dir.name))
    git_at_copy = git_state()  # what was copied, not what src/ holds when the run ends
    _WORKER_PYTHONPATH = snapshot_dir.name
    print(f"tokentrace from {tt_source} (snapshot sha256 {tt_hash})", file=sys.stderr, flush=True)
    before_source = before_hash = None
    if args.baseline:
        global _BASELINE_PYTHONPATH
        baseline_pkg = Path(args.baseline) / "tokentrace"
        if not (baseline_pkg / "__init__.py").exists():
            ap.error(f"--baseline: no tokentrace package in {args.baseline}")
        baseline_dir = tempfile.TemporaryDirectory(prefix="tokentrace-bench-before-")
        before_source, before_hash = snapshot_tokentrace(Path(baseline_dir.name), baseline_pkg)
        _BASELINE_PYTHONPATH = baseline_dir.name
        print(f"tokentrace-before from {before_source} (snapshot sha256 {before_hash})", file=sys.stderr,
              flush=True)
    started = time.monotonic()
    fast = _quantile(calibrate(3.0), 0.05)
    print(f"reference loop: {fast:.0f} µs when the machine is fast", file=sys.stderr, flush=True)
    total = len(plan) * args.rounds
    retries = 0
    done = 0
    for rnd in range(args.rounds):
        order = plan[:]
        random.Random(args.seed * 1000 + rnd).shuffle(order)
        for config, row in order:
            calls = max(BATCHES, round(args.calls * row.weight))
            warmup = max(1, round(args.warmup * row.weight))
            threshold = fast * (1 + args.ref_tolerance) if args.ref_tolerance > 0 else 0.0
            for attempt in range(args.retries + 1):
                if threshold:
                    wait_until_fast(threshold)
                res = run_worker(config, row, calls, warmup, threshold, args.max_factor, args.timeout)
                if res.get("refs"):
                    fast = min(fast, _quantile(res["refs"], 0.1))
                if not res.get("noisy"):
                    break
                retries += 1
            res["attempts"] = attempt + 1
            results[(config.key, row.key)].append(res)
            done += 1
            elapsed = time.monotonic() - started
            if "error" in res:
                status = f"ERROR {res['error'][:120]}"
            else:
                status = (f"{res['us_per_call']:9.1f} µs/call, {sum(res['batch_clean'])}/{len(res['batch_clean'])}"
                          f" clean batches{' NOISY' if res['noisy'] else ''}")
            print(f"[{done:3d}/{total} {elapsed:5.0f}s, eta {elapsed / done * (total - done):4.0f}s] "
                  f"round {rnd + 1} {config.key:22s} {row.key:20s} {status}", file=sys.stderr, flush=True)

    s = summarize(results)
    argv_str = " ".join(a for a in (argv if argv is not None else sys.argv[1:]))
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(),
        "git": git_at_copy,
        "tt_source": tt_source,
        "tt_hash": tt_hash,
        "before_source": before_source,
        "before_hash": before_hash,
        "rounds": args.rounds,
        "calls": args.calls,
        "warmup": args.warmup,
        "elapsed": time.monotonic() - started,
        "argv": argv_str,
        "ref_fast": fast,
        "ref_tolerance": args.ref_tolerance,
        "estimator": args.estimator,
        "processes": sum(len(v) for v in results.values()),
        "retries": retries,
        "noisy": sum(1 for v in results.values() for r in v if r.get("noisy")),
        "clean_batches": sum(sum(r.get("batch_clean", [])) for v in results.values() for r in v),
        "all_batches": sum(len(r.get("batch_clean", [])) for v in results.values() for r in v),
    }
    report = render(s, rows, configs, meta)
    print(report)
    if args.out:
        write_report(args.out, report)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"meta": meta, "results": [{"config": c, "row": r, "runs": v} for (c, r), v in results.items()]},
            indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
