"""instrument() with no arguments: providers from OTEL_* variables, or the app's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tokentrace import semconv as sc
from tokentrace.exporters.file import iter_log_records, iter_spans

EVENT = sc.EVENT_INFERENCE_DETAILS

CALL = """
from tokentrace.testing import FakeProvider
FakeProvider().openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""


def _python(code: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TOKENTRACE_"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_sets_up_providers_from_environment(tmp_path: Path):
    """Without app providers, instrument() builds them from OTEL_* and writes the OTLP file."""
    out = tmp_path / "telemetry.jsonl"
    done = _python(
        "import tokentrace\ntokentrace.instrument()\n" + CALL
        + "from opentelemetry import trace, metrics\n"
        "trace.get_tracer_provider().force_flush(); metrics.get_meter_provider().force_flush()\n",
        OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none", OTEL_SERVICE_NAME="svc-under-test",
        TOKENTRACE_OTLP_FILE=str(out),
    )
    assert done.returncode == 0, done.stderr
    console = json.loads(done.stdout[done.stdout.index("{"):])
    assert console["name"] == "chat gpt-4o-mini"
    assert console["resource"]["attributes"]["service.name"] == "svc-under-test"
    spans = list(iter_spans(out))
    assert [s["name"] for s in spans] == ["chat gpt-4o-mini"]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert any("resourceMetrics" in line for line in lines)


def test_uses_the_app_providers(tmp_path: Path):
    """An app that registered its own TracerProvider gets tokentrace's spans in it."""
    done = _python(
        textwrap.dedent("""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import tokentrace
        tokentrace.instrument()
        assert trace.get_tracer_provider() is provider
        """) + CALL + "print([s.name for s in exporter.get_finished_spans()])\n",
        OTEL_METRICS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['chat gpt-4o-mini']"


def test_otlp_exporter_is_the_default(tmp_path: Path):
    """OTEL_TRACES_EXPORTER unset means OTLP, with the protocol from OTEL_EXPORTER_OTLP_PROTOCOL."""
    done = _python(
        textwrap.dedent("""
        import tokentrace
        from opentelemetry import trace
        tokentrace.instrument()
        processors = trace.get_tracer_provider()._active_span_processor._span_processors
        print(type(processors[0].span_exporter).__module__)
        """),
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_METRICS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "opentelemetry.exporter.otlp.proto.http.trace_exporter"


def test_content_events_go_to_the_otlp_file_and_the_console(tmp_path: Path):
    """With event capture on, the details event reaches OTEL_LOGS_EXPORTER and the OTLP file."""
    out = tmp_path / "telemetry.jsonl"
    done = _python(
        "import tokentrace\ntokentrace.instrument()\n" + CALL
        + "from opentelemetry import _logs, trace\n"
        "trace.get_tracer_provider().force_flush(); _logs.get_logger_provider().force_flush()\n",
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="console",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="EVENT_ONLY", TOKENTRACE_OTLP_FILE=str(out),
    )
    assert done.returncode == 0, done.stderr
    assert EVENT in done.stdout
    (span,) = iter_spans(out)
    (record,) = iter_log_records(out)
    assert (record["eventName"] or record["attributes"].get("event.name")) == EVENT
    assert (record["traceId"], record["spanId"]) == (span["traceId"], span["spanId"])
    assert "gen_ai.input.messages" in record["attributes"] and "gen_ai.input.messages" not in span["attributes"]
    assert any("resourceLogs" in json.loads(line) for line in out.read_text().splitlines())


def test_uses_the_app_logger_provider():
    """An app that registered its own LoggerProvider gets the events in it."""
    done = _python(
        textwrap.dedent("""
        from opentelemetry import _logs
        from tokentrace.testing import CapturedTelemetry
        captured = CapturedTelemetry()
        _logs.set_logger_provider(captured.logger_provider)
        import tokentrace
        tokentrace.instrument(capture_content="EVENT_ONLY")
        assert _logs.get_logger_provider() is captured.logger_provider
        """) + CALL + "print([event.name for event in captured.events()])\n",
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"['{EVENT}']"


def test_logs_take_their_own_otlp_protocol():
    """OTEL_EXPORTER_OTLP_LOGS_PROTOCOL picks the log exporter, as for the other signals."""
    done = _python(
        textwrap.dedent("""
        import tokentrace._setup as setup
        modules = []
        class Recording:
            def __init__(self, exporter, *args, **kwargs):
                modules.append(type(exporter).__module__)
            def __getattr__(self, name):
                return lambda *args, **kwargs: True
        setup.BatchLogRecordProcessor = Recording
        import tokentrace
        tokentrace.instrument()
        print(modules)
        """),
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="http/protobuf",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="EVENT_ONLY",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['opentelemetry.exporter.otlp.proto.http._log_exporter']"


def test_no_logger_provider_without_content_events():
    """Content capture off (the default): tokentrace registers no LoggerProvider, so the app can
    still set its own later."""
    done = _python(textwrap.dedent("""
        import tokentrace
        from opentelemetry import _logs
        tokentrace.instrument()
        print(type(_logs.get_logger_provider()).__name__)
        """), OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ProxyLoggerProvider"


def test_variables_of_providers_the_app_set_up_are_not_read():
    """The app registered every provider: an exporter name tokentrace does not know (valid for the
    app's own setup) does not fail instrument()."""
    done = _python(textwrap.dedent("""
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        trace.set_tracer_provider(TracerProvider())
        metrics.set_meter_provider(MeterProvider())
        _logs.set_logger_provider(LoggerProvider())
        import tokentrace
        tokentrace.instrument()
        print("ok")
        """), OTEL_TRACES_EXPORTER="otlp_proto_http", OTEL_LOGS_EXPORTER="otlp_proto_http",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="EVENT_ONLY")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_bad_variables_of_providers_tokentrace_sets_up_fail():
    done = _python("import tokentrace\ntokentrace.instrument()\n", OTEL_TRACES_EXPORTER="zipkin-ish")
    assert done.returncode != 0 and "OTEL_TRACES_EXPORTER" in done.stderr
