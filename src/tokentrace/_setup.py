"""Set up OpenTelemetry providers (traces, metrics, and logs for the content events) from the
standard ``OTEL_*`` variables when the app has none.

An application that configured OpenTelemetry itself (or runs under ``opentelemetry-instrument``)
keeps its providers: tokentrace only adds its instrumentation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from . import environment_variables as env
from .config import ConfigError, parse_non_negative_int

_EXPORTERS = ("otlp", "console", "none")
_SIGNALS = (("OTEL_TRACES_EXPORTER", "TRACES"), ("OTEL_METRICS_EXPORTER", "METRICS"), ("OTEL_LOGS_EXPORTER", "LOGS"))
_PROTOCOLS = ("grpc", "http/protobuf")


@dataclass
class Providers:
    tracer_provider: Any
    meter_provider: Any
    created: bool
    """True when tokentrace created (and registered) the providers."""
    logger_provider: Any = None
    """Where the content events go (``gen_ai.client.inference.operation.details``)."""


def _is_configured(provider: Any, default_types: tuple[str, ...]) -> bool:
    return type(provider).__name__ not in default_types


def _exporter_names(environ: Mapping[str, str], variable: str) -> list[str]:
    raw = environ.get(variable, "otlp")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()] or ["otlp"]
    for name in names:
        if name not in _EXPORTERS:
            raise ConfigError(f"{variable} must be a comma-separated list of {', '.join(_EXPORTERS)}, got {raw!r}")
    return [n for n in names if n != "none"]


def _protocol(environ: Mapping[str, str], signal: str) -> str:
    for variable in (f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = environ.get(variable)
        if value:
            value = value.strip().lower()
            if value not in _PROTOCOLS:
                raise ConfigError(f"{variable} must be one of {', '.join(_PROTOCOLS)}, got {value!r}")
            return value
    return "grpc"


def _otlp_span_exporter(protocol: str) -> SpanExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
    return OTLPSpanExporter()


def _otlp_metric_exporter(protocol: str) -> MetricExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # type: ignore[assignment]
    return OTLPMetricExporter()


def _otlp_log_exporter(protocol: str) -> Any:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter  # type: ignore[assignment]
    return OTLPLogExporter()


def _console_log_exporter() -> Any:
    from opentelemetry.sdk._logs import export

    # Newer SDKs renamed it; the old name warns there.
    exporter_class = getattr(export, "ConsoleLogRecordExporter", None) or export.ConsoleLogExporter
    return exporter_class()


def _interval(environ: Mapping[str, str]) -> Optional[int]:
    for variable in (env.TOKENTRACE_METRIC_EXPORT_INTERVAL, "OTEL_METRIC_EXPORT_INTERVAL"):
        if environ.get(variable):
            value = parse_non_negative_int(variable, environ[variable])
            if value == 0:
                raise ConfigError(f"{variable} must be a positive number of milliseconds, got 0")
            return value
    return None


def validate_environment(environ: Optional[Mapping[str, str]] = None,
                         signals: tuple[str, ...] = ("TRACES", "METRICS", "LOGS")) -> None:
    """Check the variables of the providers about to be set up, so a bad value fails first."""
    environ = os.environ if environ is None else environ
    for variable, signal in _SIGNALS:
        if signal in signals and "otlp" in _exporter_names(environ, variable):
            _protocol(environ, signal)
    if "METRICS" in signals:
        _interval(environ)


def configure_providers(
    tracer_provider: Any = None,
    meter_provider: Any = None,
    otlp_file: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
    logger_provider: Any = None,
    events: bool = False,
) -> Providers:
    """Providers to instrument with: the given ones, the app's registered ones, or new ones.

    Each signal on its own (a MeterProvider is set up when the app registered a TracerProvider
    only). A LoggerProvider is set up only when ``events`` (content events are on) and the app
    registered none. Only the variables of the providers set up here are read and checked.
    """
    environ = os.environ if environ is None else environ
    if tracer_provider is None:
        tracer_provider = trace.get_tracer_provider()
    if meter_provider is None:
        meter_provider = metrics.get_meter_provider()
    if logger_provider is None:
        logger_provider = _logs.get_logger_provider()
    new_traces = not _is_configured(tracer_provider, ("ProxyTracerProvider", "NoOpTracerProvider"))
    new_metrics = not _is_configured(meter_provider, ("_ProxyMeterProvider", "NoOpMeterProvider"))
    new_logs = events and not _is_configured(logger_provider, ("ProxyLoggerProvider", "NoOpLoggerProvider"))
    signals = tuple(name for name, new in (("TRACES", new_traces), ("METRICS", new_metrics), ("LOGS", new_logs)) if new)
    validate_environment(environ, signals)
    if signals:
        otlp_file = otlp_file or environ.get(env.TOKENTRACE_OTLP_FILE) or None
    if new_traces:
        tracer_provider = _new_tracer_provider(environ, otlp_file)
        trace.set_tracer_provider(tracer_provider)
    if new_metrics:
        meter_provider = _new_meter_provider(environ, otlp_file)
        metrics.set_meter_provider(meter_provider)
    if new_logs:
        logger_provider = _new_logger_provider(environ, otlp_file)
        _logs.set_logger_provider(logger_provider)
    return Providers(tracer_provider, meter_provider, bool(signals), logger_provider)


def _new_tracer_provider(environ: Mapping[str, str], otlp_file: Optional[str]) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create())
    for name in _exporter_names(environ, "OTEL_TRACES_EXPORTER"):
        exporter = _otlp_span_exporter(_protocol(environ, "TRACES")) if name == "otlp" else ConsoleSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if otlp_file:
        from .exporters.file import OTLPJsonFileSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPJsonFileSpanExporter(otlp_file, flush_each=True)))
    return provider


def _new_meter_provider(environ: Mapping[str, str], otlp_file: Optional[str]) -> MeterProvider:
    interval = _interval(environ)
    readers: list[MetricReader] = []
    for name in _exporter_names(environ, "OTEL_METRICS_EXPORTER"):
        exporter = (
            _otlp_metric_exporter(_protocol(environ, "METRICS")) if name == "otlp" else ConsoleMetricExporter()
        )
        readers.append(PeriodicExportingMetricReader(exporter, export_interval_millis=interval))
    if otlp_file:
        from .exporters.file import OTLPJsonFileMetricExporter

        readers.append(
            PeriodicExportingMetricReader(
                OTLPJsonFileMetricExporter(otlp_file, flush_each=True), export_interval_millis=interval
            )
        )
    return MeterProvider(resource=Resource.create(), metric_readers=readers)


def _new_logger_provider(environ: Mapping[str, str], otlp_file: Optional[str]) -> LoggerProvider:
    provider = LoggerProvider(resource=Resource.create())
    for name in _exporter_names(environ, "OTEL_LOGS_EXPORTER"):
        exporter = _otlp_log_exporter(_protocol(environ, "LOGS")) if name == "otlp" else _console_log_exporter()
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    if otlp_file:
        from .exporters.file import OTLPJsonFileLogExporter

        provider.add_log_record_processor(BatchLogRecordProcessor(OTLPJsonFileLogExporter(otlp_file, flush_each=True)))
    return provider
