"""A real tokentrace workload: the openai and anthropic SDKs over loopback HTTP to the fake provider.

One round makes every kind of call the dashboards show: chat and Responses API calls, streams
(time to first chunk, chunk gaps), embeddings, Anthropic messages and streams, errors (a 429, a
529, a stream failing mid-way), a model with no price (unknown cost), the provider's prompt
cache (reads and writes), and the response cache (``CACHE``, configured by the proof with the
semantic layer on and the built-in ``hashing`` embedder): exact hits, semantic hits, misses and
skips, hence cost and tokens saved. The proof test runs it twice, with Prometheus scraping in
between, so every counter and histogram increases inside the query windows.
"""

from __future__ import annotations

from typing import Any

import tokentrace
from tokentrace.testing import FakeError, FakeReply

CHAT_MODEL = "gpt-4o-mini"
RESPONSES_MODEL = "gpt-4.1-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
CLAUDE_MODEL = "claude-haiku-4-5"
UNPRICED_MODEL = "acme-unpriced-llm"
CACHED_QUESTION = "What is the capital of France?"
# Differs from CACHED_QUESTION only in case and punctuation: a different exact key, but the
# hashing embedder (near-verbatim repeats, not paraphrases) puts it at cosine 1.0: a semantic hit.
REWORDED_QUESTION = "what is the capital of France"
# One new question per round: a miss, then stored.
NEW_QUESTIONS = ("How tall is Mount Everest?", "How long is the river Nile?")

# What the proof passes to tokentrace.instrument(cache=...). With semantic lookups on, a request
# that misses the exact key goes on to the semantic search, so its hit or miss is counted with
# tokentrace.cache.lookup="semantic"; exact hits keep "exact".
CACHE = tokentrace.CacheSettings(backend="memory", semantic=True, embedder="hashing")

CALLS_PER_ROUND = 19
FAILED_PER_ROUND = 3
# Per round, provider prompt-cache tokens by tokentrace.prompt_cache.operation.
PROMPT_CACHE_TOKENS = {"read": 1536 + 4000, "write": 4000}
# Per round, from the response cache (round 1: the first CACHED_QUESTION is a miss, then stored).
EXACT_HITS = (2, 3)
SEMANTIC_HITS = (1, 1)


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def run_round(fake: Any, server: Any, round_no: int) -> int:
    """One round of calls; returns how many calls it made."""
    import anthropic
    import openai

    oa = server.openai_client()
    an = server.anthropic_client()
    calls = 0

    def call(fn: Any, *args: Any, expect: type | None = None, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if expect is None:
            return fn(*args, **kwargs)
        try:
            fn(*args, **kwargs)
        except expect:
            return None
        raise AssertionError(f"expected {expect.__name__}")

    def drain(stream: Any) -> None:
        for _ in stream:
            pass

    q = f"round {round_no}"
    # OpenAI chat: plain (sampled, so never cached), provider-side cached prompt, streams.
    call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(f"{q}: hello"), temperature=0.7)
    fake.queue(FakeReply(text="cached prompt", input_tokens=2048, output_tokens=4, cached_tokens=1536))
    call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(f"{q}: long prompt"), temperature=0.7)
    drain(call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(f"{q}: stream"), stream=True,
               temperature=0.7))
    drain(call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(f"{q}: stream 2"), stream=True,
               temperature=0.7))
    # Responses API and embeddings.
    call(oa.responses.create, model=RESPONSES_MODEL, input=f"{q}: say hi", temperature=0.7)
    drain(call(oa.responses.create, model=RESPONSES_MODEL, input=f"{q}: stream hi", stream=True, temperature=0.7))
    call(oa.embeddings.create, model=EMBEDDING_MODEL, input=[f"{q}: embed me"])
    # Anthropic messages and a stream; the first call writes a prompt-cache entry, the second reads it.
    fake.queue(FakeReply(text="stored", input_tokens=20, output_tokens=3, cache_creation_tokens=4000))
    call(an.messages.create, model=CLAUDE_MODEL, max_tokens=64, messages=_user(f"{q}: hello"))
    fake.queue(FakeReply(text="cached", input_tokens=20, output_tokens=3, cached_tokens=4000))
    call(an.messages.create, model=CLAUDE_MODEL, max_tokens=64, messages=_user(f"{q}: reuse context"))
    drain(call(an.messages.create, model=CLAUDE_MODEL, max_tokens=64, messages=_user(f"{q}: stream"), stream=True))
    # A model with no price: cost status unknown.
    call(oa.chat.completions.create, model=UNPRICED_MODEL, messages=_user(f"{q}: who prices me?"), temperature=0.7)
    # Errors: rate limit, overloaded, a stream failing after two events.
    fake.queue(FakeError(status=429))
    call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(f"{q}: too many"), temperature=0.7,
         expect=openai.RateLimitError)
    fake.queue(FakeError(status=529))
    call(an.messages.create, model=CLAUDE_MODEL, max_tokens=64, messages=_user(f"{q}: overloaded"),
         expect=anthropic.APIStatusError)
    fake.queue(FakeError(status=500, mid_stream_after=2))
    call(lambda **kw: drain(oa.chat.completions.create(**kw)), model=CHAT_MODEL, messages=_user(f"{q}: cut"),
         stream=True, temperature=0.7, expect=openai.APIError)
    # Deterministic (temperature 0), so cached: a new question each round (a miss), repeats (exact
    # hits, all but the very first), and the reworded repeat (a semantic hit; hits are not stored,
    # so it is a semantic hit again in round 2). The sampled calls above are skips.
    call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(NEW_QUESTIONS[round_no - 1]), temperature=0)
    for _ in range(3):
        call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(CACHED_QUESTION), temperature=0)
    call(oa.chat.completions.create, model=CHAT_MODEL, messages=_user(REWORDED_QUESTION), temperature=0)
    return calls
