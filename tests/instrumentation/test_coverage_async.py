"""Async coverage: every SDK surface of the issue's table, through the real async clients; then
streamed ``n>1``, streamed tool calls and refusals (OpenAI chat and Responses), sync and async.

Each test checks the span (usage, response id/model, finish reasons, how the stream ended) and
that the application gets the SDK's own objects and values.
"""

from __future__ import annotations

import gc
import inspect
import json

import openai
import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion
from opentelemetry.trace import StatusCode
from pydantic import BaseModel

from tokentrace import semconv as sc
from tokentrace.testing import FakeReply, FakeToolCall

from .sdk_features import chat_helpers, needs_responses_api

MESSAGES = [{"role": "user", "content": "What is OTel?"}]
MODEL = "gpt-4o-mini"
CLAUDE = "claude-haiku-4-5"


async def _parsed(value):
    """``raw.parse()`` is sync on legacy raw responses and a coroutine on the newer async ones."""
    return await value if inspect.isawaitable(value) else value


def _text_of(chunks):
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


# --- OpenAI chat -------------------------------------------------------------------------------


async def test_async_stream_with_the_apps_own_include_usage(fake, instrumented):
    """The app's own include_usage: its usage chunk reaches it, tokentrace injects nothing."""
    fake.queue(FakeReply(text="one two three", input_tokens=6, output_tokens=3, response_model="gpt-4o-mini-2024"))
    async with fake.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        assert isinstance(stream, openai.AsyncStream)
        chunks = [c async for c in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert _text_of(chunks) == "one two three"
    last = chunks[-1]
    assert last.choices == [] and last.usage.prompt_tokens == 6 and last.usage.completion_tokens == 3
    assert all("usage" in c.model_fields_set for c in chunks)  # the app's own "usage": null stays
    assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
    attrs = instrumented.span().attributes
    assert sc.TT_STREAM_USAGE_INJECTED not in attrs
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_ID] == chunks[0].id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024" == chunks[0].model
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.TT_STREAM_CHUNKS] == len(chunks)
    assert attrs[sc.TT_USAGE_SOURCE] == sc.USAGE_REPORTED


class Answer(BaseModel):
    answer: str


async def test_async_parse(fake, instrumented):
    """Async ``parse`` returns the SDK's parsed completion; the span says JSON output."""
    fake.queue(FakeReply(text='{"answer": "42"}', input_tokens=12, output_tokens=4))
    async with fake.openai_client(async_=True) as client:
        completion = await chat_helpers(client).parse(model=MODEL, messages=MESSAGES, response_format=Answer)
    assert isinstance(completion, ParsedChatCompletion)
    assert completion.choices[0].message.parsed == Answer(answer="42")
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == completion.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == completion.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 12 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is False


async def test_async_stream_helper_context_manager(fake, instrumented):
    """``async with chat.completions.stream(...)``: events, final completion and one full span."""
    fake.queue(FakeReply(text="hello async world", input_tokens=5, output_tokens=3))
    async with fake.openai_client(async_=True) as client:
        async with chat_helpers(client).stream(model=MODEL, messages=MESSAGES) as stream:
            events = [e async for e in stream]
            final = await stream.get_final_completion()
    kinds = [e.type for e in events]
    assert "content.delta" in kinds and "content.done" in kinds
    assert isinstance(final, ChatCompletion) and final.choices[0].message.content == "hello async world"
    assert final.choices[0].finish_reason == "stop"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_RESPONSE_ID] == final.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == final.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_END] == "completed"


async def test_async_stream_close_ends_span_with_what_was_received(fake, instrumented):
    """``await stream.close()`` after two chunks ends the span as closed_early, once."""
    fake.queue(FakeReply(text=" ".join(f"w{i}" for i in range(20)), chunks=20))
    async with fake.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        await stream.__anext__()
        await stream.close()
        await stream.close()
    assert isinstance(first, ChatCompletionChunk)
    span = instrumented.span()
    assert span.attributes[sc.TT_STREAM_END] == "closed_early"
    assert span.attributes[sc.TT_STREAM_CHUNKS] == 2
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == first.id
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in span.attributes  # never got that far
    assert span.status.status_code is not StatusCode.ERROR


