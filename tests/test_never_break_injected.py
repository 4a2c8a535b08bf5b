"""Never break the app, proven by injecting failures into tokentrace's hooks, exporters and extraction.

Every case runs the same application code twice against fresh, deterministic fakes: once with the
SDKs uninstrumented (the baseline), once instrumented with a failure injected. The application
must get exactly what it got the first time (same types, same values, the same chunks, the same
SDK exceptions), the injected failure must really have been hit, and tokentrace must have logged
it (``TOKENTRACE_RAISE_INTERNAL_ERRORS=0``: fail open, as in production).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

import anthropic
import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel

import tokentrace
from tokentrace import _errors, _streams
from tokentrace import semconv as sc
from tokentrace.instrumentation import _anthropic_messages, _openai_chat, _openai_responses, _openai_usage_tap
from tokentrace.telemetry import Telemetry
from tokentrace.testing import FakeError, FakeProvider, FakeReply

from instrumentation.sdk_features import HAS_RESPONSES, chat_helpers

OPENAI_KW = dict(model="gpt-4o-mini", messages=[{"role": "user", "content": "Tell me about OTel."}])
ANTHROPIC_KW = dict(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hello."}])
RESPONSES_KW = dict(model="gpt-4.1-mini", input="Say hello.")
REPLY = dict(text="one two three four five", input_tokens=9, output_tokens=5, chunks=5)


@pytest.fixture(autouse=True)
def fail_open(monkeypatch):
    """Internal errors are swallowed and logged, as in production."""
    monkeypatch.setenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", "0")
    monkeypatch.setattr(_errors, "_reported", set())


def _fresh_fake() -> FakeProvider:
    """A fake whose ids and timestamps repeat exactly from one run to the next."""
    fake = FakeProvider()
    fake.now = lambda: 1_700_000_000  # type: ignore[method-assign]
    return fake


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _status_recorder(client: Any) -> list:
    """Status errors the SDK builds through ``client``: the app must get that very object."""
    made: list = []
    original = client._make_status_error

    def making(*args: Any, **kwargs: Any) -> Any:
        error = original(*args, **kwargs)
        made.append(error)
        return error

    client._make_status_error = making
    return made


class Raised:
    """What a scenario raised: compared by type, message and the SDK's own fields."""

    def __init__(self, exc: BaseException, made: list) -> None:
        self.exc = exc
        self.same_object_as_built = bool(made) and exc is made[-1]

    def key(self) -> tuple:
        exc = self.exc
        return (type(exc), str(exc), getattr(exc, "status_code", None), getattr(exc, "body", None))


# --- the application code: each scenario returns what the app received --------------------------


async def chat(fake):
    fake.queue(FakeReply(**REPLY))
    return fake.openai_client().chat.completions.create(**OPENAI_KW)


async def chat_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.openai_client(async_=True) as client:
        return await client.chat.completions.create(**OPENAI_KW)


async def chat_stream(fake):
    fake.queue(FakeReply(**REPLY))
    stream = fake.openai_client().chat.completions.create(**OPENAI_KW, stream=True)
    return [stream.__class__, *stream]


async def chat_stream_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.openai_client(async_=True) as client:
        stream = await client.chat.completions.create(**OPENAI_KW, stream=True)
        return [stream.__class__, *[c async for c in stream]]


async def chat_stream_own_usage(fake):
    fake.queue(FakeReply(**REPLY))
    stream = fake.openai_client().chat.completions.create(
        **OPENAI_KW, stream=True, stream_options={"include_usage": True})
    return list(stream)


async def chat_stream_helper(fake):
    fake.queue(FakeReply(**REPLY))
    with chat_helpers(fake.openai_client()).stream(**OPENAI_KW) as stream:
        events = list(stream)
        return [*events, stream.get_final_completion()]


async def chat_stream_closed_early(fake):
    fake.queue(FakeReply(**REPLY))
    stream = fake.openai_client().chat.completions.create(**OPENAI_KW, stream=True)
    first = next(stream)
    stream.close()
    return [first, list(stream)]


