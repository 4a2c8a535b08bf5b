"""The gen_ai.client.inference.operation.details event: one log record per call, at its end."""

from __future__ import annotations

import json

import openai
import pytest

from tokentrace import semconv as sc
from tokentrace import _content_events as events_module
from tokentrace.config import ContentCapture, resolve_settings
from tokentrace.content import text_parts
from tokentrace.instrumentation.anthropic import AnthropicInstrumentor
from tokentrace.instrumentation.openai import OpenAIInstrumentor
from tokentrace.telemetry import Invocation
from tokentrace.testing import FakeDisconnect, FakeError, FakeReply, FakeToolCall

EVENT = sc.EVENT_INFERENCE_DETAILS
CONTENT_KEYS = {
    sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.GEN_AI_TOOL_DEFINITIONS,
}
SECRET_PROMPT = "Email me at jane.doe@example.com, my key is sk-proj-abcdefghijklmnopqrstuvwxyz123456"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
needs_responses_api = pytest.mark.skipif(
    not hasattr(openai.OpenAI, "responses"), reason="openai < 1.66 has no Responses API"
)


@pytest.fixture
def instrument_events(telemetry):
    """Instrument both SDKs into ``telemetry`` with its logger provider, as the launcher does."""

    def _instrument(**arguments):
        settings = resolve_settings(arguments)
        for instrumentor in (OpenAIInstrumentor(), AnthropicInstrumentor()):
            instrumentor.instrument(
                tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider,
                logger_provider=telemetry.logger_provider, settings=settings,
            )
        return telemetry

    return _instrument


def semconv_attributes(span):
    """The span's attributes the event repeats: all but tokentrace's own and the content."""
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in span.attributes.items()
        if not key.startswith("tokentrace.") and key not in CONTENT_KEYS
    }


def event_operation_attributes(event):
    return {key: event.value(key) for key in event.attributes if key not in CONTENT_KEYS}


def assert_correlated(event, span):
    assert event.trace_id == span.context.trace_id and event.span_id == span.context.span_id


def test_chat_emits_one_event_with_the_span_attributes_and_content(fake, instrument_events):
    """SPAN_AND_EVENT: one event at the end, the span's attributes, the same content as the span."""
    telemetry = instrument_events(capture_content="SPAN_AND_EVENT")
    fake.queue(FakeReply(text="Hello there"))
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, temperature=0.5)
    span = telemetry.span()
    event = telemetry.event()
    assert event.name == EVENT
    assert_correlated(event, span)
    assert event_operation_attributes(event) == semconv_attributes(span)
    assert event.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    for key in CONTENT_KEYS:
        assert event.value(key) == json.loads(span.attributes[key]), key
    assert event.value(sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [{"type": "text", "content": "Hello there"}]
    assert not span.events


def test_event_only_leaves_the_span_without_content(fake, instrument_events):
    """EVENT_ONLY: content only in the event, none on the span, and no span events."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.anthropic_client().messages.create(
        model="claude-haiku-4-5", max_tokens=16, system="Be brief.", messages=[{"role": "user", "content": "hello"}]
    )
    span = telemetry.span()
    assert not CONTENT_KEYS & set(span.attributes)
    assert not span.events
    event = telemetry.event(EVENT)
    assert_correlated(event, span)
    assert event_operation_attributes(event) == semconv_attributes(span)
    assert event.value(sc.GEN_AI_INPUT_MESSAGES) == [{"role": "user", "parts": [{"type": "text", "content": "hello"}]}]
    assert event.value(sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Be brief."}]
    assert event.value(sc.GEN_AI_OUTPUT_MESSAGES)[0]["role"] == "assistant"
    assert event.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_span_only_emits_no_event(fake, instrument_events):
    """SPAN_ONLY: content on the span, nothing in the logs."""
    telemetry = instrument_events(capture_content="SPAN_ONLY")
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert sc.GEN_AI_INPUT_MESSAGES in telemetry.span().attributes
    assert telemetry.log_records() == []


def test_no_content_builds_nothing(fake, instrument_events, monkeypatch):
    """With capture off neither content nor event is built: the calls never reach the capture code."""
    def must_not_run(*args, **kwargs):
        raise AssertionError("content capture ran with capture off")

    monkeypatch.setattr(Invocation, "_capture_input", must_not_run)
    monkeypatch.setattr(Invocation, "_capture_output", must_not_run)
    telemetry = instrument_events()
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    list(fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert len(telemetry.spans()) == 2 and telemetry.log_records() == []
    assert OpenAIInstrumentor().telemetry.content_events is None


def test_stream_emits_one_event_when_the_stream_ends(fake, instrument_events):
    """A stream's event comes once, when it is exhausted, with the joined output and the usage."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.queue(FakeReply(text="one two three four", chunks=4))
    stream = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(iter(stream))
    assert telemetry.events() == []
    list(stream)
    span = telemetry.span()
    event = telemetry.event(EVENT)
    assert_correlated(event, span)
    assert event_operation_attributes(event) == semconv_attributes(span)
    assert event.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0
    assert event.value(sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [{"type": "text", "content": "one two three four"}]


def test_streamed_tool_call_is_in_the_event(fake, instrument_events):
    """Anthropic stream with a tool call: one event, the tool call and definitions in it."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    tools = [{"name": "get_weather", "input_schema": {"type": "object"}}]
    with fake.anthropic_client().messages.stream(
        model="claude-haiku-4-5", max_tokens=64, tools=tools, messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        stream.get_final_message()
    event = telemetry.event(EVENT)
    assert_correlated(event, telemetry.span())
    (part,) = event.value(sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"]
    assert part["type"] == "tool_call" and part["arguments"] == {"city": "Paris"}
    assert event.value(sc.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
    ]


def test_error_emits_one_event_with_error_type(fake, instrument_events):
    """A failed call: one event with error.type, the input, no output."""
    telemetry = instrument_events(capture_content="SPAN_AND_EVENT")
    fake.queue(FakeError(status=429))
    with pytest.raises(openai.RateLimitError):
        fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    span = telemetry.span()
    event = telemetry.event(EVENT)
    assert event.attributes[sc.ERROR_TYPE] == span.attributes[sc.ERROR_TYPE] == "RateLimitError"
    assert event_operation_attributes(event) == semconv_attributes(span)
    assert sc.GEN_AI_INPUT_MESSAGES in event.attributes and sc.GEN_AI_OUTPUT_MESSAGES not in event.attributes


def test_stream_cut_short_emits_one_event_with_what_arrived(fake, instrument_events):
    """A stream that errors mid-way: one event with error.type and the partial output."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.queue(FakeDisconnect(after_chunks=3, reply=FakeReply(text="alpha beta gamma delta epsilon", chunks=5)))
    with pytest.raises(Exception):
        list(fake.anthropic_client().messages.create(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "go"}], stream=True,
        ))
    span = telemetry.span()
    event = telemetry.event(EVENT)
    assert event.attributes[sc.ERROR_TYPE] == span.attributes[sc.ERROR_TYPE]
    assert event_operation_attributes(event) == semconv_attributes(span)
    assert_correlated(event, span)


