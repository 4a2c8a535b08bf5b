"""Message content capture (opt-in, scrubbed) and configuration validation."""

from __future__ import annotations

import json

import pytest

import tokentrace
from tokentrace import semconv as sc
from tokentrace.config import ContentCapture, resolve_settings
from tokentrace.testing import FakeReply, FakeToolCall

SECRET_PROMPT = "Email me at jane.doe@example.com, my key is sk-proj-abcdefghijklmnopqrstuvwxyz123456"


def test_content_is_off_by_default(fake, instrumented):
    """Without opt-in, no message content is recorded anywhere."""
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    span = instrumented.span()
    assert not {sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS} & set(span.attributes)
    assert not span.events


def test_span_only_records_spec_json_with_pii_scrubbed(fake, instrument):
    """SPAN_ONLY records input/output/system/tools in the spec's shape, PII redacted."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(text="Sure, write to jane.doe@example.com"))
    tools = [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}]
    fake.openai_client().chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": SECRET_PROMPT}],
        tools=tools,
    )
    span = telemetry.span()
    inputs = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[0]["role"] == "user" and inputs[0]["parts"][0]["type"] == "text"
    text = inputs[0]["parts"][0]["content"]
    assert "jane.doe@example.com" not in text and "sk-proj-" not in text and "REDACTED" in text
    assert json.loads(span.attributes[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(span.attributes[sc.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "f"
    outputs = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert outputs[0]["role"] == "assistant" and outputs[0]["finish_reason"] == "stop"
    assert "jane.doe" not in outputs[0]["parts"][0]["content"]
    assert not span.events


def test_streamed_tool_calls_are_captured(fake, instrument):
    """Tool-call fragments of a stream are joined into one tool_call part."""
    telemetry = instrument(capture_content="SPAN_ONLY")
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_weather", '{"city": "Paris"}')]))
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    list(fake.openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}], tools=tools, stream=True
    ))
    outputs = json.loads(telemetry.span().attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    part = outputs[0]["parts"][0]
    assert part == {"type": "tool_call", "id": part["id"], "name": "get_weather", "arguments": {"city": "Paris"}}


def test_scrubbing_can_be_turned_off_and_length_capped(fake, instrument):
    """pii_scrub=False keeps text; content_max_length truncates it."""
    telemetry = instrument(capture_content="SPAN_ONLY", pii_scrub=False, content_max_length=20)
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": SECRET_PROMPT}])
    text = json.loads(telemetry.span().attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
    assert text.startswith(SECRET_PROMPT[:20]) and len(text) < len(SECRET_PROMPT)


@pytest.mark.parametrize(
    "value, expected",
    [("SPAN_ONLY", ContentCapture.SPAN_ONLY), ("true", ContentCapture.SPAN_AND_EVENT),
     ("false", ContentCapture.NO_CONTENT), ("event_only", ContentCapture.EVENT_ONLY)],
)
def test_capture_env_values(value, expected):
    """The capture variable accepts the spec's values and true/false."""
    env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    assert resolve_settings({}, env).capture_content is expected


def test_argument_beats_environment():
    """An instrument() argument overrides the environment variable."""
    env = {"TOKENTRACE_OPENAI_STREAM_USAGE": "false"}
    assert resolve_settings({"openai_stream_usage": True}, env).openai_stream_usage is True
    assert resolve_settings({}, env).openai_stream_usage is False


@pytest.mark.parametrize(
    "variable, value",
    [
        ("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "sometimes"),
        ("TOKENTRACE_PII_SCRUB", "maybe"),
        ("TOKENTRACE_CONTENT_MAX_LENGTH", "-5"),
        ("OTEL_TRACES_EXPORTER", "zipkinish"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_LOGS_EXPORTER", "kafka"),
        ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "carrier-pigeon"),
    ],
)
def test_invalid_environment_fails_at_instrument_naming_the_setting(monkeypatch, variable, value):
    """instrument() refuses an invalid variable with its name in the message, patching nothing
    (the logs variables are read when content events need a LoggerProvider)."""
    monkeypatch.setenv(variable, value)
    if "LOGS" in variable:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "EVENT_ONLY")
    with pytest.raises(tokentrace.ConfigError, match=variable):
        tokentrace.instrument()
    assert not tokentrace.is_instrumented("openai")


def test_invalid_argument_names_the_argument():
    """A bad argument is named in the error."""
    with pytest.raises(tokentrace.ConfigError, match="content_max_length"):
        tokentrace.instrument(content_max_length=-1)
