"""In-memory telemetry for tests: what tokentrace emitted, ready to assert on."""

from __future__ import annotations

from typing import Any, Iterator
from contextlib import contextmanager

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class CapturedTelemetry:
    """A TracerProvider and MeterProvider that keep everything in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        """The one finished span (fails when there is not exactly one)."""
        spans = self.spans()
        assert len(spans) == 1, f"expected one span, got {[s.name for s in spans]}"
        return spans[0]

    def metrics(self) -> dict[str, list[Any]]:
        """Data points by metric name, across scopes."""
        found: dict[str, list[Any]] = {}
        data = self.reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def clear(self) -> None:
        self.exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@contextmanager
def capture_telemetry(**settings: Any) -> Iterator[CapturedTelemetry]:
    """Instrument the SDKs into in-memory exporters for the ``with`` block.

    ``settings`` are :func:`tokentrace.instrument` arguments. The SDKs are uninstrumented on exit.
    """
    import tokentrace

    captured = CapturedTelemetry()
    tokentrace.instrument(
        tracer_provider=captured.tracer_provider, meter_provider=captured.meter_provider, **settings
    )
    try:
        yield captured
    finally:
        tokentrace.uninstrument()
        captured.shutdown()
