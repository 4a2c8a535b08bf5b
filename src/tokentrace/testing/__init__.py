"""Offline testing helpers: a fake OpenAI/Anthropic provider and in-memory telemetry.

Example::

    from tokentrace.testing import FakeProvider, capture_telemetry

    fake = FakeProvider()
    with capture_telemetry() as telemetry:
        client = fake.openai_client()
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert telemetry.span().attributes["gen_ai.usage.output_tokens"] > 0
"""

from ._capture import CapturedTelemetry, capture_telemetry
from .fake import FakeDisconnect, FakeError, FakeProvider, FakeReply, FakeTimeout, FakeToolCall

__all__ = [
    "CapturedTelemetry",
    "FakeDisconnect",
    "FakeError",
    "FakeProvider",
    "FakeReply",
    "FakeTimeout",
    "FakeToolCall",
    "capture_telemetry",
]
