"""What the installed SDK versions offer, so one suite runs against the oldest and newest."""

from __future__ import annotations

from typing import Any

import openai
import pytest

HAS_RESPONSES = hasattr(openai.OpenAI, "responses")

needs_responses_api = pytest.mark.skipif(not HAS_RESPONSES, reason="openai < 1.66 has no Responses API")


def chat_helpers(client: Any) -> Any:
    """``chat.completions`` where ``parse``/``stream`` live: top level in new SDKs, ``beta`` in old."""
    if hasattr(client.chat.completions, "stream"):
        return client.chat.completions
    return client.beta.chat.completions
