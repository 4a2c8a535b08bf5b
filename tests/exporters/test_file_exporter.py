import base64
import json
import logging
import os
import re
import threading

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tokentrace.exporters.file import (
    OTLPJsonFileMetricExporter,
    OTLPJsonFileSpanExporter,
    iter_metric_points,
    iter_spans,
    read_otlp_json_lines,
)

HEX_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
HEX_SPAN_ID = re.compile(r"^[0-9a-f]{16}$")
ID_FIELDS = {"traceId", "spanId", "parentSpanId"}

ATTRIBUTES = {
    "str": "héllo",
    "empty": "",
    "int": 42,
    "big": 2**62,
    "negative": -7,
    "float": 1.5,
    "bool": True,
    "false": False,
    "strs": ["a", "b"],
    "ints": [1, 2, 3],
    "floats": [0.5, 2.0],
    "bools": [True, False],
}


def lines_of(path):
    with open(path, encoding="utf-8") as file:
        return file.read().splitlines()


def ids_to_base64(node):
    """The OTLP/JSON file uses hex ids; protobuf's JSON parser wants base64 for bytes fields."""
    if isinstance(node, dict):
        return {
            key: base64.b64encode(bytes.fromhex(value)).decode()
            if key in ID_FIELDS and isinstance(value, str)
            else ids_to_base64(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [ids_to_base64(item) for item in node]
    return node


def parse_trace_line(line):
    return json_format.Parse(json.dumps(ids_to_base64(json.loads(line))), ExportTraceServiceRequest())


def parse_metrics_line(line):
    return json_format.Parse(
        json.dumps(ids_to_base64(json.loads(line))), ExportMetricsServiceRequest()
    )


@pytest.fixture
def traced(tmp_path):
    """A provider writing each span to the file as it ends, and also keeping it in memory."""
    path = tmp_path / "out" / "nested" / "spans.jsonl"
    exporter = OTLPJsonFileSpanExporter(path)
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "svc", "deployment": 3}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tokentrace.test", "1.2.3")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        with tracer.start_as_current_span(
            "child",
            kind=SpanKind.CLIENT,
            attributes=ATTRIBUTES,
            links=[Link(parent.get_span_context(), {"why": "test"})],
        ) as child:
            child.add_event("chunk", {"index": 0, "text": "a"})
            child.set_status(Status(StatusCode.ERROR, "boom"))
    provider.shutdown()
    return path, memory.get_finished_spans()


def test_each_export_appends_one_otlp_json_line(traced):
    path, (child, parent) = traced
    lines = lines_of(path)
    assert len(lines) == 2  # SimpleSpanProcessor exports each span on its own

    body = json.loads(lines[0])
    span = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert body["resourceSpans"][0]["scopeSpans"][0]["scope"] == {
        "name": "tokentrace.test",
        "version": "1.2.3",
    }
    assert span["name"] == "child"
    assert span["traceId"] == format(child.context.trace_id, "032x")
    assert span["spanId"] == format(child.context.span_id, "016x")
    assert span["parentSpanId"] == format(parent.context.span_id, "016x")
    assert HEX_TRACE_ID.match(span["traceId"]) and HEX_SPAN_ID.match(span["spanId"])
    assert span["kind"] == 3  # enums are integers: SPAN_KIND_CLIENT
    assert span["status"] == {"code": 2, "message": "boom"}
    assert span["startTimeUnixNano"] == str(child.start_time)  # int64 as a decimal string
    assert span["endTimeUnixNano"] == str(child.end_time)
    assert span["links"][0]["traceId"] == format(parent.context.trace_id, "032x")
    assert span["links"][0]["spanId"] == format(parent.context.span_id, "016x")
    assert span["events"][0]["name"] == "chunk"

    values = {kv["key"]: kv["value"] for kv in span["attributes"]}
    assert values["int"] == {"intValue": "42"}
    assert values["big"] == {"intValue": str(2**62)}
    assert values["float"] == {"doubleValue": 1.5}
    assert values["bool"] == {"boolValue": True}
    assert values["false"] == {"boolValue": False}
    assert values["empty"] == {"stringValue": ""}
    assert values["ints"] == {
        "arrayValue": {"values": [{"intValue": "1"}, {"intValue": "2"}, {"intValue": "3"}]}
    }

    root = json.loads(lines[1])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert "parentSpanId" not in root  # default values are omitted
    assert "status" not in root or root["status"] == {}
    assert "snake_case" not in lines[0] and "start_time_unix_nano" not in lines[0]


