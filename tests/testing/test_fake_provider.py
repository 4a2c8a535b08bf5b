"""The fake provider against the real openai / anthropic SDK clients, in-process and over loopback HTTP."""

from __future__ import annotations

import base64
import inspect
import json
import struct
import time

import anthropic
import openai
import pytest

from tokentrace.testing.fake import (
    FakeDisconnect,
    FakeError,
    FakeProvider,
    FakeReply,
    FakeTimeout,
    FakeToolCall,
)
from tokentrace.testing.fake._clients import sdk_http_module

USER = [{"role": "user", "content": "Hello there"}]
DEFAULT_TEXT = "This is a fake reply to: Hello there"  # 8 words
TOOLS_CHAT = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
TOOLS_ANTHROPIC = [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}]
OPENAI_HTTP = sdk_http_module("openai")
ANTHROPIC_HTTP = sdk_http_module("anthropic")


@pytest.fixture(autouse=True)
def _reset():
    """Nothing here instruments tokentrace: skip conftest's per-test uninstrument + gc.collect (~0.1 s each)."""
    yield


@pytest.fixture
def provider():
    return FakeProvider()


@pytest.fixture
def oai(provider):
    with provider.openai_client() as client:
        yield client


@pytest.fixture
def ant(provider):
    with provider.anthropic_client() as client:
        yield client


def chat_stream_helper(client):
    """``chat.completions.stream`` (openai ≥ 2), ``beta.chat.completions.stream`` (later 1.x) or ``None``."""
    completions = client.chat.completions
    if hasattr(completions, "stream"):
        return completions.stream
    beta_chat = getattr(getattr(client, "beta", None), "chat", None)
    return getattr(getattr(beta_chat, "completions", None), "stream", None)


def _openai_features():
    """What the installed openai SDK can send and parse (the oldest supported 1.x lacks much)."""
    message_model = openai.types.chat.ChatCompletionMessage
    message_fields = getattr(message_model, "model_fields", None) or message_model.__fields__
    with FakeProvider().openai_client() as client:
        chat_params = inspect.signature(client.chat.completions.create).parameters
        return {
            "tools": "tools" in chat_params,
            "stream_options": "stream_options" in chat_params,
            "refusal": "refusal" in message_fields,
            "responses": hasattr(client, "responses"),
            "chat helper": chat_stream_helper(client) is not None,
        }


FEATURES = _openai_features()


def needs(*features):
    missing = [f for f in features if not FEATURES[f]]
    return pytest.mark.skipif(bool(missing), reason=f"openai {openai.__version__} lacks {', '.join(missing)}")


def raw_post(provider, path, body, http=OPENAI_HTTP):
    with http.Client(transport=provider.transport(http), base_url="http://fake.test") as client:
        return client.post(path, json=body)


def cut_short(exc, http):
    """True when ``exc`` is (or wraps) the HTTP library's error for a body cut short."""
    return isinstance(exc, http.RemoteProtocolError) or isinstance(exc.__cause__, http.RemoteProtocolError)


# -- OpenAI chat completions ------------------------------------------------


def test_chat_create_default_reply_shape_and_token_rule(provider, oai):
    messages = [{"role": "system", "content": "Be brief."}, *USER]
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=messages)
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini"
    assert choice.message.content == DEFAULT_TEXT and choice.message.role == "assistant"
    assert choice.finish_reason == "stop" and choice.index == 0
    assert completion.usage.prompt_tokens == (3 + 2) + (3 + 2)
    assert completion.usage.completion_tokens == 8 and completion.usage.total_tokens == 18
    request = provider.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.json["messages"] == messages and request.headers["authorization"] == "Bearer test-key"


