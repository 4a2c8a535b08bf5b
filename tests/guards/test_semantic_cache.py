"""Semantic lookups: partitions, verification, telemetry, memory and Redis vector sets.

A small bag-of-words embedder (defined here) makes similarities predictable, so these tests are
about the cache's mechanics; the real embedders and the verification stage have their own tests.
"""

from __future__ import annotations

import hashlib
import re
import time

import numpy as np
import pytest

from tokentrace import MemoryBackend, RedisBackend, ResponseCache
from tokentrace import semconv as sc

MODEL = "gpt-4o-mini"


class WordsEmbedder:
    """Each word hashed to one of 64 dimensions; stop words dropped; L2-normalised."""

    name = "test-words/64"
    dimensions = 64
    default_threshold = 0.7
    blocking = False
    STOP = {"the", "a", "an", "of", "is", "what", "s", "please", "tell", "me"}

    def embed(self, texts):
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if word not in self.STOP:
                    out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimensions] += 1
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


def reject_numbers(query, candidate):
    """A tiny verifier: numbers must match."""
    return None if re.findall(r"\d+", query) == re.findall(r"\d+", candidate) else "number"


def ask(client, question, **extra):
    return client.chat.completions.create(
        model=MODEL, temperature=0, messages=[{"role": "user", "content": question}], **extra)


@pytest.fixture
def semantic(instrument):
    def _semantic(backend=None, **options):
        options.setdefault("verifier", reject_numbers)
        cache = ResponseCache(backend if backend is not None else MemoryBackend(), semantic=True, embedder=WordsEmbedder(),
                              **options)
        return instrument(cache=cache), cache

    return _semantic


def assert_rejected(telemetry, check):
    """The last call missed because verification rejected its nearest candidate with ``check``."""
    miss = telemetry.spans()[-1]
    assert miss.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_MISS
    assert miss.attributes[sc.TT_CACHE_REJECTED_BY] == check
    return miss


def test_paraphrase_is_served_with_its_similarity(fake, semantic):
    """A reworded question whose candidate passes verification is a semantic hit."""
    telemetry, _ = semantic()
    client = fake.openai_client()
    first = ask(client, "What is the capital of France?")
    second = ask(client, "Please tell me the capital of France")
    assert len(fake.requests) == 1
    assert second.choices[0].message.content == first.choices[0].message.content
    hit = telemetry.spans()[-1]
    assert hit.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    assert hit.attributes[sc.TT_CACHE_LOOKUP] == sc.CACHE_LOOKUP_SEMANTIC
    assert hit.attributes[sc.TT_CACHE_SIMILARITY] >= 0.7
    lookups = {(p.attributes[sc.TT_CACHE_RESULT], p.attributes[sc.TT_CACHE_LOOKUP]): p.value
               for p in telemetry.metrics()[sc.METRIC_CACHE_LOOKUPS]}
    assert lookups == {("miss", "semantic"): 1, ("hit", "semantic"): 1}


def test_verification_rejects_a_similar_candidate(fake, semantic):
    """Similar but with another number: the verifier rejects it, the call is sent, the span says why."""
    telemetry, _ = semantic()
    client = fake.openai_client()
    ask(client, "Population of France in 2010")
    ask(client, "Population of France in 2020")
    assert len(fake.requests) == 2
    assert_rejected(telemetry, "number")


def test_the_nearest_candidate_serves_though_a_similar_one_would_be_rejected(fake, semantic):
    """Two stored questions near the query, one with another number: the nearest (same number)
    serves. (When the nearest itself is rejected, nothing is served: see
    test_only_the_nearest_stored_question_is_served.)"""
    _, _ = semantic()
    client = fake.openai_client()
    ask(client, "Population of France in 2010 census")
    ask(client, "Population of France 2020")
    ask(client, "Population France 2020 please")
    assert len(fake.requests) == 2


def test_unrelated_question_is_a_miss(fake, semantic):
    """Below the threshold nothing is even verified."""
    telemetry, _ = semantic()
    client = fake.openai_client()
    ask(client, "What is the capital of France?")
    ask(client, "How do I bake bread?")
    assert len(fake.requests) == 2
    assert sc.TT_CACHE_SIMILARITY not in telemetry.spans()[-1].attributes