def test_pii_is_scrubbed_in_the_event(fake, instrument_events):
    """The event's content is scrubbed like the span's."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.queue(FakeReply(text="Sure, write to jane.doe@example.com"))
    fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": SECRET_PROMPT}]
    )
    event = telemetry.event(EVENT)
    text = json.dumps([event.value(sc.GEN_AI_INPUT_MESSAGES), event.value(sc.GEN_AI_OUTPUT_MESSAGES)])
    assert "jane.doe@example.com" not in text and "sk-proj-" not in text
    assert "[REDACTED_EMAIL]" in text and "[REDACTED_API_KEY]" in text


async def test_async_call_emits_one_event(fake, instrument_events):
    """Async clients get their event too."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    await fake.anthropic_client(async_=True).messages.create(
        model="claude-haiku-4-5", max_tokens=16, messages=[{"role": "user", "content": "hello"}]
    )
    assert_correlated(telemetry.event(EVENT), telemetry.span())


def test_a_failing_logger_never_breaks_the_call(fake, instrument_events, monkeypatch):
    """An error while emitting is logged; the call returns and the span still ends."""
    monkeypatch.setenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", "0")

    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    telemetry = instrument_events(capture_content="SPAN_AND_EVENT")
    monkeypatch.setattr(events_module.ContentEvents, "emit", broken)
    response = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert response.choices[0].message.content
    assert sc.GEN_AI_OUTPUT_MESSAGES in telemetry.span().attributes


# Simulated on a newer SDK: 1.37 and 1.38 deprecate the SDK's own record class that old APIs need.
@pytest.mark.filterwarnings("ignore:LogRecord will be removed")
def test_older_logs_api_gets_a_record_with_event_name(fake, instrument_events, monkeypatch):
    """Before Logger.emit took fields (API < 1.37) the event goes as a record, content as JSON text."""
    monkeypatch.setattr(events_module, "_EMIT_TAKES_FIELDS", False)
    monkeypatch.setattr(events_module, "_STRUCTURED_LOG_ATTRIBUTES", False)
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    event = telemetry.event(EVENT)
    assert_correlated(event, telemetry.span())
    assert isinstance(event.attributes[sc.GEN_AI_INPUT_MESSAGES], str)
    assert event.value(sc.GEN_AI_INPUT_MESSAGES) == [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]


def test_true_means_span_and_event():
    assert resolve_settings({"capture_content": True}).capture_content is ContentCapture.SPAN_AND_EVENT


# --- media parts ------------------------------------------------------------------------------

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKJcfsj6IKNSAwIG9iago="


