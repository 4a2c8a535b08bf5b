"""One contract for every cache backend, run against memory and real Redis servers."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from tokentrace import MemoryBackend, RedisBackend


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis-7", "redis-8"])
def backend(request, redis_servers):
    if request.param == "memory":
        yield MemoryBackend()
        return
    store = RedisBackend(redis_servers.fresh_url(request.param))
    yield store
    store.close()


def test_get_returns_what_set_stored(backend):
    """A stored value comes back byte for byte; an unknown key is a miss."""
    backend.set("k1", b"\x00value\xff", ttl=60)
    assert backend.get("k1") == b"\x00value\xff"
    assert backend.get("missing") is None


def test_get_many_reads_several_keys_at_once(backend):
    """get_many answers in the order asked, None for misses and expired entries."""
    backend.set("a", b"1", ttl=60)
    backend.set("b", b"2", ttl=60)
    backend.set("gone", b"3", ttl=0.2)
    time.sleep(0.3)
    assert backend.get_many(["b", "missing", "a", "gone"]) == [b"2", None, b"1", None]
    assert backend.get_many([]) == []


def test_set_replaces(backend):
    """Storing a key again replaces its value."""
    backend.set("k", b"one", ttl=60)
    backend.set("k", b"two", ttl=60)
    assert backend.get("k") == b"two"


def test_delete_and_clear(backend):
    """delete drops one key, clear drops them all."""
    for key in ("a", "b", "c"):
        backend.set(key, key.encode(), ttl=60)
    backend.delete("a")
    assert backend.get("a") is None and backend.get("b") == b"b"
    backend.clear()
    assert backend.get("b") is None and backend.get("c") is None


def test_entries_expire(backend):
    """An entry is gone once its TTL has passed."""
    backend.set("short", b"v", ttl=0.2)
    backend.set("long", b"v", ttl=60)
    time.sleep(0.35)
    assert backend.get("short") is None
    assert backend.get("long") == b"v"


def test_hits_do_not_extend_ttl():
    """Reading an entry never pushes back its expiry (popular entries still expire)."""
    clock = FakeClock()
    store = MemoryBackend(clock=clock)
    store.set("k", b"v", ttl=10)
    for _ in range(5):
        clock.now += 1.9
        assert store.get("k") == b"v"
    clock.now += 0.6
    assert store.get("k") is None


def test_redis_hits_do_not_extend_ttl(redis_url):
    """Redis entries keep the TTL set at store time across reads."""
    import redis

    store = RedisBackend(redis_url)
    store.set("k", b"v", ttl=30)
    store.get("k")
    ttl_ms = redis.Redis.from_url(redis_url).pttl(store.prefix + "k")
    assert 0 < ttl_ms <= 30_000
    time.sleep(0.05)
    store.get("k")
    assert redis.Redis.from_url(redis_url).pttl(store.prefix + "k") < ttl_ms


def test_memory_is_bounded_by_entries_lru():
    """Beyond max_entries the least recently used entry goes first."""
    store = MemoryBackend(max_entries=3)
    for key in ("a", "b", "c"):
        store.set(key, b"x", ttl=None)
    assert store.get("a") == b"x"  # a is now the most recent
    store.set("d", b"x", ttl=None)
    assert store.get("b") is None
    assert [store.get(k) for k in ("a", "c", "d")] == [b"x", b"x", b"x"]
    assert len(store) == 3


def test_memory_is_bounded_by_bytes():
    """The stored values never exceed max_bytes; a value larger than the bound is not stored."""
    store = MemoryBackend(max_bytes=100)
    for index in range(10):
        store.set(f"k{index}", b"x" * 30, ttl=None)
        assert store.size_bytes <= 100
    assert len(store) == 3
    store.set("huge", b"x" * 101, ttl=None)
    assert store.get("huge") is None


def test_memory_rejects_bad_bounds():
    """Bounds must be positive; the error names the setting."""
    with pytest.raises(ValueError, match="max_entries"):
        MemoryBackend(max_entries=0)
    with pytest.raises(ValueError, match="max_bytes"):
        MemoryBackend(max_bytes=0)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_down_means_misses_one_warning_and_no_hang(caplog):
    """A server that is not there: misses and skipped stores, one warning, bounded time."""
    store = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.2, retry_after=60)
    caplog.set_level(logging.WARNING, logger="tokentrace")
    started = time.monotonic()
    for _ in range(20):
        assert store.get("k") is None
        store.set("k", b"v", ttl=10)
    assert time.monotonic() - started < 2.0  # the first failure opens the breaker
    warnings = [r for r in caplog.records if "Redis is unreachable" in r.getMessage()]
    assert len(warnings) == 1


def test_redis_recovers_after_outage(redis_url):
    """After the retry window a reachable server is used again."""
    store = RedisBackend(redis_url, timeout=0.2, retry_after=0.1)
    store._failed(ConnectionError("simulated"))
    assert store.get("k") is None  # inside the window: not even asked
    time.sleep(0.15)
    store.set("k", b"v", ttl=10)
    assert store.get("k") == b"v"


# --- vector search: the same contract for memory and Redis 8 vector sets -------------------
@pytest.fixture(params=["memory", "memory-hnsw", "redis-8"])
def vector_backend(request, redis_servers, monkeypatch):
    if request.param.startswith("memory"):
        if request.param == "memory-hnsw":  # every partition searched through the usearch graph
            import tokentrace.cache._memory as memory

            monkeypatch.setattr(memory, "ANN_MIN_ROWS", 1)
        yield MemoryBackend()
        return
    store = RedisBackend(redis_servers.fresh_url(request.param))
    yield store
    store.close()


def _unit(*values):
    import numpy as np

    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _index(store, partition, key, vector, ttl=60):
    store.set(key, key.encode(), ttl=ttl)
    store.add_vector(partition, key, vector, ttl)


def test_search_ranks_by_cosine_within_threshold(vector_backend):
    """Nearest first, similarities are cosines, nothing below the threshold."""
    _index(vector_backend, "p", "same", _unit(1, 0, 0, 0))
    _index(vector_backend, "p", "near", _unit(0.9, 0.1, 0, 0))
    _index(vector_backend, "p", "far", _unit(0, 0, 1, 0))
    found = vector_backend.search("p", _unit(1, 0, 0, 0), 5, 0.5)
    assert [key for key, _ in found] == ["same", "near"]
    assert found[0][1] == pytest.approx(1.0, abs=1e-3)
    assert found[1][1] == pytest.approx(float(_unit(0.9, 0.1, 0, 0)[0]), abs=1e-3)


def test_search_respects_count_and_partitions(vector_backend):
    """At most ``count`` results, and only from the partition asked."""
    for index in range(6):
        _index(vector_backend, "p", f"k{index}", _unit(1, index * 0.01, 0, 0))
    _index(vector_backend, "other", "x", _unit(1, 0, 0, 0))
    found = vector_backend.search("p", _unit(1, 0, 0, 0), 3, 0.0)
    assert len(found) == 3 and "x" not in {key for key, _ in found}
    assert vector_backend.search("empty", _unit(1, 0, 0, 0), 3, 0.0) == []


def test_removed_vectors_are_not_found(vector_backend):
    """remove_vector takes an element out of its partition."""
    _index(vector_backend, "p", "a", _unit(1, 0, 0, 0))
    _index(vector_backend, "p", "b", _unit(0.8, 0.2, 0, 0))
    vector_backend.remove_vector("p", "a")
    assert [key for key, _ in vector_backend.search("p", _unit(1, 0, 0, 0), 5, 0.0)] == ["b"]


def test_expired_entries_are_not_candidates(vector_backend):
    """An entry past its TTL is never returned by a search."""
    _index(vector_backend, "p", "old", _unit(1, 0, 0, 0), ttl=0.2)
    _index(vector_backend, "p", "new", _unit(0.9, 0.1, 0, 0), ttl=60)
    time.sleep(0.35)
    assert [key for key, _ in vector_backend.search("p", _unit(1, 0, 0, 0), 5, 0.0)] == ["new"]


def test_redis_search_drops_expired_vectors_it_meets(redis_servers):
    """Expiry is read from the results' attributes; a vector found expired leaves the set."""
    store = RedisBackend(redis_servers.fresh_url("redis-8"))
    _index(store, "p", "old", _unit(1, 0, 0, 0), ttl=0.2)
    _index(store, "p", "new", _unit(0.9, 0.1, 0, 0), ttl=60)
    time.sleep(0.35)
    assert [key for key, _ in store.search("p", _unit(1, 0, 0, 0), 5, 0.0)] == ["new"]
    assert store.client.execute_command("VCARD", store.prefix + "vs:p") == 1
    assert store._with_attributes  # Redis 8.2 answers WITHATTRIBS


class _NoAttributes:
    """A client for a server whose VSIM has no WITHATTRIBS (an early Redis 8)."""

    def __init__(self, client):
        self._client = client
        self.commands = []

    def execute_command(self, *args, **kwargs):
        self.commands.append(args[0])
        if args[0] == "VSIM" and "WITHATTRIBS" in args:
            import redis

            raise redis.ResponseError("syntax error")
        return self._client.execute_command(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_redis_search_without_withattribs_filters_on_the_server(redis_servers):
    import redis

    raw = redis.Redis.from_url(redis_servers.fresh_url("redis-8"))
    store = RedisBackend(client=_NoAttributes(raw))
    _index(store, "p", "old", _unit(1, 0, 0, 0), ttl=0.2)
    _index(store, "p", "new", _unit(0.9, 0.1, 0, 0), ttl=60)
    time.sleep(0.35)
    assert [key for key, _ in store.search("p", _unit(1, 0, 0, 0), 5, 0.0)] == ["new"]
    assert [key for key, _ in store.search("p", _unit(1, 0, 0, 0), 5, 0.0)] == ["new"]
    assert not store._with_attributes and store._down_until == 0.0  # not mistaken for an outage
