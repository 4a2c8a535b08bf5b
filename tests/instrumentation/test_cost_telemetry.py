"""Cost on spans and in metrics, for real SDK calls."""

from __future__ import annotations

import logging

import pytest

import tokentrace
from tokentrace import semconv as sc
from tokentrace.testing import FakeDisconnect, FakeReply

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


def test_stream_without_usage_is_costed_from_an_estimate(fake, instrument):
    """No include_usage (tokentrace told not to ask): tokens are counted locally and the cost is
    marked estimated, priced from those counts, never 0 and never 'reported'."""
    telemetry = instrument(openai_stream_usage=False)
    fake.queue(FakeReply(text="alpha beta gamma", input_tokens=999, output_tokens=999))
    list(fake.openai_client().chat.completions.create(model="test-gpt", messages=USER, stream=True))
    attrs = telemetry.span().attributes
    assert attrs[sc.TT_COST_STATUS] == "estimated" and attrs[sc.TT_USAGE_SOURCE] == "estimated"
    inputs, outputs = attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]
    assert inputs == tokentrace.estimate(model="test-gpt", messages=USER).input_tokens
    assert 0 < outputs < 999  # counted from the text received, not the fake's report
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx((inputs * 2.0 + outputs * 8.0) * M)
    (point,) = telemetry.metrics()[sc.METRIC_COST]
    assert point.attributes[sc.TT_COST_STATUS] == "estimated"


def test_stream_cut_short_is_costed_from_what_arrived(fake, instrumented):
    """A stream broken mid-way: an error span that still carries the estimated cost of what was sent."""
    fake.queue(FakeDisconnect(after_chunks=3, reply=FakeReply(text="one two three four five six")))
    with pytest.raises(Exception):
        list(fake.openai_client(max_retries=0).chat.completions.create(model="test-gpt", messages=USER, stream=True))
    attrs = instrumented.span().attributes
    assert sc.ERROR_TYPE in attrs
    assert attrs[sc.TT_COST_STATUS] == "estimated" and attrs[sc.TT_USAGE_SOURCE] == "estimated"
    assert attrs[sc.TT_COST_TOTAL] > 0


def test_unknown_cost_says_why(fake, instrument):
    """unknown_calls tells a missing price from missing usage."""
    telemetry = instrument(openai_stream_usage=False, estimate_missing_usage=False)
    client = fake.openai_client()
    client.chat.completions.create(model="model-nobody-prices", messages=USER)
    list(client.chat.completions.create(model="test-gpt", messages=USER, stream=True))
    reasons = {p.attributes[sc.GEN_AI_REQUEST_MODEL]: p.attributes[sc.TT_COST_UNKNOWN_REASON]
               for p in telemetry.metrics()[sc.METRIC_COST_UNKNOWN]}
    assert reasons == {"model-nobody-prices": "no_price", "test-gpt": "no_usage"}


def test_prompt_cache_tokens_are_counted_by_operation(fake, instrumented):
    """Cache reads and writes of the provider's prompt cache get their own counter (the token
    histogram has only input and output)."""
    fake.queue(FakeReply(text="ok", input_tokens=10, output_tokens=2, cached_tokens=100, cache_creation_tokens=50))
    fake.anthropic_client().messages.create(model="test-claude", max_tokens=64, messages=USER)
    fake.queue(FakeReply(text="hi", input_tokens=1000, output_tokens=5, cached_tokens=400))
    fake.openai_client().chat.completions.create(model="test-gpt", messages=USER)
    counted = {(p.attributes[sc.GEN_AI_PROVIDER_NAME], p.attributes[sc.TT_PROMPT_CACHE_OPERATION]): p.value
               for p in instrumented.metrics()[sc.METRIC_PROMPT_CACHE_TOKENS]}
    assert counted == {("anthropic", "read"): 100, ("anthropic", "write"): 50, ("openai", "read"): 400}


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_fast_mode_is_priced_at_fast_rates(fake, instrumented, stream):
    """Fast mode (request "speed": "fast", reported back as usage.speed) bills the entry's fast tier."""
    fake.queue(FakeReply(text="quick", input_tokens=1000, output_tokens=100))
    client = fake.anthropic_client()
    kwargs = dict(model="claude-opus-4-8", max_tokens=200, messages=USER, extra_body={"speed": "fast"})
    if stream:
        list(client.messages.create(stream=True, **kwargs))
    else:
        client.messages.create(**kwargs)
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx((1000 * 10.0 + 100 * 50.0) * M)  # standard: 5 / 25


def test_cost_parts_that_are_zero_are_left_out(fake, instrumented):
    """An embeddings call has only input cost: the span carries no zero-valued parts."""
    fake.openai_client().embeddings.create(model="text-embedding-3-small", input="hello")
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_COST_TOTAL] == attrs[sc.TT_COST_INPUT] > 0
    assert not {sc.TT_COST_CACHED_INPUT, sc.TT_COST_CACHE_WRITE, sc.TT_COST_OUTPUT} & set(attrs)
