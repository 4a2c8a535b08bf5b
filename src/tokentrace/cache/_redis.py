"""The Redis cache backend: entries as plain keys with Redis TTLs, shared by every process.

Exact entries work with any Redis >= 6 or Valkey. Semantic entries are searched on the server
with Redis 8 vector sets: one set per key partition (``VADD`` / ``VSIM``), each element the key
of its entry, carrying its expiry time as an attribute so that ``VSIM ... FILTER`` skips
expired elements; expired elements are removed when a search meets them, and each set expires
itself once its newest entry has (so idle partitions disappear). :meth:`check_vector_sets`
tells, at start, whether the server has vector sets. Fail-open: a lost or slow connection means misses (and
skipped stores) with one logged warning; after a failure the backend stays away from the server
for ``retry_after`` seconds so that calls do not each wait for a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Optional

import numpy as np

from .._errors import logger

DEFAULT_PREFIX = "tokentrace:cache:v1:"


class RedisBackend:
    """Args:
        url: ``redis://host:port/db`` (or ``rediss://``, ``unix://``).
        client: an existing ``redis.Redis`` client instead of ``url``.
        timeout: socket connect and read timeout in seconds.
        retry_after: seconds to treat the server as down after a failure.
        prefix: key prefix, so several applications can share one server.
    """

    blocking = True

    def __init__(self, url: Optional[str] = None, *, client: Any = None, timeout: float = 0.25,
                 retry_after: float = 5.0, prefix: str = DEFAULT_PREFIX) -> None:
        if client is None:
            try:
                import redis
            except ImportError:
                raise ImportError(
                    "the Redis cache backend needs the redis package: pip install 'tokentrace[redis]'"
                ) from None
            client = redis.Redis.from_url(
                url or "redis://localhost:6379/0", socket_timeout=timeout, socket_connect_timeout=timeout,
                health_check_interval=30,
            )
        self.client = client
        self.prefix = prefix
        self.retry_after = retry_after
        self._down_until = 0.0
        self._warned = False
        self._with_attributes = True
        """The server answers ``VSIM ... WITHATTRIBS`` (Redis >= 8.2); found out on first use."""
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[bytes]:
        if self._is_down():
            return None
        try:
            value = self.client.get(self.prefix + key)
        except Exception as exc:
            self._failed(exc)
            return None
        self._recovered()
        return value

    def get_many(self, keys: list[str]) -> list[Optional[bytes]]:
        """Values of ``keys`` in one round trip (``MGET``); misses are None."""
        if self._is_down() or not keys:
            return [None] * len(keys)
        try:
            values = self.client.mget([self.prefix + key for key in keys])
        except Exception as exc:
            self._failed(exc)
            return [None] * len(keys)
        self._recovered()
        return list(values)

    def set(self, key: str, value: bytes, ttl: Optional[float]) -> None:
        if self._is_down():
            return
        try:
            if ttl is None:
                self.client.set(self.prefix + key, value)
            else:
                self.client.set(self.prefix + key, value, px=max(int(ttl * 1000), 1))
        except Exception as exc:
            self._failed(exc)
            return
        self._recovered()

    def check_vector_sets(self) -> None:
        """Raise RuntimeError when the server has no vector sets (Redis < 8); no-op when down."""
        try:
            self.client.execute_command("VCARD", self.prefix + "probe")
        except Exception as exc:
            if "unknown command" in str(exc).lower():
                raise RuntimeError(
                    "the semantic cache over Redis needs vector sets (VADD/VSIM, Redis >= 8.0); this server "
                    f"does not have them ({exc}). Use Redis 8, the exact cache over this server, or the "
                    "memory backend for semantic lookups."
                ) from None
            self._failed(exc)

    def add_vector(self, partition: str, key: str, vector: np.ndarray, ttl: Optional[float]) -> None:
        if self._is_down():
            return
        expires = time.time() + ttl if ttl is not None else None
        attributes = json.dumps({"exp": expires if expires is not None else 1e18})
        name = self.prefix + "vs:" + partition
        try:
            pipe = self.client.pipeline(transaction=False)
            # CAS: the server looks for the new element's neighbours on a thread, not its main loop.
            pipe.execute_command("VADD", name, "FP32", np.asarray(vector, dtype=np.float32).tobytes(), key,
                                 "CAS", "SETATTR", attributes)
            if ttl is not None:
                pipe.execute_command("EXPIRE", name, max(int(ttl) + 1, 1), "GT")
                pipe.execute_command("EXPIRE", name, max(int(ttl) + 1, 1), "NX")
            else:
                pipe.execute_command("PERSIST", name)
            pipe.execute()
        except Exception as exc:
            self._failed(exc)

    def search(self, partition: str, vector: np.ndarray, count: int, min_similarity: float) -> list[tuple[str, float]]:
        """Nearest entries not expired. Expiry is read from each result's attributes
        (``WITHATTRIBS``): a ``FILTER`` evaluated during the graph search doubled a lookup's time
        at 1M entries (benchmarks/CACHE_SPEED.md); servers without ``WITHATTRIBS`` get the FILTER."""
        if self._is_down():
            return []
        name = self.prefix + "vs:" + partition
        now = time.time()
        blob = np.asarray(vector, dtype=np.float32).tobytes()
        try:
            if self._with_attributes:
                try:
                    reply = self.client.execute_command("VSIM", name, "FP32", blob, "WITHSCORES", "WITHATTRIBS",
                                                        "COUNT", count)
                except Exception as exc:
                    if "syntax" not in str(exc).lower() and "withattribs" not in str(exc).lower():
                        raise
                    self._with_attributes = False
            if not self._with_attributes:
                reply = self.client.execute_command("VSIM", name, "FP32", blob, "WITHSCORES", "COUNT", count,
                                                    "FILTER", f".exp > {now:.3f}")
        except Exception as exc:
            if "not found" in str(exc).lower() or "key does not exist" in str(exc).lower():
                return []
            self._failed(exc)
            return []
        self._recovered()
        found, expired = [], []
        for element, score, attributes in _vsim_items(reply, self._with_attributes):
            key = element.decode() if isinstance(element, bytes) else element
            if attributes is not None and _expires(attributes) <= now:
                expired.append(key)
                continue
            similarity = 2.0 * float(score) - 1.0  # VSIM scores are (1 + cosine) / 2
            if similarity >= min_similarity:
                found.append((key, similarity))
        if expired:
            self._remove_vectors(name, expired)
        found.sort(key=lambda item: -item[1])
        return found

    def _remove_vectors(self, name: str, keys: list[str]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.execute_command("VREM", name, key)
            pipe.execute()
        except Exception as exc:
            self._failed(exc)

    def remove_vector(self, partition: str, key: str) -> None:
        if self._is_down():
            return
        try:
            self.client.execute_command("VREM", self.prefix + "vs:" + partition, key)
        except Exception as exc:
            self._failed(exc)

    def delete(self, key: str) -> None:
        if self._is_down():
            return
        try:
            self.client.delete(self.prefix + key)
        except Exception as exc:
            self._failed(exc)

    def clear(self) -> None:
        """Delete every key under this backend's prefix."""
        for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            self.client.delete(key)

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # noqa: S110 - closing a dead connection may fail; nothing to do
            pass

    def _is_down(self) -> bool:
        return self._down_until > time.monotonic()

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = time.monotonic() + self.retry_after
            if not self._warned:
                self._warned = True
                logger.warning(
                    "tokentrace cache: Redis is unreachable (%s: %s); serving misses and retrying every %gs",
                    type(exc).__name__, exc, self.retry_after,
                )

    def _recovered(self) -> None:
        if self._warned:
            with self._lock:
                if self._warned:
                    self._warned = False
                    logger.warning("tokentrace cache: Redis is reachable again")


def _vsim_items(reply: Any, with_attributes: bool) -> list[tuple[Any, Any, Any]]:
    """(element, score, attributes or None) of a VSIM reply: a map (RESP3, or a client that parses
    it) or a flat list."""
    if isinstance(reply, dict):
        items = []
        for element, value in reply.items():
            if isinstance(value, (list, tuple)):
                items.append((element, value[0], value[1] if len(value) > 1 else None))
            else:
                items.append((element, value, None))
        return items
    step = 3 if with_attributes else 2
    rows = [reply[i:i + step] for i in range(0, len(reply), step)]
    return [(row[0], row[1], row[2] if step == 3 else None) for row in rows]


def _expires(attributes: Any) -> float:
    """The ``exp`` an entry was indexed with (never, when unreadable: the entry's own key TTL
    still ends it, and a lookup drops a vector whose entry is gone)."""
    try:
        value = json.loads(attributes).get("exp")
        return float(value) if value is not None else float("inf")
    except (TypeError, ValueError, AttributeError):
        return float("inf")
