"""Errors of both SDKs, sync and async: HTTP 4xx/5xx, rate limits with retry-after, timeouts,
connection errors (cut bodies and closed ports) and errors in the middle of a stream.

Each test checks that the application gets the SDK's own exception (its type, and where the SDK
builds it through its client, the very same object) and that the span and the duration metric
carry ``error.type``.
"""

from __future__ import annotations

import socket

import anthropic
import openai
import pytest
from opentelemetry.trace import StatusCode

from tokentrace import semconv as sc
from tokentrace.testing import FakeDisconnect, FakeError, FakeReply, FakeTimeout

OPENAI_KW = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
ANTHROPIC_KW = dict(model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
SDKS = {"openai": (openai, OPENAI_KW), "anthropic": (anthropic, ANTHROPIC_KW)}

both = pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
sdks = pytest.mark.parametrize("sdk", ["openai", "anthropic"])


def _client(fake, sdk, async_, **kwargs):
    return (fake.openai_client if sdk == "openai" else fake.anthropic_client)(async_=async_, **kwargs)


async def _call(client, sdk, async_, **extra):
    kwargs = {**SDKS[sdk][1], **extra}
    create = client.chat.completions.create if sdk == "openai" else client.messages.create
    return await create(**kwargs) if async_ else create(**kwargs)


def _made_status_errors(client, monkeypatch):
    """Every status error the SDK builds through this client (to check the app gets that object)."""
    made = []
    original = client._make_status_error

    def making(*args, **kwargs):
        error = original(*args, **kwargs)
        made.append(error)
        return error

    monkeypatch.setattr(client, "_make_status_error", making)
    return made


async def _drain(stream, async_, seen):
    """Read ``stream`` to its end (or its error), keeping what arrived in ``seen``."""
    if async_:
        async for item in stream:
            seen.append(item)
    else:
        for item in stream:
            seen.append(item)


def _assert_error_recorded(telemetry, error_type):
    span = telemetry.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error_type
    (duration,) = telemetry.metrics()[sc.METRIC_OPERATION_DURATION]
    assert duration.attributes[sc.ERROR_TYPE] == error_type
    assert duration.count == 1
    return span


# --- HTTP status errors ------------------------------------------------------------------------

STATUS_ERRORS = [
    ("openai", 400, "BadRequestError"),
    ("openai", 500, "InternalServerError"),
    ("openai", 429, "RateLimitError"),
    ("anthropic", 400, "BadRequestError"),
    ("anthropic", 500, "InternalServerError"),
    ("anthropic", 429, "RateLimitError"),
]


@pytest.mark.parametrize("sdk, status, name", STATUS_ERRORS)
async def test_async_status_errors_propagate_as_the_same_object(fake, instrumented, monkeypatch, sdk, status, name):
    """An async 4xx/5xx reaches the app as the SDK's own exception object; the span says which."""
    module = SDKS[sdk][0]
    fake.queue(FakeError(status=status))
    client = _client(fake, sdk, True)
    made = _made_status_errors(client, monkeypatch)
    with pytest.raises(getattr(module, name)) as raised:
        await _call(client, sdk, True)
    assert type(raised.value) is getattr(module, name)
    assert made and raised.value is made[-1]
    assert raised.value.status_code == status
    span = _assert_error_recorded(instrumented, name)
    assert span.events and span.events[-1].name == "exception"


@sdks
@both
async def test_rate_limit_with_retry_after_is_one_span(fake, instrumented, monkeypatch, sdk, async_):
    """429 with retry-after, retried by the SDK and refused again: one span, the SDK's own
    RateLimitError (with its response headers), error.type on span and metric."""
    module = SDKS[sdk][0]
    limited = FakeError(status=429, headers={"retry-after-ms": "1", "retry-after": "0"})
    fake.queue(limited, limited)
    client = _client(fake, sdk, async_, max_retries=1)
    made = _made_status_errors(client, monkeypatch)
    with pytest.raises(module.RateLimitError) as raised:
        await _call(client, sdk, async_)
    assert len(fake.requests) == 2  # the SDK retried once
    assert raised.value is made[-1]
    assert raised.value.response.headers["retry-after-ms"] == "1"
    _assert_error_recorded(instrumented, "RateLimitError")


@sdks
@both
async def test_rate_limit_then_success_is_one_clean_span(fake, instrumented, sdk, async_):
    """A 429 the SDK retries past: one span, no error, with the successful response's facts."""
    fake.queue(FakeError(status=429, headers={"retry-after-ms": "1"}), FakeReply(text="ok", input_tokens=3, output_tokens=1))
    client = _client(fake, sdk, async_, max_retries=2)
    response = await _call(client, sdk, async_)
    assert len(fake.requests) == 2
    span = instrumented.span()
    assert span.status.status_code is not StatusCode.ERROR and sc.ERROR_TYPE not in span.attributes
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == response.id
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 1
    (duration,) = instrumented.metrics()[sc.METRIC_OPERATION_DURATION]
    assert sc.ERROR_TYPE not in duration.attributes


# --- timeouts and connection errors ------------------------------------------------------------


@sdks
@both
async def test_timeouts(fake, instrumented, sdk, async_):
    """A read timeout is the SDK's APITimeoutError; error.type APITimeoutError on span and metric."""
    module = SDKS[sdk][0]
    fake.queue(FakeTimeout())
    with pytest.raises(module.APITimeoutError) as raised:
        await _call(_client(fake, sdk, async_, timeout=0.5), sdk, async_)
    assert type(raised.value) is module.APITimeoutError
    _assert_error_recorded(instrumented, "APITimeoutError")


@sdks
@both
async def test_connection_cut_mid_body(fake, instrumented, sdk, async_):
    """The connection breaks mid-body: the SDK's APIConnectionError, recorded as such."""
    module = SDKS[sdk][0]
    fake.queue(FakeDisconnect(after_chunks=0))
    with pytest.raises(module.APIConnectionError) as raised:
        await _call(_client(fake, sdk, async_), sdk, async_)
    assert type(raised.value) is module.APIConnectionError
    _assert_error_recorded(instrumented, "APIConnectionError")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@sdks
@both
async def test_connection_refused(instrumented, sdk, async_):
    """Nothing listens on the port: the SDK's APIConnectionError; server.address/port recorded."""
    module = SDKS[sdk][0]
    port = _closed_port()
    base_url = f"http://127.0.0.1:{port}" + ("/v1" if sdk == "openai" else "")
    if sdk == "openai":
        cls = openai.AsyncOpenAI if async_ else openai.OpenAI
    else:
        cls = anthropic.AsyncAnthropic if async_ else anthropic.Anthropic
    client = cls(api_key="test-key", base_url=base_url, max_retries=0, timeout=5)
    with pytest.raises(module.APIConnectionError) as raised:
        await _call(client, sdk, async_)
    assert type(raised.value) is module.APIConnectionError
    span = _assert_error_recorded(instrumented, "APIConnectionError")
    assert span.attributes[sc.SERVER_ADDRESS] == "127.0.0.1" and span.attributes[sc.SERVER_PORT] == port


# --- errors in the middle of a stream ----------------------------------------------------------


@both
async def test_anthropic_mid_stream_error_event(fake, instrumented, monkeypatch, async_):
    """Anthropic's ``event: error`` mid-stream: the SDK's APIStatusError (the very object it built)
    reaches the app; the span ends as an error with the events received before it."""
    fake.queue(FakeError(status=529, mid_stream_after=3))
    client = _client(fake, "anthropic", async_)
    made = _made_status_errors(client, monkeypatch)
    stream = await _call(client, "anthropic", async_, stream=True)
    seen = []
    with pytest.raises(anthropic.APIStatusError) as raised:
        await _drain(stream, async_, seen)
    assert made and raised.value is made[-1]
    assert seen[0].type == "message_start"
    span = _assert_error_recorded(instrumented, type(raised.value).__qualname__)
    attrs = span.attributes
    assert attrs[sc.TT_STREAM_END] == "error"
    assert attrs[sc.TT_STREAM_CHUNKS] == len(seen)
    assert attrs[sc.GEN_AI_RESPONSE_ID] == seen[0].message.id
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in attrs


@both
async def test_anthropic_mid_stream_error_in_the_stream_helper(fake, instrumented, async_):
    """The same error event under ``messages.stream()``: the app gets APIStatusError, span errors."""
    fake.queue(FakeError(status=529, mid_stream_after=4))
    client = _client(fake, "anthropic", async_)
    with pytest.raises(anthropic.APIStatusError) as raised:
        if async_:
            async with client.messages.stream(**ANTHROPIC_KW) as stream:
                async for _ in stream.text_stream:
                    pass
        else:
            with client.messages.stream(**ANTHROPIC_KW) as stream:
                for _ in stream.text_stream:
                    pass
    span = _assert_error_recorded(instrumented, type(raised.value).__qualname__)
    assert span.attributes[sc.TT_STREAM_END] == "error"


@both
async def test_openai_chat_mid_stream_error(fake, instrumented, async_):
    """OpenAI's ``data: {"error": ...}`` mid-stream: the SDK's APIError with the error body; the
    span ends as an error with the chunks received."""
    fake.queue(FakeError(status=500, mid_stream_after=3))
    stream = await _call(_client(fake, "openai", async_), "openai", async_, stream=True)
    seen = []
    with pytest.raises(openai.APIError) as raised:
        await _drain(stream, async_, seen)
    assert type(raised.value) is openai.APIError
    assert raised.value.body["type"] == "server_error"
    assert len(seen) == 3
    span = _assert_error_recorded(instrumented, "APIError")
    attrs = span.attributes
    assert attrs[sc.TT_STREAM_END] == "error"
    assert attrs[sc.TT_STREAM_CHUNKS] == 3
    assert attrs[sc.GEN_AI_RESPONSE_ID] == seen[0].id


@both
async def test_openai_chat_disconnect_mid_stream(fake, instrumented, async_):
    """A stream cut after three chunks: the SDK's own error type, the span records the partial stream."""
    fake.queue(FakeDisconnect(after_chunks=3))
    stream = await _call(_client(fake, "openai", async_), "openai", async_, stream=True)
    seen = []
    with pytest.raises(Exception) as raised:
        await _drain(stream, async_, seen)
    assert len(seen) == 3
    span = _assert_error_recorded(instrumented, type(raised.value).__qualname__)
    assert span.attributes[sc.TT_STREAM_END] == "error" and span.attributes[sc.TT_STREAM_CHUNKS] == 3


# --- real timeouts over the loopback server ------------------------------------------------------


@sdks
@both
async def test_loopback_server_timeout(fake, instrumented, sdk, async_):
    """The server stalls past the client's timeout (a real socket timeout): the SDK's APITimeoutError."""
    module = SDKS[sdk][0]
    fake.queue(FakeTimeout(delay=2.0))
    with fake.serve() as server:
        factory = server.openai_client if sdk == "openai" else server.anthropic_client
        with pytest.raises(module.APITimeoutError) as raised:
            # per request: old anthropic SDKs give messages.create its own 600 s default
            await _call(factory(async_=async_), sdk, async_, timeout=0.3)
    assert type(raised.value) is module.APITimeoutError
    span = _assert_error_recorded(instrumented, "APITimeoutError")
    assert span.attributes[sc.SERVER_ADDRESS] == "127.0.0.1"


@both
async def test_anthropic_stream_stalls_mid_way_over_loopback(fake, instrumented, async_):
    """An Anthropic stream that stalls after its first events: the read timeout reaches the app as
    the HTTP library raised it, and the span ends as an error with the events received."""
    fake.queue(FakeTimeout(delay=2.0, after_chunks=2))
    seen = []
    with fake.serve() as server:
        stream = await _call(server.anthropic_client(async_=async_), "anthropic", async_, stream=True, timeout=0.3)
        with pytest.raises(Exception) as raised:
            await _drain(stream, async_, seen)
    assert "Timeout" in type(raised.value).__name__
    assert seen and seen[0].type == "message_start"
    span = _assert_error_recorded(instrumented, type(raised.value).__qualname__)
    assert span.attributes[sc.TT_STREAM_END] == "error"
    assert span.attributes[sc.TT_STREAM_CHUNKS] == len(seen)
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == seen[0].message.id
