"""Histogram points recorded when a metric reader collects, not on the call path.

One ``Histogram.record`` of the OpenTelemetry SDK costs ~9–11 µs (attribute validation, hashing,
aggregation under a lock, the exemplar filter), and a call records 3–4 points plus one per
stream chunk. So a call only appends its points here (one deque append), and they are recorded
when a reader collects: the callback of one of tokentrace's observable counters drains the
queue, and the SDK runs every observable callback of a collection before it reads the
aggregations, so each collection holds every call that ended before it. The work moves to the
reader's thread (a ``PeriodicExportingMetricReader`` exports every interval; Prometheus on each
scrape), as ``BatchSpanProcessor`` moves span export off the call.

Bounded: with ``LIMIT`` calls pending, a call records its own points at once (as if nothing
were deferred), so a provider that never collects holds at most ``LIMIT`` calls' points.

Exemplars: a point that names a span context is recorded in a context holding that span (the
trace and span id of the call), so exemplars still lead to the call's trace; the exemplar's
timestamp is the collection time. OpenTelemetry API < 1.28 has no ``context`` argument: there,
exemplars are not linked.
"""

from __future__ import annotations

import inspect
from collections import deque
from typing import Any, Callable, Iterable, Optional

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Histogram, Observation

from ._errors import log_internal_error

LIMIT = 20_000
"""Calls whose points may wait for a collection (~0.5 KB each)."""

_EMPTY = Context()
RECORD_TAKES_CONTEXT = "context" in inspect.signature(Histogram.record).parameters


def context_of(span_context: Optional[trace.SpanContext]) -> Context:
    """A context holding (a non-recording stand-in for) the span of ``span_context``."""
    if span_context is None or not span_context.is_valid:
        return _EMPTY
    return trace.set_span_in_context(trace.NonRecordingSpan(span_context), _EMPTY)


def record(histogram: Histogram, value: float, attributes: dict[str, Any], context: Context = _EMPTY) -> None:
    """``histogram.record`` with an explicit context (never the collecting thread's own)."""
    if RECORD_TAKES_CONTEXT:
        histogram.record(value, attributes, context)
    else:
        histogram.record(value, attributes)


class DeferredPoints:
    """A queue of ``(function, arguments)`` that record a call's points; drained on collection."""

    __slots__ = ("_queue", "limit", "__weakref__")

    def __init__(self, limit: int = LIMIT) -> None:
        self._queue: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self.limit = limit

    def add(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        if len(self._queue) < self.limit:
            self._queue.append((fn, args))
        else:
            fn(*args)

    def __len__(self) -> int:
        return len(self._queue)

    def drain(self, options: Optional[CallbackOptions] = None) -> Iterable[Observation]:
        """Record every pending point; an observable callback that observes nothing itself.

        Only what is queued when it starts: calls ending meanwhile wait for the next collection.
        """
        popleft = self._queue.popleft
        for _ in range(len(self._queue)):
            try:
                fn, args = popleft()
            except IndexError:
                break
            try:
                fn(*args)
            except Exception:
                log_internal_error("recording deferred metric points")
        return ()
