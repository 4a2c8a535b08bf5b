"""OpenTelemetry instrumentation of the ``openai`` SDK (chat, Responses API, embeddings).

Registered for ``opentelemetry-instrument`` as ``tokentrace_openai``.
"""

from __future__ import annotations

import importlib
from typing import Any, Mapping

from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from .._streams import async_helper_close, sync_helper_close
from ..config import Settings
from ..package import OPENAI_INSTRUMENTS
from . import _openai_chat as chat
from . import _openai_responses as responses
from ._base import RequestHookInstrumentor
from ..cache._replay import OPENAI_CHAT, OPENAI_EMBEDDINGS, OPENAI_RESPONSES
from ._core import Route
from ._openai_usage_tap import tap_usage_chunk


_STREAM_HELPERS = (
    ("openai.lib.streaming.chat._completions", "ChatCompletionStream", sync_helper_close),
    ("openai.lib.streaming.chat._completions", "AsyncChatCompletionStream", async_helper_close),
    ("openai.lib.streaming.responses._responses", "ResponseStream", sync_helper_close),
    ("openai.lib.streaming.responses._responses", "AsyncResponseStream", async_helper_close),
)
"""The ``.stream(...)`` helpers whose ``close()`` bypasses the raw stream tokentrace observes."""


def _helper_class(module: str, name: str) -> Any:
    try:  # absent from older SDKs (Responses API helpers arrived in 1.66)
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


class OpenAIInstrumentor(RequestHookInstrumentor):
    """Instruments every ``openai`` client, sync and async, at its ``request()``."""

    base_client_module = "openai._base_client"
    instruments = OPENAI_INSTRUMENTS
    _patched_helpers: tuple[Any, ...] = ()

    def routes(self, settings: Settings) -> Mapping[str, Route]:
        chat_route = Route(chat.build_request, chat.result_of, chat.ChatStreamAccumulator, chat.inject_stream_usage,
                           api=OPENAI_CHAT, tap_usage_chunk=tap_usage_chunk)
        responses_route = Route(responses.build_request, responses.result_of, responses.ResponsesStreamAccumulator,
                                api=OPENAI_RESPONSES)
        embeddings_route = Route(
            responses.build_embeddings_request, responses.embeddings_result_of, responses.NoStream,
            api=OPENAI_EMBEDDINGS,
        )
        return {
            "/chat/completions": chat_route,
            "/responses": responses_route,
            "/embeddings": embeddings_route,
        }

    def inject_stream_usage(self, settings: Settings) -> bool:
        return settings.openai_stream_usage

    def _after_instrument(self, settings: Settings) -> None:
        patched = []
        for module, name, wrapper in _STREAM_HELPERS:
            helper = _helper_class(module, name)
            if helper is not None and callable(getattr(helper, "close", None)):
                wrap_function_wrapper(helper, "close", wrapper)
                patched.append(helper)
        self._patched_helpers = tuple(patched)

    def _after_uninstrument(self) -> None:
        for helper in self._patched_helpers:
            unwrap(helper, "close")
        self._patched_helpers = ()
