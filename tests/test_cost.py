"""Cost for every pricing shape, compared with hand-computed values."""

from __future__ import annotations

import pytest

from tokentrace.cost import STATUS_ESTIMATED, STATUS_REPORTED, STATUS_UNKNOWN, cost_for_call, cost_of
from tokentrace.model import Usage
from tokentrace.pricing import PriceTable, parse_prices

TABLE = PriceTable(
    parse_prices(
        {
            "models": {
                "gpt-4o": {
                    "provider": "openai", "input": 2.5, "output": 10.0, "cached_input": 1.25,
                    "aliases": ["gpt-4o-2024-08-06"],
                    "tiers": {"flex": {"input": 1.25, "output": 5.0, "cached_input": 0.625}},
                },
                "gpt-4o-2024-05-13": {"provider": "openai", "input": 5.0, "output": 15.0},
                "o3": {"provider": "openai", "input": 2.0, "output": 8.0, "cached_input": 0.5},
                "reasoner": {"provider": "openai", "input": 1.0, "output": 4.0, "reasoning_output": 2.0},
                "text-embedding-3-small": {"provider": "openai", "kind": "embeddings", "input": 0.02},
                "claude-sonnet-4": {
                    "provider": "anthropic", "input": 3.0, "output": 15.0, "cache_read": 0.3,
                    "cache_write_5m": 3.75, "cache_write_1h": 6.0,
                    "aliases": ["claude-sonnet-4-0"],
                    "long_context": [{"above_input_tokens": 200000, "input": 6.0, "output": 22.5,
                                      "cache_read": 0.6, "cache_write_5m": 7.5, "cache_write_1h": 12.0}],
                },
            }
        },
        "inline",
        "",
    )
)
M = 1e-6


def test_plain_openai():
    """No cache: input and output at their rates."""
    cost = cost_for_call(TABLE, "openai", "gpt-4o-2024-08-06", "gpt-4o", Usage(input_tokens=1000, output_tokens=500))
    assert cost.status == STATUS_REPORTED and cost.price_model == "gpt-4o"
    assert cost.input == pytest.approx(1000 * 2.5 * M)
    assert cost.output == pytest.approx(500 * 10.0 * M)
    assert cost.total == pytest.approx(0.0025 + 0.005)


def test_openai_cached_input_priced_once():
    """OpenAI cached tokens are part of prompt_tokens: priced at the cached rate, the rest at full rate."""
    usage = Usage(input_tokens=2000, output_tokens=100, cache_read_input_tokens=1536)
    cost = cost_for_call(TABLE, "openai", "gpt-4o", None, usage)
    assert cost.input == pytest.approx(464 * 2.5 * M)
    assert cost.cached_input == pytest.approx(1536 * 1.25 * M)
    assert cost.total == pytest.approx((464 * 2.5 + 1536 * 1.25 + 100 * 10) * M)


def test_anthropic_cache_read_and_write_priced_once():
    """Anthropic cache reads/writes are priced at their rates and not again as input."""
    # Spec-normalised usage: 10 uncached + 100 read + 50 written (30 of them 1-hour).
    usage = Usage(input_tokens=160, output_tokens=20, cache_read_input_tokens=100,
                  cache_creation_input_tokens=50, cache_creation_1h_input_tokens=30)
    cost = cost_for_call(TABLE, "anthropic", "claude-sonnet-4-20250514", None, usage)
    assert cost.price_model == "claude-sonnet-4"
    assert cost.input == pytest.approx(10 * 3.0 * M)
    assert cost.cached_input == pytest.approx(100 * 0.3 * M)
    assert cost.cache_write == pytest.approx((20 * 3.75 + 30 * 6.0) * M)
    assert cost.output == pytest.approx(20 * 15.0 * M)
    assert cost.total == pytest.approx((30 + 30 + 75 + 180 + 300) * M)


def test_long_context_tier_applies_to_whole_request():
    """Above 200k input tokens every token of the request is billed at the long-context rates."""
    usage = Usage(input_tokens=250_000, output_tokens=1000, cache_read_input_tokens=50_000)
    cost = cost_for_call(TABLE, "anthropic", "claude-sonnet-4-0", None, usage)
    assert cost.input == pytest.approx(200_000 * 6.0 * M)
    assert cost.cached_input == pytest.approx(50_000 * 0.6 * M)
    assert cost.output == pytest.approx(1000 * 22.5 * M)
    below = cost_for_call(TABLE, "anthropic", "claude-sonnet-4-0", None, Usage(input_tokens=200_000, output_tokens=0))
    assert below.input == pytest.approx(200_000 * 3.0 * M)


def test_service_tier_rates():
    """A reported flex tier uses the flex prices."""
    cost = cost_of(TABLE.resolve("gpt-4o"), Usage(input_tokens=1000, output_tokens=1000), tier="flex")
    assert cost.total == pytest.approx((1000 * 1.25 + 1000 * 5.0) * M)