def test_context_must_match_exactly(fake, semantic):
    """The same follow-up after a different conversation is not matched."""
    semantic()
    client = fake.openai_client()

    def follow_up(topic):
        return client.chat.completions.create(model=MODEL, temperature=0, messages=[
            {"role": "user", "content": f"Tell me about {topic}"},
            {"role": "assistant", "content": "Sure."},
            {"role": "user", "content": "What is its population?"},
        ])

    follow_up("France")
    follow_up("Spain")
    follow_up("France")
    assert len(fake.requests) == 2


@pytest.mark.parametrize("change", [{"model": "gpt-4o"}, {"max_tokens": 7}, {"user": "someone-else"}])
def test_partition_covers_model_params_and_scope(fake, semantic, change):
    """Semantic matches stay inside model, parameters and scope."""
    semantic()
    client = fake.openai_client()
    ask(client, "What is the capital of France?")
    client.chat.completions.create(**{"model": MODEL, "temperature": 0, **change,
                                      "messages": [{"role": "user", "content": "Please tell me the capital of France"}]})
    assert len(fake.requests) == 2


def test_anthropic_and_responses_questions(fake, semantic):
    """Anthropic messages and Responses API input are matched by their last user text."""
    semantic(max_temperature=1.0)
    anthropic = fake.anthropic_client()
    for question in ("What is the capital of France?", "Please tell me the capital of France"):
        anthropic.messages.create(model="claude-haiku-4-5", max_tokens=50, system="Be brief.",
                                  messages=[{"role": "user", "content": [{"type": "text", "text": question}]}])
    assert len(fake.requests) == 1
    openai = fake.openai_client()
    if hasattr(openai, "responses"):
        for question in ("capital of France", "please tell me the capital of France"):
            openai.responses.create(model="gpt-4.1-mini", input=question, temperature=0)
        assert len(fake.requests) == 2


def test_evicted_entries_leave_the_index(fake, semantic):
    """An entry evicted from memory is no longer a candidate (and its vector is gone)."""
    backend = MemoryBackend(max_entries=1)
    semantic(backend)
    client = fake.openai_client()
    ask(client, "What is the capital of France?")
    ask(client, "How do I bake bread?")  # evicts the first
    ask(client, "Please tell me the capital of France")
    assert len(fake.requests) == 3
    assert sum(part.size for part in backend._partitions.values()) == 1


def test_memory_search_returns_best_first():
    """The index returns the top matches in order, above the threshold only."""
    backend = MemoryBackend()
    vectors = np.eye(4, dtype=np.float32)
    for index, vector in enumerate(vectors):
        backend.set(f"k{index}", b"x", ttl=None)
        backend.add_vector("p", f"k{index}", vector, ttl=None)
    query = np.array([0.8, 0.6, 0, 0], dtype=np.float32)
    found = backend.search("p", query, count=3, min_similarity=0.5)
    assert [key for key, _ in found] == ["k0", "k1"]
    assert found[0][1] == pytest.approx(0.8)
    assert backend.search("other", query, 3, 0.0) == []


def test_redis_vector_sets(fake, semantic, redis_servers):
    """Over Redis 8 the semantic lookup runs on the server, shared by cache instances."""
    url = redis_servers.fresh_url("redis-8")
    semantic(RedisBackend(url))
    client = fake.openai_client()
    ask(client, "What is the capital of France?")
    ask(client, "Please tell me the capital of France")
    assert len(fake.requests) == 1


def test_redis_vectors_expire_with_their_entries(redis_servers):
    """A vector whose entry expired is filtered out on the server."""
    backend = RedisBackend(redis_servers.fresh_url("redis-8"))
    vector = np.array([1, 0, 0, 0], dtype=np.float32)
    backend.set("old", b"x", ttl=0.3)
    backend.add_vector("p", "old", vector, ttl=0.3)
    backend.set("new", b"x", ttl=60)
    backend.add_vector("p", "new", vector * 0.99 + np.array([0, 0.01, 0, 0], dtype=np.float32), ttl=60)
    assert {key for key, _ in backend.search("p", vector, 5, 0.5)} == {"old", "new"}
    time.sleep(0.45)
    assert [key for key, _ in backend.search("p", vector, 5, 0.5)] == ["new"]


