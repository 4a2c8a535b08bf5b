"""The response cache end to end: real SDK clients, the fake provider, spans and metrics."""

from __future__ import annotations

import logging

import pytest

import tokentrace
from tokentrace import CacheSettings, MemoryBackend, RedisBackend, ResponseCache, cache_control
from tokentrace import semconv as sc
from tokentrace.testing import FakeError, FakeReply, FakeToolCall

from instrumentation.sdk_features import chat_helpers, needs_responses_api

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
OPENAI_MODEL = "gpt-4o-mini"
CLAUDE = "claude-haiku-4-5"
# anthropic >= 1 takes no temperature: its requests sample at the default (1.0), so the tests
# that cache Anthropic calls allow that temperature.
SAMPLED = 1.0


def dump(obj):
    return obj.model_dump(exclude_unset=True)


@pytest.fixture
def cached(instrument):
    """Instrument with a deterministic-only in-memory cache; returns (telemetry, cache)."""

    def _cached(**options):
        cache = ResponseCache(MemoryBackend(), **options)
        return instrument(cache=cache), cache

    return _cached


def cache_attrs(span):
    return {k: v for k, v in span.attributes.items() if k.startswith("tokentrace.cache.")}


# --- hits return the SDK's own types --------------------------------------------------------
def test_openai_chat_hit_is_the_same_completion_without_a_request(fake, cached):
    """The second identical call is answered from the cache: same ChatCompletion, no HTTP request."""
    telemetry, _ = cached()
    client = fake.openai_client()
    first = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    second = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 1
    assert type(second) is type(first) and dump(second) == dump(first)
    miss, hit = telemetry.spans()
    assert miss.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_MISS
    assert hit.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    assert hit.attributes[sc.TT_CACHE_LOOKUP] == sc.CACHE_LOOKUP_EXACT
    assert hit.attributes[sc.TT_CACHE_ORIGINAL_RESPONSE_ID] == first.id
    assert hit.attributes[sc.TT_CACHE_KEY] == miss.attributes[sc.TT_CACHE_KEY]


def test_anthropic_hit_is_the_same_message(fake, cached):
    """Anthropic messages are served as the SDK's Message."""
    telemetry, _ = cached(max_temperature=SAMPLED)
    client = fake.anthropic_client()
    first = client.messages.create(model=CLAUDE, max_tokens=100, messages=MESSAGES)
    second = client.messages.create(model=CLAUDE, max_tokens=100, messages=MESSAGES)
    assert len(fake.requests) == 1
    assert type(second) is type(first) and dump(second) == dump(first)


@needs_responses_api
def test_responses_hit(fake, cached):
    """The Responses API is served as the SDK's Response, output_text included."""
    cached()
    client = fake.openai_client()
    first = client.responses.create(model="gpt-4.1-mini", input="Say hi", temperature=0)
    second = client.responses.create(model="gpt-4.1-mini", input="Say hi", temperature=0)
    assert len(fake.requests) == 1
    assert second.output_text == first.output_text and dump(second) == dump(first)


def test_embeddings_hit(fake, cached):
    """Embeddings are deterministic: cached without any temperature setting."""
    cached()
    client = fake.openai_client()
    first = client.embeddings.create(model="text-embedding-3-small", input="hello")
    second = client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert len(fake.requests) == 1
    assert second.data[0].embedding == first.data[0].embedding


async def test_async_hits(fake, cached):
    """Async clients hit the same cache."""
    cached(max_temperature=SAMPLED)
    client = fake.openai_client(async_=True)
    first = await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    second = await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    aclient = fake.anthropic_client(async_=True)
    await aclient.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
    await aclient.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
    assert len(fake.requests) == 2
    assert dump(second) == dump(first)


def test_raw_response_hit_keeps_headers_and_parse(fake, cached):
    """with_raw_response on a hit still has .headers and .parse()."""
    cached()
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    raw = client.chat.completions.with_raw_response.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert raw.headers["x-tokentrace-cache"] == "hit"
    assert raw.parse().choices[0].message.content
    assert len(fake.requests) == 1


