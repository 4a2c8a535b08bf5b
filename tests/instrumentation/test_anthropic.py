"""Anthropic messages through the real SDK, sync and async, against the fake provider."""

from __future__ import annotations

import anthropic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tokentrace import semconv as sc
from tokentrace.testing import FakeError, FakeReply, FakeToolCall

MESSAGES = [{"role": "user", "content": "Name a colour."}]
MODEL = "claude-haiku-4-5"


def test_create_counts_cache_tokens_into_input(fake, instrumented):
    """input_tokens on the span includes cache reads and writes, as the spec says."""
    fake.queue(FakeReply(text="Blue.", input_tokens=10, output_tokens=2, cached_tokens=100, cache_creation_tokens=50))
    message = fake.anthropic_client().messages.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, stop_sequences=["\n\n"], system="Be brief.",
        # anthropic >= 1 has no sampling parameters; older SDKs and extra_body still carry them.
        extra_body={"temperature": 0.5, "top_k": 40},
    )
    assert message.usage.input_tokens == 10
    span = instrumented.span()
    attrs = span.attributes
    assert span.name == f"chat {MODEL}" and span.kind is SpanKind.CLIENT
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 64
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert attrs[sc.GEN_AI_REQUEST_TOP_K] == 40
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("\n\n",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 160
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert attrs[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 50
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    tokens = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.sum for p in instrumented.metrics()[sc.METRIC_TOKEN_USAGE]}
    assert tokens == {"input": 160, "output": 2}


def test_parameters_not_carried_are_not_recorded(fake, instrumented):
    """A call without temperature/top_p/top_k records none of them."""
    fake.anthropic_client().messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    attrs = instrumented.span().attributes
    assert not {sc.GEN_AI_REQUEST_TEMPERATURE, sc.GEN_AI_REQUEST_TOP_P, sc.GEN_AI_REQUEST_TOP_K} & set(attrs)


async def test_async_create(fake, instrumented):
    """The async client is instrumented the same way."""
    fake.queue(FakeReply(text="Red.", input_tokens=7, output_tokens=2))
    async with fake.anthropic_client(async_=True) as client:
        message = await client.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id and attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 7


def test_stream_output_tokens_are_not_double_counted(fake, instrumented):
    """message_delta's usage is cumulative: output tokens equal the final count, not a sum."""
    fake.queue(FakeReply(text="a b c d e f", input_tokens=12, output_tokens=6, cached_tokens=3))
    stream = fake.anthropic_client().messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    events = [e.type for e in stream]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 6
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 15
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.TT_STREAM_END] == "completed"


def test_stream_helper_text_stream_and_final_message(fake, instrumented):
    """``messages.stream`` keeps text_stream and get_final_message working; one span."""
    fake.queue(FakeReply(text="green and blue", input_tokens=5, output_tokens=3))
    with fake.anthropic_client().messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "green and blue" and final.content[0].text == text
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3 and attrs[sc.GEN_AI_REQUEST_STREAM] is True


async def test_async_stream_helper(fake, instrumented):
    """The async ``messages.stream`` helper is observed and its final message is intact."""
    fake.queue(FakeReply(text="async colours", input_tokens=5, output_tokens=2))
    async with fake.anthropic_client(async_=True) as client:
        async with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert text == "async colours" == final.content[0].text
    assert instrumented.span().attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2


def test_tool_use(fake, instrumented):
    """A tool_use answer records finish reason tool_use."""
    fake.queue(FakeReply(tool_calls=[FakeToolCall("lookup", '{"q": "x"}')]))
    tools = [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object"}}]
    message = fake.anthropic_client().messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, tools=tools)
    assert message.content[-1].type == "tool_use"
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


@pytest.mark.parametrize(
    "status, exc_type",
    [(429, anthropic.RateLimitError), (529, anthropic.InternalServerError), (400, anthropic.BadRequestError)],
)
def test_errors(fake, instrumented, status, exc_type):
    """Provider errors propagate as the SDK's own exceptions and mark the span."""
    fake.queue(FakeError(status=status))
    with pytest.raises(exc_type) as raised:
        fake.anthropic_client().messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    span = instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == type(raised.value).__qualname__


def test_raw_response_keeps_headers_and_parse(fake, instrumented):
    """``with_raw_response`` keeps ``.headers`` and ``.parse()``; the span ends on parse."""
    raw = fake.anthropic_client().messages.with_raw_response.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert raw.headers.get("request-id")
    message = raw.parse()
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_ID] == message.id


def test_beta_messages_are_instrumented(fake, instrumented):
    """``beta.messages.create`` goes through the same route."""
    client = fake.anthropic_client()
    if not hasattr(client, "beta") or not hasattr(client.beta, "messages"):
        pytest.skip("this anthropic SDK has no beta.messages")
    message = client.beta.messages.create(model=MODEL, max_tokens=16, messages=MESSAGES)
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_ID] == message.id
