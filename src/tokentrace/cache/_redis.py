"""The Redis cache backend: entries as plain keys with Redis TTLs, shared by every process.

Works with any Redis >= 6 or Valkey. Fail-open: a lost or slow connection means misses (and
skipped stores) with one logged warning; after a failure the backend stays away from the server
for ``retry_after`` seconds so that calls do not each wait for a timeout.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Optional

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