def test_parse_hit_returns_parsed_output(fake, cached):
    """chat.completions.parse on a hit gives the parsed object again."""
    pydantic = pytest.importorskip("pydantic")

    class City(pydantic.BaseModel):
        name: str

    cached()
    client = fake.openai_client()
    fake.queue(FakeReply(text='{"name": "Paris"}'))
    first = chat_helpers(client).parse(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, response_format=City)
    second = chat_helpers(client).parse(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, response_format=City)
    assert len(fake.requests) == 1
    assert second.choices[0].message.parsed == first.choices[0].message.parsed == City(name="Paris")


# --- streams ------------------------------------------------------------------------------
def _chat_text(chunks):
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_stream_request_replays_a_stored_answer_as_chunks(fake, cached):
    """A non-stream answer is replayed to stream=True as real chunks, ending in finish_reason."""
    telemetry, _ = cached()
    client = fake.openai_client()
    first = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    chunks = list(client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True))
    assert len(fake.requests) == 1
    assert _chat_text(chunks) == first.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)  # the usage chunk tokentrace asked for stays hidden
    hit = telemetry.spans()[-1]
    assert hit.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    assert hit.attributes[sc.TT_STREAM_END] == sc.STREAM_END_COMPLETED


def test_stored_stream_serves_a_plain_request(fake, cached):
    """A stream read to its end is stored whole and serves non-stream requests."""
    cached()
    client = fake.openai_client()
    chunks = list(client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True))
    completion = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 1
    assert completion.choices[0].message.content == _chat_text(chunks)
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_stream_with_user_include_usage_gets_the_usage_chunk(fake, cached):
    """When the application asked for usage itself, the replay carries the usage chunk."""
    cached()
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    chunks = list(client.chat.completions.create(
        model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_truncated_stream_is_not_stored(fake, cached):
    """A stream the application stopped reading early is never stored."""
    cached()
    client = fake.openai_client()
    fake.queue(FakeReply(text="one two three four five six", chunks=6))
    stream = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True)
    next(iter(stream))
    stream.close()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2


def test_anthropic_stream_helper_on_a_hit(fake, cached):
    """messages.stream(): text_stream and get_final_message() work on a replayed answer."""
    cached(max_temperature=SAMPLED)
    client = fake.anthropic_client()
    first = client.messages.create(model=CLAUDE, max_tokens=100, messages=MESSAGES)
    with client.messages.stream(model=CLAUDE, max_tokens=100, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(fake.requests) == 1
    assert text == first.content[0].text
    assert final.content[0].text == first.content[0].text and final.stop_reason == first.stop_reason
    assert final.usage.output_tokens == first.usage.output_tokens


def test_anthropic_stored_stream_serves_create(fake, cached):
    """An Anthropic stream read to the end is folded into the Message it carried."""
    cached(max_temperature=SAMPLED)
    client = fake.anthropic_client()
    with client.messages.stream(model=CLAUDE, max_tokens=100, messages=MESSAGES) as stream:
        streamed = stream.get_final_message()
    message = client.messages.create(model=CLAUDE, max_tokens=100, messages=MESSAGES)
    assert len(fake.requests) == 1
    assert dump(message)["content"] == dump(streamed)["content"]
    assert message.usage.output_tokens == streamed.usage.output_tokens


async def test_async_stream_replay(fake, cached):
    """Async streams replay too."""
    cached()
    client = fake.openai_client(async_=True)
    first = await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    stream = await client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True)
    chunks = [chunk async for chunk in stream]
    assert len(fake.requests) == 1
    assert _chat_text(chunks) == first.choices[0].message.content


@needs_responses_api
def test_responses_stream_replay(fake, cached):
    """responses.stream() on a hit yields text deltas and the same final response."""
    cached()
    client = fake.openai_client()
    first = client.responses.create(model="gpt-4.1-mini", input="Say hi", temperature=0)
    with client.responses.stream(model="gpt-4.1-mini", input="Say hi", temperature=0) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(fake.requests) == 1
    assert "".join(deltas) == first.output_text == final.output_text


def test_tool_calls_replay_when_configured(fake, cached):
    """With cache_tool_calls, tool-call answers are stored and replayed, arguments intact."""
    cached(cache_tool_calls=True)
    client = fake.openai_client()
    fake.queue(FakeReply(tool_calls=[FakeToolCall("get_weather", {"city": "Paris"})]))
    first = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    chunks = list(client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, stream=True))
    calls = [c.choices[0].delta.tool_calls for c in chunks if c.choices and c.choices[0].delta.tool_calls]
    assert len(fake.requests) == 1
    assert calls[0][0].function.arguments == first.choices[0].message.tool_calls[0].function.arguments
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# --- what is stored -----------------------------------------------------------------------
@pytest.mark.parametrize("reply", [
    FakeReply(finish_reason="length"),
    FakeReply(tool_calls=[FakeToolCall("lookup", {"q": "x"})]),
    FakeReply(finish_reason="content_filter"),
], ids=["truncated", "tool_calls", "content_filter"])
def test_incomplete_or_tool_answers_are_not_stored_by_default(fake, cached, reply):
    """Truncated, filtered and tool-call answers are sent again, not served."""
    cached()
    client = fake.openai_client()
    fake.queue(reply)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2


