"""OTLP JSON Lines file exporters and a reader for the files they write.

Each ``export()`` appends one line: an ``ExportTraceServiceRequest``,
``ExportMetricsServiceRequest`` or ``ExportLogsServiceRequest`` in the OTLP/JSON encoding, the
format the OpenTelemetry Collector's ``file`` exporter writes (and its ``otlpjsonfile`` receiver
reads): ``resourceSpans``, ``resourceMetrics`` or ``resourceLogs``, lowerCamelCase field names,
trace and span ids as lowercase hex, enums as integers, 64-bit integers as decimal strings and
default values omitted.

Within a process a lock keeps every line whole. With ``flush_each=False`` lines sit in a buffer
until it fills, ``force_flush()`` or ``shutdown()`` (note that ``BatchSpanProcessor.force_flush()``
does not reach the exporter); with ``flush_each=True`` each line normally reaches the file in a
single append, which also keeps lines whole when several processes share one local file.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from typing import IO, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, Union

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

try:  # newer OpenTelemetry SDKs renamed the log exporter interface (the old names warn)
    from opentelemetry.sdk._logs.export import LogRecordExporter as _LogExporter
    from opentelemetry.sdk._logs.export import LogRecordExportResult as _LogExportResult
except ImportError:
    from opentelemetry.sdk._logs.export import LogExporter as _LogExporter  # type: ignore[no-redef]
    from opentelemetry.sdk._logs.export import LogExportResult as _LogExportResult  # type: ignore[no-redef]

__all__ = [
    "OTLPJsonFileSpanExporter",
    "OTLPJsonFileMetricExporter",
    "OTLPJsonFileLogExporter",
    "read_otlp_json_lines",
    "iter_spans",
    "iter_metric_points",
    "iter_log_records",
    "decode_any_value",
    "decode_attributes",
]

_logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

_TEMPORALITY_ENV = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
_CUMULATIVE = AggregationTemporality.CUMULATIVE
_DELTA = AggregationTemporality.DELTA
# Same per-instrument choices as the OTLP exporters make for each preference.
_TEMPORALITY_PRESETS: dict[str, dict[type, AggregationTemporality]] = {
    "cumulative": {
        Counter: _CUMULATIVE, UpDownCounter: _CUMULATIVE, Histogram: _CUMULATIVE,
        ObservableCounter: _CUMULATIVE, ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "delta": {
        Counter: _DELTA, UpDownCounter: _CUMULATIVE, Histogram: _DELTA,
        ObservableCounter: _DELTA, ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
    "lowmemory": {
        Counter: _DELTA, UpDownCounter: _CUMULATIVE, Histogram: _DELTA,
        ObservableCounter: _CUMULATIVE, ObservableUpDownCounter: _CUMULATIVE,
        ObservableGauge: _CUMULATIVE,
    },
}

_METRIC_DATA_FIELDS = ("sum", "gauge", "histogram", "exponentialHistogram", "summary")


class _JsonLinesFile:
    """A lazily opened append-only UTF-8 file that takes whole lines under a lock."""

    def __init__(self, path: PathLike, flush_each: bool) -> None:
        self.path = os.path.abspath(os.path.expanduser(os.fspath(path)))
        self._flush_each = flush_each
        self._lock = threading.Lock()
        self._file: Optional[IO[str]] = None
        self._closed = False
        self._failing = False

    def write_line(self, line: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            try:
                if self._file is None:
                    self._file = self._open()
                self._file.write(line)
                if self._flush_each:
                    self._file.flush()
            except Exception:  # noqa: BLE001 - an exporter must never raise into the SDK
                self._report_failure("write to")
                # The buffer may hold half a line now; reopen on the next export instead.
                self._discard_file()
                return False
            self._failing = False
            return True

    def flush(self) -> bool:
        with self._lock:
            if self._file is None:
                return not self._closed
            try:
                self._file.flush()
            except Exception:  # noqa: BLE001
                self._report_failure("flush")
                self._discard_file()
                return False
            return True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            file, self._file = self._file, None
            if file is None:
                return
            try:
                file.close()
            except Exception:  # noqa: BLE001
                self._report_failure("close")

    @property
    def closed(self) -> bool:
        return self._closed

    def _open(self) -> IO[str]:
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        # newline="\n" keeps the file identical across platforms (no "\r\n" on Windows).
        file = open(self.path, "a", encoding="utf-8", newline="\n")
        try:
            if not _ends_with_newline(self.path):
                # A crash or a failed write left a partial line: start a new one so that only
                # the partial line is lost, not the next one too.
                file.write("\n")
        except BaseException:
            file.close()
            raise
        return file

    def _discard_file(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        try:
            file.close()
        except Exception:  # noqa: BLE001 - flushing the same bad buffer fails again
            _logger.debug("closing %s after a failed write", self.path, exc_info=True)

    def _report_failure(self, action: str) -> None:
        # One warning per run of failures: a full disk would otherwise log on every batch.
        if self._failing:
            _logger.debug("could not %s OTLP JSON file %s", action, self.path, exc_info=True)
            return
        self._failing = True
        _logger.warning(
            "could not %s OTLP JSON file %s; telemetry is dropped until writes succeed "
            "(further failures are logged at DEBUG)",
            action,
            self.path,
            exc_info=True,
        )


def _ends_with_newline(path: str) -> bool:
    """True for an empty or missing file, or one whose last byte is a newline."""
    try:
        with open(path, "rb") as file:
            if file.seek(0, os.SEEK_END) == 0:
                return True
            file.seek(-1, os.SEEK_END)
            return file.read(1) == b"\n"
    except OSError:
        return True  # unreadable or unseekable (a pipe, /dev/full): nothing to repair


def _request_to_line(request: Message, hex_ids: Callable[[dict[str, Any]], None]) -> str:
    body = json_format.MessageToDict(
        request, preserving_proto_field_name=False, use_integers_for_enums=True
    )
    hex_ids(body)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


def _b64_to_hex(obj: dict[str, Any], *keys: str) -> None:
    for key in keys:
        value = obj.get(key)
        if value:
            obj[key] = base64.b64decode(value).hex()


def _hex_span_ids(body: dict[str, Any]) -> None:
    for resource_spans in body.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _b64_to_hex(span, "traceId", "spanId", "parentSpanId")
                for link in span.get("links", ()):
                    _b64_to_hex(link, "traceId", "spanId")


def _hex_exemplar_ids(body: dict[str, Any]) -> None:
    for resource_metrics in body.get("resourceMetrics", ()):
        for scope_metrics in resource_metrics.get("scopeMetrics", ()):
            for metric in scope_metrics.get("metrics", ()):
                for field in _METRIC_DATA_FIELDS:
                    data = metric.get(field)
                    if data is None:
                        continue
                    for point in data.get("dataPoints", ()):
                        for exemplar in point.get("exemplars", ()):
                            _b64_to_hex(exemplar, "traceId", "spanId")


def _hex_log_ids(body: dict[str, Any]) -> None:
    for resource_logs in body.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            for log_record in scope_logs.get("logRecords", ()):
                _b64_to_hex(log_record, "traceId", "spanId")


class OTLPJsonFileSpanExporter(SpanExporter):
    """Append each batch of spans to ``path`` as one OTLP/JSON ``ExportTraceServiceRequest`` line.

    The file (and its parent directories) is created on the first export. With
    ``flush_each=True`` every line is flushed as soon as it is written, which suits files that
    are tailed or read while the process runs. ``export()`` never raises: a failed write returns
    ``SpanExportResult.FAILURE`` and is logged once per run of failures.
    """

    def __init__(self, path: PathLike, *, flush_each: bool = False) -> None:
        self._file = _JsonLinesFile(path, flush_each)

    @property
    def path(self) -> str:
        """Absolute path of the file written to."""
        return self._file.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._file.closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            line = _request_to_line(encode_spans(spans), _hex_span_ids)
        except Exception:  # noqa: BLE001
            _logger.exception("could not encode %d spans as OTLP JSON", len(spans))
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if self._file.write_line(line) else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._file.flush()

    def shutdown(self) -> None:
        self._file.close()


class OTLPJsonFileMetricExporter(MetricExporter):
    """Append each metrics collection to ``path`` as one ``ExportMetricsServiceRequest`` line.

    ``temporality_preference`` is ``"cumulative"``, ``"delta"`` or ``"lowmemory"`` with the same
    per-instrument meaning as the OTLP exporters; when omitted it is read from
    ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` and defaults to cumulative.
    ``preferred_temporality`` overrides single instrument types on top of that preset.
    """

    def __init__(
        self,
        path: PathLike,
        *,
        flush_each: bool = False,
        temporality_preference: Optional[str] = None,
        preferred_temporality: Optional[Mapping[type, AggregationTemporality]] = None,
        preferred_aggregation: Optional[Mapping[type, Aggregation]] = None,
    ) -> None:
        temporality = dict(_temporality_preset(temporality_preference))
        temporality.update(preferred_temporality or {})
        super().__init__(
            preferred_temporality=temporality,
            preferred_aggregation=dict(preferred_aggregation) if preferred_aggregation else None,
        )
        self._file = _JsonLinesFile(path, flush_each)

    @property
    def path(self) -> str:
        """Absolute path of the file written to."""
        return self._file.path

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self._file.closed:
            return MetricExportResult.FAILURE
        if not metrics_data.resource_metrics:
            return MetricExportResult.SUCCESS
        try:
            request = encode_metrics(metrics_data)
            if not request.resource_metrics:
                return MetricExportResult.SUCCESS
            line = _request_to_line(request, _hex_exemplar_ids)
        except Exception:  # noqa: BLE001
            _logger.exception("could not encode metrics as OTLP JSON")
            return MetricExportResult.FAILURE
        if self._file.write_line(line):
            return MetricExportResult.SUCCESS
        return MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._file.flush()

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._file.close()


class OTLPJsonFileLogExporter(_LogExporter):  # type: ignore[misc]
    """Append each batch of log records (events) to ``path`` as one ``ExportLogsServiceRequest``
    line; the same file as the span and metric exporters may share. ``export()`` never raises."""

    def __init__(self, path: PathLike, *, flush_each: bool = False) -> None:
        self._file = _JsonLinesFile(path, flush_each)

    @property
    def path(self) -> str:
        """Absolute path of the file written to."""
        return self._file.path

    def export(self, batch: Sequence[Any]) -> Any:
        if self._file.closed:
            return _LogExportResult.FAILURE
        if not batch:
            return _LogExportResult.SUCCESS
        try:
            line = _request_to_line(encode_logs(batch), _hex_log_ids)
        except Exception:  # noqa: BLE001
            _logger.exception("could not encode %d log records as OTLP JSON", len(batch))
            return _LogExportResult.FAILURE
        return _LogExportResult.SUCCESS if self._file.write_line(line) else _LogExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._file.flush()

    def shutdown(self) -> None:
        self._file.close()


def _temporality_preset(preference: Optional[str]) -> dict[type, AggregationTemporality]:
    if preference is not None:
        preset = _TEMPORALITY_PRESETS.get(preference.strip().lower())
        if preset is None:
            raise ValueError(
                f"temporality_preference must be one of {sorted(_TEMPORALITY_PRESETS)}, "
                f"not {preference!r}"
            )
        return preset
    from_env = os.environ.get(_TEMPORALITY_ENV, "cumulative").strip().lower()
    preset = _TEMPORALITY_PRESETS.get(from_env)
    if preset is None:
        _logger.warning("unrecognized %s=%r; using cumulative", _TEMPORALITY_ENV, from_env)
        return _TEMPORALITY_PRESETS["cumulative"]
    return preset


# --- reading ---------------------------------------------------------------------------------


def read_otlp_json_lines(path: PathLike, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Yield each line of an OTLP JSON Lines file as the request dict it encodes.

    Blank lines are skipped. A line that is not a JSON object (a process killed mid-write can
    leave a truncated last line) is skipped, or raises ``ValueError`` when ``strict`` is true.
    """
    with open(os.path.expanduser(os.fspath(path)), encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError as error:
                if strict:
                    raise ValueError(f"{path}:{number}: not valid JSON: {error}") from error
                _logger.debug("skipping invalid JSON on line %d of %s", number, path)
                continue
            if isinstance(request, dict):
                yield request
            elif strict:
                raise ValueError(f"{path}:{number}: expected a JSON object")


def decode_any_value(value: Optional[Mapping[str, Any]]) -> Any:
    """Python value of an OTLP/JSON ``AnyValue`` (``{"intValue": "3"}`` -> ``3``)."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        # "NaN" and "Infinity" arrive as strings; float() reads both.
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [decode_any_value(item) for item in (value["arrayValue"] or {}).get("values", ())]
    if "kvlistValue" in value:
        return decode_attributes((value["kvlistValue"] or {}).get("values", ()))
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    return None


def decode_attributes(key_values: Optional[Iterable[Mapping[str, Any]]]) -> dict[str, Any]:
    """``{key: python value}`` from an OTLP/JSON ``KeyValue`` list."""
    return {kv["key"]: decode_any_value(kv.get("value")) for kv in key_values or () if "key" in kv}


def _int(value: Any, default: Optional[int] = 0) -> Optional[int]:
    return default if value is None else int(value)


def _scope(scope: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    scope = scope or {}
    return {
        "name": scope.get("name", ""),
        "version": scope.get("version", ""),
        "attributes": decode_attributes(scope.get("attributes")),
    }


def iter_spans(path: PathLike, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every span in an OTLP JSON Lines file as one flat dict.

    Keys: ``name``, ``traceId``, ``spanId``, ``parentSpanId`` (``None`` for a root span),
    ``kind`` (OTLP ``SpanKind`` integer: 1 internal, 2 server, 3 client, ...),
    ``startTimeUnixNano``, ``endTimeUnixNano`` and ``durationNano`` (ints), ``attributes``
    (``{key: python value}``), ``status`` (``{"code": 0 unset | 1 ok | 2 error, "message"}``),
    ``events`` (``[{"name", "timeUnixNano", "attributes"}]``), ``links``
    (``[{"traceId", "spanId", "attributes"}]``), ``resource`` (resource attributes) and
    ``scope`` (``{"name", "version", "attributes"}``).
    """
    for request in read_otlp_json_lines(path, strict=strict):
        for resource_spans in request.get("resourceSpans", ()):
            resource = decode_attributes((resource_spans.get("resource") or {}).get("attributes"))
            for scope_spans in resource_spans.get("scopeSpans", ()):
                scope = _scope(scope_spans.get("scope"))
                for span in scope_spans.get("spans", ()):
                    yield _flat_span(span, resource, scope)


def _flat_span(span: Mapping[str, Any], resource: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    start = _int(span.get("startTimeUnixNano"))
    end = _int(span.get("endTimeUnixNano"))
    status = span.get("status") or {}
    return {
        "name": span.get("name", ""),
        "traceId": span.get("traceId", ""),
        "spanId": span.get("spanId", ""),
        "parentSpanId": span.get("parentSpanId") or None,
        "kind": int(span.get("kind", 0)),
        "startTimeUnixNano": start,
        "endTimeUnixNano": end,
        "durationNano": end - start,
        "attributes": decode_attributes(span.get("attributes")),
        "status": {"code": int(status.get("code", 0)), "message": status.get("message", "")},
        "events": [
            {
                "name": event.get("name", ""),
                "timeUnixNano": _int(event.get("timeUnixNano")),
                "attributes": decode_attributes(event.get("attributes")),
            }
            for event in span.get("events", ())
        ],
        "links": [
            {
                "traceId": link.get("traceId", ""),
                "spanId": link.get("spanId", ""),
                "attributes": decode_attributes(link.get("attributes")),
            }
            for link in span.get("links", ())
        ],
        "resource": resource,
        "scope": scope,
    }


def iter_log_records(path: PathLike, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every log record (event) in an OTLP JSON Lines file as one flat dict.

    Keys: ``eventName`` (``""`` when unnamed; older OpenTelemetry APIs name events by an
    ``event.name`` attribute instead), ``timeUnixNano`` and ``observedTimeUnixNano`` (ints or
    ``None``), ``severityNumber``, ``severityText``, ``body`` (python value), ``attributes``,
    ``traceId`` and ``spanId`` (hex, ``None`` when not correlated), ``flags``, ``resource`` and
    ``scope``.
    """
    for request in read_otlp_json_lines(path, strict=strict):
        for resource_logs in request.get("resourceLogs", ()):
            resource = decode_attributes((resource_logs.get("resource") or {}).get("attributes"))
            for scope_logs in resource_logs.get("scopeLogs", ()):
                scope = _scope(scope_logs.get("scope"))
                for log_record in scope_logs.get("logRecords", ()):
                    yield _flat_log_record(log_record, resource, scope)


def _flat_log_record(log_record: Mapping[str, Any], resource: dict[str, Any], scope: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventName": log_record.get("eventName", ""),
        "timeUnixNano": _int(log_record.get("timeUnixNano"), None),
        "observedTimeUnixNano": _int(log_record.get("observedTimeUnixNano"), None),
        "severityNumber": int(log_record.get("severityNumber", 0)),
        "severityText": log_record.get("severityText", ""),
        "body": decode_any_value(log_record.get("body")),
        "attributes": decode_attributes(log_record.get("attributes")),
        "traceId": log_record.get("traceId") or None,
        "spanId": log_record.get("spanId") or None,
        "flags": int(log_record.get("flags", 0)),
        "resource": resource,
        "scope": scope,
    }


def iter_metric_points(path: PathLike, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Yield every metric data point in an OTLP JSON Lines file as one flat dict.

    Keys: ``name``, ``description``, ``unit``, ``type`` (``"sum"``, ``"gauge"``,
    ``"histogram"``, ``"exponentialHistogram"`` or ``"summary"``), ``aggregationTemporality``
    (1 delta, 2 cumulative; ``None`` for gauges and summaries), ``isMonotonic`` (sums only),
    ``attributes``, ``startTimeUnixNano``, ``timeUnixNano``, ``resource``, ``scope``, and the
    point's values: ``value`` for sums and gauges; ``count``, ``sum``, ``min``, ``max``,
    ``bucketCounts`` and ``explicitBounds`` for histograms (ints and floats, absent fields as
    ``None``); other point types keep their remaining OTLP fields as they are.
    """
    for request in read_otlp_json_lines(path, strict=strict):
        for resource_metrics in request.get("resourceMetrics", ()):
            resource = decode_attributes((resource_metrics.get("resource") or {}).get("attributes"))
            for scope_metrics in resource_metrics.get("scopeMetrics", ()):
                scope = _scope(scope_metrics.get("scope"))
                for metric in scope_metrics.get("metrics", ()):
                    yield from _flat_points(metric, resource, scope)


def _flat_points(
    metric: Mapping[str, Any], resource: dict[str, Any], scope: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    for kind in _METRIC_DATA_FIELDS:
        data = metric.get(kind)
        if data is None:
            continue
        temporality = data.get("aggregationTemporality")
        for point in data.get("dataPoints", ()):
            flat: dict[str, Any] = {
                "name": metric.get("name", ""),
                "description": metric.get("description", ""),
                "unit": metric.get("unit", ""),
                "type": kind,
                "aggregationTemporality": None if temporality is None else int(temporality),
                "isMonotonic": bool(data.get("isMonotonic", False)) if kind == "sum" else None,
                "attributes": decode_attributes(point.get("attributes")),
                "startTimeUnixNano": _int(point.get("startTimeUnixNano")),
                "timeUnixNano": _int(point.get("timeUnixNano")),
                "resource": resource,
                "scope": scope,
            }
            flat.update(_point_values(kind, point))
            yield flat


def _point_values(kind: str, point: Mapping[str, Any]) -> dict[str, Any]:
    if kind in ("sum", "gauge"):
        if "asInt" in point:
            return {"value": int(point["asInt"])}
        return {"value": float(point.get("asDouble", 0.0))}
    if kind == "histogram":
        return {
            "count": _int(point.get("count")),
            "sum": _float(point.get("sum")),
            "min": _float(point.get("min")),
            "max": _float(point.get("max")),
            "bucketCounts": [int(count) for count in point.get("bucketCounts", ())],
            "explicitBounds": [float(bound) for bound in point.get("explicitBounds", ())],
        }
    skip = {"attributes", "startTimeUnixNano", "timeUnixNano", "exemplars"}
    return {key: value for key, value in point.items() if key not in skip}


def _float(value: Any) -> Optional[float]:
    return None if value is None else float(value)