def test_lines_are_compact_utf8(traced):
    path, _ = traced
    raw = path.read_bytes()
    assert "héllo".encode() in raw
    assert b'", "' not in raw and b'": ' not in raw
    assert raw.endswith(b"\n")


def test_lines_round_trip_into_the_otlp_protobuf(traced):
    path, spans = traced
    for line, span in zip(lines_of(path), spans):
        assert parse_trace_line(line) == encode_spans([span])


def test_ids_in_the_file_are_hex_not_base64(traced):
    path, (child, _) = traced
    line = lines_of(path)[0]
    base64_trace_id = base64.b64encode(child.context.trace_id.to_bytes(16, "big")).decode()
    assert base64_trace_id not in line
    assert format(child.context.trace_id, "032x") in line


def test_iter_spans_flattens_and_decodes(traced):
    path, (child, parent) = traced
    flat = {span["name"]: span for span in iter_spans(path)}
    assert set(flat) == {"child", "parent"}

    span = flat["child"]
    assert span["traceId"] == format(child.context.trace_id, "032x")
    assert span["spanId"] == format(child.context.span_id, "016x")
    assert span["parentSpanId"] == format(parent.context.span_id, "016x")
    assert span["kind"] == 3
    assert span["startTimeUnixNano"] == child.start_time
    assert span["endTimeUnixNano"] == child.end_time
    assert span["durationNano"] == child.end_time - child.start_time
    assert span["attributes"] == ATTRIBUTES
    assert span["status"] == {"code": 2, "message": "boom"}
    assert span["events"] == [
        {"name": "chunk", "timeUnixNano": child.events[0].timestamp, "attributes": {"index": 0, "text": "a"}}
    ]
    assert span["links"][0]["attributes"] == {"why": "test"}
    assert span["resource"]["service.name"] == "svc"
    assert span["resource"]["deployment"] == 3
    assert span["scope"]["name"] == "tokentrace.test"

    assert flat["parent"]["parentSpanId"] is None
    assert flat["parent"]["kind"] == 2
    assert flat["parent"]["status"] == {"code": 0, "message": ""}


def test_batch_span_processor_writes_every_span(tmp_path):
    path = tmp_path / "batch.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPJsonFileSpanExporter(path), max_export_batch_size=7))
    tracer = provider.get_tracer("batch")
    for index in range(30):
        with tracer.start_as_current_span(f"span-{index}", attributes={"index": index}):
            pass
    provider.shutdown()

    lines = lines_of(path)
    assert len(lines) >= 30 // 7
    for line in lines:
        parse_trace_line(line)
    assert sorted(span["attributes"]["index"] for span in iter_spans(path)) == list(range(30))


def test_flush_each_makes_lines_visible_at_once(tmp_path):
    buffered = OTLPJsonFileSpanExporter(tmp_path / "buffered.jsonl")
    flushed = OTLPJsonFileSpanExporter(tmp_path / "flushed.jsonl", flush_each=True)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(buffered))
    provider.add_span_processor(SimpleSpanProcessor(flushed))
    with provider.get_tracer("t").start_as_current_span("s"):
        pass

    assert len(lines_of(tmp_path / "flushed.jsonl")) == 1
    assert lines_of(tmp_path / "buffered.jsonl") == []
    assert buffered.force_flush() is True
    assert len(lines_of(tmp_path / "buffered.jsonl")) == 1
    provider.shutdown()


