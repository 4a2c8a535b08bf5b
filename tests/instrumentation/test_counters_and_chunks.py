"""Counters summed in process and reported at collection; the per-chunk metric switch; ``get``."""

from __future__ import annotations

import threading
from collections import OrderedDict
from types import MappingProxyType, SimpleNamespace

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

import tokentrace
from tokentrace import semconv as sc
from tokentrace.instrumentation._attributes import get
from tokentrace.telemetry import Totals
from tokentrace.testing import CapturedTelemetry, FakeReply

M = 1e-6
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture(autouse=True)
def _prices():
    tokentrace.set_model_price("test-gpt", provider="openai", input=2.0, output=8.0)
    tokentrace.set_model_price("test-claude", provider="anthropic", input=3.0, output=15.0)
    yield
    tokentrace.reset_prices()


def _points(telemetry, name):
    return telemetry.metrics().get(name, [])


def _openai_call(fake, client, model="test-gpt", input_tokens=1000, output_tokens=50):
    fake.queue(FakeReply(text="hi", input_tokens=input_tokens, output_tokens=output_tokens))
    client.chat.completions.create(model=model, messages=USER)


def test_cost_counter_is_cumulative_across_collections(fake, instrumented):
    """Each collection reports the running total, not what was added since the last one."""
    client = fake.openai_client()
    per_call = (1000 * 2.0 + 50 * 8.0) * M
    _openai_call(fake, client)
    (point,) = _points(instrumented, sc.METRIC_COST)
    assert point.value == pytest.approx(per_call)
    assert point.attributes[sc.TT_COST_STATUS] == "reported"
    for _ in range(2):
        _openai_call(fake, client)
    (point,) = _points(instrumented, sc.METRIC_COST)
    assert point.value == pytest.approx(3 * per_call)
    (point,) = _points(instrumented, sc.METRIC_COST)  # nothing new: the same total again
    assert point.value == pytest.approx(3 * per_call)


def test_cost_counter_with_delta_temporality():
    """A reader asking for deltas gets what each interval added (the SDK derives it)."""
    from opentelemetry.sdk.metrics import ObservableCounter

    reader = InMemoryMetricReader(preferred_temporality={ObservableCounter: AggregationTemporality.DELTA})
    captured = CapturedTelemetry()
    captured.reader = reader
    captured.meter_provider = MeterProvider(metric_readers=[reader])
    from tokentrace.testing import FakeProvider

    fake = FakeProvider()
    tokentrace.instrument(tracer_provider=captured.tracer_provider, meter_provider=captured.meter_provider)
    try:
        client = fake.openai_client()
        per_call = (1000 * 2.0 + 50 * 8.0) * M
        for _ in range(2):
            _openai_call(fake, client)
        (point,) = _points(captured, sc.METRIC_COST)
        assert point.value == pytest.approx(2 * per_call)
        _openai_call(fake, client)
        (point,) = _points(captured, sc.METRIC_COST)
        assert point.value == pytest.approx(per_call)
    finally:
        tokentrace.uninstrument()
        captured.shutdown()


def test_counters_shared_by_both_instrumentors(fake, instrumented):
    """openai and anthropic calls land in the same counters (one registration per provider)."""
    _openai_call(fake, fake.openai_client())
    fake.queue(FakeReply(text="ok", input_tokens=10, output_tokens=20))
    fake.anthropic_client().messages.create(model="test-claude", max_tokens=64, messages=USER)
    fake.openai_client().chat.completions.create(model="nobody-prices-this", messages=USER)
    fake.anthropic_client().messages.create(model="nor-this", max_tokens=64, messages=USER)
    by_provider = {p.attributes[sc.GEN_AI_PROVIDER_NAME]: p.value for p in _points(instrumented, sc.METRIC_COST)}
    assert by_provider == {
        "openai": pytest.approx((1000 * 2.0 + 50 * 8.0) * M),
        "anthropic": pytest.approx((10 * 3.0 + 20 * 15.0) * M),
    }
    unknown = {p.attributes[sc.GEN_AI_PROVIDER_NAME]: p.value for p in _points(instrumented, sc.METRIC_COST_UNKNOWN)}
    assert unknown == {"openai": 1, "anthropic": 1}


