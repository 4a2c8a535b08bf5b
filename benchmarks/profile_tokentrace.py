#!/usr/bin/env python3
"""Where tokentrace's per-call time goes, on one row of benchmarks/overhead.py.

Runs the row's call in a loop under cProfile with tokentrace instrumenting (same telemetry
pipeline as the benchmark) and prints, per call:

- the time inside tokentrace's own frames (request wrapper and stream proxy, minus the SDK
  work they wrap), and
- the top functions of tokentrace, OpenTelemetry and wrapt by their own time (cProfile inflates
  call-heavy code, so read these as shares, and the benchmark for absolute overhead).

``--pyinstrument`` prints a pyinstrument call tree instead (statistical, low distortion).

    python benchmarks/profile_tokentrace.py --row anthropic.stream20 --calls 2000
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead  # noqa: E402

OURS = ("/tokentrace/", "/opentelemetry/", "/wrapt/")


def _label(func: Tuple[str, int, str]) -> str:
    path, line, name = func
    for marker in ("/site-packages/", "/src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{line}({name})" if line else name


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--row", default="openai.chat", choices=list(overhead.ROWS))
    ap.add_argument("--config", default="tokentrace", choices=list(overhead.CONFIGS))
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--pyinstrument", action="store_true")
    args = ap.parse_args()

    config, row = overhead.CONFIGS[args.config], overhead.ROWS[args.row]
    os.environ.update(overhead.COMMON_ENV)
    os.environ.update(config.env)
    import warnings

    warnings.simplefilter("ignore")
    tp, mp, _, _ = overhead._setup_telemetry()
    overhead._instrument(config, row, tp, mp)
    from tokentrace.testing import FakeProvider

    fake = FakeProvider(chunks=row.chunks, max_requests=0)
    fn, is_async = overhead._call_fn(row, fake)
    if is_async:
        raise SystemExit("profile a sync row")
    for _ in range(200):
        fn()

    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(args.calls):
            fn()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        return 0

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(args.calls):
        fn()
    prof.disable()
    stats = pstats.Stats(prof)
    raw: Dict[Tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    n = args.calls
    us = 1e6 / n

    def find(path_part: str, name: str) -> List[Tuple[Tuple[str, int, str], Any]]:
        return [(k, v) for k, v in raw.items() if path_part in k[0] and k[2] == name]

    total = sum(v[2] for v in raw.values())  # all own time
    print(f"row {row.key}, config {config.key}, {n} calls under cProfile: {total * us:.0f} µs/call in total\n")

    # Exclusive time of tokentrace's frames: the wrapper's cumulative time minus the SDK request
    # it calls, and the stream proxy's __next__ minus the SDK stream's __next__.
    wrapper = find("tokentrace/instrumentation/_core.py", "traced_request")
    sdk_request = [(k, v) for k, v in raw.items() if k[0].endswith("_base_client.py") and k[2] == "request"]
    if wrapper and sdk_request:
        w_cum = sum(v[3] for _, v in wrapper)
        r_cum = sum(v[3] for _, v in sdk_request)
        print(f"request wrapper: {w_cum * us:.1f} µs/call cumulative, SDK request() {r_cum * us:.1f} µs/call "
              f"-> tokentrace around the request: {(w_cum - r_cum) * us:.1f} µs/call")
    proxy_next = find("tokentrace/_streams.py", "__next__")
    sdk_next = [(k, v) for k, v in raw.items() if k[0].endswith("_streaming.py") and k[2] == "__next__"]
    if proxy_next and sdk_next:
        p_cum = sum(v[3] for _, v in proxy_next)
        s_cum = sum(v[3] for _, v in sdk_next)
        calls_next = sum(v[1] for _, v in proxy_next)
        print(f"stream proxy __next__: {calls_next / n:.1f} calls per stream, {p_cum * us:.1f} µs/call "
              f"cumulative, SDK Stream.__next__ {s_cum * us:.1f} -> tokentrace per stream "
              f"{(p_cum - s_cum) * us:.1f} µs, per chunk {(p_cum - s_cum) * 1e6 / max(1, calls_next):.2f} µs")
    print()

    ours = [(k, v) for k, v in raw.items() if any(m in k[0] for m in OURS)]
    own = sum(v[2] for _, v in ours)
    print(f"own time in tokentrace + opentelemetry + wrapt frames: {own * us:.1f} µs/call "
          f"({own / total:.0%} of all profiled time)\n")
    print(f"{'own µs/call':>11} {'cum µs/call':>11} {'calls/call':>10}  function")
    for k, v in sorted(ours, key=lambda kv: kv[1][2], reverse=True)[: args.top]:
        print(f"{v[2] * us:11.1f} {v[3] * us:11.1f} {v[1] / n:10.1f}  {_label(k)}")
    print("\nby cumulative time (tokentrace frames only):")
    tt = [(k, v) for k, v in raw.items() if "/tokentrace/" in k[0] and "/testing/" not in k[0]]
    for k, v in sorted(tt, key=lambda kv: kv[1][3], reverse=True)[: args.top]:
        print(f"{v[2] * us:11.1f} {v[3] * us:11.1f} {v[1] / n:10.1f}  {_label(k)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