def test_appends_to_an_existing_file(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans":[]}\n', encoding="utf-8")
    exporter = OTLPJsonFileSpanExporter(str(path))
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("s"):
        pass
    provider.shutdown()
    lines = lines_of(path)
    assert lines[0] == '{"resourceSpans":[]}'
    assert len(lines) == 2


def test_a_partial_last_line_is_ended_before_appending(tmp_path):
    path = tmp_path / "spans.jsonl"
    path.write_text('{"resourceSpans":[]}\n{"resourceSp', encoding="utf-8")  # killed mid-write
    exporter = OTLPJsonFileSpanExporter(path)
    assert exporter.export([_one_span()]) is SpanExportResult.SUCCESS
    exporter.shutdown()
    lines = lines_of(path)
    assert lines[1] == '{"resourceSp'
    assert [span["name"] for span in iter_spans(path)] == ["one"]


def test_empty_export_writes_nothing_and_export_after_shutdown_fails(tmp_path):
    path = tmp_path / "spans.jsonl"
    exporter = OTLPJsonFileSpanExporter(path)
    assert exporter.export([]) is SpanExportResult.SUCCESS
    assert not path.exists()
    exporter.shutdown()
    exporter.shutdown()  # idempotent
    span = _one_span()
    assert exporter.export([span]) is SpanExportResult.FAILURE
    assert not path.exists()


def _one_span():
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("one"):
        pass
    provider.shutdown()
    return memory.get_finished_spans()[0]


def test_unwritable_path_returns_failure_logs_once_and_never_raises(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    exporter = OTLPJsonFileSpanExporter(blocker / "sub" / "spans.jsonl")
    span = _one_span()
    with caplog.at_level(logging.DEBUG, logger="tokentrace.exporters.file"):
        assert exporter.export([span]) is SpanExportResult.FAILURE
        assert exporter.export([span]) is SpanExportResult.FAILURE
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "spans.jsonl" in warnings[0].getMessage()
    assert exporter.force_flush() is True  # nothing buffered, nothing to fail
    exporter.shutdown()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_disk_full_returns_failure(caplog):
    exporter = OTLPJsonFileSpanExporter("/dev/full", flush_each=True)
    with caplog.at_level(logging.WARNING, logger="tokentrace.exporters.file"):
        assert exporter.export([_one_span()]) is SpanExportResult.FAILURE
        assert exporter.export([_one_span()]) is SpanExportResult.FAILURE
        exporter.shutdown()
    assert len(caplog.records) == 1


def test_failed_metric_export_returns_failure(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("m").create_counter("c").add(1)
    exporter = OTLPJsonFileMetricExporter(blocker / "metrics.jsonl")
    assert exporter.export(reader.get_metrics_data()) is MetricExportResult.FAILURE
    provider.shutdown()


def test_concurrent_exports_write_whole_lines(tmp_path):
    path = tmp_path / "concurrent.jsonl"
    exporter = OTLPJsonFileSpanExporter(path)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for index in range(16):
        # Large enough that one line spans several write buffers.
        with tracer.start_as_current_span("s", attributes={"i": index, "pad": "x" * 20_000}):
            pass
    spans = memory.get_finished_spans()
    threads, per_thread = 8, 25
    results = []

    def work():
        for _ in range(per_thread):
            results.append(exporter.export(spans))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    exporter.shutdown()
    provider.shutdown()

    assert results == [SpanExportResult.SUCCESS] * (threads * per_thread)
    lines = lines_of(path)
    assert len(lines) == threads * per_thread
    for line in lines:
        assert len(json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) == 16


def test_reader_skips_or_rejects_a_truncated_last_line(traced):
    path, _ = traced
    with open(path, "a", encoding="utf-8") as file:
        file.write('\n{"resourceSpans":[{"scopeSp')
    assert len(list(read_otlp_json_lines(path))) == 2
    assert len(list(iter_spans(path))) == 2
    with pytest.raises(ValueError, match=":4: not valid JSON"):
        list(read_otlp_json_lines(path, strict=True))


# --- metrics -------------------------------------------------------------------------------------


def _record_metrics(provider, tracer_provider):
    meter = provider.get_meter("tokentrace.test", "1.0")
    tokens = meter.create_counter("gen_ai.client.token.usage.total", unit="{token}")
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration",
        unit="s",
        explicit_bucket_boundaries_advisory=[0.1, 1.0, 10.0],
    )
    in_flight = meter.create_up_down_counter("in_flight")
    with tracer_provider.get_tracer("t").start_as_current_span("call") as span:
        tokens.add(120, {"gen_ai.token.type": "input"})
        duration.record(0.5, {"gen_ai.request.model": "gpt-4o"})
        duration.record(3.0, {"gen_ai.request.model": "gpt-4o"})
        in_flight.add(2)
    return span


def test_metrics_line_has_histogram_sum_and_hex_exemplar_ids(tmp_path):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    span = _record_metrics(provider, TracerProvider())
    data = reader.get_metrics_data()
    path = tmp_path / "metrics.jsonl"
    exporter = OTLPJsonFileMetricExporter(path)
    assert exporter.export(data) is MetricExportResult.SUCCESS
    exporter.shutdown()
    provider.shutdown()

    (line,) = lines_of(path)
    metrics = {
        metric["name"]: metric
        for metric in json.loads(line)["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
    }
    histogram = metrics["gen_ai.client.operation.duration"]["histogram"]
    point = histogram["dataPoints"][0]
    assert histogram["aggregationTemporality"] == 2
    assert point["explicitBounds"] == [0.1, 1.0, 10.0]
    assert point["bucketCounts"] == ["0", "1", "1", "0"]
    assert point["count"] == "2"
    assert point["sum"] == 3.5
    exemplar = point["exemplars"][0]
    assert exemplar["traceId"] == format(span.get_span_context().trace_id, "032x")
    assert exemplar["spanId"] == format(span.get_span_context().span_id, "016x")

    total = metrics["gen_ai.client.token.usage.total"]["sum"]
    assert total["isMonotonic"] is True
    assert total["dataPoints"][0]["asInt"] == "120"
    assert metrics["in_flight"]["sum"]["dataPoints"][0]["asInt"] == "2"
    assert "isMonotonic" not in metrics["in_flight"]["sum"]  # false is the default

    assert parse_metrics_line(line) == encode_metrics(data)


def test_iter_metric_points_decodes_values(tmp_path):
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _record_metrics(provider, TracerProvider())
    path = tmp_path / "metrics.jsonl"
    exporter = OTLPJsonFileMetricExporter(path)
    exporter.export(reader.get_metrics_data())
    exporter.shutdown()
    provider.shutdown()

    points = {point["name"]: point for point in iter_metric_points(path)}
    histogram = points["gen_ai.client.operation.duration"]
    assert histogram["type"] == "histogram"
    assert histogram["attributes"] == {"gen_ai.request.model": "gpt-4o"}
    assert histogram["count"] == 2
    assert histogram["sum"] == 3.5
    assert (histogram["min"], histogram["max"]) == (0.5, 3.0)
    assert histogram["bucketCounts"] == [0, 1, 1, 0]
    assert histogram["explicitBounds"] == [0.1, 1.0, 10.0]
    assert histogram["scope"]["name"] == "tokentrace.test"
    tokens = points["gen_ai.client.token.usage.total"]
    assert (tokens["type"], tokens["value"], tokens["isMonotonic"]) == ("sum", 120, True)
    assert tokens["unit"] == "{token}"
    assert tokens["aggregationTemporality"] == 2
    assert points["in_flight"]["isMonotonic"] is False


def _temporalities(path):
    return {point["name"]: point["aggregationTemporality"] for point in iter_metric_points(path)}


def _export_through_periodic_reader(exporter):
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    _record_metrics(provider, TracerProvider())
    provider.shutdown()  # collects and exports once, then shuts the exporter down


def test_periodic_reader_uses_cumulative_temporality_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", raising=False)
    path = tmp_path / "m.jsonl"
    _export_through_periodic_reader(OTLPJsonFileMetricExporter(path))
    assert set(_temporalities(path).values()) == {2}


def test_delta_preference_keeps_up_down_counters_cumulative(tmp_path):
    path = tmp_path / "m.jsonl"
    _export_through_periodic_reader(OTLPJsonFileMetricExporter(path, temporality_preference="delta"))
    assert _temporalities(path) == {
        "gen_ai.client.token.usage.total": 1,
        "gen_ai.client.operation.duration": 1,
        "in_flight": 2,
    }


def test_temporality_comes_from_the_environment_and_can_be_overridden(tmp_path, monkeypatch):
    from opentelemetry.sdk.metrics import Histogram
    from opentelemetry.sdk.metrics.export import AggregationTemporality

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "DELTA")
    path = tmp_path / "m.jsonl"
    exporter = OTLPJsonFileMetricExporter(
        path, preferred_temporality={Histogram: AggregationTemporality.CUMULATIVE}
    )
    _export_through_periodic_reader(exporter)
    assert _temporalities(path) == {
        "gen_ai.client.token.usage.total": 1,
        "gen_ai.client.operation.duration": 2,
        "in_flight": 2,
    }


def test_unknown_temporality_preference_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="temporality_preference"):
        OTLPJsonFileMetricExporter(tmp_path / "m.jsonl", temporality_preference="sometimes")