def test_counters_survive_reinstrumenting_the_same_provider(fake, telemetry):
    """uninstrument() + instrument() on one meter provider: the totals go on (counters never reset)."""
    per_call = (1000 * 2.0 + 50 * 8.0) * M
    for _ in range(2):
        tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
        _openai_call(fake, fake.openai_client())
        tokentrace.uninstrument()
    (point,) = _points(telemetry, sc.METRIC_COST)
    assert point.value == pytest.approx(2 * per_call)


def test_cost_counter_from_many_threads(fake, instrumented):
    """Concurrent calls are all counted, exactly."""
    client = fake.openai_client()
    threads, calls = 8, 25
    errors = []

    def work():
        try:
            for _ in range(calls):
                client.chat.completions.create(model="unpriced-model", messages=USER)
                client.chat.completions.create(model="test-gpt", messages=USER)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert not errors
    (unknown,) = _points(instrumented, sc.METRIC_COST_UNKNOWN)
    assert unknown.value == threads * calls
    spans = [s for s in instrumented.spans() if s.attributes.get(sc.TT_COST_STATUS) == "reported"]
    assert len(spans) == threads * calls
    (point,) = _points(instrumented, sc.METRIC_COST)
    assert point.value == pytest.approx(sum(s.attributes[sc.TT_COST_TOTAL] for s in spans))


def test_totals_threads_exact_and_bounded():
    totals = Totals("t", limit=3)
    attrs = {"a": "x", "port": 443}

    def work():
        for _ in range(5000):
            totals.add(1.0, attrs)
            totals.add(0.5, attrs, ("status", "reported"))

    pool = [threading.Thread(target=work) for _ in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    sums = totals.totals()
    assert sums[(("a", "x"), ("port", 443))] == 30000.0
    assert sums[(("a", "x"), ("port", 443), ("status", "reported"))] == 15000.0
    totals.add(0, {"ignored": True})
    totals.add(-1, {"ignored": True})
    totals.add(float("nan"), {"ignored": True})
    assert len(totals.totals()) == 2
    totals.add(1, {"b": 1})  # the third set still fits
    for i in range(10):  # further sets go to the overflow set
        totals.add(2, {"c": i})
    sums = totals.totals()
    assert len(sums) == 4 and sums[(("otel.metric.overflow", True),)] == 20
    observed = {tuple(sorted(o.attributes.items())): o.value for o in totals.observe(None)}
    assert observed[(("otel.metric.overflow", True),)] == 20
    totals.add(1, {"seq": ["a", "b"]})  # list values (unhashable) still count
    assert totals.totals()[(("otel.metric.overflow", True),)] == 21


def _stream(fake, client):
    fake.queue(FakeReply(text="one two three four five six", input_tokens=8, output_tokens=6))
    chunks = list(client.chat.completions.create(model="test-gpt", messages=USER, stream=True))
    return chunks


def test_chunk_metrics_on_by_default(fake, instrumented):
    _stream(fake, fake.openai_client())
    attrs = instrumented.span().attributes
    (per_chunk,) = _points(instrumented, sc.METRIC_TIME_PER_OUTPUT_CHUNK)
    assert per_chunk.count == attrs[sc.TT_STREAM_CHUNKS] - 1 > 1
    assert per_chunk.attributes[sc.GEN_AI_REQUEST_MODEL] == "test-gpt"
    assert tuple(per_chunk.explicit_bounds) == (
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)  # the spec's


def test_chunk_metrics_can_be_turned_off(fake, instrument, monkeypatch):
    """TOKENTRACE_CHUNK_METRICS=false: no per-chunk points; everything else as before."""
    monkeypatch.setenv("TOKENTRACE_CHUNK_METRICS", "false")
    telemetry = instrument()
    _stream(fake, fake.openai_client())
    attrs = telemetry.span().attributes
    assert attrs[sc.TT_STREAM_CHUNKS] > 2 and attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    metrics = telemetry.metrics()
    assert sc.METRIC_TIME_PER_OUTPUT_CHUNK not in metrics
    (ttfc,) = metrics[sc.METRIC_TIME_TO_FIRST_CHUNK]
    assert ttfc.count == 1
    assert {p.attributes[sc.GEN_AI_TOKEN_TYPE] for p in metrics[sc.METRIC_TOKEN_USAGE]} == {"input", "output"}
    (cost,) = metrics[sc.METRIC_COST]
    assert cost.value == pytest.approx(attrs[sc.TT_COST_TOTAL])


def test_get_reads_attributes_and_mapping_keys():
    """Keys of any Mapping (never its methods), attributes of anything else, else the default."""
    assert get({"id": 1}, "id") == 1 and get({}, "id", 7) == 7
    assert get(MappingProxyType({"items": 2}), "items") == 2
    assert get(MappingProxyType({}), "items") is None
    assert get(OrderedDict(values=3), "values") == 3
    assert get(SimpleNamespace(id=4), "id") == 4
    assert get(SimpleNamespace(), "id", 5) == 5
    assert get(None, "id") is None
    assert get(None, "id", 6) == 6


# --- histogram points recorded at collection ---------------------------------------------------


def _deferred_of(telemetry):
    from tokentrace.telemetry import _shared_counters

    return _shared_counters(telemetry.meter_provider, None)[1]


def test_histogram_points_wait_for_the_collection(fake, instrumented):
    """A call queues its points; the next collection records them all, and only once."""
    deferred = _deferred_of(instrumented)
    client = fake.openai_client()
    for _ in range(3):
        _openai_call(fake, client)
    assert len(deferred) == 3
    metrics = instrumented.metrics()
    assert len(deferred) == 0
    (duration,) = metrics[sc.METRIC_OPERATION_DURATION]
    assert duration.count == 3
    tokens = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p for p in metrics[sc.METRIC_TOKEN_USAGE]}
    assert tokens["input"].sum == 3000 and tokens["output"].sum == 150
    (duration,) = _points(instrumented, sc.METRIC_OPERATION_DURATION)
    assert duration.count == 3  # cumulative: nothing recorded twice