def test_chat_wire_shape(provider):
    body = raw_post(provider, "/v1/chat/completions", {"model": "gpt-4o", "messages": USER}).json()
    assert set(body) == {"id", "object", "created", "model", "service_tier", "system_fingerprint", "choices", "usage"}
    assert body["service_tier"] == "default" and body["system_fingerprint"].startswith("fp_")
    assert body["choices"][0]["message"] == {
        "role": "assistant", "content": DEFAULT_TEXT, "refusal": None, "annotations": []}
    assert body["choices"][0]["logprobs"] is None
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 0, "audio_tokens": 0}
    assert body["usage"]["completion_tokens_details"] == {
        "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}


def test_chat_reply_overrides(provider, oai):
    reply = FakeReply(text="Hi!", input_tokens=40, output_tokens=9, cached_tokens=30, reasoning_tokens=5,
                      response_model="gpt-4o-mini-2024-07-18")
    provider.queue(reply, reply)
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=USER)
    usage = completion.usage
    assert completion.choices[0].message.content == "Hi!" and completion.model == "gpt-4o-mini-2024-07-18"
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (40, 9, 49)
    body = raw_post(provider, "/chat/completions", {"model": "m", "messages": USER, "service_tier": "flex"}).json()
    assert body["service_tier"] == "flex"
    assert body["usage"]["prompt_tokens_details"]["cached_tokens"] == 30
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5


def test_chat_stream_chunks_like_openai(provider, oai):
    provider.queue(FakeReply(text="one two three four", chunks=4))
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=USER, stream=True))
    first, *middle, last = chunks
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    assert [c.choices[0].delta.content for c in middle] == ["one ", "two t", "hree", " four"]
    assert last.choices[0].finish_reason == "stop" and last.choices[0].delta.content is None
    assert {c.id for c in chunks} == {first.id} and all(c.object == "chat.completion.chunk" for c in chunks)


