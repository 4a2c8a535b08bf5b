"""The response cache guard: serves repeated requests without calling the provider."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Protocol

from .. import semconv as sc
from .._errors import log_internal_error
from ..guards import Answer, Guard, Pass
from ..model import GenAIRequest
from ._controls import CacheControl, current_control
from ._key import exact_key, identity_of
from ._memory import MemoryBackend
from ._semantic import partition_of, question_and_context
from ._replay import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_EMBEDDINGS, OPENAI_RESPONSES

SCOPES = ("request", "shared", "required")
ANONYMOUS_SCOPE = "anonymous"
PROVIDER_DEFAULT_TEMPERATURE = 1.0  # OpenAI and Anthropic both sample at 1.0 when none is given
_CACHEABLE_APIS = frozenset({OPENAI_CHAT, OPENAI_RESPONSES, OPENAI_EMBEDDINGS, ANTHROPIC_MESSAGES})


class CacheBackend(Protocol):
    """Where entries live. ``blocking`` backends do I/O and are called off the event loop.

    Optional: ``get_many(keys) -> list[Optional[bytes]]`` (one round trip for the candidates of
    a semantic lookup; without it they are read one by one), and for semantic caching
    ``add_vector``, ``search`` and ``remove_vector`` as :class:`MemoryBackend` has them.
    """

    blocking: bool

    def get(self, key: str) -> Optional[bytes]: ...

    def set(self, key: str, value: bytes, ttl: Optional[float]) -> None: ...

    def delete(self, key: str) -> None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CacheEntry:
    """One stored answer: the API's complete response body, and the question it answered."""

    api: str
    response: Mapping[str, Any]
    stored_at: float
    question: Optional[str] = None
    """The last user message, kept for the verification of semantic candidates."""

    def to_bytes(self) -> bytes:
        data = {"v": 1, "api": self.api, "stored_at": self.stored_at, "response": self.response}
        if self.question is not None:
            data["question"] = self.question
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "CacheEntry":
        data = json.loads(raw)
        if data.get("v") != 1:
            raise ValueError(f"unknown cache entry version {data.get('v')!r}")
        return cls(data["api"], data["response"], data["stored_at"], data.get("question"))


@dataclass
class _CallState:
    """What a lookup leaves for storing the answer."""

    key: str
    scope: str
    control: CacheControl
    semantic: Optional["_Semantic"] = None


@dataclass(frozen=True)
class _Semantic:
    """What a miss remembers for storing: the question, its vector and its partition."""

    question: str
    partition: str
    vector: Any