def test_duration_exemplar_leads_to_the_call_span(fake, instrumented):
    _openai_call(fake, fake.openai_client())
    span = instrumented.span()
    (duration,) = _points(instrumented, sc.METRIC_OPERATION_DURATION)
    assert [(e.trace_id, e.span_id) for e in duration.exemplars] == [
        (span.context.trace_id, span.context.span_id)
    ]


def test_points_recorded_at_once_past_the_limit(fake, instrumented):
    deferred = _deferred_of(instrumented)
    deferred.limit = 0
    try:
        _openai_call(fake, fake.openai_client())
        assert len(deferred) == 0
        (duration,) = _points(instrumented, sc.METRIC_OPERATION_DURATION)
        assert duration.count == 1
    finally:
        deferred.limit = 20_000


def test_a_failing_deferred_point_does_not_stop_the_others(monkeypatch):
    from tokentrace._deferred import DeferredPoints

    monkeypatch.delenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", raising=False)
    deferred = DeferredPoints()
    done = []

    def broken():
        raise RuntimeError("boom")

    deferred.add(broken, ())
    deferred.add(done.append, (1,))
    assert list(deferred.drain()) == []
    assert done == [1] and len(deferred) == 0


def test_stream_chunk_gaps_recorded_at_collection(fake, instrumented):
    fake.queue(FakeReply(text="one two three four five", input_tokens=5, output_tokens=5))
    chunks = list(fake.openai_client().chat.completions.create(model="test-gpt", messages=USER, stream=True))
    content_chunks = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    span = instrumented.span()
    metrics = instrumented.metrics()
    (per_chunk,) = metrics[sc.METRIC_TIME_PER_OUTPUT_CHUNK]
    assert per_chunk.count == span.attributes[sc.TT_STREAM_CHUNKS] - 1 >= content_chunks - 1 > 0
    (first,) = metrics[sc.METRIC_TIME_TO_FIRST_CHUNK]
    assert first.count == 1 and first.exemplars[0].span_id == span.context.span_id


def test_chunks_read_after_the_call_ended_add_no_gap_points(fake, instrumented):
    """``close()`` ends the call; chunks the application still reads from the buffered body
    afterwards are not in the (later recorded) gaps, which stay those of the span's chunks."""
    fake.queue(FakeReply(text="one two three four five six seven eight", input_tokens=5, output_tokens=8))
    stream = fake.openai_client().chat.completions.create(model="test-gpt", messages=USER, stream=True)
    iterator = iter(stream)
    next(iterator), next(iterator), next(iterator)
    stream.close()
    after_close = list(iterator)
    span = instrumented.span()
    assert span.attributes[sc.TT_STREAM_CHUNKS] == 3 and span.attributes[sc.TT_STREAM_END] == sc.STREAM_END_CLOSED
    (per_chunk,) = instrumented.metrics()[sc.METRIC_TIME_PER_OUTPUT_CHUNK]
    assert after_close and per_chunk.count == 2