def test_truncated_answers_stored_when_configured(fake, cached):
    """cache_truncated stores answers cut off by max_tokens."""
    cached(cache_truncated=True, max_temperature=SAMPLED)
    client = fake.anthropic_client()
    fake.queue(FakeReply(finish_reason="length"))
    client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    client.messages.create(model=CLAUDE, max_tokens=5, messages=MESSAGES)
    assert len(fake.requests) == 1


def test_errors_are_not_stored(fake, cached):
    """A failed call stores nothing; the SDK's exception reaches the application unchanged."""
    import openai

    cached()
    client = fake.openai_client(max_retries=0)
    fake.queue(FakeError(status=500))
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2


# --- what the key covers ------------------------------------------------------------------
@pytest.mark.parametrize("change", [
    {"model": "gpt-4o"},
    {"messages": [{"role": "user", "content": "What is the capital of Spain?"}]},
    {"messages": [{"role": "system", "content": "Answer in French."}] + MESSAGES},
    {"max_tokens": 5},
    {"seed": 7},
    {"response_format": {"type": "json_object"}},
    {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]},
], ids=["model", "question", "system", "max_tokens", "seed", "response_format", "tools"])
def test_anything_that_changes_the_answer_changes_the_key(fake, cached, change):
    """A request that differs in model, messages, system prompt, params or tools is a miss."""
    cached()
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    client.chat.completions.create(**{"model": OPENAI_MODEL, "messages": MESSAGES, "temperature": 0, **change})
    assert len(fake.requests) == 2


def test_stream_flag_and_service_tier_do_not_change_the_key(fake, cached):
    """How an answer is delivered or billed is not part of the key."""
    cached()
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, service_tier="flex")
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 1


# --- scope and determinism ----------------------------------------------------------------
def test_one_users_answer_is_not_served_to_another(fake, cached):
    """Entries are scoped by the request's end-user identity by default."""
    cached(max_temperature=SAMPLED)
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, user="alice")
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, user="bob")
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, user="alice")
    assert len(fake.requests) == 2
    anthropic = fake.anthropic_client()
    for user in ("alice", "bob"):
        anthropic.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES,
                                  metadata={"user_id": user})
    assert len(fake.requests) == 4


def test_shared_scope_serves_everyone(fake, cached):
    """scope='shared' ignores identities."""
    cached(scope="shared")
    client = fake.openai_client()
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, user="alice")
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0, user="bob")
    assert len(fake.requests) == 1


def test_explicit_scope_separates_even_when_shared(fake, cached):
    """cache_control(scope=...) separates tenants in any mode."""
    cached(scope="shared")
    client = fake.openai_client()
    with cache_control(scope="tenant-a"):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    with cache_control(scope="tenant-b"):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    with cache_control(scope="tenant-a"):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2


def test_required_scope_skips_anonymous_requests(fake, cached):
    """scope='required' caches only requests that carry a scope or identity."""
    telemetry, _ = cached(scope="required")
    client = fake.openai_client()
    for _ in range(2):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_SKIP_REASON] == "no_scope"


def test_sampled_requests_are_not_cached_by_default(fake, cached):
    """temperature > 0, or no temperature (the provider default 1.0), is not cached by default."""
    telemetry, _ = cached()
    client = fake.openai_client()
    for _ in range(2):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0.7)
    assert len(fake.requests) == 4
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_RESULT] == sc.CACHE_SKIP
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_SKIP_REASON] == "temperature"


def test_sampled_requests_cached_when_configured(fake, cached):
    """max_temperature=1 caches requests without a temperature."""
    cached(max_temperature=1.0)
    client = fake.openai_client()
    for _ in range(2):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert len(fake.requests) == 1


