"""Building the guard chain from settings, once per tracer provider.

One :class:`~tokentrace.guards.GuardChain` is registered on each TracerProvider as a span
processor and shared by the openai and anthropic instrumentors; ``instrument()`` replaces its
guards. Order: the response cache first (a hit skips everything after it), then the guards
given to ``instrument(guards=[...])`` in their order.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Optional

from opentelemetry import trace
from opentelemetry.metrics import get_meter

from ._errors import logger
from .cache._guard import ResponseCache
from .cache._settings import CacheSettings, build_cache
from .config import Settings
from .guards import Guard, GuardChain
from .version import __version__

_lock = threading.Lock()
_chains: "weakref.WeakKeyDictionary[Any, GuardChain]" = weakref.WeakKeyDictionary()
_unregistered = GuardChain()  # for tracer providers that take no span processors
_built: dict[Any, tuple[Guard, ...]] = {}


def shared_chain(settings: Settings, tracer_provider: Any = None, meter_provider: Any = None) -> GuardChain:
    provider = tracer_provider or trace.get_tracer_provider()
    with _lock:
        chain = _chains.get(provider) if _is_weakrefable(provider) else None
        if chain is None:
            chain = _register(provider)
        guards = _guards_for(settings, meter_provider)
        if chain.guards != guards:
            chain.set_guards(guards)
    return chain


def reset_guards() -> None:
    """Drop every chain's guards (``tokentrace.uninstrument()``)."""
    with _lock:
        for chain in list(_chains.values()) + [_unregistered]:
            for guard in chain.guards:
                try:
                    guard.shutdown()
                except Exception:
                    logger.debug("guard %s shutdown failed", guard.name, exc_info=True)
            chain.set_guards(())
        _built.clear()


def _register(provider: Any) -> GuardChain:
    if not hasattr(provider, "add_span_processor") or not _is_weakrefable(provider):
        return _unregistered
    chain = GuardChain()
    provider.add_span_processor(chain)
    _chains[provider] = chain
    return chain


def _guards_for(settings: Settings, meter_provider: Any) -> tuple[Guard, ...]:
    key = (settings.cache, settings.guards)
    guards = _built.get(key)
    if guards is None:
        cache = settings.cache if isinstance(settings.cache, ResponseCache) else _cache(settings.cache)
        guards = ((cache,) if cache is not None else ()) + tuple(settings.guards)
        meter = get_meter("tokentrace", __version__, meter_provider)
        for guard in guards:
            bind = getattr(guard, "bind_meter", None)
            if bind is not None:
                bind(meter)
        _built[key] = guards
    return guards


def _cache(settings: Optional[CacheSettings]) -> Optional[ResponseCache]:
    return build_cache(settings) if settings is not None else None


def _is_weakrefable(value: Any) -> bool:
    try:
        weakref.ref(value)
    except TypeError:
        return False
    return True
