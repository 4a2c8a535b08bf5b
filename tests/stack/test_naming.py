"""OTel -> Prometheus name translation: the Collector exporter's rules, and what the stack uses."""

from __future__ import annotations

import pytest

from stackgen.metrics import ALL, COST, COST_SAVED, COST_UNKNOWN, DURATION, TIME_PER_OUTPUT_CHUNK, TIME_TO_FIRST_CHUNK, TOKEN_USAGE, L
from stackgen.naming import COUNTER, GAUGE, HISTOGRAM, UPDOWN_COUNTER, label_name, metric_name

from .exposition import go_float

# Cases of the rules as the Prometheus otlptranslator (used by the Collector's prometheus
# exporter) documents and tests them.
TRANSLATOR_CASES = [
    ("http.server.duration", "s", HISTOGRAM, "http_server_duration_seconds"),
    ("system.filesystem.usage", "By", GAUGE, "system_filesystem_usage_bytes"),
    ("system.network.dropped", "{packets}", COUNTER, "system_network_dropped_total"),
    ("system.network.dropped", "packets", GAUGE, "system_network_dropped_packets"),
    ("system.cpu.utilization", "1", GAUGE, "system_cpu_utilization_ratio"),
    ("items", "1", COUNTER, "items_total"),
    ("requests", "1/s", GAUGE, "requests_per_second"),
    ("throughput", "By/s", GAUGE, "throughput_bytes_per_second"),
    ("custom_metric", "By/{custom}", GAUGE, "custom_metric_bytes"),
    ("requests_total", "", COUNTER, "requests_total"),
    ("response_time_seconds", "s", GAUGE, "response_time_seconds"),
    ("response_time", "ms", GAUGE, "response_time_milliseconds"),
    ("123metric", "", GAUGE, "_123metric"),
    ("metric__with__multiple__underscores", "unit__multiple__underscores", GAUGE,
     "metric_with_multiple_underscores_unit_multiple_underscores"),
    ("custom_metric", "unit@with#special/chars", GAUGE, "custom_metric_unit_with_special_per_chars"),
    ("active_connections", "", UPDOWN_COUNTER, "active_connections"),
    ("(lambda).function.executions(#)", "", GAUGE, "lambda_function_executions"),
]


@pytest.mark.parametrize(("name", "unit", "kind", "expected"), TRANSLATOR_CASES)
def test_translator_rules(name, unit, kind, expected):
    assert metric_name(name, unit, kind) == expected


@pytest.mark.parametrize(("key", "expected"), [
    ("http.method", "http_method"), ("gen_ai.provider.name", "gen_ai_provider_name"),
    ("123invalid", "key_123invalid"), ("_private", "key_private"), ("__reserved__", "__reserved__"),
    ("error.type", "error_type"), ("tokentrace.cost.status", "tokentrace_cost_status"),
])
def test_label_rules(key, expected):
    assert label_name(key) == expected


def test_tokentrace_names():
    """The names the dashboards and alerts use (and the README documents)."""
    assert DURATION.bucket == "gen_ai_client_operation_duration_seconds_bucket"
    assert TOKEN_USAGE.sum == "gen_ai_client_token_usage_sum"  # {token}: an annotation, no suffix
    assert TIME_TO_FIRST_CHUNK.count == "gen_ai_client_operation_time_to_first_chunk_seconds_count"
    assert TIME_PER_OUTPUT_CHUNK.prom == "gen_ai_client_operation_time_per_output_chunk_seconds"
    assert COST.prom == "tokentrace_cost_USD_total"  # USD: not a UCUM unit in the table, kept as written
    assert COST_SAVED.prom == "tokentrace_cost_saved_USD_total"
    assert COST_UNKNOWN.prom == "tokentrace_cost_unknown_calls_total"  # {call}: dropped
    assert (L.provider, L.request_model, L.error_type, L.token_type, L.cost_status) == (
        "gen_ai_provider_name", "gen_ai_request_model", "error_type", "gen_ai_token_type", "tokentrace_cost_status")


def test_python_prometheus_exporter_gives_the_same_names():
    """opentelemetry-exporter-prometheus agrees on every tokentrace metric and label name.

    (It does not add job/instance from the resource, which the Collector does; the proof test's
    exposition therefore follows the Collector, not this exporter.)"""
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from opentelemetry.metrics import Observation
    from opentelemetry.sdk.metrics import MeterProvider
    from prometheus_client import REGISTRY, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    reader = PrometheusMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        meter = provider.get_meter("tokentrace", "0")
        attrs = {"gen_ai.provider.name": "openai", "error.type": "RateLimitError", "tokentrace.cost.status": "reported"}
        for m in ALL:
            if m.kind == HISTOGRAM:
                meter.create_histogram(m.otel_name, unit=m.unit).record(1, attrs)
            else:
                meter.create_observable_counter(m.otel_name, unit=m.unit,
                                                callbacks=[lambda options: [Observation(1, attrs)]])
        families = list(text_string_to_metric_families(generate_latest(REGISTRY).decode()))
        samples = {s.name for f in families for s in f.samples}
        labels = {k for f in families for s in f.samples for k in s.labels}
    finally:
        provider.shutdown()  # also unregisters the reader from the registry
    for m in ALL:
        for series in m.series_names:
            assert series in samples, f"{m.otel_name}: exporter has no {series} (it has {sorted(samples)})"
    assert {label_name(k) for k in attrs} <= labels


@pytest.mark.parametrize(("value", "text"), [
    (0.01, "0.01"), (1.0, "1"), (262144, "262144"), (1048576, "1.048576e+06"), (67108864, "6.7108864e+07"),
    (0.0001, "0.0001"), (0.00001, "1e-05"), (81.92, "81.92"), (float("inf"), "+Inf"),
])
def test_bucket_bounds_are_written_like_the_go_exporter(value, text):
    assert go_float(value) == text
