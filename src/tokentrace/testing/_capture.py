"""In-memory telemetry for tests: what tokentrace emitted, ready to assert on."""

from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Optional

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

try:  # newer OpenTelemetry SDKs renamed it (the old name warns there)
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as _InMemoryLogExporter
except ImportError:
    from opentelemetry.sdk._logs.export import InMemoryLogExporter as _InMemoryLogExporter  # type: ignore[no-redef]

_EVENT_NAME_ATTRIBUTE = "event.name"


@dataclass(frozen=True)
class CapturedEvent:
    """One event (a log record with an event name), the same on every OpenTelemetry version."""

    name: str
    attributes: Mapping[str, Any]
    """Without ``event.name``, where older APIs put the name."""
    trace_id: int
    span_id: int
    timestamp: Optional[int]
    body: Any = None

    def value(self, key: str) -> Any:
        """An attribute as plain JSON-like data: structured values (or the JSON text SDKs that
        keep no maps in log attributes get) become lists and dicts."""
        value = self.attributes.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _event_of(record: Any) -> Optional[CapturedEvent]:
    attributes = dict(record.attributes or {})
    name = getattr(record, "event_name", None) or attributes.pop(_EVENT_NAME_ATTRIBUTE, None)
    attributes.pop(_EVENT_NAME_ATTRIBUTE, None)
    if not name:
        return None
    return CapturedEvent(name, attributes, record.trace_id or 0, record.span_id or 0, record.timestamp, record.body)


class CapturedTelemetry:
    """A TracerProvider, MeterProvider and LoggerProvider that keep everything in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.log_exporter = _InMemoryLogExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

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

    def log_records(self) -> list[Any]:
        """The emitted log records, as the SDK's exporters receive them (``.log_record`` holds
        the record itself)."""
        return list(self.log_exporter.get_finished_logs())

    def events(self, name: Optional[str] = None) -> list[CapturedEvent]:
        """The emitted events, optionally only those named ``name``."""
        events = (_event_of(item.log_record) for item in self.log_records())
        return [event for event in events if event is not None and (name is None or event.name == name)]

    def event(self, name: Optional[str] = None) -> CapturedEvent:
        """The one event (named ``name``); fails when there is not exactly one."""
        events = self.events(name)
        assert len(events) == 1, f"expected one event, got {[e.name for e in events]}"
        return events[0]

    def clear(self) -> None:
        self.exporter.clear()
        self.log_exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


def _instrument_arguments(captured: CapturedTelemetry) -> dict[str, Any]:
    import tokentrace

    arguments = {"tracer_provider": captured.tracer_provider, "meter_provider": captured.meter_provider}
    # tokentrace.instrument() takes the logger provider since content events became log records.
    if "logger_provider" in inspect.signature(tokentrace.instrument).parameters:
        arguments["logger_provider"] = captured.logger_provider
    return arguments


@contextmanager
def capture_telemetry(**settings: Any) -> Iterator[CapturedTelemetry]:
    """Instrument the SDKs into in-memory exporters for the ``with`` block.

    ``settings`` are :func:`tokentrace.instrument` arguments. The SDKs are uninstrumented on exit.
    """
    import tokentrace

    captured = CapturedTelemetry()
    tokentrace.instrument(**_instrument_arguments(captured), **settings)
    try:
        yield captured
    finally:
        tokentrace.uninstrument()
        captured.shutdown()