async def test_async_stream_abandoned_is_ended_on_garbage_collection(fake, instrumented):
    """An async stream dropped unfinished ends its span as abandoned with the chunks seen."""
    async with fake.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        first = await stream.__anext__()
        assert instrumented.spans() == []
        del stream
        gc.collect()
        span = instrumented.span()
    assert span.attributes[sc.TT_STREAM_END] == "abandoned"
    assert span.attributes[sc.TT_STREAM_CHUNKS] == 1
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == first.id


# --- OpenAI Responses API ------------------------------------------------------------------------


@needs_responses_api
async def test_async_responses_create_stream(fake, instrumented):
    """Async ``responses.create(stream=True)``: events as the SDK yields them, usage from the end."""
    from openai.types.responses import ResponseCompletedEvent

    fake.queue(FakeReply(text="streamed async hello", input_tokens=7, output_tokens=3, cached_tokens=2))
    async with fake.openai_client(async_=True) as client:
        stream = await client.responses.create(model="gpt-4.1-mini", input="Say hello.", stream=True)
        assert isinstance(stream, openai.AsyncStream)
        events = [e async for e in stream]
    final = events[-1]
    assert isinstance(final, ResponseCompletedEvent) and final.response.output_text == "streamed async hello"
    attrs = instrumented.span().attributes
    assert attrs[sc.OPENAI_API_TYPE] == "responses" and attrs[sc.GEN_AI_REQUEST_STREAM] is True
    assert attrs[sc.GEN_AI_RESPONSE_ID] == final.response.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == final.response.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 7 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_END] == "completed" and attrs[sc.TT_STREAM_CHUNKS] == len(events)


@needs_responses_api
async def test_async_responses_stream_helper(fake, instrumented):
    """Async ``responses.stream(...)``: text deltas and ``get_final_response()``; one span."""
    from openai.types.responses import Response

    fake.queue(FakeReply(text="helper async hello", input_tokens=6, output_tokens=3))
    async with fake.openai_client(async_=True) as client:
        async with client.responses.stream(model="gpt-4.1-mini", input="Say hello.") as stream:
            deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
            final = await stream.get_final_response()
    assert "".join(deltas) == "helper async hello"
    assert isinstance(final, Response) and final.output_text == "helper async hello"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == final.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 6 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_END] == "completed"


@pytest.mark.parametrize("api", ["chat", pytest.param("responses", marks=needs_responses_api)])
async def test_async_stream_helpers_left_early_end_at_exit(fake, instrumented, api):
    """``async with ...stream(...)`` left mid-stream ends the span at exit, as closed_early."""
    fake.queue(FakeReply(text="one two three four five six", input_tokens=6, output_tokens=6))
    gc.disable()
    try:
        async with fake.openai_client(async_=True) as client:
            if api == "chat":
                manager = chat_helpers(client).stream(model=MODEL, messages=MESSAGES)
            else:
                manager = client.responses.stream(model="gpt-4.1-mini", input="Say hello.")
            async with manager as stream:
                async for _ in stream:
                    break
            (span,) = instrumented.spans()
    finally:
        gc.enable()
    assert span.attributes[sc.TT_STREAM_END] == "closed_early"


# --- OpenAI raw and streaming responses ----------------------------------------------------------


async def test_async_with_raw_response(fake, instrumented):
    """Async ``with_raw_response``: headers, ``parse()`` to the SDK's completion, the full span."""
    fake.queue(FakeReply(text="raw hello", input_tokens=4, output_tokens=2))
    async with fake.openai_client(async_=True) as client:
        raw = await client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
        assert raw.headers.get("x-request-id", "").startswith("req_")
        assert instrumented.spans() == []  # the body is not read yet
        completion = await _parsed(raw.parse())
        assert await _parsed(raw.parse()) is completion
    assert isinstance(completion, ChatCompletion) and completion.choices[0].message.content == "raw hello"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == completion.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 4 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


async def test_async_with_raw_response_stream(fake, instrumented):
    """Async raw streaming response: parse() gives the SDK's stream; no usage chunk is injected
    (the app may read raw bytes), so usage comes from estimation and the stream ends completed."""
    fake.queue(FakeReply(text="a b c d", input_tokens=4, output_tokens=4))
    async with fake.openai_client(async_=True) as client:
        raw = await client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, stream=True)
        stream = await _parsed(raw.parse())
        assert isinstance(stream, openai.AsyncStream)
        chunks = [c async for c in stream]
    assert _text_of(chunks) == "a b c d"
    assert "stream_options" not in fake.requests[-1].json
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == chunks[0].id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_CHUNKS] == len(chunks)


