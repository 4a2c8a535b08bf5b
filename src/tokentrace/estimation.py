"""Token and cost estimates: before a call is sent, and for responses that report no usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from .cost import BATCH_TIER, STATUS_ESTIMATED, STATUS_UNKNOWN, PER_TOKEN, billing_tier
from .model import GenAIRequest, Usage
from .pricing import price_table
from .tokens import count_output_tokens, estimate_request_tokens


@dataclass(frozen=True)
class Estimate:
    """What a request will cost, before it is sent.

    ``min_cost`` prices the input alone (no cache discount assumed); ``max_cost`` adds the
    output bound (``max_tokens``) at the output rate. Costs are None when the model has no
    price or the bound is unknown; ``exact`` is False when tokens were approximated.
    ``tier`` is the price-table tier the costs use (None: standard rates).
    """

    provider: str
    model: Optional[str]
    input_tokens: int
    max_output_tokens: Optional[int]
    exact: bool
    method: str
    cost_status: str
    price_model: Optional[str] = None
    min_cost: Optional[float] = None
    max_cost: Optional[float] = None
    tier: Optional[str] = None


def _provider_of(body: Mapping[str, Any]) -> str:
    model = str(body.get("model") or "").lower()
    if model.startswith("claude") or "anthropic." in model or "system" in body and "max_tokens" in body:
        return "anthropic"
    return "openai"


def _requested_tier(body: Mapping[str, Any], batch: bool) -> Optional[str]:
    """The tier the request asks for: the Batch API, Anthropic's ``speed``, or ``service_tier``.

    OpenAI's ``auto`` (the project's setting) and ``default``, and Anthropic's ``service_tier``
    (``auto`` / ``standard_only``: Priority Tier capacity, no public per-token price) are priced at
    the standard rates.
    """
    if batch:
        return BATCH_TIER
    speed = body.get("speed")
    tier = body.get("service_tier")
    return billing_tier(tier if isinstance(tier, str) else None, speed if isinstance(speed, str) else None)


def estimate(
    request: Optional[Mapping[str, Any]] = None, /, *, provider: Optional[str] = None, batch: bool = False,
    **kwargs: Any,
) -> Estimate:
    """Estimate the input tokens and cost range of a request before sending it.

    Pass the keyword arguments you would give ``chat.completions.create``, ``responses.create``,
    ``embeddings.create`` or ``messages.create`` — as keywords or as one mapping::

        tokentrace.estimate(model="gpt-4o-mini", messages=[...], max_tokens=200)

    The request's ``service_tier`` (OpenAI: ``flex``, ``priority``/``fast``…) and Anthropic's
    ``speed="fast"`` select that tier's prices when the price table has them (else the standard
    ones); long-context rates apply above their thresholds.

    Args:
        request: the request kwargs as a mapping (alternative to keywords).
        provider: ``"openai"`` or ``"anthropic"``; guessed from the model name when omitted.
        batch: price the request as sent through the provider's Batch API.
    """
    body = dict(request or {}, **kwargs)
    provider = provider or _provider_of(body)
    tokens = estimate_request_tokens(provider, body)
    model = body.get("model") if isinstance(body.get("model"), str) else None
    price = price_table().resolve(model, provider)
    if price is None:
        return Estimate(provider, model, tokens.input_tokens, tokens.max_output_tokens, tokens.exact,
                        tokens.method, STATUS_UNKNOWN)
    tier = _requested_tier(body, batch)
    tier = tier if tier in price.tiers else None
    rates = price.rates_for(tokens.input_tokens, tier)
    min_cost = tokens.input_tokens * rates.input * PER_TOKEN
    max_cost = None
    if tokens.max_output_tokens is not None:
        max_cost = min_cost + tokens.max_output_tokens * (rates.output or 0.0) * PER_TOKEN
    elif price.kind == "embeddings":
        max_cost = min_cost
    return Estimate(provider, model, tokens.input_tokens, tokens.max_output_tokens, tokens.exact, tokens.method,
                    STATUS_ESTIMATED, price.name, min_cost, max_cost, tier)


def estimate_missing_usage(
    request: GenAIRequest, usage: Optional[Usage], output_text: Optional[Callable[[], list[str]]], model: Optional[str]
) -> Optional[Usage]:
    """Fill what a response did not report: input from the request, output from the text received.

    Returns None when nothing was missing (the reported usage stands).
    """
    missing_input = usage is None or usage.input_tokens is None
    missing_output = request.operation != "embeddings" and (usage is None or usage.output_tokens is None)
    if not (missing_input or missing_output):
        return None
    model = model or request.model or ""
    base = usage or Usage()
    input_tokens = base.input_tokens
    if missing_input:
        input_tokens = estimate_request_tokens(request.provider, request.body).input_tokens
    output_tokens = base.output_tokens
    if missing_output:
        output_tokens = count_output_tokens(output_text() if output_text else [], model).tokens
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_input_tokens=base.cache_read_input_tokens,
        cache_creation_input_tokens=base.cache_creation_input_tokens,
        reasoning_output_tokens=base.reasoning_output_tokens,
        cache_creation_1h_input_tokens=base.cache_creation_1h_input_tokens,
    )
