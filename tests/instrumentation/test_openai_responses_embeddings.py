"""OpenAI Responses API, embeddings and the raw/streaming-response variants."""

from __future__ import annotations

import gc

import pytest
from opentelemetry.trace import StatusCode

from tokentrace import semconv as sc
from tokentrace.testing import FakeReply, FakeToolCall

from .sdk_features import needs_responses_api

INPUT = "Say hello."


@needs_responses_api
def test_responses_create(fake, instrumented):
    """``responses.create`` records the Responses API type, usage and cached tokens."""
    fake.queue(FakeReply(text="Hello!", input_tokens=9, output_tokens=2, cached_tokens=3, reasoning_tokens=1))
    response = fake.openai_client().responses.create(
        model="gpt-4.1-mini", input=INPUT, instructions="Be nice.", max_output_tokens=30, temperature=0.2
    )
    assert response.output_text == "Hello!"
    attrs = instrumented.span().attributes
    assert attrs[sc.OPENAI_API_TYPE] == "responses"
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 30
    assert attrs[sc.GEN_AI_RESPONSE_ID] == response.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 9
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 1
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


@needs_responses_api
def test_responses_function_call(fake, instrumented):
    """A function call output is recorded as finish reason tool_calls."""
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_time", "{}")]))
    tools = [{"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {}}}]
    fake.openai_client().responses.create(model="gpt-4.1-mini", input=INPUT, tools=tools)
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


@needs_responses_api
def test_responses_stream_create(fake, instrumented):
    """``responses.create(stream=True)`` takes usage from the completed event."""
    fake.queue(FakeReply(text="streamed hello", input_tokens=6, output_tokens=2))
    events = list(fake.openai_client().responses.create(model="gpt-4.1-mini", input=INPUT, stream=True))
    assert events[-1].type == "response.completed"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2 and attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == events[-1].response.id


@needs_responses_api
def test_responses_stream_helper(fake, instrumented):
    """``responses.stream(...)`` and ``get_final_response()`` work; one span."""
    fake.queue(FakeReply(text="helper hello", input_tokens=6, output_tokens=2))
    with fake.openai_client().responses.stream(model="gpt-4.1-mini", input=INPUT) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "helper hello"
    assert instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6


@needs_responses_api
def test_leaving_responses_stream_helper_early_ends_span_at_exit(fake, instrumented):
    """``responses.stream(...)`` left mid-stream: the span ends at the ``with`` exit, closed_early."""
    fake.queue(FakeReply(text="one two three four five six", input_tokens=6, output_tokens=6))
    gc.disable()  # without the close hook only a collection would end the call
    try:
        with fake.openai_client().responses.stream(model="gpt-4.1-mini", input=INPUT) as stream:
            next(iter(stream))
        (span,) = instrumented.spans()
    finally:
        gc.enable()
    assert span.attributes[sc.TT_STREAM_END] == "closed_early"


@needs_responses_api
async def test_async_responses(fake, instrumented):
    """The async Responses API is instrumented too."""
    fake.queue(FakeReply(text="hi", input_tokens=3, output_tokens=1))
    async with fake.openai_client(async_=True) as client:
        response = await client.responses.create(model="gpt-4.1-mini", input=INPUT)
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_ID] == response.id


def test_embeddings(fake, instrumented):
    """Embeddings record operation, input tokens and dimension count; no output tokens."""
    result = fake.openai_client().embeddings.create(model="text-embedding-3-small", input=["a b", "c"], dimensions=8)
    span = instrumented.span()
    attrs = span.attributes
    assert span.name == "embeddings text-embedding-3-small"
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    assert attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.data[0].embedding) == 8
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs


async def test_async_embeddings(fake, instrumented):
    """Async embeddings are recorded."""
    async with fake.openai_client(async_=True) as client:
        result = await client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens


def test_with_raw_response(fake, instrumented):
    """``with_raw_response`` keeps headers and ``parse()``; the span ends with the parsed body."""
    raw = fake.openai_client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers.get("content-type", "").startswith("application/json")
    completion = raw.parse()
    assert raw.parse() is completion
    assert instrumented.span().attributes[sc.GEN_AI_RESPONSE_ID] == completion.id


def test_with_raw_response_stream(fake, instrumented):
    """A raw streaming response parses to an observed stream; no usage chunk is injected."""
    raw = fake.openai_client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    chunks = list(raw.parse())
    assert chunks and "stream_options" not in fake.requests[-1].json
    assert instrumented.span().attributes[sc.TT_STREAM_END] == "completed"


def test_with_streaming_response(fake, instrumented):
    """``with_streaming_response`` works as a context manager with parse()."""
    with fake.openai_client().chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    ) as response:
        assert response.headers.get("content-type")
        completion = response.parse()
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == completion.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == completion.usage.prompt_tokens


async def test_async_with_streaming_response_stream(fake, instrumented):
    """The async streaming-response variant yields an observed async stream."""
    async with fake.openai_client(async_=True) as client:
        async with client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        ) as response:
            stream = await response.parse()
            chunks = [c async for c in stream]
    assert chunks
    assert instrumented.span().attributes[sc.TT_STREAM_END] == "completed"


def test_with_streaming_response_read_without_parse(fake, instrumented):
    """Reading raw lines without parse() still ends the span when the response closes."""
    with fake.openai_client().chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        lines = list(response.iter_lines())
    assert any(line.startswith("data:") for line in lines)
    span = instrumented.span()
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"


@needs_responses_api
@pytest.mark.parametrize("stream", [False, True])
def test_responses_failed_status_is_an_error(fake, instrumented, stream):
    """A 200 whose response says status "failed" (``response.failed`` when streamed) is an error:
    error.type is the API's error code, on the span (with an error status) and the duration metric;
    the application gets the SDK's response as it is."""
    fake.queue(FakeReply(text="partial", finish_reason="failed"))
    client = fake.openai_client()
    if stream:
        events = list(client.responses.create(model="gpt-4.1-mini", input=INPUT, stream=True))
        assert events[-1].type == "response.failed"
    else:
        assert client.responses.create(model="gpt-4.1-mini", input=INPUT).status == "failed"
    span = instrumented.span()
    assert span.attributes[sc.ERROR_TYPE] == "server_error"
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = instrumented.metrics()[sc.METRIC_OPERATION_DURATION]
    assert duration.attributes[sc.ERROR_TYPE] == "server_error"


def test_raw_response_parsed_in_one_expression_keeps_its_stream_observed(fake, instrumented):
    """``with_raw_response.create(stream=True).parse()`` drops the raw wrapper at once; the span
    still ends only when the stream does, with everything it carried."""
    import gc

    fake.queue(FakeReply(text="a b c d e", input_tokens=4, output_tokens=5))
    stream = fake.openai_client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": INPUT}], stream=True).parse()
    gc.collect()
    assert instrumented.spans() == []
    texts = [c.choices[0].delta.content for c in stream if c.choices]
    assert "".join(t for t in texts if t) == "a b c d e"
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_END] == "completed" and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