def test_reasoning_rate_when_billed_differently():
    """Reasoning tokens (inside output) use their own rate only when the model lists one."""
    usage = Usage(input_tokens=0, output_tokens=1000, reasoning_output_tokens=600)
    assert cost_for_call(TABLE, "openai", "reasoner", None, usage).output == pytest.approx((400 * 4 + 600 * 2) * M)
    assert cost_for_call(TABLE, "openai", "o3", None, usage).output == pytest.approx(1000 * 8.0 * M)


def test_dated_snapshot_with_its_own_price_wins_over_family():
    """gpt-4o-2024-05-13 has its own entry; other snapshots resolve to gpt-4o."""
    assert TABLE.resolve("gpt-4o-2024-05-13").name == "gpt-4o-2024-05-13"
    assert TABLE.resolve("gpt-4o-2024-11-20").name == "gpt-4o"


def test_response_model_first_then_request_model():
    """The response model decides when known; the request model is the fallback."""
    usage = Usage(input_tokens=1000, output_tokens=0)
    assert cost_for_call(TABLE, "openai", "gpt-4o-2024-05-13", "gpt-4o", usage).input == pytest.approx(5000 * M)
    assert cost_for_call(TABLE, "openai", "my-finetune", "gpt-4o", usage).price_model == "gpt-4o"


def test_embeddings_cost_input_only():
    """Embeddings pay for input tokens only."""
    cost = cost_for_call(TABLE, "openai", "text-embedding-3-small", None, Usage(input_tokens=1_000_000))
    assert cost.total == pytest.approx(0.02)


def test_unknown_model_is_unknown_never_zero():
    """An unpriced model has no total and status unknown."""
    cost = cost_for_call(TABLE, "openai", "brand-new-model", "brand-new-model", Usage(input_tokens=10, output_tokens=1))
    assert cost.status == STATUS_UNKNOWN and cost.total is None


def test_estimated_usage_is_flagged():
    """Costs computed from estimated usage say so."""
    cost = cost_of(TABLE.resolve("gpt-4o"), Usage(input_tokens=10, output_tokens=10), estimated=True)
    assert cost.status == STATUS_ESTIMATED


@pytest.mark.parametrize(
    "name, expected",
    [
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4"),
        ("openai/gpt-4o", "gpt-4o"),
        ("GPT-4o", "gpt-4o"),
        ("gpt-4o-mini", None),
    ],
)
def test_name_resolution(name, expected):
    """Platform decorations, dates and case resolve like the providers do; other families do not."""
    price = TABLE.resolve(name)
    assert (price.name if price else None) == expected


def test_provider_must_match():
    """A Claude price is never applied to an OpenAI call."""
    assert TABLE.resolve("claude-sonnet-4", "openai") is None
    assert TABLE.resolve("claude-sonnet-4", "aws.bedrock").name == "claude-sonnet-4"


# --- service tiers above a long-context threshold ----------------------------------------------

TIERED = PriceTable(
    parse_prices(
        {
            "models": {
                "long-model": {
                    "provider": "openai", "input": 2.0, "cached_input": 0.2, "output": 10.0,
                    "long_context": [{"above_input_tokens": 1000, "input": 4.0, "cached_input": 0.4, "output": 15.0}],
                    "tiers": {
                        # no long_context of its own: the standard multipliers (2x, 2x, 1.5x) apply
                        "flex": {"input": 1.0, "cached_input": 0.1, "output": 5.0},
                        # the provider's own rule: long prompts are billed at the standard long rates
                        "priority": {"input": 4.0, "cached_input": 0.4, "output": 20.0,
                                     "long_context": [{"above_input_tokens": 1000, "input": 4.0,
                                                       "cached_input": 0.4, "output": 15.0}]},
                    },
                },
                "claude-long": {
                    "provider": "anthropic", "input": 3.0, "output": 15.0, "cache_read": 0.3,
                    "cache_write_5m": 3.75, "cache_write_1h": 6.0,
                    "long_context": [{"above_input_tokens": 1000, "input": 6.0, "output": 22.5, "cache_read": 0.6,
                                      "cache_write_5m": 7.5, "cache_write_1h": 12.0}],
                    "tiers": {"batch": {"input": 1.5, "output": 7.5, "cache_read": 0.15, "cache_write_5m": 1.875,
                                        "cache_write_1h": 3.0},
                              "fast": {"input": 30.0, "output": 150.0, "cache_read": 3.0, "cache_write_5m": 37.5,
                                       "cache_write_1h": 60.0}},
                },
            }
        },
        "inline",
        "",
    )
)


