"""The provider-neutral request/response model the telemetry core works on.

Provider adapters turn an SDK request body and its response (or stream chunks) into these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Protocol, Sequence


@dataclass(slots=True)
class GenAIRequest:
    """One GenAI call as it leaves the client."""

    provider: str
    operation: str
    model: Optional[str]
    stream: bool
    attributes: dict[str, Any]
    """Span attributes known before the call (``gen_ai.request.*``, server, provider)."""
    body: Mapping[str, Any]
    """The JSON body the SDK sends, for content capture and guards. Never mutated."""
    content: Optional[Callable[[], dict[str, Any]]] = None
    """Builds ``gen_ai.input.messages``, ``gen_ai.system_instructions`` and
    ``gen_ai.tool.definitions`` (keyed by those names) in the spec's JSON shape; called only
    when content is captured."""
    api: str = ""
    """Which API: ``openai.chat``, ``openai.responses``, ``openai.embeddings``, ``anthropic.messages``."""
    hints: Optional[Mapping[str, str]] = None
    """tokentrace's own request headers (e.g. ``X-Tokentrace-Cache``), removed before sending."""
    guard_state: dict[Any, Any] = field(default_factory=dict)
    """Per-call state guards keep between ``decide`` and ``on_response``."""


@dataclass(slots=True)
class Usage:
    """Token usage in the spec's terms: ``input_tokens`` includes cache reads and writes."""

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cache_read_input_tokens: Optional[int] = None
    cache_creation_input_tokens: Optional[int] = None
    reasoning_output_tokens: Optional[int] = None
    cache_creation_1h_input_tokens: Optional[int] = None
    """Anthropic: the part of the cache writes made with a 1-hour TTL (priced higher)."""


@dataclass(slots=True)
class GenAIResult:
    """What a response (or a stream, as far as it was read) tells about the call."""

    response_id: Optional[str] = None
    response_model: Optional[str] = None
    finish_reasons: Sequence[str] = ()
    usage: Optional[Usage] = None
    attributes: dict[str, Any] = field(default_factory=dict)
    """Provider-specific response attributes (service tier, fingerprint, dimensions)."""
    output_messages: Optional[Callable[[], list[dict[str, Any]]]] = None
    """Builds ``gen_ai.output.messages`` in the spec's JSON shape; called only when content is
    captured, so the hot path never pays for it."""
    output_text: Optional[Callable[[], list[str]]] = None
    """The generated text received (streams), for counting tokens when usage is missing."""
    service_tier: Optional[str] = None
    """The billing tier the provider reported (``flex``, ``priority``, ``batch``...)."""
    error: Optional[str] = None
    """The provider answered that the call failed without an HTTP error (a Responses API
    ``status: failed``): recorded as ``error.type`` with an error status."""


class StreamAccumulator(Protocol):
    """Folds the chunks of one stream into a :class:`GenAIResult`."""

    def add(self, chunk: Any) -> bool:
        """Take one chunk; return False when the chunk must not reach the application
        (the usage chunk tokentrace asked for on the user's behalf)."""

    def result(self) -> GenAIResult:
        """What was received so far."""