# --- per-request controls -----------------------------------------------------------------
def test_header_controls_and_header_never_reaches_the_provider(fake, cached):
    """X-Tokentrace-Cache: no-store / skip / refresh work per call and are stripped before sending."""
    cached()
    client = fake.openai_client()
    args = {"model": OPENAI_MODEL, "messages": MESSAGES, "temperature": 0}
    client.chat.completions.create(**args, extra_headers={"X-Tokentrace-Cache": "no-store"})
    client.chat.completions.create(**args)  # not stored above: a miss, stored now
    client.chat.completions.create(**args, extra_headers={"X-Tokentrace-Cache": "skip"})
    client.chat.completions.create(**args, extra_headers={"x-tokentrace-cache": "refresh"})
    client.chat.completions.create(**args)  # hit
    assert len(fake.requests) == 4
    assert all("x-tokentrace-cache" not in {k.lower() for k in r.headers} for r in fake.requests)


def test_context_manager_controls(fake, cached):
    """cache_control(skip=True) neither reads nor writes; store=False reads only."""
    cached()
    client = fake.openai_client()
    args = {"model": OPENAI_MODEL, "messages": MESSAGES, "temperature": 0}
    with cache_control(skip=True):
        client.chat.completions.create(**args)
    with cache_control(store=False):
        client.chat.completions.create(**args)
    client.chat.completions.create(**args)
    client.chat.completions.create(**args)
    assert len(fake.requests) == 3


def test_per_request_ttl(fake, instrument):
    """ttl=... in the header sets that entry's lifetime."""
    clock = [0.0]
    backend = MemoryBackend(clock=lambda: clock[0])
    instrument(cache=ResponseCache(backend, ttl=3600))
    client = fake.openai_client()
    args = {"model": OPENAI_MODEL, "messages": MESSAGES, "temperature": 0}
    client.chat.completions.create(**args, extra_headers={"X-Tokentrace-Cache": "ttl=5"})
    clock[0] = 4.0
    client.chat.completions.create(**args)
    clock[0] = 6.0
    client.chat.completions.create(**args)
    assert len(fake.requests) == 2


# --- telemetry ----------------------------------------------------------------------------
def test_hit_costs_nothing_and_records_what_it_saved(fake, cached):
    """A hit: cost status cached, total 0, saved tokens and cost on the span and in metrics."""
    telemetry, _ = cached()
    client = fake.openai_client()
    fake.queue(FakeReply(input_tokens=1000, output_tokens=500))
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    miss, hit = telemetry.spans()
    paid = miss.attributes[sc.TT_COST_TOTAL]
    assert paid > 0
    assert hit.attributes[sc.TT_COST_STATUS] == sc.COST_STATUS_CACHED
    assert hit.attributes[sc.TT_COST_TOTAL] == 0.0
    assert hit.attributes[sc.TT_CACHE_SAVED_COST] == pytest.approx(paid)
    assert hit.attributes[sc.TT_CACHE_SAVED_INPUT_TOKENS] == 1000
    assert hit.attributes[sc.TT_CACHE_SAVED_OUTPUT_TOKENS] == 500
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in hit.attributes
    metrics = telemetry.metrics()
    assert sum(p.value for p in metrics[sc.METRIC_COST_SAVED]) == pytest.approx(paid)
    saved_tokens = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.value for p in metrics[sc.METRIC_CACHE_TOKENS_SAVED]}
    assert saved_tokens == {"input": 1000, "output": 500}
    lookups = {p.attributes[sc.TT_CACHE_RESULT]: p.value for p in metrics[sc.METRIC_CACHE_LOOKUPS]}
    assert lookups == {"miss": 1, "hit": 1}
    assert {p.attributes[sc.GEN_AI_REQUEST_MODEL] for p in metrics[sc.METRIC_CACHE_LOOKUPS]} == {miss.attributes[
        sc.GEN_AI_REQUEST_MODEL]}  # lookups can be filtered by model
    assert sum(p.count for p in metrics[sc.METRIC_CACHE_LOOKUP_DURATION]) == 2
    # provider token usage counts only the call that was sent
    usage = [p for p in metrics[sc.METRIC_TOKEN_USAGE] if p.attributes[sc.GEN_AI_TOKEN_TYPE] == "input"]
    assert sum(p.sum for p in usage) == 1000


