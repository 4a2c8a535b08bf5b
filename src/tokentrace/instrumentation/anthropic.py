"""OpenTelemetry instrumentation of the ``anthropic`` SDK (Messages, incl. ``beta.messages``).

Registered for ``opentelemetry-instrument`` as ``tokentrace_anthropic``.

anthropic >= 2 emits spans of its own whenever a tracer provider is registered. Unless
``anthropic_sdk_spans`` is on, tokentrace turns those off while it instruments the SDK, so
each call has exactly one GenAI span (clients that already made a call keep their tracer).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Mapping

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._streams import collect_streams_for_helper, end_with_helper_close, stream_for_helper
from ..config import Settings
from ..package import ANTHROPIC_INSTRUMENTS
from . import _anthropic_messages as messages
from ._base import RequestHookInstrumentor
from ..cache._replay import ANTHROPIC_MESSAGES
from ._core import Route


def _no_sdk_tracer(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
    return None


_HELPER_MODULE = "anthropic.lib.streaming._messages"


def _helper_rebuilds_stream() -> bool:
    """anthropic < 0.40-ish: ``MessageStreamManager`` discards the stream ``request()`` returns
    and builds its own ``MessageStream`` from the HTTP response."""
    try:
        module = importlib.import_module(_HELPER_MODULE)
        return "response" in inspect.signature(module.MessageStream.__init__).parameters
    except (ImportError, AttributeError, ValueError, TypeError):
        return False


def _adopt(helper_stream: Any, is_async: bool) -> None:
    proxy = stream_for_helper.get()
    raw = getattr(helper_stream, "_raw_stream", None)
    if proxy is not None and raw is not None and hasattr(proxy, "hand_over"):
        helper_stream._raw_stream = proxy.hand_over(raw)
        end_with_helper_close(helper_stream, is_async)


def _sync_enter(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    token = collect_streams_for_helper()
    try:
        stream = wrapped(*args, **kwargs)
        _adopt(stream, is_async=False)
    finally:
        stream_for_helper.reset(token)
    return stream


async def _async_enter(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    token = collect_streams_for_helper()
    try:
        stream = await wrapped(*args, **kwargs)
        _adopt(stream, is_async=True)
    finally:
        stream_for_helper.reset(token)
    return stream


class AnthropicInstrumentor(RequestHookInstrumentor):
    """Instruments every ``anthropic`` client, sync and async, at its ``request()``."""

    base_client_module = "anthropic._base_client"
    instruments = ANTHROPIC_INSTRUMENTS
    _sdk_tracing_patched = False
    _helpers_patched = False

    def routes(self, settings: Settings) -> Mapping[str, Route]:
        route = Route(messages.build_request, messages.result_of, messages.MessagesStreamAccumulator,
                      api=ANTHROPIC_MESSAGES)
        return {"/v1/messages": route}

    def _after_instrument(self, settings: Settings) -> None:
        module = importlib.import_module(self.base_client_module)
        if not settings.anthropic_sdk_spans and callable(getattr(module, "get_tracer", None)):
            wrap_function_wrapper(module, "get_tracer", _no_sdk_tracer)
            self._sdk_tracing_patched = True
        if _helper_rebuilds_stream():
            wrap_function_wrapper(_HELPER_MODULE, "MessageStreamManager.__enter__", _sync_enter)
            wrap_function_wrapper(_HELPER_MODULE, "AsyncMessageStreamManager.__aenter__", _async_enter)
            self._helpers_patched = True

    def _after_uninstrument(self) -> None:
        if self._sdk_tracing_patched:
            unwrap(importlib.import_module(self.base_client_module), "get_tracer")
            self._sdk_tracing_patched = False
        if self._helpers_patched:
            module = importlib.import_module(_HELPER_MODULE)
            unwrap(module.MessageStreamManager, "__enter__")
            unwrap(module.AsyncMessageStreamManager, "__aenter__")
            self._helpers_patched = False