def test_semantic_over_redis_7_fails_at_start(redis_servers):
    """A server without vector sets is refused when the cache is built, with a clear message."""
    with pytest.raises(RuntimeError, match="vector sets"):
        ResponseCache(RedisBackend(redis_servers.fresh_url("redis-7")), semantic=True, embedder=WordsEmbedder(),
                      verifier=reject_numbers)


def test_exact_cache_over_redis_7_still_works(fake, instrument, redis_servers):
    """Redis 7 serves exact entries."""
    instrument(cache=ResponseCache(RedisBackend(redis_servers.fresh_url("redis-7"))))
    client = fake.openai_client()
    ask(client, "hello")
    ask(client, "hello")
    assert len(fake.requests) == 1


def test_bad_semantic_settings_name_the_setting():
    """Invalid threshold or ambiguity margin fail at construction."""
    with pytest.raises(ValueError, match="threshold"):
        ResponseCache(semantic=True, embedder=WordsEmbedder(), verifier=reject_numbers, threshold=2)
    with pytest.raises(ValueError, match="ambiguity_margin"):
        ResponseCache(semantic=True, embedder=WordsEmbedder(), verifier=reject_numbers, ambiguity_margin=-0.1)


def test_only_the_nearest_stored_question_is_served(fake, semantic):
    """When verification rejects the nearest candidate, a farther one is not served instead:
    the query is most likely a near-miss of its nearest neighbour."""
    telemetry, _ = semantic(threshold=0.5, verifier=lambda q, c: "number" if "2020" in c else None)
    client = fake.openai_client()
    ask(client, "capital France 2020")
    ask(client, "capital France big river")
    ask(client, "capital France 2021")
    assert len(fake.requests) == 3
    miss = assert_rejected(telemetry, "number")
    assert miss.attributes[sc.TT_CACHE_SIMILARITY] == pytest.approx(2 / 3, abs=1e-3)


@pytest.mark.parametrize("margin, served", [(0.02, False), (0.0, True)])
def test_two_equally_near_stored_questions_are_ambiguous(fake, semantic, margin, served):
    telemetry, _ = semantic(threshold=0.5, verifier=lambda q, c: None, ambiguity_margin=margin)
    client = fake.openai_client()
    ask(client, "capital France big")
    ask(client, "capital France old", extra_headers={"X-Tokentrace-Cache": "refresh"})  # stored, not looked up
    ask(client, "capital France")
    span = telemetry.spans()[-1]
    assert len(fake.requests) == (2 if served else 3)
    if served:
        assert span.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    else:
        assert_rejected(telemetry, "ambiguous")


def test_the_same_question_stored_twice_is_not_ambiguous(fake, semantic):
    """Two entries of one question (e.g. stored under two request ids' exact keys) agree."""
    telemetry, _ = semantic(threshold=0.5, verifier=lambda q, c: None)
    client = fake.openai_client()
    ask(client, "capital France big")
    ask(client, "Capital France big!", extra_headers={"X-Tokentrace-Cache": "refresh"})
    ask(client, "capital France")
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT


class NumberBlindEmbedder(WordsEmbedder):
    """Like a sentence embedding, blind to which number a question names: all numbers share one
    dimension, so "city 5" and "city 50" embed alike."""

    name = "test-number-blind/64"

    def embed(self, texts):
        return super().embed([re.sub(r"\d+", "number", text) for text in texts])