def test_chat_stream_wire_format_with_include_usage(provider):
    body = {"model": "gpt-4o", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}
    response = raw_post(provider, "/v1/chat/completions", body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    payloads = [json.loads(e[len("data: "):]) for e in events[:-2]]
    assert all("usage" in p for p in payloads)
    assert all(p["usage"] is None for p in payloads[:-1])
    # key order as the API sends it (recorded gpt-4o-mini streams): "usage" comes after "choices"
    assert all(list(p)[-2:] == ["choices", "usage"] for p in payloads)
    assert payloads[-1]["choices"] == [] and payloads[-1]["usage"]["completion_tokens"] == 8
    no_usage = raw_post(provider, "/chat/completions", {**body, "stream_options": None})
    assert '"usage"' not in no_usage.text


@needs("stream_options")
def test_chat_stream_include_usage_through_sdk(provider, oai):
    provider.queue(FakeReply(text="a b c", input_tokens=12))
    chunks = list(oai.chat.completions.create(
        model="gpt-4o", messages=USER, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 12
    assert chunks[-1].usage.completion_tokens == 3


def test_chat_n2_plain_and_streamed(provider, oai):
    completion = oai.chat.completions.create(model="gpt-4o", messages=USER, n=2)
    assert [c.index for c in completion.choices] == [0, 1]
    assert completion.usage.completion_tokens == 2 * 8
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=USER, n=2, stream=True))
    indexes = [c.choices[0].index for c in chunks]
    assert indexes == [0, 1] * (len(chunks) // 2)
    for index in (0, 1):
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices[0].index == index)
        assert text == DEFAULT_TEXT


@needs("tools", "chat helper")
def test_chat_tool_calls_plain_and_streamed(provider, oai):
    call = FakeToolCall("get_weather", {"city": "Paris"})
    provider.queue(FakeReply(tool_calls=[call]), FakeReply(tool_calls=[call]))
    completion = oai.chat.completions.create(model="gpt-4o", messages=USER, tools=TOOLS_CHAT)
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls" and message.content is None
    (tool_call,) = message.tool_calls
    assert tool_call.id.startswith("call_") and tool_call.type == "function"
    assert tool_call.function.name == "get_weather" and json.loads(tool_call.function.arguments) == {"city": "Paris"}
    with chat_stream_helper(oai)(model="gpt-4o", messages=USER, tools=TOOLS_CHAT) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert final.choices[0].finish_reason == "tool_calls"
    assert streamed.function.name == "get_weather" and json.loads(streamed.function.arguments) == {"city": "Paris"}


@needs("refusal")
def test_chat_refusal_plain_and_streamed(provider, oai):
    provider.queue(FakeReply(refusal="I can't help with that."), FakeReply(refusal="No can do."))
    message = oai.chat.completions.create(model="gpt-4o", messages=USER).choices[0].message
    assert message.refusal == "I can't help with that." and message.content is None
    chunks = list(oai.chat.completions.create(model="gpt-4o", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "No can do."


@pytest.mark.parametrize("limit_key", ["max_tokens", "max_completion_tokens"])
def test_chat_length_truncation(provider, oai, limit_key):
    provider.queue(FakeReply(text="one two three four five"))
    completion = oai.chat.completions.create(model="gpt-4o", messages=USER, extra_body={limit_key: 3})
    assert completion.choices[0].message.content == "one two three"
    assert completion.choices[0].finish_reason == "length" and completion.usage.completion_tokens == 3


def test_chat_stop_sequence_cuts_the_text(provider, oai):
    provider.queue(FakeReply(text="alpha beta END gamma"))
    completion = oai.chat.completions.create(model="gpt-4o", messages=USER, stop=["END"])
    assert completion.choices[0].message.content == "alpha beta " and completion.choices[0].finish_reason == "stop"


# -- OpenAI Responses API and embeddings -------------------------------------


def test_responses_wire_shape(provider):
    body = raw_post(provider, "/v1/responses", {"model": "gpt-4.1", "input": "Hello there"}).json()
    assert body["object"] == "response" and body["status"] == "completed" and body["error"] is None
    assert body["output"][0]["content"] == [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": DEFAULT_TEXT}]
    assert body["usage"] == {
        "input_tokens": 5, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 8, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 13}
    stream = raw_post(provider, "/responses", {"model": "gpt-4.1", "input": "Hi", "stream": True}).text
    blocks = [block.split("\n") for block in stream.split("\n\n") if block]
    assert all(b[0] == "event: " + json.loads(b[1][len("data: "):])["type"] for b in blocks)


@needs("responses")
def test_responses_create(provider, oai):
    provider.queue(FakeReply(text="Hello!", output_tokens=4, cached_tokens=2, reasoning_tokens=1))
    response = oai.responses.create(model="gpt-4.1", input="Say hello please", instructions="Be nice.")
    assert response.output_text == "Hello!" and response.status == "completed"
    assert response.id.startswith("resp_") and response.object == "response" and response.model == "gpt-4.1"
    (item,) = response.output
    assert item.type == "message" and item.id.startswith("msg_") and item.content[0].type == "output_text"
    usage = response.usage
    assert usage.input_tokens == (3 + 3) + (3 + 2) and usage.output_tokens == 4
    assert usage.total_tokens == 15 and usage.input_tokens_details.cached_tokens == 2
    assert usage.output_tokens_details.reasoning_tokens == 1
    assert response.parallel_tool_calls is True and response.tool_choice == "auto" and response.tools == []


@needs("responses")
def test_responses_function_call(provider, oai):
    provider.queue(FakeReply(tool_calls=[FakeToolCall("get_time", '{"tz": "UTC"}', id="call_fixed")]))
    tools = [{"type": "function", "name": "get_time", "parameters": {"type": "object"}}]
    response = oai.responses.create(model="gpt-4.1", input=[{"role": "user", "content": "time?"}], tools=tools)
    (item,) = response.output
    assert item.type == "function_call" and item.id.startswith("fc_") and item.call_id == "call_fixed"
    assert item.name == "get_time" and item.arguments == '{"tz": "UTC"}' and item.status == "completed"


@needs("responses")
def test_responses_stream_event_sequence(provider, oai):
    provider.queue(FakeReply(text="streamed hello there", chunks=3, input_tokens=6))
    events = list(oai.responses.create(model="gpt-4.1", input="hi", stream=True))
    assert [e.type for e in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "streamed hello there"
    assert events[0].response.status == "in_progress" and events[0].response.usage is None
    final = events[-1].response
    assert final.id == events[0].response.id and final.usage.input_tokens == 6 and final.usage.output_tokens == 3


@needs("responses")
def test_responses_stream_helper_and_incomplete(provider, oai):
    provider.queue(FakeReply(text="helper hello"))
    with oai.responses.stream(model="gpt-4.1", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "helper hello"
    provider.queue(FakeReply(text="one two three four"))
    truncated = oai.responses.create(model="gpt-4.1", input="hi", max_output_tokens=2)
    assert truncated.status == "incomplete" and truncated.incomplete_details.reason == "max_output_tokens"
    assert truncated.output_text == "one two"


def test_embeddings_float_deterministic_and_dimensions(oai):
    first = oai.embeddings.create(model="text-embedding-3-small", input=["a b", "c"], encoding_format="float")
    again = oai.embeddings.create(model="text-embedding-3-small", input="a b", encoding_format="float")
    wide = oai.embeddings.create(model="text-embedding-3-small", input=[[1, 2, 3]], encoding_format="float",
                                 extra_body={"dimensions": 16})
    assert first.object == "list" and first.model == "text-embedding-3-small"
    assert [d.index for d in first.data] == [0, 1] and len(first.data[0].embedding) == 8
    assert first.data[0].embedding == again.data[0].embedding != first.data[1].embedding
    assert abs(sum(v * v for v in first.data[0].embedding) - 1.0) < 1e-5
    assert (first.usage.prompt_tokens, first.usage.total_tokens) == (3, 3)
    assert len(wide.data[0].embedding) == 16 and wide.usage.prompt_tokens == 3


def test_embeddings_base64_is_little_endian_float32(oai):
    floats = oai.embeddings.create(model="m", input="hello world", encoding_format="float").data[0].embedding
    encoded = oai.embeddings.create(model="m", input="hello world", encoding_format="base64").data[0].embedding
    assert isinstance(encoded, str)  # an explicit base64 request is never decoded by the SDK
    raw = base64.b64decode(encoded)
    assert list(struct.unpack(f"<{len(raw) // 4}f", raw)) == floats
    # Without encoding_format, openai 1.x asks for base64 and decodes it; newer SDKs ask for floats.
    default = oai.embeddings.create(model="m", input="hello world").data[0].embedding
    assert list(default) == floats


# -- Anthropic messages -------------------------------------------------------


def test_anthropic_create_shape(provider, ant):
    raw = ant.messages.with_raw_response.create(model="claude-x", max_tokens=100, messages=USER, system="Be kind.")
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert message.id.startswith("msg_") and message.type == "message" and message.role == "assistant"
    assert message.model == "claude-x" and message.content[0].type == "text"
    assert message.content[0].text == DEFAULT_TEXT
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens == (3 + 2) + (3 + 2) and message.usage.output_tokens == 8
    assert provider.requests[-1].path == "/v1/messages" and provider.requests[-1].json["system"] == "Be kind."


def test_anthropic_cache_tokens_are_excluded_from_input(provider, ant):
    provider.queue(FakeReply(text="Blue.", input_tokens=10, output_tokens=2, cached_tokens=100,
                             cache_creation_tokens=50))
    usage = ant.messages.create(model="claude-x", max_tokens=100, messages=USER).usage
    assert (usage.input_tokens, usage.output_tokens) == (10, 2)
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (100, 50)
    cache_creation = usage.cache_creation
    five_minutes = (cache_creation["ephemeral_5m_input_tokens"] if isinstance(cache_creation, dict)
                    else cache_creation.ephemeral_5m_input_tokens)
    assert five_minutes == 50 and usage.service_tier == "standard"


def test_anthropic_stream_events(provider, ant):
    provider.queue(FakeReply(text="a b c d", chunks=2, input_tokens=12, cached_tokens=3))
    events = list(ant.messages.create(model="claude-x", max_tokens=100, messages=USER, stream=True))
    assert [e.type for e in events] == [
        "message_start", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]
    start, delta = events[0].message, events[-2]
    assert start.content == [] and start.usage.input_tokens == 12 and start.usage.output_tokens == 1
    assert start.usage.cache_read_input_tokens == 3
    assert "".join(e.delta.text for e in events if e.type == "content_block_delta") == "a b c d"
    assert delta.delta.stop_reason == "end_turn" and delta.usage.output_tokens == 4


def test_anthropic_ping_is_on_the_wire(provider):
    body = {"model": "claude-x", "max_tokens": 10, "messages": USER, "stream": True}
    text = raw_post(provider, "/v1/messages", body, ANTHROPIC_HTTP).text
    names = [line[len("event: "):] for line in text.splitlines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"] and names[-1] == "message_stop"


def test_anthropic_stream_helper_text_and_tool_use(provider, ant):
    provider.queue(FakeReply(text="Let me check.", tool_calls=[FakeToolCall("get_weather", {"city": "Oslo"})]))
    with ant.messages.stream(model="claude-x", max_tokens=100, messages=USER, tools=TOOLS_ANTHROPIC) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Let me check." and final.stop_reason == "tool_use"
    tool = final.content[1]
    assert tool.type == "tool_use" and tool.id.startswith("toolu_") and tool.input == {"city": "Oslo"}
    assert final.usage.output_tokens == 3 + 1 + 2


def test_anthropic_max_tokens_and_stop_sequence(provider, ant):
    provider.queue(FakeReply(text="one two three"), FakeReply(text="yes STOP no"))
    truncated = ant.messages.create(model="claude-x", max_tokens=2, messages=USER)
    assert truncated.stop_reason == "max_tokens" and truncated.content[0].text == "one two"
    stopped = ant.messages.create(model="claude-x", max_tokens=50, messages=USER, stop_sequences=["STOP"])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "STOP"
    assert stopped.content[0].text == "yes "


def test_anthropic_count_tokens(provider):
    body = {"model": "claude-x", "messages": USER, "system": "Be kind."}
    assert raw_post(provider, "/v1/messages/count_tokens", body, ANTHROPIC_HTTP).json() == {"input_tokens": 10}


# -- errors, faults, queue ----------------------------------------------------


@pytest.mark.parametrize(
    "status, exc_type, error_type",
    [
        (400, openai.BadRequestError, "invalid_request_error"),
        (401, openai.AuthenticationError, "invalid_request_error"),
        (404, openai.NotFoundError, "invalid_request_error"),
        (429, openai.RateLimitError, "requests"),
        (500, openai.InternalServerError, "server_error"),
    ],
)
def test_openai_errors_map_to_sdk_exceptions(provider, oai, status, exc_type, error_type):
    provider.queue(FakeError(status=status, headers={"retry-after": "7"}))
    with pytest.raises(exc_type) as raised:
        oai.chat.completions.create(model="gpt-4o", messages=USER)
    assert raised.value.status_code == status and raised.value.response.json()["error"]["type"] == error_type
    assert raised.value.response.headers["retry-after"] == "7"
    assert raised.value.response.headers["x-request-id"].startswith("req_")


@pytest.mark.parametrize(
    "status, exc_type, error_type",
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
    ],
)
def test_anthropic_errors_map_to_sdk_exceptions(provider, ant, status, exc_type, error_type):
    provider.queue(FakeError(status=status, message="nope"))
    with pytest.raises(exc_type) as raised:
        ant.messages.create(model="claude-x", max_tokens=10, messages=USER)
    body = raised.value.body
    assert body["type"] == "error" and body["error"] == {"type": error_type, "message": "nope"}
    assert body["request_id"] == raised.value.response.headers["request-id"]


def test_timeouts_raise_sdk_timeout_errors(provider, oai, ant):
    provider.queue(FakeTimeout(), FakeTimeout())
    with pytest.raises(openai.APITimeoutError):
        oai.chat.completions.create(model="gpt-4o", messages=USER)
    with pytest.raises(anthropic.APITimeoutError):
        ant.messages.create(model="claude-x", max_tokens=10, messages=USER)


def test_disconnect_mid_stream(provider, oai, ant):
    provider.queue(FakeDisconnect(after_chunks=3), FakeDisconnect(after_chunks=2))
    seen = []
    with pytest.raises(Exception) as raised:
        for chunk in oai.chat.completions.create(model="gpt-4o", messages=USER, stream=True):
            seen.append(chunk)
    assert len(seen) == 3 and cut_short(raised.value, OPENAI_HTTP)
    events = []
    with pytest.raises(Exception) as raised:
        for event in ant.messages.create(model="claude-x", max_tokens=10, messages=USER, stream=True):
            events.append(event.type)
    assert events == ["message_start", "content_block_start"] and cut_short(raised.value, ANTHROPIC_HTTP)


def test_disconnect_without_stream_is_a_connection_error(provider, oai):
    provider.queue(FakeDisconnect())
    with pytest.raises(openai.APIConnectionError):
        oai.embeddings.create(model="m", input="x")


def test_mid_stream_error_events(provider, oai, ant):
    provider.queue(FakeError(529, mid_stream_after=2), FakeError(500, mid_stream_after=2))
    events = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        for event in ant.messages.create(model="claude-x", max_tokens=10, messages=USER, stream=True):
            events.append(event.type)
    assert events == ["message_start", "content_block_start"]
    assert raised.value.body["error"]["type"] == "overloaded_error"
    chunks = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in oai.chat.completions.create(model="gpt-4o", messages=USER, stream=True):
            chunks.append(chunk)
    assert len(chunks) == 2 and "server_error" in repr(getattr(raised.value, "body", None) or raised.value.type)


def test_queue_serves_in_order_across_endpoints(provider, oai, ant):
    provider.queue(FakeReply(text="first"), FakeError(429), FakeReply(text="third"))
    assert provider.pending == 3
    assert ant.messages.create(model="c", max_tokens=10, messages=USER).content[0].text == "first"
    with pytest.raises(openai.RateLimitError):
        oai.embeddings.create(model="m", input="x")
    assert oai.chat.completions.create(model="gpt-4o", messages=USER).choices[0].message.content == "third"
    assert oai.chat.completions.create(model="gpt-4o", messages=USER).choices[0].message.content == DEFAULT_TEXT
    assert provider.pending == 0
    assert [r.path for r in provider.requests] == ["/v1/messages", "/v1/embeddings", "/v1/chat/completions",
                                                   "/v1/chat/completions"]
    provider.queue(FakeReply(text="dropped"))
    provider.reset()
    assert provider.requests == [] and provider.pending == 0
    with pytest.raises(TypeError):
        provider.queue("not an item")


def test_requests_are_bounded_and_unknown_paths_404():
    provider = FakeProvider(max_requests=2)
    for _ in range(3):
        raw_post(provider, "/chat/completions", {"model": "m", "messages": USER})
    assert len(provider.requests) == 2 and provider.requests[0].path == "/chat/completions"
    response = raw_post(provider, "/v1/nope", {})
    assert response.status_code == 404 and set(response.json()["error"]) == {"message", "type", "param", "code"}


def test_chunk_delay_and_chunk_count():
    provider = FakeProvider(chunks=20, chunk_delay=0.002)
    started = time.perf_counter()
    with provider.openai_client() as client:
        chunks = list(client.chat.completions.create(model="m", messages=USER, stream=True))
    assert len(chunks) == 1 + 20 + 1
    assert time.perf_counter() - started >= 0.002 * 21


def test_transport_defaults_to_the_http_library_of_the_openai_sdk(provider):
    """httpx.Client(transport=fake.transport()) works with the installed SDK, whichever HTTP
    library it is built on (both may be installed: openai 1.x on httpx, anthropic 1.x on httpx2)."""
    assert isinstance(provider.transport(), OPENAI_HTTP.BaseTransport)
    assert isinstance(provider.async_transport(), OPENAI_HTTP.AsyncBaseTransport)
    assert isinstance(provider.transport(ANTHROPIC_HTTP), ANTHROPIC_HTTP.BaseTransport)
    import openai

    with OPENAI_HTTP.Client(transport=provider.transport()) as http_client:
        client = openai.OpenAI(api_key="k", base_url="http://fake-openai.test/v1", http_client=http_client)
        assert client.chat.completions.create(model="m", messages=USER).choices[0].message.content


# -- async --------------------------------------------------------------------


async def test_async_openai_chat_and_stream(provider):
    provider.queue(FakeReply(text="x y z", chunks=3))
    async with provider.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
        texts = [c.choices[0].delta.content async for c in stream]
        completion = await client.chat.completions.create(model="gpt-4o", messages=USER)
    assert "".join(t for t in texts if t) == "x y z" and completion.choices[0].message.content == DEFAULT_TEXT


async def test_async_anthropic_stream_helper_and_faults(provider):
    provider.queue(FakeReply(text="async colours"), FakeTimeout(), FakeDisconnect(after_chunks=1))
    async with provider.anthropic_client(async_=True) as client:
        async with client.messages.stream(model="claude-x", max_tokens=50, messages=USER) as stream:
            text = "".join([t async for t in stream.text_stream])
            final = await stream.get_final_message()
        with pytest.raises(anthropic.APITimeoutError):
            await client.messages.create(model="claude-x", max_tokens=50, messages=USER)
        stream = await client.messages.create(model="claude-x", max_tokens=50, messages=USER, stream=True)
        with pytest.raises(Exception) as raised:
            async for _ in stream:
                pass
    assert text == final.content[0].text == "async colours" and cut_short(raised.value, ANTHROPIC_HTTP)


# -- loopback server ----------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    provider = FakeProvider()
    with provider.serve() as server:
        yield provider, server


@pytest.fixture
def server(served):
    provider, server = served
    provider.reset()
    return server


def test_server_openai_plain_and_streamed(server):
    assert server.base_url.startswith("http://127.0.0.1:") and server.openai_base_url.endswith("/v1")
    with server.openai_client() as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=USER)
        chunks = list(client.chat.completions.create(
            model="gpt-4o", messages=USER, stream=True, extra_body={"stream_options": {"include_usage": True}}))
        embedding = client.embeddings.create(model="m", input="Hello there", encoding_format="float")
    assert completion.choices[0].message.content == DEFAULT_TEXT
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DEFAULT_TEXT
    assert chunks[-1].choices == [] and len(embedding.data[0].embedding) == 8
    assert server.provider.requests[-1].headers["host"] == f"127.0.0.1:{server.port}"


def test_server_anthropic_stream_and_errors(server):
    server.provider.queue(FakeReply(text="served text"), FakeError(529))
    with server.anthropic_client() as client:
        with client.messages.stream(model="claude-x", max_tokens=50, messages=USER) as stream:
            text = "".join(stream.text_stream)
        with pytest.raises(anthropic.InternalServerError) as raised:
            client.messages.create(model="claude-x", max_tokens=50, messages=USER)
    assert text == "served text" and raised.value.status_code == 529
    assert raised.value.response.headers["request-id"].startswith("req_")


def test_server_disconnect_and_timeout(server):
    server.provider.queue(FakeDisconnect(after_chunks=3), FakeTimeout(delay=5.0))
    with server.openai_client(timeout=0.3) as client:
        seen = 0
        with pytest.raises(Exception) as raised:
            for _ in client.chat.completions.create(model="gpt-4o", messages=USER, stream=True):
                seen += 1
        assert seen == 3 and cut_short(raised.value, OPENAI_HTTP)
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            client.chat.completions.create(model="gpt-4o", messages=USER)
        assert time.perf_counter() - started < 2.0


async def test_server_async_client(server):
    async with server.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == DEFAULT_TEXT


def test_server_stops_on_exit():
    provider = FakeProvider()
    with provider.serve() as server:
        with server.openai_client() as client:
            client.chat.completions.create(model="gpt-4o", messages=USER)
    with server.openai_client(timeout=1.0) as client:
        with pytest.raises(openai.APIConnectionError):
            client.chat.completions.create(model="gpt-4o", messages=USER)
