"""Anthropic coverage: raw and streaming responses, stream ends, refusals, streamed tool use.

Sync and async through the real SDK against the fake provider.
"""

from __future__ import annotations

import gc
import inspect
import json

import anthropic
import pytest
from anthropic.types import Message
from opentelemetry.trace import StatusCode

from tokentrace import semconv as sc
from tokentrace.testing import FakeReply, FakeToolCall

MESSAGES = [{"role": "user", "content": "Name a colour."}]
MODEL = "claude-haiku-4-5"
KW = dict(model=MODEL, max_tokens=64, messages=MESSAGES)

both = pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])


async def _maybe(value):
    """``parse()`` and ``close()`` are coroutines on async responses and plain calls on sync ones."""
    return await value if inspect.isawaitable(value) else value


async def _events(stream, async_):
    if async_:
        return [e async for e in stream]
    return list(stream)


def _client(fake, async_):
    return fake.anthropic_client(async_=async_)


def _text(events):
    return "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")


def _assert_full_stream_span(attrs, events, *, input_tokens, output_tokens, reason="end_turn"):
    start = events[0].message
    assert attrs[sc.GEN_AI_RESPONSE_ID] == start.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == start.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == input_tokens
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == output_tokens
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (reason,)
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.TT_STREAM_CHUNKS] == len(events)


# --- with_raw_response ---------------------------------------------------------------------------


@both
async def test_raw_response(fake, instrumented, async_):
    """``with_raw_response.create``: headers, ``parse()`` to the SDK's Message, the full span."""
    fake.queue(FakeReply(text="Teal.", input_tokens=8, output_tokens=1, cached_tokens=2))
    client = _client(fake, async_)
    raw = await _maybe(client.messages.with_raw_response.create(**KW))
    assert raw.headers.get("request-id", "").startswith("req_")
    assert raw.http_response.status_code == 200
    message = await _maybe(raw.parse())
    assert await _maybe(raw.parse()) is message
    assert isinstance(message, Message) and message.content[0].text == "Teal."
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == message.model
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is False


@both
async def test_raw_response_stream(fake, instrumented, async_):
    """A raw streaming response parses to the SDK's stream, observed to its end."""
    fake.queue(FakeReply(text="olive and ochre", input_tokens=6, output_tokens=3))
    client = _client(fake, async_)
    raw = await _maybe(client.messages.with_raw_response.create(**KW, stream=True))
    assert raw.headers.get("content-type", "").startswith("text/event-stream")
    stream = await _maybe(raw.parse())
    events = await _events(stream, async_)
    assert events[0].type == "message_start" and events[-1].type == "message_stop"
    assert _text(events) == "olive and ochre"
    _assert_full_stream_span(instrumented.span().attributes, events, input_tokens=6, output_tokens=3)


@both
async def test_raw_response_stream_parsed_in_one_expression(fake, instrumented, async_):
    """``with_raw_response.create(stream=True).parse()`` in one expression drops the raw wrapper at
    once; the span still waits for the stream and records all of it."""
    fake.queue(FakeReply(text="a b c d e", input_tokens=4, output_tokens=5))
    client = _client(fake, async_)
    stream = await _maybe((await _maybe(client.messages.with_raw_response.create(**KW, stream=True))).parse())
    gc.collect()
    assert instrumented.spans() == []
    events = await _events(stream, async_)
    assert _text(events) == "a b c d e"
    _assert_full_stream_span(instrumented.span().attributes, events, input_tokens=4, output_tokens=5)


# --- with_streaming_response ---------------------------------------------------------------------


@both
async def test_streaming_response(fake, instrumented, async_):
    """``with_streaming_response.create`` as a context manager; ``parse()`` gives the Message."""
    fake.queue(FakeReply(text="Indigo.", input_tokens=7, output_tokens=1))
    client = _client(fake, async_)
    if async_:
        async with client.messages.with_streaming_response.create(**KW) as response:
            assert response.headers.get("request-id")
            message = await response.parse()
    else:
        with client.messages.with_streaming_response.create(**KW) as response:
            assert response.headers.get("request-id")
            message = response.parse()
    assert isinstance(message, Message) and message.content[0].text == "Indigo."
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 7 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)


