"""The guard chain: order, the four decisions, fail-open / fail-closed, span-processor hooks."""

from __future__ import annotations

import pytest

import tokentrace
from tokentrace import Answer, Guard, GuardRefusal, Pass, Rewrite
from tokentrace import semconv as sc

MESSAGES = [{"role": "user", "content": "hi"}]


class Recorder(Guard):
    """Records what it sees; optionally decides something."""

    def __init__(self, name, decision=None, log=None):
        self.name = name
        self.decision = decision
        self.log = log if log is not None else []
        self.started, self.ended, self.responses = [], [], []

    def decide(self, request):
        self.log.append((self.name, request.model))
        return self.decision(request) if callable(self.decision) else self.decision

    def on_response(self, request, response):
        self.responses.append(response)

    def on_start(self, span, parent_context=None):
        self.started.append(span.name)

    def on_end(self, span):
        self.ended.append(span.name)


class Overspent(GuardRefusal):
    pass


def test_guards_run_in_order_and_see_the_response(fake, instrument):
    """Guards are consulted in the given order, and get the complete response afterwards."""
    log = []
    first, second = Recorder("first", log=log), Recorder("second", log=log)
    instrument(guards=[first, second])
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert log == [("first", "gpt-4o-mini"), ("second", "gpt-4o-mini")]
    assert first.responses[0]["object"] == "chat.completion"
    assert second.responses == first.responses


def test_rewrite_changes_what_is_sent_and_what_the_span_says(fake, instrument):
    """A Rewrite replaces the body; later guards and the span see the rewritten request."""
    log = []
    router = Recorder("router", lambda r: Rewrite({**r.body, "model": "gpt-4o"}, {"tokentrace.route": "x"}), log)
    after = Recorder("after", log=log)
    telemetry = instrument(guards=[router, after])
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert fake.requests[-1].json["model"] == "gpt-4o"
    assert log == [("router", "gpt-4o-mini"), ("after", "gpt-4o")]
    span = telemetry.span()
    assert span.name == "chat gpt-4o"
    assert span.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert span.attributes["tokentrace.route"] == "x"


def test_answer_short_circuits_the_chain_and_the_provider(fake, instrument):
    """The first Answer wins: no later guard, no HTTP request, the SDK's own type."""
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "canned"}, "finish_reason": "stop"}]}
    later = Recorder("later")
    instrument(guards=[Recorder("answer", Answer(body, {"tokentrace.answered": True})), later])
    result = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices[0].message.content == "canned"
    assert fake.requests == [] and later.log == []


def test_pass_tags_the_span(fake, instrument):
    """Pass lets the request through and stamps its attributes."""
    telemetry = instrument(guards=[Recorder("tag", Pass({"tokentrace.variant": "B"}))])
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert telemetry.span().attributes["tokentrace.variant"] == "B"


def test_refusal_reaches_the_app_unchanged_and_is_recorded(fake, instrument):
    """A GuardRefusal propagates as the same object; the span records it; nothing is sent."""
    refusal = Overspent("daily budget exceeded")

    def refuse(request):
        raise refusal

    telemetry = instrument(guards=[Recorder("budget", refuse)])
    with pytest.raises(Overspent) as raised:
        fake.anthropic_client().messages.create(model="claude-haiku-4-5", max_tokens=10, messages=MESSAGES)
    assert raised.value is refusal
    assert fake.requests == []
    span = telemetry.span()
    assert span.attributes[sc.ERROR_TYPE] == "Overspent"


async def test_refusal_async(fake, instrument):
    """Async calls are refused the same way."""
    def refuse(request):
        raise Overspent("no")

    instrument(guards=[Recorder("budget", refuse)])
    with pytest.raises(Overspent):
        await fake.openai_client(async_=True).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert fake.requests == []


def test_a_broken_guard_is_skipped(fake, instrument, monkeypatch):
    """An internal error in a guard: the guard is skipped, the call proceeds (fail-open)."""
    monkeypatch.setenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", "0")

    def broken(request):
        raise KeyError("bug")

    after = Recorder("after")
    instrument(guards=[Recorder("broken", broken), after])
    result = fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert result.choices and len(fake.requests) == 1 and after.log


def test_a_broken_fail_closed_guard_fails_the_call(fake, instrument):
    """A guard configured fail_closed turns its internal error into GuardError."""
    def broken(request):
        raise KeyError("bug")

    guard = Recorder("strict", broken)
    guard.fail_closed = True
    instrument(guards=[guard])
    with pytest.raises(tokentrace.GuardError, match="strict"):
        fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert fake.requests == []


def test_span_processor_hooks_see_only_genai_spans(fake, instrument):
    """The chain is a span processor on the provider: on_start/on_end for GenAI spans only."""
    guard = Recorder("observer")
    telemetry = instrument(guards=[guard])
    with telemetry.tracer_provider.get_tracer("app").start_as_current_span("app work"):
        fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert guard.started == ["chat gpt-4o-mini"] and guard.ended == ["chat gpt-4o-mini"]


def test_uninstrument_removes_guards(fake, instrument):
    """After uninstrument() the chain is empty: re-instrumenting without guards sends every call."""
    guard = Recorder("g")
    instrument(guards=[guard])
    tokentrace.uninstrument()
    instrument()
    fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert guard.log == [] and guard.started == []


def test_guards_must_be_guards(instrument):
    """Anything else in guards= fails at instrument() naming the setting."""
    with pytest.raises(tokentrace.ConfigError, match="guards"):
        instrument(guards=[object()])


def test_a_rewritten_stream_still_asks_for_usage(fake, instrument):
    """tokentrace's own stream_options.include_usage survives a Rewrite: the provider is still
    asked for usage, the app still never sees the usage-only chunk, the span has the tokens."""
    router = Recorder("router", lambda r: Rewrite({**r.body, "model": "gpt-4o"}))
    telemetry = instrument(guards=[router])
    chunks = list(fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    sent = fake.requests[-1].json
    assert sent["model"] == "gpt-4o" and sent["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)  # the usage-only chunk was swallowed
    span = telemetry.span()
    assert span.attributes[sc.TT_STREAM_USAGE_INJECTED] is True
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


def test_a_rewrite_that_asks_for_usage_itself_gets_the_usage_chunk(fake, instrument):
    """A guard that sets include_usage itself owns it: the usage-only chunk reaches the app."""
    router = Recorder("router", lambda r: Rewrite({**r.body, "stream_options": {"include_usage": True}}))
    telemetry = instrument(guards=[router])
    chunks = list(fake.openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert sc.TT_STREAM_USAGE_INJECTED not in telemetry.span().attributes
