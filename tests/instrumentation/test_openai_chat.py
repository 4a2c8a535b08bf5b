"""OpenAI chat completions through the real SDK, sync and async, against the fake provider."""

from __future__ import annotations

import gc

import openai
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

from tokentrace import semconv as sc
from tokentrace.testing import FakeDisconnect, FakeError, FakeReply, FakeTimeout, FakeToolCall

from .sdk_features import chat_helpers

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is OTel?"}]


def test_create_records_request_response_and_usage(fake, instrumented):
    """A non-streaming chat call yields one CLIENT span with the spec's attributes."""
    fake.queue(FakeReply(text="OpenTelemetry.", input_tokens=11, output_tokens=3, cached_tokens=4))
    client = fake.openai_client()
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.3, top_p=0.9, max_tokens=50,
        seed=7, stop=["END"], frequency_penalty=0.1, presence_penalty=0.2, service_tier="default",
    )
    span = instrumented.span()
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert attrs[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[sc.GEN_AI_REQUEST_SEED] == 7
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert attrs[sc.GEN_AI_REQUEST_FREQUENCY_PENALTY] == 0.1
    assert attrs[sc.GEN_AI_REQUEST_PRESENCE_PENALTY] == 0.2
    assert attrs[sc.OPENAI_REQUEST_SERVICE_TIER] == "default"
    assert attrs[sc.GEN_AI_REQUEST_STREAM] is False
    assert attrs[sc.GEN_AI_RESPONSE_ID] == response.id
    assert attrs[sc.GEN_AI_RESPONSE_MODEL] == response.model
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 11 == response.usage.prompt_tokens
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 4
    assert attrs[sc.OPENAI_API_TYPE] == "chat_completions"
    assert attrs[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == response.system_fingerprint
    assert attrs[sc.SERVER_ADDRESS] == client.base_url.host
    assert isinstance(attrs[sc.SERVER_PORT], int)
    assert attrs[sc.GEN_AI_OUTPUT_TYPE] == "text"
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs  # content is off by default
    assert sc.GEN_AI_REQUEST_CHOICE_COUNT not in attrs  # n was not given


def test_max_completion_tokens_maps_to_max_tokens(fake, instrumented):
    """The newer ``max_completion_tokens`` is recorded as gen_ai.request.max_tokens."""
    fake.openai_client().chat.completions.create(
        model="o4-mini", messages=MESSAGES, extra_body={"max_completion_tokens": 77}
    )
    assert instrumented.span().attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 77


def test_absent_parameters_are_not_recorded(fake, instrumented):
    """Only what the call carries is recorded: no default temperature or max_tokens invented."""
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = instrumented.span().attributes
    for key in (sc.GEN_AI_REQUEST_TEMPERATURE, sc.GEN_AI_REQUEST_TOP_P, sc.GEN_AI_REQUEST_MAX_TOKENS,
                sc.GEN_AI_REQUEST_SEED, sc.GEN_AI_REQUEST_STOP_SEQUENCES):
        assert key not in attrs


def test_metrics_use_spec_instruments_and_buckets(fake, instrumented):
    """Duration and token usage histograms carry the spec's buckets and low-cardinality attributes."""
    fake.queue(FakeReply(text="ok", input_tokens=20, output_tokens=5))
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    metrics = instrumented.metrics()
    (duration,) = metrics[sc.METRIC_OPERATION_DURATION]
    assert tuple(duration.explicit_bounds) == sc.DURATION_BUCKETS
    assert duration.count == 1 and duration.sum > 0
    assert duration.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert sc.ERROR_TYPE not in duration.attributes
    tokens = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p for p in metrics[sc.METRIC_TOKEN_USAGE]}
    assert tokens["input"].sum == 20 and tokens["output"].sum == 5
    assert tuple(tokens["input"].explicit_bounds) == sc.TOKEN_USAGE_BUCKETS
    allowed = {sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL,
               sc.GEN_AI_RESPONSE_MODEL, sc.SERVER_ADDRESS, sc.SERVER_PORT, sc.GEN_AI_TOKEN_TYPE}
    assert set(tokens["input"].attributes) <= allowed
    assert sc.METRIC_TIME_TO_FIRST_CHUNK not in metrics  # not a stream


async def test_async_create_matches_sync(fake, instrumented):
    """The async client yields the same span as the sync one."""
    fake.queue(FakeReply(text="hi", input_tokens=9, output_tokens=2))
    async with fake.openai_client(async_=True) as client:
        response = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_RESPONSE_ID] == response.id
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 9 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2