@both
async def test_streaming_response_stream(fake, instrumented, async_):
    """``with_streaming_response.create(stream=True)``: the parsed stream is observed to its end."""
    fake.queue(FakeReply(text="amber umber", input_tokens=5, output_tokens=2))
    client = _client(fake, async_)
    if async_:
        async with client.messages.with_streaming_response.create(**KW, stream=True) as response:
            stream = await response.parse()
            events = [e async for e in stream]
    else:
        with client.messages.with_streaming_response.create(**KW, stream=True) as response:
            events = list(response.parse())
    assert _text(events) == "amber umber"
    _assert_full_stream_span(instrumented.span().attributes, events, input_tokens=5, output_tokens=2)


@both
async def test_streaming_response_read_without_parse_ends_the_span(fake, instrumented, async_):
    """Reading raw lines without ``parse()`` still ends the span when the response closes."""
    client = _client(fake, async_)
    if async_:
        async with client.messages.with_streaming_response.create(**KW, stream=True) as response:
            lines = [line async for line in response.iter_lines()]
    else:
        with client.messages.with_streaming_response.create(**KW, stream=True) as response:
            lines = list(response.iter_lines())
    assert any(line.startswith("event: message_start") for line in lines)
    span = instrumented.span()
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert span.status.status_code is not StatusCode.ERROR


# --- streams behave like the SDK's and end once --------------------------------------------------


def test_sync_stream_passes_isinstance(fake, instrumented):
    """The app's ``isinstance(stream, anthropic.Stream)`` holds as without tokentrace."""
    stream = fake.anthropic_client().messages.create(**KW, stream=True)
    assert isinstance(stream, anthropic.Stream)
    list(stream)


async def test_async_stream_passes_isinstance(fake, instrumented):
    """The app's ``isinstance(stream, anthropic.AsyncStream)`` holds as without tokentrace."""
    stream = await fake.anthropic_client(async_=True).messages.create(**KW, stream=True)
    assert isinstance(stream, anthropic.AsyncStream)
    [e async for e in stream]


@both
async def test_stream_close_ends_span_with_what_was_received(fake, instrumented, async_):
    """``close()`` after a few events ends the span as closed_early with the message_start facts."""
    fake.queue(FakeReply(text=" ".join(f"w{i}" for i in range(20)), chunks=20, input_tokens=11, output_tokens=20))
    client = _client(fake, async_)
    stream = await _maybe(client.messages.create(**KW, stream=True))
    seen = []
    if async_:
        async for event in stream:
            seen.append(event)
            if len(seen) == 3:
                break
    else:
        for event in stream:
            seen.append(event)
            if len(seen) == 3:
                break
    await _maybe(stream.close())
    await _maybe(stream.close())
    span = instrumented.span()
    attrs = span.attributes
    assert attrs[sc.TT_STREAM_END] == "closed_early"
    assert attrs[sc.TT_STREAM_CHUNKS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_ID] == seen[0].message.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 11  # message_start already told
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in attrs  # message_delta never arrived
    assert span.status.status_code is not StatusCode.ERROR


@both
async def test_abandoned_stream_ends_span_on_garbage_collection(fake, instrumented, async_):
    """A stream dropped unfinished ends its span as abandoned with what was received."""
    client = _client(fake, async_)
    stream = await _maybe(client.messages.create(**KW, stream=True))
    first = await stream.__anext__() if async_ else next(stream)
    assert first.type == "message_start"
    assert instrumented.spans() == []
    del stream
    gc.collect()
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_END] == "abandoned"
    assert attrs[sc.TT_STREAM_CHUNKS] == 1
    assert attrs[sc.GEN_AI_RESPONSE_ID] == first.message.id