def input_parts(telemetry):
    return json.loads(telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"]


def test_openai_chat_media_parts(fake, instrument_events):
    """image_url (data: and https:), input_audio and file parts in the conventions' shapes."""
    telemetry = instrument_events(capture_content="SPAN_ONLY")
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-abc123"}},
        {"type": "file", "file": {"file_data": f"data:application/pdf;base64,{PDF}", "filename": "a.pdf"}},
    ]
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
    assert input_parts(telemetry) == [
        {"type": "text", "content": "what is this?"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PNG},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.jpg"},
        {"type": "blob", "modality": "audio", "mime_type": "audio/wav", "content": "UklGRg=="},
        {"type": "file", "modality": "document", "file_id": "file-abc123"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": PDF},
    ]


@needs_responses_api
def test_openai_responses_media_parts(fake, instrument_events):
    """Responses input_image (URL, data:, file id) and input_file (id, URL, data) parts."""
    telemetry = instrument_events(capture_content="EVENT_ONLY")
    content = [
        {"type": "input_text", "text": "compare"},
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "auto"},
        {"type": "input_image", "file_id": "file-img1", "detail": "auto"},
        {"type": "input_file", "file_id": "file-doc1"},
        {"type": "input_file", "file_url": "https://example.com/report.pdf"},
        {"type": "input_file", "file_data": f"data:application/pdf;base64,{PDF}", "filename": "r.pdf"},
    ]
    fake.openai_client().responses.create(model="gpt-4o-mini", input=[{"role": "user", "content": content}])
    parts = telemetry.event(EVENT).value(sc.GEN_AI_INPUT_MESSAGES)[0]["parts"]
    assert parts == [
        {"type": "text", "content": "compare"},
        {"type": "uri", "modality": "image", "uri": "https://example.com/a.png"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PNG},
        {"type": "file", "modality": "image", "file_id": "file-img1"},
        {"type": "file", "modality": "document", "file_id": "file-doc1"},
        {"type": "uri", "modality": "document", "uri": "https://example.com/report.pdf"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": PDF},
    ]


def test_anthropic_media_parts(fake, instrument_events):
    """Anthropic image and document blocks: base64 → blob, url → uri, text documents → text."""
    telemetry = instrument_events(capture_content="SPAN_ONLY")
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.webp"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PDF}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain notes"}},
        {"type": "text", "text": "summarise"},
    ]
    fake.anthropic_client().messages.create(
        model="claude-haiku-4-5", max_tokens=16, messages=[{"role": "user", "content": content}]
    )
    assert input_parts(telemetry) == [
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PNG},
        {"type": "uri", "modality": "image", "uri": "https://example.com/dog.webp"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": PDF},
        {"type": "uri", "modality": "document", "uri": "https://example.com/paper.pdf"},
        {"type": "text", "content": "plain notes"},
        {"type": "text", "content": "summarise"},
    ]


def test_blob_content_is_capped_but_not_scrubbed(fake, instrument_events):
    """Base64 content obeys the length cap; PII patterns are not looked for inside it."""
    telemetry = instrument_events(capture_content="SPAN_AND_EVENT", content_max_length=24)
    looks_like_a_key = "AKIAABCDEFGHIJKLMNOP"  # valid base64 that the scrubber would redact in text
    data = looks_like_a_key + "A" * 100
    content = [
        {"type": "text", "text": looks_like_a_key},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
    ]
    fake.anthropic_client().messages.create(
        model="claude-haiku-4-5", max_tokens=16, messages=[{"role": "user", "content": content}]
    )
    text, blob = input_parts(telemetry)
    assert looks_like_a_key not in text["content"]
    assert blob["content"].startswith(looks_like_a_key + "AAAA") and len(blob["content"]) < len(data)
    assert telemetry.event(EVENT).value(sc.GEN_AI_INPUT_MESSAGES)[0]["parts"][1] == blob


@pytest.mark.parametrize(
    "block, part",
    [
        ({"type": "image_url", "image_url": {"url": "data:image/svg+xml,%3Csvg%2F%3E"}},
         {"type": "blob", "modality": "image", "mime_type": "image/svg+xml", "content": "PHN2Zy8+"}),
        ({"type": "image_url", "image_url": {}}, {"type": "image"}),
        ({"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
         {"type": "blob", "modality": "audio", "mime_type": "audio/mpeg", "content": "SUQz"}),
        ({"type": "file", "file": {"file_data": PDF, "filename": "notes.pdf"}},
         {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": PDF}),
        ({"type": "file", "file": {}}, {"type": "file"}),
        ({"type": "image", "source": {"type": "file", "file_id": "file_011"}},
         {"type": "file", "modality": "image", "file_id": "file_011"}),
        ({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "page 1"}]}},
         {"type": "text", "content": "page 1"}),
        ({"type": "document", "source": {"type": "base64", "media_type": "video/mp4", "data": "AAAA"}},
         {"type": "blob", "modality": "video", "mime_type": "video/mp4", "content": "AAAA"}),
        ({"type": "document"}, {"type": "document"}),
        ({"type": "search_result", "source": "x"}, {"type": "search_result"}),
    ],
)
def test_media_block_shapes(block, part):
    """Each media block maps to one part of the conventions' shape, or a generic part when empty."""
    assert text_parts([block]) == [part]
