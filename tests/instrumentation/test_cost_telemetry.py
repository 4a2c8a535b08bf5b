"""Cost on spans and in metrics, for real SDK calls."""

from __future__ import annotations

import logging

import pytest

import tokentrace
from tokentrace import semconv as sc
from tokentrace.testing import FakeReply

M = 1e-6
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture(autouse=True)
def _prices():
    tokentrace.set_model_price("test-gpt", provider="openai", input=2.0, output=8.0, cached_input=0.5)
    tokentrace.set_model_price(
        "test-claude", provider="anthropic", input=3.0, output=15.0, cache_read=0.3, cache_write_5m=3.75,
        cache_write_1h=6.0,
    )
    yield
    tokentrace.reset_prices()


def test_openai_cost_on_span_and_metric(fake, instrumented):
    """A priced call carries total and parts on its span and adds to the cost counter."""
    fake.queue(FakeReply(text="hi", input_tokens=1000, output_tokens=50, cached_tokens=400, response_model="test-gpt-2025-01-01"))
    fake.openai_client().chat.completions.create(model="test-gpt", messages=USER)
    attrs = instrumented.span().attributes
    expected = (600 * 2.0 + 400 * 0.5 + 50 * 8.0) * M
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx(expected)
    assert attrs[sc.TT_COST_INPUT] == pytest.approx(600 * 2.0 * M)
    assert attrs[sc.TT_COST_CACHED_INPUT] == pytest.approx(400 * 0.5 * M)
    assert attrs[sc.TT_COST_OUTPUT] == pytest.approx(50 * 8.0 * M)
    assert attrs[sc.TT_COST_CURRENCY] == "USD" and attrs[sc.TT_COST_STATUS] == "reported"
    (point,) = instrumented.metrics()[sc.METRIC_COST]
    assert point.value == pytest.approx(expected)
    assert point.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert point.attributes[sc.GEN_AI_REQUEST_MODEL] == "test-gpt"
    assert point.attributes[sc.GEN_AI_OPERATION_NAME] == "chat"


def test_anthropic_cache_write_and_read(fake, instrumented):
    """Anthropic cache reads and writes are priced once each on the span."""
    fake.queue(FakeReply(text="ok", input_tokens=10, output_tokens=20, cached_tokens=100, cache_creation_tokens=50))
    fake.anthropic_client().messages.create(model="test-claude", max_tokens=64, messages=USER)
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_COST_INPUT] == pytest.approx(10 * 3.0 * M)
    assert attrs[sc.TT_COST_CACHED_INPUT] == pytest.approx(100 * 0.3 * M)
    assert attrs[sc.TT_COST_CACHE_WRITE] == pytest.approx(50 * 3.75 * M)
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx((30 + 30 + 187.5 + 300) * M)


def test_stream_cost_comes_from_stream_usage(fake, instrumented):
    """A streamed call is priced from the usage the stream reported (not $0)."""
    fake.queue(FakeReply(text="a b c", input_tokens=100, output_tokens=3))
    list(fake.openai_client().chat.completions.create(model="test-gpt", messages=USER, stream=True))
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_COST_STATUS] == "reported"
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx((100 * 2.0 + 3 * 8.0) * M)


def test_unknown_model_is_unknown_and_warned_once(fake, instrumented, caplog):
    """An unpriced model: status unknown, no total, one warning, counted separately."""
    client = fake.openai_client()
    with caplog.at_level(logging.WARNING, logger="tokentrace"):
        for _ in range(3):
            client.chat.completions.create(model="model-nobody-prices", messages=USER)
    for span in instrumented.spans():
        assert span.attributes[sc.TT_COST_STATUS] == "unknown"
        assert sc.TT_COST_TOTAL not in span.attributes
    warnings = [r for r in caplog.records if "model-nobody-prices" in r.getMessage()]
    assert len(warnings) == 1
    metrics = instrumented.metrics()
    assert sc.METRIC_COST not in metrics
    (unknown,) = metrics[sc.METRIC_COST_UNKNOWN]
    assert unknown.value == 3