async def raw_parse(fake):
    fake.queue(FakeReply(**REPLY))
    raw = fake.openai_client().chat.completions.with_raw_response.create(**OPENAI_KW)
    return [raw.headers.get("x-request-id"), raw.parse()]


async def raw_parse_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.openai_client(async_=True) as client:
        raw = await client.chat.completions.with_raw_response.create(**OPENAI_KW)
        return [raw.headers.get("x-request-id"), await _maybe(raw.parse())]


async def raw_stream(fake):
    fake.queue(FakeReply(**REPLY))
    raw = fake.openai_client().chat.completions.with_raw_response.create(**OPENAI_KW, stream=True)
    return list(raw.parse())


async def streaming_response_parse(fake):
    fake.queue(FakeReply(**REPLY))
    with fake.openai_client().chat.completions.with_streaming_response.create(**OPENAI_KW) as response:
        return response.parse()


async def responses_create(fake):
    fake.queue(FakeReply(**REPLY))
    return fake.openai_client().responses.create(**RESPONSES_KW)


async def responses_stream(fake):
    fake.queue(FakeReply(**REPLY))
    return list(fake.openai_client().responses.create(**RESPONSES_KW, stream=True))


async def anthropic_create(fake):
    fake.queue(FakeReply(**REPLY))
    return fake.anthropic_client().messages.create(**ANTHROPIC_KW)


async def anthropic_raw_parse(fake):
    fake.queue(FakeReply(**REPLY))
    raw = fake.anthropic_client().messages.with_raw_response.create(**ANTHROPIC_KW)
    return [raw.headers.get("request-id"), raw.parse()]


async def anthropic_raw_parse_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.anthropic_client(async_=True) as client:
        raw = await client.messages.with_raw_response.create(**ANTHROPIC_KW)
        return [raw.headers.get("request-id"), await _maybe(raw.parse())]


async def anthropic_stream(fake):
    fake.queue(FakeReply(**REPLY))
    stream = fake.anthropic_client().messages.create(**ANTHROPIC_KW, stream=True)
    return [stream.__class__, *stream]


async def anthropic_stream_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.anthropic_client(async_=True) as client:
        stream = await client.messages.create(**ANTHROPIC_KW, stream=True)
        return [stream.__class__, *[e async for e in stream]]


async def anthropic_helper(fake):
    fake.queue(FakeReply(**REPLY))
    with fake.anthropic_client().messages.stream(**ANTHROPIC_KW) as stream:
        text = list(stream.text_stream)
        return [text, stream.get_final_message()]


async def anthropic_helper_async(fake):
    fake.queue(FakeReply(**REPLY))
    async with fake.anthropic_client(async_=True) as client:
        async with client.messages.stream(**ANTHROPIC_KW) as stream:
            text = [t async for t in stream.text_stream]
            return [text, await stream.get_final_message()]


async def chat_rate_limited(fake):
    fake.queue(FakeError(status=429, headers={"retry-after": "20"}))
    client = fake.openai_client()
    made = _status_recorder(client)
    try:
        client.chat.completions.create(**OPENAI_KW)
    except openai.APIStatusError as exc:
        return Raised(exc, made)
    raise AssertionError("no error")


async def chat_server_error_async(fake):
    fake.queue(FakeError(status=500))
    async with fake.openai_client(async_=True) as client:
        made = _status_recorder(client)
        try:
            await client.chat.completions.create(**OPENAI_KW)
        except openai.APIStatusError as exc:
            return Raised(exc, made)
    raise AssertionError("no error")


async def anthropic_rate_limited(fake):
    fake.queue(FakeError(status=429))
    client = fake.anthropic_client()
    made = _status_recorder(client)
    try:
        client.messages.create(**ANTHROPIC_KW)
    except anthropic.APIStatusError as exc:
        return Raised(exc, made)
    raise AssertionError("no error")


async def chat_mid_stream_error(fake):
    fake.queue(FakeError(status=500, mid_stream_after=3))
    seen = []
    try:
        for chunk in fake.openai_client().chat.completions.create(**OPENAI_KW, stream=True):
            seen.append(chunk)
    except openai.APIError as exc:
        return [*seen, Raised(exc, [])]
    raise AssertionError("no error")