class ResponseCache(Guard):
    """Response cache: exact matches, and (opt-in) verified semantic matches.

    Args:
        backend: :class:`MemoryBackend` (default) or :class:`RedisBackend`, or anything with
            their interface.
        ttl: seconds an entry lives after it is stored (hits never extend it); None = no expiry.
        scope: ``"request"`` (default): entries are scoped by the end-user identity the request
            carries (OpenAI ``user`` / ``safety_identifier``, Anthropic ``metadata.user_id``) or
            an explicit :func:`~tokentrace.cache_control` scope; requests without either share
            the anonymous scope. ``"shared"``: identities are ignored, only explicit scopes
            separate entries. ``"required"``: a request with no scope or identity is not cached.
        max_temperature: requests sampling above this temperature are not cached (a request
            without ``temperature`` samples at the provider default, 1.0). Default 0.
        cache_tool_calls: store responses that call tools (default False).
        cache_truncated: store responses cut off by the token limit (default False).
        fail_closed: fail calls instead of serving misses when the cache itself fails.
        semantic: also serve requests whose last user message is a paraphrase of a stored one
            (same model, parameters, tools, system prompt and earlier turns), after the
            verification stage agreed (``tokentrace.cache._verify``).
        embedder: turns questions into vectors (default :class:`HashingEmbedder`); see
            ``tokentrace.cache.embedders``.
        threshold: cosine similarity a candidate needs (default: the embedder's).
        ambiguity_margin: the stored questions within this similarity of the nearest count as
            equally near (default 0.02). Verification checks each; the one that passes is served,
            and when two different ones pass the match is ambiguous and not served. Farther
            candidates are never served. 0: only the nearest is considered (and served if it
            passes).
        verifier: ``verify(query, candidate) -> None | name of the rejecting check``.
    """

    name = "cache"

    def __init__(self, backend: Optional[CacheBackend] = None, *, ttl: Optional[float] = 3600.0,
                 scope: str = "request", max_temperature: float = 0.0, cache_tool_calls: bool = False,
                 cache_truncated: bool = False, fail_closed: bool = False, semantic: bool = False,
                 embedder: Any = None, threshold: Optional[float] = None, ambiguity_margin: float = 0.02,
                 verifier: Optional[Callable[[str, str], Optional[str]]] = None) -> None:
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)} but got {scope!r}")
        if ttl is not None and not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds or None but got {ttl!r}")
        if not max_temperature >= 0:
            raise ValueError(f"max_temperature must be a non-negative number but got {max_temperature!r}")
        self.backend: CacheBackend = backend if backend is not None else MemoryBackend()
        self.ttl = ttl
        self.scope = scope
        self.max_temperature = float(max_temperature)
        self.cache_tool_calls = cache_tool_calls
        self.cache_truncated = cache_truncated
        self.fail_closed = fail_closed
        self.semantic = semantic
        self.embedder = embedder
        self.verifier = verifier
        if semantic:
            self._setup_semantic(threshold, ambiguity_margin)
        self._lookups: Any = None
        self._latency: Any = None

    def _setup_semantic(self, threshold: Optional[float], ambiguity_margin: float) -> None:
        if self.embedder is None:
            from .embedders import HashingEmbedder

            self.embedder = HashingEmbedder()
        if self.verifier is None:
            from ._verify import verify

            self.verifier = verify
        if not hasattr(self.backend, "search"):
            raise ValueError(f"semantic caching needs a backend with vector search; {type(self.backend).__name__} has none")
        check = getattr(self.backend, "check_vector_sets", None)
        if check is not None:
            check()
        self.threshold = float(threshold if threshold is not None else self.embedder.default_threshold)
        if not -1.0 <= self.threshold <= 1.0:
            raise ValueError(f"threshold must be a cosine similarity in [-1, 1] but got {threshold!r}")
        if not 0.0 <= ambiguity_margin <= 1.0:
            raise ValueError(f"ambiguity_margin must be a similarity difference in [0, 1] but got {ambiguity_margin!r}")
        self.ambiguity_margin = float(ambiguity_margin)

    @property
    def blocking(self) -> bool:
        """Backends doing I/O and embedders doing inference run off the event loop."""
        if getattr(self.backend, "blocking", False):
            return True
        return self.semantic and bool(getattr(self.embedder, "blocking", True))

    def bind_meter(self, meter: Any) -> None:
        self._lookups = meter.create_counter(
            sc.METRIC_CACHE_LOOKUPS, unit="{lookup}", description="Response cache lookups by result."
        )
        self._latency = meter.create_histogram(
            sc.METRIC_CACHE_LOOKUP_DURATION, unit="s", description="Time a response cache lookup took.",
            explicit_bucket_boundaries_advisory=list(sc.CACHE_LOOKUP_BUCKETS),
        )

    # --- before the call -------------------------------------------------------------------
    def decide(self, request: GenAIRequest) -> Optional[Any]:
        control = current_control(request)
        reason = self._skip_reason(request, control)
        if reason is not None:
            self._count(request, sc.CACHE_SKIP)
            return Pass({sc.TT_CACHE_RESULT: sc.CACHE_SKIP, sc.TT_CACHE_SKIP_REASON: reason})
        scope = self._scope_of(request, control)
        key = exact_key(request.provider, request.api, scope, request.body)
        state = request.guard_state[self] = _CallState(key, scope, control)
        attributes = {sc.TT_CACHE_KEY: _short(key)}
        if control.refresh:
            self._count(request, sc.CACHE_SKIP)
            return Pass({**attributes, sc.TT_CACHE_RESULT: sc.CACHE_SKIP, sc.TT_CACHE_SKIP_REASON: "refresh"})
        started = time.perf_counter()
        entry = self._entry(self.backend.get(key), key)
        lookup = sc.CACHE_LOOKUP_EXACT
        if entry is None and self.semantic:
            lookup = sc.CACHE_LOOKUP_SEMANTIC
            entry = self._semantic_lookup(request, state, attributes)
        self._record_lookup(request, sc.CACHE_HIT if entry else sc.CACHE_MISS, lookup, time.perf_counter() - started)
        if entry is None:
            return Pass({**attributes, sc.TT_CACHE_RESULT: sc.CACHE_MISS})
        attributes.update({
            sc.TT_CACHE_RESULT: sc.CACHE_HIT,
            sc.TT_CACHE_LOOKUP: lookup,
            sc.TT_CACHE_AGE: max(time.time() - entry.stored_at, 0.0),
        })
        original_id = entry.response.get("id")
        if isinstance(original_id, str):
            attributes[sc.TT_CACHE_ORIGINAL_RESPONSE_ID] = original_id
        return Answer(entry.response, attributes)

    def _semantic_lookup(self, request: GenAIRequest, state: _CallState,
                         attributes: dict[str, Any]) -> Optional[CacheEntry]:
        """The stored question that verification agrees with, among the nearest and those about
        as near as it (within ``ambiguity_margin``), if it is the only one.

        Farther candidates are never served: a query whose nearest neighbours were rejected is
        most often a near-miss of them, and serving a farther candidate instead served more
        near-misses when measured on the near-miss file. Within the margin, similarity does not
        tell the candidates apart ("city number 5" / "city number 50" under a sentence
        embedding), so verification does; two different agreeing questions are ambiguous.
        """
        semantic = state.semantic = self._semantic_of(request, state.scope)
        if semantic is None:
            return None
        question, partition, vector = semantic.question, semantic.partition, semantic.vector
        backend: Any = self.backend
        nearest: Optional[float] = None
        rejection: Optional[str] = None
        chosen: Optional[tuple[CacheEntry, float]] = None
        found = list(backend.search(partition, vector, _SEARCH_K, self.threshold))
        fetched: dict[str, Optional[bytes]] = {}
        for index, (candidate_key, similarity) in enumerate(found):
            if nearest is not None and (self.ambiguity_margin <= 0 or similarity < nearest - self.ambiguity_margin):
                break
            if candidate_key not in fetched:  # the candidates about as near as this one, in one round trip
                floor = (similarity if nearest is None else nearest) - self.ambiguity_margin
                group = [key for key, near in found[index:] if near >= floor]
                fetched.update(zip(group, self._get_many(group)))
            entry = self._entry(fetched[candidate_key], candidate_key)
            if entry is None or entry.question is None:
                backend.remove_vector(partition, candidate_key)
                continue
            if nearest is None:
                nearest = similarity
                attributes[sc.TT_CACHE_SIMILARITY] = similarity
            if chosen is not None and _same_text(entry.question, chosen[0].question):
                continue
            rejected = self.verifier(question, entry.question)  # type: ignore[misc]
            if rejected is not None:
                rejection = rejection or rejected
                continue
            if chosen is not None:  # a second, different stored question fits as well
                attributes[sc.TT_CACHE_REJECTED_BY] = AMBIGUOUS
                return None
            chosen = (entry, similarity)
        if chosen is None:
            if rejection is not None:
                attributes[sc.TT_CACHE_REJECTED_BY] = rejection
            return None
        attributes[sc.TT_CACHE_SIMILARITY] = chosen[1]
        return chosen[0]

    def _get_many(self, keys: list[str]) -> list[Optional[bytes]]:
        get_many = getattr(self.backend, "get_many", None)
        if get_many is None:  # a backend of the application's own with only the CacheBackend protocol
            return [self.backend.get(key) for key in keys]
        return list(get_many(keys))

    def _skip_reason(self, request: GenAIRequest, control: CacheControl) -> Optional[str]:
        if control.skip:
            return "requested"
        if request.api not in _CACHEABLE_APIS:
            return "unsupported_api"
        body = request.body
        if body.get("background"):
            return "background"
        if request.operation != sc.OPERATION_EMBEDDINGS:
            temperature = body.get("temperature", PROVIDER_DEFAULT_TEMPERATURE)
            if not isinstance(temperature, (int, float)) or temperature > self.max_temperature:
                return "temperature"
        if self.scope == "required" and control.scope is None and identity_of(body) is None:
            return "no_scope"
        return None

    def _scope_of(self, request: GenAIRequest, control: CacheControl) -> str:
        if control.scope is not None:
            return "explicit:" + control.scope
        if self.scope != "shared":
            identity = identity_of(request.body)
            if identity is not None:
                return "identity:" + identity
        return ANONYMOUS_SCOPE

    def _entry(self, raw: Optional[bytes], key: str) -> Optional[CacheEntry]:
        if raw is None:
            return None
        try:
            return CacheEntry.from_bytes(raw)
        except Exception:
            log_internal_error("reading a cache entry")
            self.backend.delete(key)
            return None

    # --- after the call --------------------------------------------------------------------
    def on_response(self, request: GenAIRequest, response: Mapping[str, Any]) -> None:
        state = request.guard_state.get(self)
        if state is None:
            return
        control = state.control
        if not control.store or not self._is_complete(request.api, response):
            return
        ttl = control.ttl if control.ttl is not None else self.ttl
        semantic = state.semantic
        if semantic is None and self.semantic:  # no semantic lookup ran (a refresh)
            semantic = self._semantic_of(request, state.scope)
        question = semantic.question if semantic is not None else None
        self.backend.set(state.key, CacheEntry(request.api, response, time.time(), question).to_bytes(), ttl)
        if semantic is not None:
            self.backend.add_vector(semantic.partition, state.key, semantic.vector, ttl)  # type: ignore[attr-defined]

    def _semantic_of(self, request: GenAIRequest, scope: str) -> Optional[_Semantic]:
        """The request's question, its partition and its vector; None when it has no question."""
        parts = question_and_context(request.api, request.body)
        if parts is None:
            return None
        question, context = parts
        partition = partition_of(request.provider, request.api, scope, context, self.embedder.name)
        return _Semantic(question, partition, self.embedder.embed([question])[0])

    def _is_complete(self, api: str, response: Mapping[str, Any]) -> bool:
        """Successful and whole: what is worth serving again."""
        if api == OPENAI_CHAT:
            choices = response.get("choices") or []
            return bool(choices) and all(self._finish_ok(c.get("finish_reason"), ("stop",), "tool_calls", "length")
                                         for c in choices)
        if api == ANTHROPIC_MESSAGES:
            return self._finish_ok(response.get("stop_reason"), ("end_turn", "stop_sequence"), "tool_use", "max_tokens")
        if api == OPENAI_RESPONSES:
            if response.get("status") != "completed":
                return False
            calls = any(item.get("type") not in ("message", "reasoning") for item in response.get("output") or [])
            return self.cache_tool_calls or not calls
        if api == OPENAI_EMBEDDINGS:
            return bool(response.get("data"))
        return False

    def _finish_ok(self, reason: Any, ok: tuple[str, ...], tool: str, truncated: str) -> bool:
        return reason in ok or (reason == tool and self.cache_tool_calls) or (
            reason == truncated and self.cache_truncated)

    def clear(self) -> None:
        self.backend.clear()

    def shutdown(self) -> None:
        self.backend.close()

    # --- metrics ---------------------------------------------------------------------------
    def _record_lookup(self, request: GenAIRequest, result: str, lookup: str, seconds: float) -> None:
        self._count(request, result, lookup)
        if self._latency is not None:
            attributes = {sc.GEN_AI_PROVIDER_NAME: request.provider, sc.TT_CACHE_LOOKUP: lookup,
                          sc.TT_CACHE_BACKEND: type(self.backend).__name__}
            if request.model:
                attributes[sc.GEN_AI_REQUEST_MODEL] = request.model
            self._latency.record(seconds, attributes)

    def _count(self, request: GenAIRequest, result: str, lookup: str = sc.CACHE_LOOKUP_EXACT) -> None:
        if self._lookups is not None:
            attributes = {
                sc.GEN_AI_PROVIDER_NAME: request.provider,
                sc.GEN_AI_OPERATION_NAME: request.operation,
                sc.TT_CACHE_RESULT: result,
                sc.TT_CACHE_LOOKUP: lookup,
            }
            if request.model:
                attributes[sc.GEN_AI_REQUEST_MODEL] = request.model
            self._lookups.add(1, attributes)


_SEARCH_K = 8
"""Neighbours fetched per lookup: enough for the group of equally near candidates of templated
questions (with MiniLM, "city number N" for 2,000 values of N: 3 found the right one for 67% of
queries, 8 for all), and a spare for an entry that expired since it was indexed."""
AMBIGUOUS = "ambiguous"
"""``tokentrace.cache.rejected_by`` when two different stored questions fit the query about equally."""


def _same_text(a: str, b: str) -> bool:
    return _normal(a) == _normal(b)


def _normal(text: str) -> str:
    """Lower case, no punctuation, single spaces."""
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


def _short(key: str) -> str:
    """Enough of the key's hash to find the entry in logs; the key itself is a SHA-256."""
    return key[:16]