def test_stream_usage_is_injected_and_hidden(fake, instrumented):
    """Without include_usage, tokentrace asks for usage and the app never sees the usage chunk."""
    fake.queue(FakeReply(text="one two three four", input_tokens=8, output_tokens=4))
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert isinstance(stream, openai.Stream)
    chunks = list(stream)
    assert chunks and all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
    span = instrumented.span()
    attrs = span.attributes
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 8 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 4
    assert attrs[sc.TT_STREAM_USAGE_INJECTED] is True
    assert attrs[sc.TT_STREAM_END] == "completed"
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    metrics = instrumented.metrics()
    (ttfc,) = metrics[sc.METRIC_TIME_TO_FIRST_CHUNK]
    assert ttfc.count == 1 and tuple(ttfc.explicit_bounds) == sc.DURATION_BUCKETS
    (per_chunk,) = metrics[sc.METRIC_TIME_PER_OUTPUT_CHUNK]
    assert per_chunk.count == attrs[sc.TT_STREAM_CHUNKS] - 1


def test_stream_keeps_usage_chunk_the_app_asked_for(fake, instrumented):
    """With the app's own include_usage the usage chunk reaches the app, unchanged."""
    fake.queue(FakeReply(text="a b", input_tokens=6, output_tokens=2))
    stream = fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 6
    assert all("usage" in c.model_fields_set for c in chunks)  # the app's own "usage": null stays
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2
    assert sc.TT_STREAM_USAGE_INJECTED not in attrs


def test_stream_usage_injection_can_be_turned_off(fake, instrument):
    """openai_stream_usage=False sends the body untouched; with estimation off the span has no usage."""
    telemetry = instrument(openai_stream_usage=False, estimate_missing_usage=False)
    list(fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert "stream_options" not in fake.requests[-1].json
    attrs = telemetry.span().attributes
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs
    assert attrs[sc.TT_COST_STATUS] == "unknown"


async def test_async_stream(fake, instrumented):
    """Async streams are observed chunk by chunk and end the span when exhausted."""
    fake.queue(FakeReply(text="x y z", input_tokens=5, output_tokens=3))
    async with fake.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
        assert isinstance(stream, openai.AsyncStream)
        texts = [c.choices[0].delta.content async for c in stream]
    assert "".join(t for t in texts if t) == "x y z"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3 and attrs[sc.TT_STREAM_END] == "completed"


def test_stream_closed_early_ends_span_once(fake, instrumented):
    """Breaking out and closing ends the span with what was received so far."""
    fake.queue(FakeReply(text=" ".join(f"w{i}" for i in range(30)), chunks=30))
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    for i, _ in enumerate(stream):
        if i == 2:
            break
    stream.close()
    stream.close()
    span = instrumented.span()
    assert span.attributes[sc.TT_STREAM_END] == "closed_early"
    assert span.attributes[sc.TT_STREAM_CHUNKS] == 3
    assert span.status.status_code is not StatusCode.ERROR


def test_abandoned_stream_ends_span_on_garbage_collection(fake, instrumented):
    """A stream dropped unfinished still ends its span."""
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    assert instrumented.spans() == []
    del stream
    gc.collect()
    assert instrumented.span().attributes[sc.TT_STREAM_END] == "abandoned"


def test_leaving_a_for_loop_over_an_unnamed_stream_ends_the_span_at_once(fake, instrumented):
    """``for chunk in create(stream=True): break``: only the loop held the stream; leaving it ends
    the span as abandoned right there (no garbage collector run), with the chunks seen."""
    fake.queue(FakeReply(text="one two three four five six", chunks=6))
    gc.disable()
    try:
        for seen, _ in enumerate(fake.openai_client().chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True), start=1):
            if seen == 2:
                break
        spans = instrumented.spans()
    finally:
        gc.enable()
    assert len(spans) == 1
    assert spans[0].attributes[sc.TT_STREAM_END] == "abandoned"
    assert spans[0].attributes[sc.TT_STREAM_CHUNKS] == 2


def _texts(chunks) -> list:
    return [c.choices[0].delta.content for c in chunks if c.choices]


