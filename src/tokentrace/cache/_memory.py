"""The in-process cache backend: bounded by entries and bytes, LRU eviction, fixed TTL.

Semantic entries are rows of one float32 matrix per partition, searched exactly with one
matrix-vector product while the partition is small. From :data:`ANN_MIN_ROWS` rows on, when the
``usearch`` package is installed (the ``semantic`` extra), the partition is also indexed in an
HNSW graph (half-precision, inner product) and searched there: an exact scan of 100k 1024-d rows
takes tens of milliseconds, the graph well under one (benchmarks/CACHE_SPEED.md). A row lives
exactly as long as its entry (evicted or expired together).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Optional

import numpy as np

ANN_MIN_ROWS = 4096
"""Partitions this large are searched through an HNSW graph (when ``usearch`` is installed)."""


def _new_graph(dimensions: int) -> Any:
    try:
        from usearch.index import Index
    except ImportError:
        return None
    return Index(ndim=dimensions, metric="ip", dtype="f16", connectivity=16, expansion_add=128, expansion_search=128)


class _Partition:
    """The vectors of one key partition: a growable matrix, free rows reused, and past
    :data:`ANN_MIN_ROWS` rows an HNSW graph over them."""

    __slots__ = ("matrix", "expires", "keys", "free", "size", "graph", "graph_label", "row_of_label", "next_label")

    def __init__(self, dimensions: int) -> None:
        self.matrix = np.zeros((16, dimensions), dtype=np.float32)
        self.expires = np.full(16, np.inf)
        self.keys: list[Optional[str]] = []
        self.free: list[int] = []
        self.size = 0
        self.graph: Any = None
        self.graph_label: dict[int, int] = {}  # row -> label in the graph (labels are never reused)
        self.row_of_label: dict[int, int] = {}
        self.next_label = 0

    def add(self, key: str, vector: np.ndarray, expires: Optional[float]) -> int:
        if self.free:
            row = self.free.pop()
            self.keys[row] = key
        else:
            row = len(self.keys)
            if row == len(self.matrix):
                grown = np.zeros((len(self.matrix) * 2, self.matrix.shape[1]), dtype=np.float32)
                grown[:row] = self.matrix[:row]
                self.matrix = grown
                self.expires = np.concatenate([self.expires, np.full(len(self.expires), np.inf)])
            self.keys.append(key)
        self.matrix[row] = vector
        self.expires[row] = np.inf if expires is None else expires
        self.size += 1
        if self.graph is not None:
            self._graph_add(row)
        elif self.size >= ANN_MIN_ROWS:
            self._build_graph()
        return row

    def remove(self, row: int) -> None:
        self.matrix[row] = 0.0  # a zero row scores 0: below any threshold
        self.keys[row] = None
        self.free.append(row)
        self.size -= 1
        label = self.graph_label.pop(row, None)
        if label is not None:
            self.row_of_label.pop(label, None)
            self.graph.remove(label)

    def _build_graph(self) -> None:
        self.graph = _new_graph(self.matrix.shape[1])
        if self.graph is None:
            return
        for row, key in enumerate(self.keys):
            if key is not None:
                self._graph_add(row)

    def _graph_add(self, row: int) -> None:
        label = self.next_label
        self.next_label += 1
        self.graph.add(label, self.matrix[row])
        self.graph_label[row] = label
        self.row_of_label[label] = row

    def search(self, vector: np.ndarray, count: int, min_similarity: float, now: float) -> list[tuple[str, float]]:
        if self.graph is not None:
            return self._graph_search(vector, count, min_similarity, now)
        used = len(self.keys)
        if not used:
            return []
        scores = self.matrix[:used] @ vector
        scores[self.expires[:used] <= now] = -2.0  # expired: below any threshold
        if used > count:
            top = np.argpartition(scores, used - count)[used - count:]
        else:
            top = np.arange(used)
        found = [(float(scores[i]), int(i)) for i in top if scores[i] >= min_similarity]
        found.sort(reverse=True)
        return [(self.keys[i], score) for score, i in found if self.keys[i] is not None]  # type: ignore[misc]

    def _graph_search(self, vector: np.ndarray, count: int, min_similarity: float, now: float) -> list[tuple[str, float]]:
        matches = self.graph.search(vector, count * 2)  # spare room for expired rows
        found = []
        for label in matches.keys:
            row = self.row_of_label.get(int(label))
            if row is None or self.expires[row] <= now:
                continue
            score = float(self.matrix[row] @ vector)  # the exact cosine, not the f16 graph's
            if score >= min_similarity:
                found.append((score, row))
        found.sort(reverse=True)
        return [(self.keys[row], score) for score, row in found[:count]]  # type: ignore[misc]


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
        self._partitions: dict[str, _Partition] = {}
        self._rows: dict[str, tuple[str, int]] = {}

    def get(self, key: str) -> Optional[bytes]:
        with self._lock:
            return self._get(key, self._clock())

    def get_many(self, keys: list[str]) -> list[Optional[bytes]]:
        with self._lock:
            now = self._clock()
            return [self._get(key, now) for key in keys]

    def _get(self, key: str, now: float) -> Optional[bytes]:
        item = self._entries.get(key)
        if item is None:
            return None
        expires, value = item
        if expires is not None and expires <= now:
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

    def add_vector(self, partition: str, key: str, vector: np.ndarray, ttl: Optional[float]) -> None:
        """Index ``vector`` for the entry stored under ``key`` (store the entry first)."""
        with self._lock:
            if key not in self._entries:
                return
            self._remove_vector(key)
            part = self._partitions.get(partition)
            if part is None:
                part = self._partitions[partition] = _Partition(len(vector))
            self._rows[key] = (partition, part.add(key, vector, self._entries[key][0]))

    def search(self, partition: str, vector: np.ndarray, count: int, min_similarity: float) -> list[tuple[str, float]]:
        """Keys of the ``count`` most similar entries in ``partition`` at or above ``min_similarity``."""
        with self._lock:
            part = self._partitions.get(partition)
            if part is None or part.matrix.shape[1] != len(vector):
                return []
            return part.search(vector, count, min_similarity, self._clock())

    def remove_vector(self, partition: str, key: str) -> None:
        with self._lock:
            self._remove_vector(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self._partitions.clear()
            self._rows.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __bool__(self) -> bool:  # an empty backend is still a backend (``backend or default`` stays correct)
        return True

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def close(self) -> None:
        return None

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)
        self._remove_vector(key)

    def _remove_vector(self, key: str) -> None:
        located = self._rows.pop(key, None)
        if located is None:
            return
        partition, row = located
        part = self._partitions[partition]
        part.remove(row)
        if not part.size:
            del self._partitions[partition]