def test_flex_above_the_threshold_gets_the_long_context_multipliers():
    """A tier without its own bands: its rates times the standard long/short ratio per kind of token."""
    price = TIERED.resolve("long-model")
    usage = Usage(input_tokens=2000, output_tokens=100, cache_read_input_tokens=500)
    cost = cost_of(price, usage, tier="flex")
    assert cost.input == pytest.approx(1500 * (1.0 * 4.0 / 2.0) * M)
    assert cost.cached_input == pytest.approx(500 * (0.1 * 0.4 / 0.2) * M)
    assert cost.output == pytest.approx(100 * (5.0 * 15.0 / 10.0) * M)
    at_threshold = cost_of(price, Usage(input_tokens=1000, output_tokens=100), tier="flex")
    assert at_threshold.total == pytest.approx((1000 * 1.0 + 100 * 5.0) * M)


def test_a_tier_with_its_own_long_context_bands_uses_them():
    """Published combined rates (here: long priority prompts billed at the standard long rates) win."""
    price = TIERED.resolve("long-model")
    cost = cost_of(price, Usage(input_tokens=2000, output_tokens=100), tier="priority")
    assert cost.total == pytest.approx((2000 * 4.0 + 100 * 15.0) * M)
    short = cost_of(price, Usage(input_tokens=1000, output_tokens=100), tier="priority")
    assert short.total == pytest.approx((1000 * 4.0 + 100 * 20.0) * M)


def test_anthropic_batch_above_the_threshold_is_half_the_long_context_rates():
    """Every part, cache reads and both cache writes included, moves to the long-context batch rate."""
    usage = Usage(input_tokens=1600, output_tokens=10, cache_read_input_tokens=300,
                  cache_creation_input_tokens=200, cache_creation_1h_input_tokens=50)
    cost = cost_for_call(TIERED, "anthropic", "claude-long", None, usage, tier="batch")
    assert cost.input == pytest.approx(1100 * 3.0 * M)
    assert cost.cached_input == pytest.approx(300 * 0.3 * M)
    assert cost.cache_write == pytest.approx((150 * 3.75 + 50 * 6.0) * M)
    assert cost.output == pytest.approx(10 * 11.25 * M)


def test_shipped_gpt_5_4_tiers_above_272k():
    """GPT-5.4: Batch/Flex above 272K are 2x input and 1.5x output of the tier; Fast mode excludes
    long context, so a long prompt reported as priority pays the standard long-context rates."""
    from tokentrace.pricing import price_table

    price = price_table().resolve("gpt-5.4")
    usage = Usage(input_tokens=300_000, output_tokens=1000, cache_read_input_tokens=100_000)
    flex, short_flex = price.rates_for(300_000, "flex"), price.tiers["flex"]
    assert (flex.input, flex.cached_input, flex.output) == (
        short_flex.input * 2, short_flex.cached_input * 2, short_flex.output * 1.5)
    assert cost_of(price, usage, tier="flex").total == pytest.approx(
        (200_000 * flex.input + 100_000 * flex.cached_input + 1000 * flex.output) * M)
    long_standard = price.long_context[0][1]
    for tier in ("priority", "fast"):
        assert price.rates_for(300_000, tier) == long_standard
    assert price.rates_for(272_000, "flex") == short_flex


def test_shipped_gpt_5_6_sol_fast_long_context_matches_the_published_rates():
    """The derivation reproduces the Fast-mode page's long-context row for GPT-5.6 Sol: $16 / $1.60 / $60."""
    from tokentrace.pricing import price_table

    rates = price_table().resolve("gpt-5.6-sol").rates_for(272_001, "fast")
    assert (rates.input, rates.cached_input, rates.output) == (16.0, 1.6, 60.0)


# --- speed (Anthropic fast mode) and tier names ------------------------------------------------


def test_fast_speed_selects_the_fast_tier():
    """usage.speed == "fast" prices the call at the entry's fast rates, whatever service_tier says."""
    price = TIERED.resolve("claude-long")
    usage = Usage(input_tokens=500, output_tokens=100, cache_read_input_tokens=100)
    fast = cost_of(price, usage, tier="standard", speed="fast")
    assert fast.total == pytest.approx((400 * 30.0 + 100 * 3.0 + 100 * 150.0) * M)
    standard = cost_for_call(TIERED, "anthropic", "claude-long", None, usage, tier="standard", speed="standard")
    assert standard.total == pytest.approx((400 * 3.0 + 100 * 0.3 + 100 * 15.0) * M)


@pytest.mark.parametrize(
    "tier, speed, expected",
    [(None, None, None), ("default", None, None), ("auto", None, None), ("standard", "standard", None),
     ("flex", None, "flex"), ("priority", None, "priority"), ("batch", None, "batch"),
     ("standard", "fast", "fast"), ("batch", "fast", "fast")],
)
def test_billing_tier(tier, speed, expected):
    from tokentrace.cost import billing_tier

    assert billing_tier(tier, speed) == expected


def test_a_tier_without_a_price_is_billed_at_standard_rates():
    """A reported tier the entry has no row for (e.g. scale) costs the standard rates, never 0."""
    cost = cost_of(TABLE.resolve("gpt-4o"), Usage(input_tokens=1000, output_tokens=1000), tier="scale")
    assert cost.total == pytest.approx((1000 * 2.5 + 1000 * 10.0) * M)
