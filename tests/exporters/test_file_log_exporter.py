"""OTLPJsonFileLogExporter: log records (the content events) as OTLP JSON ``resourceLogs`` lines."""

import base64
import json
import re

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tokentrace import semconv as sc
from tokentrace.exporters.file import (
    OTLPJsonFileLogExporter,
    OTLPJsonFileSpanExporter,
    iter_log_records,
    iter_spans,
)
from tokentrace.telemetry import ContentEvents

INPUT = [{"role": "user", "parts": [
    {"type": "text", "content": "hi"}, {"type": "uri", "modality": "image", "uri": "https://e.test/a.png"},
]}]
OUTPUT = [{"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}]


def emit_one_event(path, *, spans_too=False):
    """One chat span and its details event, written to ``path``; returns the span."""
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
    if spans_too:
        tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPJsonFileSpanExporter(path)))
    logger_provider = LoggerProvider(resource=Resource.create({"service.name": "svc"}))
    exporter = OTLPJsonFileLogExporter(path)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    events = ContentEvents(logger_provider)
    with tracer_provider.get_tracer("t").start_as_current_span("chat gpt-4o-mini") as span:
        attributes = {
            sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_USAGE_INPUT_TOKENS: 3, sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
        }
        events.emit(attributes, {sc.GEN_AI_INPUT_MESSAGES: INPUT, sc.GEN_AI_OUTPUT_MESSAGES: OUTPUT}, span)
    logger_provider.shutdown()
    tracer_provider.shutdown()
    return span


def decoded(value):
    return json.loads(value) if isinstance(value, str) else value


def test_each_export_is_one_resource_logs_line_with_hex_ids(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    span = emit_one_event(path)
    (line,) = path.read_text(encoding="utf-8").splitlines()
    body = json.loads(line)
    (record,) = body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    assert re.fullmatch(r"[0-9a-f]{32}", record["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", record["spanId"])
    assert int(record["traceId"], 16) == span.get_span_context().trace_id
    assert body["resourceLogs"][0]["scopeLogs"][0]["scope"]["name"] == "tokentrace"


def test_lines_round_trip_into_the_otlp_protobuf(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    emit_one_event(path)
    body = json.loads(path.read_text(encoding="utf-8"))
    for log_record in body["resourceLogs"][0]["scopeLogs"][0]["logRecords"]:
        for key in ("traceId", "spanId"):
            log_record[key] = base64.b64encode(bytes.fromhex(log_record[key])).decode()
    request = json_format.ParseDict(body, ExportLogsServiceRequest())
    assert len(request.resource_logs[0].scope_logs[0].log_records) == 1


def test_iter_log_records_flattens_and_decodes(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    span = emit_one_event(path)
    (record,) = iter_log_records(path)
    attributes = record["attributes"]
    name = record["eventName"] or attributes.pop("event.name")  # older APIs: an attribute
    assert name == sc.EVENT_INFERENCE_DETAILS
    assert record["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert record["spanId"] == format(span.get_span_context().span_id, "016x")
    assert record["resource"]["service.name"] == "svc" and record["scope"]["name"] == "tokentrace"
    assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat" and attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 3
    assert attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ["stop"]
    assert decoded(attributes[sc.GEN_AI_INPUT_MESSAGES]) == INPUT
    assert decoded(attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == OUTPUT
    assert record["timeUnixNano"] > 0


def test_spans_and_logs_share_one_file(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    emit_one_event(path, spans_too=True)
    kinds = [next(iter(json.loads(line))) for line in path.read_text(encoding="utf-8").splitlines()]
    assert sorted(kinds) == ["resourceLogs", "resourceSpans"]
    ((span,), (record,)) = list(iter_spans(path)), list(iter_log_records(path))
    assert (record["traceId"], record["spanId"]) == (span["traceId"], span["spanId"])


def test_empty_export_writes_nothing_and_export_after_shutdown_fails(tmp_path):
    path = tmp_path / "telemetry.jsonl"
    exporter = OTLPJsonFileLogExporter(path)
    assert exporter.export([]).name == "SUCCESS"
    assert not path.exists()
    exporter.shutdown()
    assert exporter.export([object()]).name == "FAILURE"
