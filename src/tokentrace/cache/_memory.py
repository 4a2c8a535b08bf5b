"""The in-process cache backend: bounded by entries and bytes, LRU eviction, fixed TTL."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Optional


class MemoryBackend:
    """Entries live in this process. A hit moves an entry to the LRU front but never extends
    its TTL: an entry expires ``ttl`` seconds after it was stored, however popular it is.

    Args:
        max_entries: entries kept at most (least recently used are evicted first).
        max_bytes: total size of the stored values kept at most.
    """

    blocking = False

    def __init__(self, max_entries: int = 10_000, max_bytes: int = 256 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer but got {max_entries!r}")
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive integer but got {max_bytes!r}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Optional[float], bytes]] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> Optional[bytes]:
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            expires, value = item
            if expires is not None and expires <= self._clock():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: bytes, ttl: Optional[float]) -> None:
        if len(value) > self.max_bytes:
            return
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (expires, value)
            self._bytes += len(value)
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def delete(self, key: str) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)