async def test_async_raw_response_stream_parsed_in_one_expression(fake, instrumented):
    """``(await ...with_raw_response.create(stream=True)).parse()`` drops the raw wrapper at once:
    the span must still wait for the stream and record everything it carried."""
    fake.queue(FakeReply(text="a b c d e", input_tokens=4, output_tokens=5))
    async with fake.openai_client(async_=True) as client:
        stream = await _parsed(
            (await client.chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES, stream=True)).parse()
        )
        gc.collect()
        assert instrumented.spans() == []
        chunks = [c async for c in stream]
    assert _text_of(chunks) == "a b c d e"
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.TT_STREAM_CHUNKS] == len(chunks)
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


async def test_async_with_streaming_response(fake, instrumented):
    """Async ``with_streaming_response`` (non-stream): ``await parse()`` gives the SDK's completion."""
    fake.queue(FakeReply(text="streaming-response hello", input_tokens=3, output_tokens=2))
    async with fake.openai_client(async_=True) as client:
        async with client.chat.completions.with_streaming_response.create(model=MODEL, messages=MESSAGES) as response:
            assert response.headers.get("content-type", "").startswith("application/json")
            completion = await response.parse()
    assert isinstance(completion, ChatCompletion)
    assert completion.choices[0].message.content == "streaming-response hello"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == completion.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 3 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)


async def test_async_with_streaming_response_stream_records_the_whole_stream(fake, instrumented):
    """Async ``with_streaming_response`` with stream=True: response id, finish reason and chunk count."""
    fake.queue(FakeReply(text="x y z", input_tokens=3, output_tokens=3))
    async with fake.openai_client(async_=True) as client:
        async with client.chat.completions.with_streaming_response.create(
            model=MODEL, messages=MESSAGES, stream=True
        ) as response:
            stream = await response.parse()
            chunks = [c async for c in stream]
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks) and _text_of(chunks) == "x y z"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == chunks[0].id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.TT_STREAM_END] == "completed" and attrs[sc.TT_STREAM_CHUNKS] == len(chunks)


# --- Anthropic -----------------------------------------------------------------------------------


async def test_async_anthropic_create_stream(fake, instrumented):
    """Async ``messages.create(stream=True)``: the SDK's raw events, the cumulative usage, the end."""
    fake.queue(FakeReply(text="red green blue", input_tokens=9, output_tokens=3, cached_tokens=4,
                         cache_creation_tokens=2, response_model="claude-haiku-4-5-20251001"))
    async with fake.anthropic_client(async_=True) as client:
        stream = await client.messages.create(model=CLAUDE, max_tokens=64, messages=MESSAGES, stream=True)
        # (isinstance against anthropic.AsyncStream: test_coverage_anthropic.py)
        events = [e async for e in stream]
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "red green blue"
    message = events[0].message
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == "claude-haiku-4-5-20251001" == message.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 15  # 9 + cache reads 4 + cache writes 2
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4
    assert attrs[sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.TT_STREAM_END] == "completed" and attrs[sc.TT_STREAM_CHUNKS] == len(events)
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True


async def test_async_anthropic_stream_helper_text_stream_and_final_message(fake, instrumented):
    """Async ``messages.stream``: text_stream, get_final_message (the SDK's Message), full span."""
    fake.queue(FakeReply(text="cyan magenta", input_tokens=5, output_tokens=2))
    async with fake.anthropic_client(async_=True) as client:
        async with client.messages.stream(model=CLAUDE, max_tokens=64, messages=MESSAGES) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
    assert isinstance(final, Message) and final.content[0].text == text == "cyan magenta"
    assert final.stop_reason == "end_turn"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == final.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == final.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is True


# --- n>1, tool calls and refusals, streamed (sync and async) -------------------------------------

both = pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])


async def _chat_stream(fake, async_, **kwargs):
    if async_:
        async with fake.openai_client(async_=True) as client:
            stream = await client.chat.completions.create(stream=True, **kwargs)
            return [c async for c in stream]
    return list(fake.openai_client().chat.completions.create(stream=True, **kwargs))


