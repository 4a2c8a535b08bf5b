"""tokentrace: OpenTelemetry GenAI telemetry for the openai and anthropic SDKs.

Usage::

    import tokentrace
    tokentrace.instrument()

or, with no code change, ``opentelemetry-instrument python app.py`` (instrumentors
``tokentrace_openai`` and ``tokentrace_anthropic``). See the README for settings.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any, Optional, Sequence

from ._setup import configure_providers
from .cache import CacheSettings, MemoryBackend, RedisBackend, ResponseCache, cache_control
from .guards import Answer, Guard, GuardError, GuardRefusal, Pass, Rewrite
from .config import ConfigError, ContentCapture, Settings, resolve_settings
from .guard_setup import reset_guards
from .estimation import Estimate, estimate
from .pricing import PriceFileError, reset_prices, set_model_price, use_price_file
from .version import __version__

__all__ = sorted(
    [
        "Answer",
        "CacheSettings",
        "ConfigError",
        "ContentCapture",
        "Estimate",
        "Guard",
        "GuardError",
        "GuardRefusal",
        "MemoryBackend",
        "Pass",
        "PriceFileError",
        "RedisBackend",
        "ResponseCache",
        "Rewrite",
        "Settings",
        "__version__",
        "cache_control",
        "estimate",
        "instrument",
        "is_instrumented",
        "reset_prices",
        "set_model_price",
        "uninstrument",
    ]
)

_SDKS = ("openai", "anthropic")
_lock = threading.Lock()


def _instrumentor(sdk: str) -> Any:
    if sdk == "openai":
        from .instrumentation.openai import OpenAIInstrumentor

        return OpenAIInstrumentor()
    from .instrumentation.anthropic import AnthropicInstrumentor

    return AnthropicInstrumentor()


def instrument(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    capture_content: Any = None,
    pii_scrub: Optional[bool] = None,
    content_max_length: Optional[int] = None,
    openai_stream_usage: Optional[bool] = None,
    anthropic_sdk_spans: Optional[bool] = None,
    otlp_file: Optional[str] = None,
    prices: Optional[str] = None,
    estimate_missing_usage: Optional[bool] = None,
    chunk_metrics: Optional[bool] = None,
    cache: Any = None,
    guards: Optional[Sequence[Guard]] = None,
    sdks: Sequence[str] = _SDKS,
) -> None:
    """Instrument the installed ``openai`` and ``anthropic`` SDKs.

    Sets up a TracerProvider and MeterProvider from the ``OTEL_*`` environment variables when
    the application has not registered its own. Calling it again is a no-op; call
    :func:`uninstrument` first to change settings. Each argument overrides its environment
    variable (see the README).

    Args:
        tracer_provider: provider to use instead of the global one.
        meter_provider: provider to use instead of the global one.
        logger_provider: provider for the content events (``gen_ai.client.inference.operation.details``)
            instead of the global one.
        capture_content: ``ContentCapture`` mode, its name, or a bool.
        pii_scrub: scrub PII from captured content (default True).
        content_max_length: cap on each captured text, 0 for none (default 10000).
        openai_stream_usage: ask OpenAI chat streams for usage (default True).
        anthropic_sdk_spans: keep the anthropic SDK's own spans (default False).
        otlp_file: also write spans and metrics to this OTLP JSON Lines file (only when
            tokentrace sets up the providers).
        prices: path of a JSON or TOML price file extending the shipped prices. The first call
            applies it (or ``TOKENTRACE_PRICES_FILE``); a repeated call while instrumented applies
            only a ``prices`` argument. A call with no file leaves the prices in force as they
            are: an earlier price file stays until :func:`reset_prices`.
        estimate_missing_usage: count tokens locally when a response reports no usage
            (default True); such usage and cost are marked estimated.
        chunk_metrics: record ``time_per_output_chunk`` for streams (default True).
        cache: the response cache: ``False``/``"off"``, ``True``/``"memory"``, ``"redis"``, a
            :class:`CacheSettings` or a :class:`ResponseCache` (default: ``TOKENTRACE_CACHE``, off).
        guards: further guards, consulted in order after the cache.
        sdks: which SDKs to instrument.

    Raises:
        ConfigError: an argument or environment variable is invalid; the message names it.
        PriceFileError: the price file is malformed; the message names file, line and field.
    """
    for sdk in sdks:
        if sdk not in _SDKS:
            raise ConfigError(f"sdks must contain only {', '.join(_SDKS)}, got {sdk!r}")
    settings = resolve_settings(
        {
            "capture_content": capture_content,
            "pii_scrub": pii_scrub,
            "content_max_length": content_max_length,
            "openai_stream_usage": openai_stream_usage,
            "anthropic_sdk_spans": anthropic_sdk_spans,
            "prices": prices,
            "estimate_missing_usage": estimate_missing_usage,
            "chunk_metrics": chunk_metrics,
            "cache": cache,
            "guards": guards,
        }
    )
    _apply_price_file(prices, settings.prices_file)
    with _lock:
        providers = configure_providers(tracer_provider, meter_provider, otlp_file, logger_provider=logger_provider,
                                        events=settings.capture_content.as_event)
        for sdk in sdks:
            if importlib.util.find_spec(sdk) is None:
                continue
            instrumentor = _instrumentor(sdk)
            if instrumentor.is_instrumented_by_opentelemetry:
                continue
            instrumentor.instrument(
                tracer_provider=providers.tracer_provider,
                meter_provider=providers.meter_provider,
                logger_provider=providers.logger_provider,
                settings=settings,
            )


def _apply_price_file(prices_argument: Optional[str], prices_file: Optional[str]) -> None:
    """Load the price file this call names; never drop one applied before (see ``prices``)."""
    if prices_argument is None and any(is_instrumented(sdk) for sdk in _SDKS):
        return  # a repeated call: TOKENTRACE_PRICES_FILE was applied by the first one
    if prices_file:
        use_price_file(prices_file)


def uninstrument() -> None:
    """Restore the SDKs exactly as they were; providers tokentrace set up stay registered."""
    with _lock:
        for sdk in _SDKS:
            if importlib.util.find_spec(sdk) is None:
                continue
            instrumentor = _instrumentor(sdk)
            if instrumentor.is_instrumented_by_opentelemetry:
                instrumentor.uninstrument()
        reset_guards()


def is_instrumented(sdk: str) -> bool:
    """Whether tokentrace currently instruments ``sdk`` (``"openai"`` or ``"anthropic"``)."""
    if sdk not in _SDKS or importlib.util.find_spec(sdk) is None:
        return False
    return bool(_instrumentor(sdk).is_instrumented_by_opentelemetry)