@pytest.mark.parametrize("instrumented_too", [False, True], ids=["sdk", "instrumented"])
def test_next_then_for_then_iter_again_continue_one_stream(fake, telemetry, instrument, instrumented_too):
    """``next(stream)``, a ``for`` loop left early, then another loop over ``iter(stream)``: each
    picks up where the last stopped, with and without tokentrace alike."""
    if instrumented_too:
        instrument()
    fake.queue(FakeReply(text="a b c d e f g h", chunks=8))
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    first = [next(stream)]
    middle = []
    for chunk in stream:
        middle.append(chunk)
        if len(middle) == 3:
            break
    rest = list(iter(stream))
    with pytest.raises(StopIteration):
        next(stream)
    assert "".join(t or "" for t in _texts(first + middle + rest)) == "a b c d e f g h"
    assert len(first + middle + rest) == 10  # role chunk, 8 text chunks, finish chunk
    if instrumented_too:
        attrs = telemetry.span().attributes
        assert attrs[sc.TT_STREAM_END] == "completed" and attrs[sc.TT_STREAM_CHUNKS] == 10
        assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0  # the usage chunk was read, not handed out
    else:
        assert telemetry.spans() == []


def test_the_sdk_streams_own_iterator_is_used_only_when_its_iter_just_re_yields_it(fake):
    """The proxy skips ``Stream.__iter__`` only when that re-yields ``self._iterator`` unchanged;
    a stream type whose ``__iter__`` does anything else is iterated through it."""
    from tokentrace._streams import _own_iterator

    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert _own_iterator(stream) is stream._iterator

    class Doubling:
        def __init__(self):
            self._iterator = iter([1, 2])

        def __iter__(self):
            for item in self._iterator:
                yield item * 2

    assert list(_own_iterator(Doubling())) == [2, 4]


def test_stream_as_context_manager(fake, instrumented):
    """``with create(stream=True) as s`` keeps working and ends the span on exit."""
    with fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True) as s:
        first = next(s)
    assert first.choices is not None
    assert instrumented.span().attributes[sc.TT_STREAM_END] == "closed_early"


def test_stream_helper_context_manager(fake, instrumented):
    """``chat.completions.stream(...)`` yields its events and final completion; one span."""
    fake.queue(FakeReply(text="hello world", input_tokens=4, output_tokens=2))
    with chat_helpers(fake.openai_client()).stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()
    assert "content.delta" in events
    assert final.choices[0].message.content == "hello world"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 2 and attrs[sc.GEN_AI_REQUEST_STREAM] is True


def test_leaving_stream_helper_early_ends_span_at_exit(fake, instrumented):
    """Leaving ``with chat.completions.stream(...)`` mid-stream closes the HTTP response past the
    raw stream: the span still ends there (closed_early), not at a later garbage collection."""
    fake.queue(FakeReply(text="one two three four five six", input_tokens=4, output_tokens=6))
    gc.disable()  # the helper sits in a reference cycle: only a collection would drop it
    try:
        with chat_helpers(fake.openai_client()).stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
            for _ in zip(range(2), stream):
                pass
        (span,) = instrumented.spans()
    finally:
        gc.enable()
    assert span.attributes[sc.TT_STREAM_END] == "closed_early" and span.attributes[sc.TT_STREAM_CHUNKS] >= 1


async def test_async_stream_helper(fake, instrumented):
    """The async ``stream()`` helper is observed like the sync one."""
    fake.queue(FakeReply(text="async hello", input_tokens=4, output_tokens=2))
    async with fake.openai_client(async_=True) as client:
        async with chat_helpers(client).stream(model="gpt-4o-mini", messages=MESSAGES) as stream:
            async for _ in stream:
                pass
            final = await stream.get_final_completion()
    assert final.choices[0].message.content == "async hello"
    assert instrumented.span().attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 4


class Answer(BaseModel):
    answer: str


def test_parse_with_structured_output(fake, instrumented):
    """``chat.completions.parse`` returns the parsed model and records a JSON output type."""
    fake.queue(FakeReply(text='{"answer": "42"}'))
    client = fake.openai_client()
    completion = chat_helpers(client).parse(model="gpt-4o-mini", messages=MESSAGES, response_format=Answer)
    assert completion.choices[0].message.parsed == Answer(answer="42")
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert attrs[sc.GEN_AI_RESPONSE_ID] == completion.id


def test_tool_calls_and_multiple_choices(fake, instrumented):
    """Tool calls end with finish reason tool_calls; n=2 records two finish reasons and the count."""
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    response = fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=tools, n=2
    )
    assert response.choices[0].message.tool_calls[0].function.name == "get_weather"
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 2
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls", "tool_calls")