@both
async def test_streamed_multiple_choices(fake, instrument, async_):
    """n=3 streamed: every choice reaches the app; the span has the count, three finish reasons,
    the output tokens of all choices and, with content on, three output messages."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(text="alpha beta gamma", input_tokens=5, output_tokens=3, chunks=3))
    chunks = await _chat_stream(fake, async_, model=MODEL, messages=MESSAGES, n=3)
    texts = {}
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or "")
    assert texts == {0: "alpha beta gamma", 1: "alpha beta gamma", 2: "alpha beta gamma"}
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 3
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop", "stop", "stop")
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 9  # 3 per choice, as the usage chunk says
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5
    assert attrs[sc.TT_STREAM_END] == "completed"
    outputs = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert [o["parts"] for o in outputs] == [[{"type": "text", "content": "alpha beta gamma"}]] * 3
    assert [o["finish_reason"] for o in outputs] == ["stop"] * 3


@both
async def test_streamed_tool_calls(fake, instrument, async_):
    """Streamed tool calls: finish reason tool_calls; the calls, assembled from their argument
    fragments, are the output message when content is captured."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_weather", {"city": "Paris"}, id="call_a"),
                                     FakeToolCall("get_time", {"tz": "CET"}, id="call_b")],
                         input_tokens=30, output_tokens=8, chunks=3))
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}}
             for n in ("get_weather", "get_time")]
    chunks = await _chat_stream(fake, async_, model=MODEL, messages=MESSAGES, tools=tools)
    names = [c.function.name for ch in chunks if ch.choices for c in ch.choices[0].delta.tool_calls or ()
             if c.function and c.function.name]
    assert names == ["get_weather", "get_time"]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 30 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 8
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert [d["name"] for d in json.loads(attrs[sc.GEN_AI_TOOL_DEFINITIONS])] == ["get_weather", "get_time"]
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "tool_calls"
    assert output["parts"] == [
        {"type": "tool_call", "id": "call_a", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"type": "tool_call", "id": "call_b", "name": "get_time", "arguments": {"tz": "CET"}},
    ]


@both
async def test_streamed_tool_calls_without_content_capture(fake, instrumented, async_):
    """With content off, a streamed tool call still records its finish reason and usage, and no content."""
    fake.queue(FakeReply(tool_calls=[FakeToolCall("lookup", {"q": "x"})], input_tokens=10, output_tokens=4))
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    await _chat_stream(fake, async_, model=MODEL, messages=MESSAGES, tools=tools, n=2)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls", "tool_calls")
    assert attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 8
    assert sc.GEN_AI_OUTPUT_MESSAGES not in attrs and sc.GEN_AI_TOOL_DEFINITIONS not in attrs


@both
async def test_streamed_chat_refusal(fake, instrument, async_):
    """A streamed chat refusal: the refusal deltas reach the app, the finish reason is recorded and
    the refusal is the output message's part."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(refusal="I can't help with that."))
    chunks = await _chat_stream(fake, async_, model=MODEL, messages=MESSAGES)
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks if c.choices)
    assert refusal == "I can't help with that."
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (chunks[-1].choices[0].finish_reason,) == ("stop",)
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"] == [{"type": "refusal", "content": "I can't help with that."}]


async def _responses_call(fake, async_, stream, **kwargs):
    if async_:
        async with fake.openai_client(async_=True) as client:
            if not stream:
                return await client.responses.create(**kwargs)
            events = [e async for e in await client.responses.create(stream=True, **kwargs)]
    else:
        client = fake.openai_client()
        if not stream:
            return client.responses.create(**kwargs)
        events = list(client.responses.create(stream=True, **kwargs))
    assert events[-1].type == "response.completed"
    return events[-1].response


@needs_responses_api
@both
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
async def test_responses_refusal(fake, instrument, async_, stream):
    """A Responses API refusal content part: the app gets it; the span records the (completed)
    finish reason and, with content on, the refusal part."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(refusal="I won't do that.", input_tokens=4, output_tokens=4))
    response = await _responses_call(fake, async_, stream, model="gpt-4.1-mini", input="Do a bad thing.")
    (part,) = response.output[0].content
    assert part.type == "refusal" and part.refusal == "I won't do that."
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == response.id
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"] == [{"type": "refusal", "content": "I won't do that."}]