@pytest.mark.parametrize("stored_first", ["5", "50"])
def test_among_equally_near_questions_verification_picks_the_one_that_fits(fake, instrument, stored_first):
    """Templated questions that differ in a number tie on similarity; the one whose number
    matches is served, whichever is the nearest in the index's order."""
    cache = ResponseCache(MemoryBackend(), semantic=True, embedder=NumberBlindEmbedder(), verifier=reject_numbers,
                          threshold=0.5)
    telemetry = instrument(cache=cache)
    client = fake.openai_client()
    other = "50" if stored_first == "5" else "5"
    ids = {n: ask(client, f"population of city {n}").id for n in (stored_first, other)}
    assert len(fake.requests) == 2 and ids["5"] != ids["50"]
    served = ask(client, "Population of city 5, please")
    assert len(fake.requests) == 2
    span = telemetry.spans()[-1]
    assert span.attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    assert served.id == ids["5"] and span.attributes[sc.TT_CACHE_ORIGINAL_RESPONSE_ID] == ids["5"]
    ask(client, "population of city 7")  # every tied candidate disagrees: a miss, and why
    assert len(fake.requests) == 3
    assert_rejected(telemetry, "number")


class CountingBackend(MemoryBackend):
    """A memory backend that records how the cache reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, tuple[str, ...]]] = []

    def get(self, key):
        self.reads.append(("get", (key,)))
        return super().get(key)

    def get_many(self, keys):
        self.reads.append(("get_many", tuple(keys)))
        return super().get_many(keys)


def test_equally_near_candidates_are_read_in_one_round_trip(fake, instrument):
    """The tie group is fetched with one get_many (one MGET over Redis), not a read per candidate."""
    backend = CountingBackend()
    telemetry = instrument(cache=ResponseCache(backend, semantic=True, embedder=NumberBlindEmbedder(),
                                               verifier=reject_numbers, threshold=0.5))
    client = fake.openai_client()
    for n in (5, 50, 500):
        ask(client, f"population of city {n}")
    backend.reads.clear()
    ask(client, "Population of city 500, please")
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
    candidate_reads = [read for read in backend.reads if read[0] == "get_many"]
    assert len(candidate_reads) == 1 and len(candidate_reads[0][1]) == 3
    assert [read for read in backend.reads if read[0] == "get"] == [backend.reads[0]]  # the exact lookup only


class ProtocolOnlyBackend:
    """An application's own backend with the CacheBackend protocol and vector search, no get_many."""

    blocking = False

    def __init__(self) -> None:
        self.inner = MemoryBackend()

    def get(self, key):
        return self.inner.get(key)

    def set(self, key, value, ttl):
        self.inner.set(key, value, ttl)

    def delete(self, key):
        self.inner.delete(key)

    def clear(self):
        self.inner.clear()

    def close(self):
        self.inner.close()

    def add_vector(self, partition, key, vector, ttl):
        self.inner.add_vector(partition, key, vector, ttl)

    def search(self, partition, vector, count, min_similarity):
        return self.inner.search(partition, vector, count, min_similarity)

    def remove_vector(self, partition, key):
        self.inner.remove_vector(partition, key)


def test_a_backend_without_get_many_still_serves_tie_groups(fake, instrument):
    telemetry = instrument(cache=ResponseCache(ProtocolOnlyBackend(), semantic=True, embedder=NumberBlindEmbedder(),
                                               verifier=reject_numbers, threshold=0.5))
    client = fake.openai_client()
    for n in (5, 50):
        ask(client, f"population of city {n}")
    ask(client, "Population of city 50, please")
    assert len(fake.requests) == 2
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT


class GeneratorSearchBackend(ProtocolOnlyBackend):
    """search() may return any iterable, e.g. a generator."""

    def search(self, partition, vector, count, min_similarity):
        yield from self.inner.search(partition, vector, count, min_similarity)


def test_a_backend_whose_search_yields_still_serves(fake, instrument):
    telemetry = instrument(cache=ResponseCache(GeneratorSearchBackend(), semantic=True, embedder=NumberBlindEmbedder(),
                                               verifier=reject_numbers, threshold=0.5))
    client = fake.openai_client()
    ask(client, "population of city 5")
    ask(client, "Population of city 5, please")
    assert len(fake.requests) == 1
    assert telemetry.spans()[-1].attributes[sc.TT_CACHE_RESULT] == sc.CACHE_HIT