def test_refusal_and_length(fake, instrumented):
    """A refusal and a truncated answer are recorded with their finish reasons."""
    client = fake.openai_client()
    fake.queue(FakeReply(refusal="I can't help with that."))
    refused = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    fake.queue(FakeReply(text="one two three four five six seven eight"))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=2)
    assert refused.choices[0].message.refusal
    first, second = instrumented.spans()
    assert second.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("length",)
    assert second.attributes[sc.GEN_AI_REQUEST_MAX_TOKENS] == 2


@pytest.mark.parametrize(
    "item, exc_type, error_type",
    [
        (FakeError(status=429), openai.RateLimitError, "RateLimitError"),
        (FakeError(status=500), openai.InternalServerError, "InternalServerError"),
        (FakeError(status=400), openai.BadRequestError, "BadRequestError"),
        (FakeTimeout(), openai.APITimeoutError, "APITimeoutError"),
        (FakeDisconnect(after_chunks=0), openai.APIConnectionError, "APIConnectionError"),
    ],
)
def test_errors_propagate_and_are_recorded(fake, instrumented, item, exc_type, error_type):
    """SDK errors reach the app unchanged; the span and duration metric carry error.type."""
    fake.queue(item)
    with pytest.raises(exc_type):
        fake.openai_client(timeout=0.5).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.ERROR_TYPE] == error_type
    (duration,) = instrumented.metrics()[sc.METRIC_OPERATION_DURATION]
    assert duration.attributes[sc.ERROR_TYPE] == error_type


def test_disconnect_mid_stream_records_partial_stream(fake, instrumented):
    """A stream cut mid-way raises in the app and ends the span as an error with the chunks seen."""
    fake.queue(FakeDisconnect(after_chunks=3))
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    seen = 0
    with pytest.raises(Exception):
        for _ in stream:
            seen += 1
    span = instrumented.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[sc.TT_STREAM_END] == "error"
    assert span.attributes[sc.TT_STREAM_CHUNKS] == seen >= 1


def test_span_is_current_during_the_request_and_nests(fake, instrumented):
    """The GenAI span is a child of the app's span and is current while HTTP runs."""
    seen = []
    client = fake.openai_client(event_hooks={"request": [lambda request: seen.append(trace.get_current_span())]})
    tracer = instrumented.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    genai = next(s for s in instrumented.spans() if s.name.startswith("chat"))
    assert genai.parent.span_id == parent.get_span_context().span_id
    assert seen[0].get_span_context().span_id == genai.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # context restored


def test_azure_client_reports_azure_provider(fake, instrumented):
    """An AzureOpenAI client is recorded as provider azure.ai.openai, with its endpoint as server."""
    client = openai.AzureOpenAI(
        api_key="k", api_version="2024-10-21", azure_endpoint="https://myres.openai.azure.com",
        http_client=fake.openai_client()._client, max_retries=0,
    )
    client.chat.completions.create(model="my-deployment", messages=MESSAGES)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[sc.SERVER_ADDRESS] == "myres.openai.azure.com" and attrs[sc.SERVER_PORT] == 443


@pytest.mark.parametrize("api_version, asked", [("2024-06-01", False), ("2024-08-01-preview", False),
                                                 ("2024-10-21", True)])
def test_azure_api_versions_that_refuse_stream_options_are_not_sent_them(fake, instrumented, api_version, asked):
    """Azure api-versions before 2024-09-01 answer 400 to stream_options: tokentrace asks for
    stream usage only where the request stays valid (and estimates otherwise)."""
    client = openai.AzureOpenAI(
        api_key="k", api_version=api_version, azure_endpoint="https://myres.openai.azure.com",
        http_client=fake.openai_client()._client, max_retries=0,
    )
    list(client.chat.completions.create(model="my-deployment", messages=MESSAGES, stream=True))
    assert ("stream_options" in fake.requests[-1].json) is asked
    assert instrumented.span().attributes[sc.TT_USAGE_SOURCE] == ("reported" if asked else "estimated")


def _count_parsed_chunks(client, monkeypatch):
    """Counts the chunks the SDK turns into models (the stream reads this off its client)."""
    parsed = []
    process = client._process_response_data

    def counting(*args, **kwargs):
        value = process(*args, **kwargs)
        parsed.append(value)
        return value

    monkeypatch.setattr(client, "_process_response_data", counting)
    return parsed


