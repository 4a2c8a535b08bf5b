"""OpenTelemetry instrumentation of the ``openai`` SDK (chat, Responses API, embeddings).

Registered for ``opentelemetry-instrument`` as ``tokentrace_openai``.
"""

from __future__ import annotations

from typing import Mapping

from ..config import Settings
from ..package import OPENAI_INSTRUMENTS
from . import _openai_chat as chat
from . import _openai_responses as responses
from ._base import RequestHookInstrumentor
from ..cache._replay import OPENAI_CHAT, OPENAI_EMBEDDINGS, OPENAI_RESPONSES
from ._core import Route
from ._openai_usage_tap import tap_usage_chunk


class OpenAIInstrumentor(RequestHookInstrumentor):
    """Instruments every ``openai`` client, sync and async, at its ``request()``."""

    base_client_module = "openai._base_client"
    instruments = OPENAI_INSTRUMENTS

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
