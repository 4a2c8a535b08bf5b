"""Guards: in-process policies consulted before a GenAI request leaves the client.

A guard is one object with a narrow interface:

* ``decide(request) -> Decision | None`` runs before the request is sent. ``None`` or
  :class:`Pass` (which carries span attributes) lets it pass;
  :class:`Rewrite` replaces the JSON body (e.g. another model); :class:`Answer` serves a
  response without calling the provider (a cache hit); raising a :class:`GuardRefusal`
  subclass refuses the call with a typed exception the application can catch.
* ``on_response(request, response)`` runs after a successful, complete response (a non-stream
  response, or a stream read to its end) with the response as a JSON-shaped dict.
* As an OpenTelemetry ``SpanProcessor`` (``on_start`` / ``on_end``), the chain sees every GenAI
  span: ``on_start`` may tag a span, ``on_end`` may account for it (the span is read-only
  then). A span processor cannot stop or rewrite a call: that is what ``decide`` is for.

Guards run in the order they are given (``instrument(guards=[...])``); the first
:class:`Answer` wins and later guards are not consulted; rewrites are passed on to the next
guard. A guard that fails internally is skipped (fail-open, logged once) unless it sets
``fail_closed = True``, in which case the call fails with :class:`GuardError`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Union

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import semconv as sc
from ._errors import log_internal_error
from .model import GenAIRequest


class GuardRefusal(Exception):
    """Base class of the typed exceptions a guard raises to refuse a call.

    Raised to the application unchanged; never swallowed by tokentrace's fail-open handling.
    """


class GuardError(GuardRefusal):
    """A guard configured ``fail_closed`` failed internally, so the call was not sent."""


@dataclass(frozen=True)
class Pass:
    """Let the request through unchanged; stamp ``attributes`` on its span."""

    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rewrite:
    """Send ``body`` instead of the request's body."""

    body: Mapping[str, Any]
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """Answer the call with ``response`` (a JSON-shaped response body) without sending it."""

    response: Mapping[str, Any]
    attributes: Mapping[str, Any] = field(default_factory=dict)


Decision = Union[Pass, Rewrite, Answer]


class Guard(SpanProcessor):
    """One policy in the chain. Override what you need; every hook is a no-op by default."""

    name: str = "guard"
    fail_closed: bool = False

    def decide(self, request: GenAIRequest) -> Optional[Decision]:
        return None

    def on_response(self, request: GenAIRequest, response: Mapping[str, Any]) -> None:
        return None

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass
class ChainOutcome:
    """What the chain decided for one request."""

    request: GenAIRequest
    body: Optional[Mapping[str, Any]] = None
    """The body to send when a guard rewrote it."""
    answer: Optional[Answer] = None
    answered_by: Optional[Guard] = None
    attributes: dict[str, Any] = field(default_factory=dict)


class GuardChain(SpanProcessor):
    """Runs guards in order. Registered once on the TracerProvider; guards can be replaced."""

    def __init__(self, guards: Sequence[Guard] = ()) -> None:
        self._lock = threading.Lock()
        self._guards: tuple[Guard, ...] = tuple(guards)  # a tuple: readers never see it half-built

    @property
    def guards(self) -> tuple[Guard, ...]:
        return self._guards

    def set_guards(self, guards: Sequence[Guard]) -> None:
        with self._lock:
            self._guards = tuple(guards)

    def __bool__(self) -> bool:
        return bool(self._guards)

    @property
    def blocking(self) -> bool:
        """Whether a guard does blocking I/O (async calls then run the chain off the loop)."""
        return any(getattr(guard, "blocking", False) for guard in self._guards)

    def decide(self, request: GenAIRequest, rebuild: Any) -> ChainOutcome:
        """Consult each guard. ``rebuild(body)`` makes the request model for a rewritten body."""
        outcome = ChainOutcome(request)
        for guard in self._guards:
            decision = _safe_decide(guard, outcome.request)
            if decision is None:
                continue
            outcome.attributes.update(decision.attributes)
            if isinstance(decision, Pass):
                continue
            if isinstance(decision, Answer):
                outcome.answer, outcome.answered_by = decision, guard
                break
            outcome.body = decision.body
            outcome.request = rebuild(decision.body)
        return outcome

    def on_response(self, request: GenAIRequest, response: Mapping[str, Any]) -> None:
        for guard in self._guards:
            try:
                guard.on_response(request, response)
            except Exception:
                log_internal_error(f"guard {guard.name} on_response")

    # --- SpanProcessor: only GenAI spans reach the guards ---------------------------------
    def on_start(self, span: Span, parent_context: Any = None) -> None:
        guards = self._guards
        if not guards or not _is_genai(span):
            return
        for guard in guards:
            try:
                guard.on_start(span, parent_context)
            except Exception:
                log_internal_error(f"guard {guard.name} on_start")

    def on_end(self, span: ReadableSpan) -> None:
        guards = self._guards
        if not guards or not _is_genai(span):
            return
        for guard in guards:
            try:
                guard.on_end(span)
            except Exception:
                log_internal_error(f"guard {guard.name} on_end")

    def shutdown(self) -> None:
        for guard in self._guards:
            try:
                guard.shutdown()
            except Exception:
                log_internal_error(f"guard {guard.name} shutdown")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(guard.force_flush(timeout_millis) for guard in self._guards)


def _is_genai(span: Any) -> bool:
    attributes = span.attributes
    return attributes is not None and sc.GEN_AI_OPERATION_NAME in attributes


def _safe_decide(guard: Guard, request: GenAIRequest) -> Optional[Decision]:
    try:
        return guard.decide(request)
    except GuardRefusal:
        raise
    except Exception as exc:
        if guard.fail_closed:
            raise GuardError(f"guard {guard.name!r} failed and is configured fail-closed: {exc!r}") from exc
        log_internal_error(f"guard {guard.name} decide")
        return None