def test_injected_usage_chunk_is_read_without_the_sdk_parsing_it(fake, instrumented, monkeypatch):
    """The usage-only chunk tokentrace asked for never becomes an SDK model (~28 µs saved)."""
    fake.queue(FakeReply(text="one two three", input_tokens=8, output_tokens=3))
    client = fake.openai_client()
    parsed = _count_parsed_chunks(client, monkeypatch)
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert parsed == chunks and all(c.choices for c in parsed)
    # and the "usage": null that include_usage adds to every other chunk is gone too: the chunks
    # are the ones the app gets without tokentrace's request
    assert fake.requests[-1].json["stream_options"] == {"include_usage": True}
    assert all("usage" not in c.model_fields_set for c in chunks)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 8 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[sc.TT_USAGE_SOURCE] == sc.USAGE_REPORTED


async def test_injected_usage_chunk_is_read_without_the_sdk_parsing_it_async(fake, instrumented, monkeypatch):
    fake.queue(FakeReply(text="one two three", input_tokens=8, output_tokens=3))
    client = fake.openai_client(async_=True)
    parsed = _count_parsed_chunks(client, monkeypatch)
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    chunks = [c async for c in stream]
    assert parsed == chunks and all(c.choices for c in parsed)
    assert all("usage" not in c.model_fields_set for c in chunks)
    attrs = instrumented.span().attributes
    assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 8 and attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3


@pytest.mark.parametrize("async_", [False, True], ids=["sync", "async"])
async def test_without_the_usage_tap_the_parsed_usage_chunk_is_hidden_and_not_counted(fake, instrumented, monkeypatch, async_):
    """Where the usage tap cannot read the event stream (it passes every event on), the SDK parses
    the usage chunk: the proxy keeps it from the application, takes its usage, does not count it."""
    from tokentrace.instrumentation import _openai_usage_tap

    monkeypatch.setattr(_openai_usage_tap, "_tap", lambda events, take: events)
    monkeypatch.setattr(_openai_usage_tap, "_atap", lambda events, take: events)
    fake.queue(FakeReply(text="one two three", chunks=3, input_tokens=7, output_tokens=3))
    kw = dict(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    if async_:
        chunks = [c async for c in await fake.openai_client(async_=True).chat.completions.create(**kw)]
    else:
        chunks = list(fake.openai_client().chat.completions.create(**kw))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_STREAM_CHUNKS] == len(chunks) == 5
    assert (attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (7, 3)


def test_usage_tap_leaves_every_other_event_to_the_sdk():
    """Only a chunk with empty choices and a usage object is taken; Azure's filter chunk is not."""
    from tokentrace.instrumentation._openai_usage_tap import _usage_only

    taken = []
    usage = '{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3}}'
    assert _usage_only(usage, taken.append) and taken[0]["usage"] == {"prompt_tokens": 3}
    azure_filter = '{"id":"","choices":[],"prompt_filter_results":[{"prompt_index":0}]}'
    content = '{"id":"c","choices":[{"index":0,"delta":{"content":"[]"}}],"usage":null}'
    not_json = 'data "choices":[] cut'
    for data in (azure_filter, content, not_json, "[DONE]", None):
        assert not _usage_only(data, taken.append)
    assert len(taken) == 1


def test_null_usage_is_stripped_only_where_it_is_the_chunks_own():
    """`,"usage":null` goes only when it is the chunk's top-level field (the last, flat tail)."""
    from tokentrace.instrumentation._openai_usage_tap import _drop_null_usage

    class Event:
        def __init__(self, data):
            self._data = data

    plain = '{"id":"c","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}'
    tail = '{"id":"c","choices":[],"usage":null,"obfuscation":"abc"}'
    nested = '{"id":"c","choices":[{"delta":{"x":1},"usage":null}],"other":{"a":1}}'
    def stripped(data):
        event = Event(data)
        _drop_null_usage(event, data)
        return event._data

    assert stripped(plain) == plain.replace(',"usage":null', "")
    assert stripped(tail) == '{"id":"c","choices":[],"obfuscation":"abc"}'
    assert stripped(nested) == nested


def test_a_dropped_unfinished_stream_ends_its_span_at_once(fake, instrumented):
    """Without waiting for the cyclic garbage collector: the proxy holds no reference cycle."""
    import gc

    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    gc.disable()
    try:
        del stream
        spans = instrumented.spans()
    finally:
        gc.enable()
    assert len(spans) == 1 and spans[0].attributes[sc.TT_STREAM_END] == "abandoned"


def test_leaving_with_streaming_response_ends_a_parsed_stream_as_closed(fake, instrumented):
    fake.queue(FakeReply(text="one two three four five six", chunks=6))
    with fake.openai_client().chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True) as response:
        stream = response.parse()
        next(iter(stream))
        assert instrumented.spans() == []
    assert instrumented.span().attributes[sc.TT_STREAM_END] == "closed_early"
