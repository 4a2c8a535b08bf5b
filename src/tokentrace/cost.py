"""Cost of a call from its usage and the model's price, each token priced exactly once.

OpenAI: ``prompt_tokens`` includes ``cached_tokens``; cached tokens are priced at the cached rate
and only the rest at the full input rate. Reasoning tokens are part of ``completion_tokens`` and
priced as output unless the model lists a separate reasoning rate.

Anthropic: the API's ``input_tokens`` excludes cache reads and writes. tokentrace's
:class:`~tokentrace.model.Usage` follows the GenAI conventions (input includes them), so the
uncached part is ``input - cache_read - cache_creation``; reads are priced at the cache-read rate
and writes at the 5-minute or 1-hour write rate, never twice.

Service tier and speed: ``tier`` is the tier the provider reported for the call (OpenAI's
response ``service_tier``: ``flex``, ``priority``/``fast``, ``batch``…; Anthropic's
``usage.service_tier``); ``speed`` is Anthropic's ``usage.speed`` (``"fast"`` for fast mode). The
standard names (``default``, ``auto``, ``standard``…) mean the standard rates; ``speed="fast"``
selects the entry's ``fast`` tier and wins over any other tier (no provider publishes a combined
rate; the higher one is the safer guess). A tier the entry has no price for is billed at the
standard rates. Long-context bands apply within the chosen tier (see :mod:`tokentrace.pricing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .model import Usage
from .pricing import ModelPrice, PriceTable

PER_TOKEN = 1e-6  # prices are per 1M tokens

STATUS_REPORTED = "reported"
STATUS_ESTIMATED = "estimated"
STATUS_UNKNOWN = "unknown"


@dataclass(slots=True)
class Cost:
    """USD cost of one call and its parts. ``status`` says how much to trust it. Treat as
    read-only (not frozen only because a frozen dataclass costs ~1 µs more to build per call)."""

    status: str
    total: Optional[float] = None
    input: float = 0.0
    cached_input: float = 0.0
    cache_write: float = 0.0
    output: float = 0.0
    price_model: Optional[str] = None
    currency: str = "USD"


UNKNOWN = Cost(STATUS_UNKNOWN)

STANDARD_TIERS = frozenset({"default", "standard", "auto", "on_demand", "standard_only"})
FAST_SPEED = "fast"
BATCH_TIER = "batch"


def billing_tier(tier: Optional[str], speed: Optional[str] = None) -> Optional[str]:
    """The price-table tier a call is billed at, from what the provider reported; None = standard."""
    if speed == FAST_SPEED:
        return FAST_SPEED
    if not tier or tier in STANDARD_TIERS:
        return None
    return tier


def cost_of(
    price: ModelPrice, usage: Usage, *, tier: Optional[str] = None, speed: Optional[str] = None,
    estimated: bool = False,
) -> Cost:
    """Cost of ``usage`` at ``price``. ``tier`` and ``speed`` are what the provider reported."""
    total_input = usage.input_tokens or 0
    cache_read = usage.cache_read_input_tokens or 0
    cache_created = usage.cache_creation_input_tokens or 0
    created_1h = min(usage.cache_creation_1h_input_tokens or 0, cache_created)
    input_rate, read_rate, write_5m, write_1h, output_rate, reasoning_rate = (
        price.rates_for(total_input, billing_tier(tier, speed)).per_token
    )
    uncached = max(total_input - cache_read - cache_created, 0)
    input_cost = uncached * input_rate
    cached_cost = cache_read * read_rate
    write_cost = (cache_created - created_1h) * write_5m + created_1h * write_1h

    output_tokens = usage.output_tokens or 0
    reasoning = usage.reasoning_output_tokens
    if reasoning and reasoning_rate is not None:
        reasoning = min(reasoning, output_tokens)
        output_cost = (output_tokens - reasoning) * output_rate + reasoning * reasoning_rate
    else:
        output_cost = output_tokens * output_rate

    return Cost(
        STATUS_ESTIMATED if estimated else STATUS_REPORTED,
        input_cost + cached_cost + write_cost + output_cost,
        input_cost,
        cached_cost,
        write_cost,
        output_cost,
        price.name,
    )


def cost_for_call(
    table: PriceTable,
    provider: str,
    response_model: Optional[str],
    request_model: Optional[str],
    usage: Optional[Usage],
    *,
    tier: Optional[str] = None,
    speed: Optional[str] = None,
    estimated: bool = False,
) -> Cost:
    """Resolve the price (response model first, then request model) and cost the usage."""
    if usage is None:
        return UNKNOWN
    price = table.resolve(response_model, provider) if response_model else None
    if price is None:
        price = table.resolve(request_model, provider)
    if price is None:
        return UNKNOWN
    return cost_of(price, usage, tier=tier, speed=speed, estimated=estimated)
