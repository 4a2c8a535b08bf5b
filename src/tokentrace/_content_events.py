"""The ``gen_ai.client.inference.operation.details`` event: one log record per call, through the
Logs API, for every OpenTelemetry API from the floor to the newest."""

from __future__ import annotations

import functools
import inspect
import json
import time
from typing import Any, Mapping, Optional

from opentelemetry import _logs, trace
from opentelemetry.attributes import BoundedAttributes

from . import semconv as sc
from .version import __version__

SCOPE = "tokentrace"

_EVENT_NAME_ATTRIBUTE = "event.name"
"""Where OpenTelemetry APIs whose ``LogRecord`` has no ``event_name`` yet put the event's name."""


@functools.lru_cache(maxsize=None)
def _parameters(callable_: Any) -> frozenset[str]:
    try:
        return frozenset(inspect.signature(callable_).parameters)
    except (TypeError, ValueError):
        return frozenset()


# Resolved once: which Logs API this process has (opentelemetry-api 1.30 to the newest).
_EMIT_TAKES_FIELDS = "event_name" in _parameters(_logs.Logger.emit)
"""API >= 1.37: ``Logger.emit(event_name=..., attributes=..., context=...)``; the SDK builds the
record with its resource and scope."""
_STRUCTURED_LOG_ATTRIBUTES = "extended_attributes" in _parameters(BoundedAttributes.__init__)
"""SDKs that keep maps and lists of maps in log attributes; older ones drop them, so content
goes as the same JSON text as on the span."""


class ContentEvents:
    """Emits one ``gen_ai.client.inference.operation.details`` log record per call, through the
    Logs API, correlated with the call's span through the context."""

    def __init__(self, logger_provider: Optional[_logs.LoggerProvider] = None) -> None:
        self.logger = _logs.get_logger(SCOPE, __version__, logger_provider=logger_provider)

    def emit(self, attributes: dict[str, Any], content: Mapping[str, Any], span: trace.Span) -> None:
        for key, value in content.items():
            attributes[key] = value if _STRUCTURED_LOG_ATTRIBUTES else _to_json(value)
        context = trace.set_span_in_context(span)
        if _EMIT_TAKES_FIELDS:
            self.logger.emit(
                event_name=sc.EVENT_INFERENCE_DETAILS, attributes=attributes, context=context,
                timestamp=time.time_ns(),
            )
        else:
            self.logger.emit(_legacy_record(self.logger, attributes, span, context))


def _legacy_record(logger: Any, attributes: dict[str, Any], span: trace.Span, context: Any) -> Any:
    """A log record for APIs before 1.37, whose SDK loggers export only the SDK's own record
    class (it carries the resource); any other logger gets the API's record."""
    real = getattr(logger, "_logger", logger)  # a ProxyLogger's delegate, once there is one
    record_class: Any = _logs.LogRecord
    # Older OTLP encoders read the severity's value: none would fail the export.
    fields: dict[str, Any] = {
        "timestamp": time.time_ns(), "attributes": attributes, "severity_number": _logs.SeverityNumber.UNSPECIFIED,
    }
    resource = getattr(real, "resource", None)
    if resource is not None:
        try:
            from opentelemetry.sdk._logs import LogRecord as record_class  # type: ignore[no-redef]
        except ImportError:
            record_class = _logs.LogRecord
        else:
            fields["resource"] = resource
    parameters = _parameters(record_class.__init__)
    if "context" in parameters:
        fields["context"] = context
    else:
        span_context = span.get_span_context()
        fields.update(trace_id=span_context.trace_id, span_id=span_context.span_id,
                      trace_flags=span_context.trace_flags)
    if "event_name" in parameters:
        fields["event_name"] = sc.EVENT_INFERENCE_DETAILS
    else:
        fields["attributes"] = {_EVENT_NAME_ATTRIBUTE: sc.EVENT_INFERENCE_DETAILS, **attributes}
    return record_class(**fields)


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