async def anthropic_mid_stream_error(fake):
    fake.queue(FakeError(status=529, mid_stream_after=4))
    client = fake.anthropic_client()
    made = _status_recorder(client)
    seen = []
    try:
        for event in client.messages.create(**ANTHROPIC_KW, stream=True):
            seen.append(event)
    except anthropic.APIStatusError as exc:
        return [*seen, Raised(exc, made)]
    raise AssertionError("no error")


async def anthropic_mid_stream_error_async(fake):
    fake.queue(FakeError(status=529, mid_stream_after=4))
    async with fake.anthropic_client(async_=True) as client:
        made = _status_recorder(client)
        seen = []
        try:
            async for event in await client.messages.create(**ANTHROPIC_KW, stream=True):
                seen.append(event)
        except anthropic.APIStatusError as exc:
            return [*seen, Raised(exc, made)]
    raise AssertionError("no error")


NON_STREAM = [chat, chat_async, raw_parse, raw_parse_async, streaming_response_parse, anthropic_create,
              anthropic_raw_parse, anthropic_raw_parse_async]
OPENAI_STREAMS = [chat_stream, chat_stream_async, chat_stream_own_usage, chat_stream_helper, chat_stream_closed_early,
                  raw_stream]
ANTHROPIC_STREAMS = [anthropic_stream, anthropic_stream_async, anthropic_helper, anthropic_helper_async]
STATUS_ERRORS = [chat_rate_limited, chat_server_error_async, anthropic_rate_limited]
STREAM_ERRORS = [chat_mid_stream_error, anthropic_mid_stream_error, anthropic_mid_stream_error_async]
if HAS_RESPONSES:  # openai < 1.66 has no Responses API: those scenarios do not exist there
    NON_STREAM.append(responses_create)
    OPENAI_STREAMS.append(responses_stream)
STREAMS = OPENAI_STREAMS + ANTHROPIC_STREAMS
EVERYTHING = NON_STREAM + STREAMS + STATUS_ERRORS + STREAM_ERRORS


def _same(actual: Any, expected: Any, where: str = "result") -> None:
    """``actual`` is what ``expected`` was: same types, same values, same fields set."""
    if isinstance(expected, Raised):
        assert isinstance(actual, Raised), f"{where}: expected {expected.key()}, got {actual!r}"
        assert actual.key() == expected.key(), where
        assert actual.same_object_as_built == expected.same_object_as_built, f"{where}: not the SDK's own object"
        return
    assert type(actual) is type(expected), f"{where}: {type(actual)} is not {type(expected)}"
    if isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: {len(actual)} items instead of {len(expected)}: {actual}"
        for index, (a, e) in enumerate(zip(actual, expected)):
            _same(a, e, f"{where}[{index}]")
    elif isinstance(expected, BaseModel):
        assert actual == expected, where
        assert actual.model_dump(mode="json", exclude_unset=True) == expected.model_dump(
            mode="json", exclude_unset=True), f"{where}: other fields set"
    else:
        assert actual == expected, where


# --- the injected failures -------------------------------------------------------------------------


def _boom(calls: list) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        raise RuntimeError("injected failure")

    return boom


def on_end_raises(monkeypatch, telemetry) -> list:
    calls: list = []

    class FailingOnEnd(SpanProcessor):
        def on_end(self, span):
            calls.append(span)
            raise RuntimeError("span processor on_end failed")

    telemetry.tracer_provider.add_span_processor(FailingOnEnd())
    return calls


def on_start_raises(monkeypatch, telemetry) -> list:
    calls: list = []

    class FailingOnStart(SpanProcessor):
        def on_start(self, span, parent_context=None):
            calls.append(span)
            raise RuntimeError("span processor on_start failed")

    telemetry.tracer_provider.add_span_processor(FailingOnStart())
    return calls


ACCUMULATORS = (_openai_chat.ChatStreamAccumulator, _anthropic_messages.MessagesStreamAccumulator,
                _openai_responses.ResponsesStreamAccumulator)