@both
async def test_stream_helper_left_early_ends_span_as_closed(fake, instrumented, async_):
    """Leaving ``with messages.stream(...)`` after one text delta closes the stream: the span
    ends at once, as closed_early, not later by garbage collection."""
    fake.queue(FakeReply(text=" ".join(f"w{i}" for i in range(20)), chunks=20))
    if async_:
        async with fake.anthropic_client(async_=True).messages.stream(**KW) as stream:
            first = await stream.text_stream.__anext__()
            assert instrumented.spans() == []
    else:
        with fake.anthropic_client().messages.stream(**KW) as stream:
            first = next(iter(stream.text_stream))
            assert instrumented.spans() == []
    assert first.startswith("w0")
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_END] == "closed_early"
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in attrs


# --- refusals and streamed tool use ---------------------------------------------------------------


def test_refusal_is_recorded(fake, instrument):
    """A refusal (stop_reason "refusal") reaches the app as it is and is the finish reason."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(refusal="I can't help with that."))
    message = fake.anthropic_client().messages.create(**KW)
    assert message.stop_reason == "refusal" and message.content[0].text == "I can't help with that."
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("refusal",)
    assert attrs[sc.GEN_AI_RESPONSE_ID] == message.id
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "refusal"
    assert output["parts"] == [{"type": "text", "content": "I can't help with that."}]


@both
async def test_streamed_refusal_is_recorded(fake, instrument, async_):
    """A streamed refusal ends with message_delta stop_reason "refusal": that is the finish reason."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(refusal="I can't help with that."))
    stream = await _maybe(_client(fake, async_).messages.create(**KW, stream=True))
    events = await _events(stream, async_)
    (delta,) = [e for e in events if e.type == "message_delta"]
    assert delta.delta.stop_reason == "refusal"
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("refusal",)
    assert attrs[sc.TT_STREAM_END] == "completed"
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "refusal"
    assert output["parts"] == [{"type": "text", "content": "I can't help with that."}]


@both
async def test_streamed_tool_use(fake, instrument, async_):
    """A streamed tool_use: finish reason tool_use, and the call (id, name, arguments assembled
    from input_json_delta) in the output messages when content is captured."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(tool_calls=[FakeToolCall("lookup", {"city": "Paris", "days": 3}, id="toolu_fixed")],
                         input_tokens=20, output_tokens=9, chunks=4))
    tools = [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object"}}]
    stream = await _maybe(_client(fake, async_).messages.create(**KW, tools=tools, stream=True))
    events = await _events(stream, async_)
    (start,) = [e for e in events if e.type == "content_block_start"]
    assert start.content_block.type == "tool_use" and start.content_block.name == "lookup"
    attrs = telemetry.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 20 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 9
    assert json.loads(attrs[sc.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "lookup"
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "tool_use"
    assert output["parts"] == [
        {"type": "tool_call", "id": "toolu_fixed", "name": "lookup", "arguments": {"city": "Paris", "days": 3}}
    ]


@both
async def test_streamed_text_then_tool_use_assembles_both_blocks(fake, instrument, async_):
    """Many text deltas, then a tool_use block: the text deltas (read on the fast path) and the
    input_json deltas (the general path) each land in their own block, in order."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    text = "Let me look that up for you right now."
    fake.queue(FakeReply(text=text, tool_calls=[FakeToolCall("lookup", {"city": "Paris"}, id="toolu_1")], chunks=9))
    tools = [{"name": "lookup", "description": "Look up", "input_schema": {"type": "object"}}]
    stream = await _maybe(_client(fake, async_).messages.create(**KW, tools=tools, stream=True))
    events = await _events(stream, async_)
    deltas = [e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"]
    assert len(deltas) > 3 and "".join(deltas) == text
    (output,) = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"] == [
        {"type": "text", "content": text},
        {"type": "tool_call", "id": "toolu_1", "name": "lookup", "arguments": {"city": "Paris"}},
    ]