# --- configuration ------------------------------------------------------------------------
def test_cache_is_off_by_default(fake, instrumented):
    """Without configuration nothing is cached and spans carry no cache attributes."""
    client = fake.openai_client()
    for _ in range(2):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 2
    assert not cache_attrs(instrumented.spans()[-1])


def test_env_configures_the_cache(fake, instrument, monkeypatch):
    """TOKENTRACE_CACHE=memory turns it on; arguments win over variables."""
    monkeypatch.setenv("TOKENTRACE_CACHE", "memory")
    monkeypatch.setenv("TOKENTRACE_CACHE_MAX_TEMPERATURE", "1")
    instrument()
    client = fake.openai_client()
    for _ in range(2):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert len(fake.requests) == 1
    tokentrace.uninstrument()
    instrument(cache=CacheSettings(max_temperature=0))
    client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
    assert len(fake.requests) == 2


@pytest.mark.parametrize("name, value", [
    ("TOKENTRACE_CACHE", "disk"),
    ("TOKENTRACE_CACHE_TTL", "soon"),
    ("TOKENTRACE_CACHE_SCOPE", "everyone"),
    ("TOKENTRACE_CACHE_MAX_ENTRIES", "0"),
    ("TOKENTRACE_CACHE_REDIS_URL", "localhost:6379"),
    ("TOKENTRACE_CACHE_MAX_TEMPERATURE", "-1"),
])
def test_invalid_env_fails_at_instrument_naming_the_variable(instrument, monkeypatch, name, value):
    """A bad cache variable raises ConfigError with its name."""
    monkeypatch.setenv(name, value)
    with pytest.raises(tokentrace.ConfigError, match=name):
        instrument()


def test_invalid_argument_names_the_setting(instrument):
    """A bad cache argument names the field."""
    with pytest.raises(tokentrace.ConfigError, match="cache.ttl"):
        instrument(cache=CacheSettings(backend="memory", ttl=-5))


# --- never break the app -----------------------------------------------------------------
class BrokenBackend(MemoryBackend):
    def get(self, key):
        raise RuntimeError("backend bug")


def test_a_failing_cache_is_skipped(fake, instrument, monkeypatch, caplog):
    """A cache that raises internally: the call is sent as if there were no cache."""
    monkeypatch.setenv("TOKENTRACE_RAISE_INTERNAL_ERRORS", "0")
    instrument(cache=ResponseCache(BrokenBackend()))
    client = fake.openai_client()
    result = client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert result.choices[0].message.content and len(fake.requests) == 1


def test_fail_closed_cache_refuses_the_call(fake, instrument):
    """fail_closed=True turns an internal cache failure into GuardError, recorded on the span."""
    telemetry = instrument(cache=ResponseCache(BrokenBackend(), fail_closed=True))
    with pytest.raises(tokentrace.GuardError):
        fake.openai_client().chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 0
    assert telemetry.span().attributes[sc.ERROR_TYPE] == "GuardError"


def test_redis_cache_is_shared_between_clients(fake, instrument, redis_url):
    """Two processes' worth of clients share answers through Redis."""
    instrument(cache=ResponseCache(RedisBackend(redis_url)))
    fake.openai_client().chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    tokentrace.uninstrument()
    instrument(cache=ResponseCache(RedisBackend(redis_url)))  # a fresh cache object: only Redis is shared
    fake.openai_client().chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 1


async def test_async_redis_cache(fake, instrument, redis_url):
    """Async calls use Redis off the event loop and still hit."""
    instrument(cache=ResponseCache(RedisBackend(redis_url), max_temperature=SAMPLED))
    client = fake.anthropic_client(async_=True)
    for _ in range(2):
        await client.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES)
    stream = await client.messages.create(model=CLAUDE, max_tokens=50, messages=MESSAGES, stream=True)
    events = [event async for event in stream]
    assert len(fake.requests) == 1
    assert events[-1].type == "message_stop"


def test_redis_down_calls_go_through(fake, instrument, caplog):
    """Redis unreachable: every call is a miss that reaches the provider; one warning."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.WARNING, logger="tokentrace")
    instrument(cache=ResponseCache(RedisBackend(f"redis://127.0.0.1:{port}/0", timeout=0.2)))
    client = fake.openai_client()
    for _ in range(3):
        client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, temperature=0)
    assert len(fake.requests) == 3
    assert len([r for r in caplog.records if "Redis is unreachable" in r.getMessage()]) == 1
