"""tokentrace's own failures never change what the application sees."""

from __future__ import annotations

import logging

import openai
import pytest
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

import tokentrace
from tokentrace import _errors
from tokentrace.instrumentation import _anthropic_messages, _openai_chat
from tokentrace.testing import FakeReply

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def fail_open(monkeypatch):
    """Internal errors are swallowed and logged, as in production."""
    monkeypatch.setenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", "0")
    monkeypatch.setattr(_errors, "_reported", set())


def _boom(*args, **kwargs):
    raise RuntimeError("injected failure")


def test_failing_request_extraction_leaves_call_untouched(fake, instrumented, fail_open, monkeypatch, caplog):
    """A bug while reading the request: no span, same response, one warning."""
    monkeypatch.setattr(_openai_chat, "build_request", _boom)
    tokentrace.uninstrument()
    tokentrace.instrument(tracer_provider=instrumented.tracer_provider, meter_provider=instrumented.meter_provider)
    with caplog.at_level(logging.WARNING, logger="tokentrace"):
        client = fake.openai_client()
        first = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert type(first).__name__ == "ChatCompletion" and first.choices[0].message.content
    assert instrumented.spans() == []
    assert len([r for r in caplog.records if "internal error" in r.getMessage()]) == 1


def test_failing_response_extraction_returns_same_object(fake, instrumented, fail_open, monkeypatch):
    """A bug while reading the response: the app still gets the SDK's own object."""
    monkeypatch.setattr(_anthropic_messages, "result_of", _boom)
    tokentrace.uninstrument()
    tokentrace.instrument(tracer_provider=instrumented.tracer_provider, meter_provider=instrumented.meter_provider)
    message = fake.anthropic_client().messages.create(model="claude-haiku-4-5", max_tokens=8, messages=MESSAGES)
    assert type(message).__name__ == "Message" and message.content[0].text


def test_failing_chunk_handling_keeps_every_chunk(fake, instrumented, fail_open, monkeypatch):
    """A bug in per-chunk accounting never drops or alters a chunk."""
    monkeypatch.setattr(_openai_chat.ChatStreamAccumulator, "add", _boom)
    fake.queue(FakeReply(text="a b c d", chunks=4))
    client = fake.openai_client()
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "a b c d"


def test_exporter_failure_does_not_reach_the_app(fake, instrumented):
    """An exporter that raises does not affect the call."""

    class Broken(SpanExporter):
        def export(self, spans):
            raise OSError("disk full")

    instrumented.tracer_provider.add_span_processor(SimpleSpanProcessor(Broken()))
    response = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.choices[0].message.content
    assert len(instrumented.spans()) == 1


def test_exceptions_from_the_sdk_propagate_as_the_same_object(fake, instrumented):
    """An exception raised under the SDK reaches the app as the very same object."""

    class Interrupt(BaseException):
        pass

    raised = Interrupt()

    def hook(request):
        raise raised

    client = fake.openai_client(event_hooks={"request": [hook]})
    with pytest.raises(Interrupt) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value is raised
    assert instrumented.span().attributes["error.type"] == "test_exceptions_from_the_sdk_propagate_as_the_same_object.<locals>.Interrupt"


def test_suppressed_context_emits_nothing(fake, instrumented):
    """Calls made under OpenTelemetry's suppression key are not traced (no self-tracing)."""
    with suppress_instrumentation():
        fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert instrumented.spans() == []


def test_instrument_twice_patches_once_and_uninstrument_restores(fake, telemetry):
    """A second instrument() adds nothing; uninstrument() restores the original functions."""
    from anthropic._base_client import SyncAPIClient as AnthropicClient
    from openai._base_client import AsyncAPIClient, SyncAPIClient

    from openai.lib.streaming.chat._completions import AsyncChatCompletionStream, ChatCompletionStream

    def patched() -> tuple:
        return (SyncAPIClient.request, AsyncAPIClient.request, AnthropicClient.request,
                ChatCompletionStream.close, AsyncChatCompletionStream.close)

    originals = patched()
    for _ in range(2):
        tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    assert tokentrace.is_instrumented("openai") and tokentrace.is_instrumented("anthropic")
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1
    tokentrace.uninstrument()
    assert patched() == originals
    assert not tokentrace.is_instrumented("openai")
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(telemetry.spans()) == 1


def test_non_genai_requests_pass_through(fake, instrumented):
    """Other endpoints (e.g. models.list) are not traced."""
    client = fake.openai_client()
    try:
        client.models.list()
    except openai.APIStatusError:
        pass  # the fake may not serve it; either way no span
    assert instrumented.spans() == []
