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
