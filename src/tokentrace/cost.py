"""Cost of a call from its usage and the model's price, each token priced exactly once.

OpenAI: ``prompt_tokens`` includes ``cached_tokens``; cached tokens are priced at the cached rate
and only the rest at the full input rate. Reasoning tokens are part of ``completion_tokens`` and
priced as output unless the model lists a separate reasoning rate.

Anthropic: the API's ``input_tokens`` excludes cache reads and writes. tokentrace's
:class:`~tokentrace.model.Usage` follows the GenAI conventions (input includes them), so the
uncached part is ``input - cache_read - cache_creation``; reads are priced at the cache-read rate
and writes at the 5-minute or 1-hour write rate, never twice.
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


@dataclass(frozen=True, slots=True)
class Cost:
    """USD cost of one call and its parts. ``status`` says how much to trust it."""

    status: str
    total: Optional[float] = None
    input: float = 0.0
    cached_input: float = 0.0
    cache_write: float = 0.0
    output: float = 0.0
    price_model: Optional[str] = None
    currency: str = "USD"


UNKNOWN = Cost(STATUS_UNKNOWN)


def cost_of(price: ModelPrice, usage: Usage, *, tier: Optional[str] = None, estimated: bool = False) -> Cost:
    """Cost of ``usage`` at ``price``. ``tier`` is the service tier the provider reported."""
    total_input = usage.input_tokens or 0
    cache_read = usage.cache_read_input_tokens or 0
    cache_created = usage.cache_creation_input_tokens or 0
    created_1h = min(usage.cache_creation_1h_input_tokens or 0, cache_created)
    rates = price.rates_for(total_input, tier)
    uncached = max(total_input - cache_read - cache_created, 0)

    read_rate = rates.cache_read if rates.cache_read is not None else rates.cached_input
    cached_cost = cache_read * (read_rate if read_rate is not None else rates.input)
    write_5m = rates.cache_write_5m if rates.cache_write_5m is not None else rates.input
    write_1h = rates.cache_write_1h if rates.cache_write_1h is not None else write_5m
    write_cost = (cache_created - created_1h) * write_5m + created_1h * write_1h
    input_cost = uncached * rates.input

    output_tokens = usage.output_tokens or 0
    output_rate = rates.output or 0.0
    reasoning = min(usage.reasoning_output_tokens or 0, output_tokens)
    if rates.reasoning_output is not None and reasoning:
        output_cost = (output_tokens - reasoning) * output_rate + reasoning * rates.reasoning_output
    else:
        output_cost = output_tokens * output_rate

    parts = (input_cost * PER_TOKEN, cached_cost * PER_TOKEN, write_cost * PER_TOKEN, output_cost * PER_TOKEN)
    return Cost(
        status=STATUS_ESTIMATED if estimated else STATUS_REPORTED,
        total=sum(parts),
        input=parts[0],
        cached_input=parts[1],
        cache_write=parts[2],
        output=parts[3],
        price_model=price.name,
    )


def cost_for_call(
    table: PriceTable,
    provider: str,
    response_model: Optional[str],
    request_model: Optional[str],
    usage: Optional[Usage],
    *,
    tier: Optional[str] = None,
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
    return cost_of(price, usage, tier=tier, estimated=estimated)