def _raising_in(monkeypatch, owners, name) -> list:
    """Every ``owner.name`` raises (and records that it was reached)."""
    calls: list = []
    for owner in owners:
        monkeypatch.setattr(owner, name, _boom(calls))
    return calls


def telemetry_start_raises(monkeypatch, telemetry) -> list:
    return _raising_in(monkeypatch, (Telemetry,), "start")


def accumulator_result_raises(monkeypatch, telemetry) -> list:
    return _raising_in(monkeypatch, ACCUMULATORS, "result")


def result_of_raises(monkeypatch, telemetry) -> list:
    """The routes' extraction of a response (read at instrument() time, so patched before it)."""
    return _raising_in(monkeypatch, (_openai_chat, _anthropic_messages, _openai_responses), "result_of")


def chunk_clock_raises(monkeypatch, telemetry) -> list:
    """The one per-chunk step outside the accumulator: timing the chunk."""
    return _raising_in(monkeypatch, (_streams,), "chunk_clock")


def accumulator_add_raises(monkeypatch, telemetry) -> list:
    return _raising_in(monkeypatch, ACCUMULATORS, "add")


def usage_tap_raises(monkeypatch, telemetry) -> list:
    """The per-event check of the usage tap (which reads the usage chunk before the SDK does)."""
    return _raising_in(monkeypatch, (_openai_usage_tap,), "_usage_only")


def _cases(injection, scenarios):
    return [pytest.param(injection, s, id=f"{injection.__name__}-{s.__name__}") for s in scenarios]


CASES = (
    _cases(on_end_raises, EVERYTHING)
    + _cases(on_start_raises, EVERYTHING)
    + _cases(telemetry_start_raises, EVERYTHING)
    + _cases(accumulator_result_raises, STREAMS + STREAM_ERRORS)
    + _cases(result_of_raises, NON_STREAM + ([responses_stream] if HAS_RESPONSES else []))
    + _cases(chunk_clock_raises, STREAMS + STREAM_ERRORS)
    + _cases(accumulator_add_raises, STREAMS + STREAM_ERRORS)
    + _cases(usage_tap_raises, [chat_stream, chat_stream_async, chat_stream_closed_early])
)


@pytest.mark.parametrize("injection, scenario", CASES)
async def test_injected_failure_leaves_the_app_untouched(telemetry, monkeypatch, caplog, injection, scenario):
    expected = await scenario(_fresh_fake())  # the SDKs as they are
    calls = injection(monkeypatch, telemetry)
    tokentrace.instrument(tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider)
    with caplog.at_level(logging.WARNING, logger="tokentrace"):
        actual = await scenario(_fresh_fake())
    _same(actual, expected)
    assert calls, "the injected failure was never reached"
    logged = [r for r in caplog.records if r.name == "tokentrace" and "internal error" in r.getMessage()]
    assert logged, "tokentrace did not log the failure it swallowed"


# --- a metric exporter that raises ---------------------------------------------------------------


class FailingMetricExporter(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs) -> MetricExportResult:
        self.calls += 1
        raise OSError("metrics backend unreachable")

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


@pytest.mark.parametrize("scenario", [chat, chat_stream_async, anthropic_stream, anthropic_helper,
                                      chat_rate_limited, anthropic_mid_stream_error])
async def test_metric_exporter_that_raises(scenario):
    """Collections that end in a raising exporter, between and around the calls, change nothing for
    the app, and the other reader still gets every point."""
    expected = [await scenario(_fresh_fake()) for _ in range(3)]
    exporter = FailingMetricExporter()
    periodic = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    memory = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[periodic, memory])
    tokentrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        actual = []
        for _ in range(3):
            actual.append(await scenario(_fresh_fake()))
            periodic.force_flush()  # collects (recording tokentrace's points) and exports: raises inside
        _same(actual, expected)
        assert exporter.calls >= 3
        data = memory.get_metrics_data()
        durations = [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                     if m.name == sc.METRIC_OPERATION_DURATION for p in m.data.data_points]
        assert sum(p.count for p in durations) == 3
        assert len(spans.get_finished_spans()) == 3
    finally:
        tokentrace.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
