"""The items a test queues on a :class:`FakeProvider`, and the requests it records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Union


@dataclass(frozen=True)
class FakeToolCall:
    """One tool (function) call in a reply.

    ``arguments`` is the JSON text the model "wrote"; a dict is serialized with
    :func:`json.dumps`. ``id`` defaults to a generated ``call_…`` (OpenAI) or
    ``toolu_…`` (Anthropic) id.
    """

    name: str
    arguments: Union[str, Mapping[str, Any]] = "{}"
    id: Optional[str] = None

    @property
    def arguments_json(self) -> str:
        """The arguments as JSON text."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class FakeReply:
    """What the fake model answers to one request.

    Every field is optional; unset ones fall back to the documented defaults:

    * ``text``: the default reply text (``"This is a fake reply to: …"``) unless
      ``tool_calls`` or ``refusal`` is set, in which case there is no text.
    * ``finish_reason``: derived (stop / length / tool_calls / stop_sequence);
      either vocabulary is accepted and translated per provider
      (``stop``↔``end_turn``, ``length``↔``max_tokens``, ``tool_calls``↔``tool_use``,
      ``content_filter``↔``refusal``); unknown values are sent unchanged.
    * ``input_tokens``: reported verbatim in the provider's own input field
      (OpenAI ``prompt_tokens``/``input_tokens``, which include cached tokens;
      Anthropic ``input_tokens``, which exclude cache reads and writes).
      Default: the computed count (see the package docstring).
    * ``output_tokens``: reported verbatim (per choice). Default: words of the
      reply plus ``reasoning_tokens``.
    * ``cached_tokens`` / ``cache_creation_tokens``: cache reads / writes.
    * ``response_model``: the model name in the response (default: the request's).
    * ``chunks``: number of stream deltas for the text (default: the provider's).
    """

    text: Optional[str] = None
    tool_calls: Sequence[FakeToolCall] = ()
    refusal: Optional[str] = None
    finish_reason: Optional[str] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cached_tokens: int = 0
    cache_creation_tokens: int = 0
    reasoning_tokens: int = 0
    response_model: Optional[str] = None
    chunks: Optional[int] = None


@dataclass(frozen=True)
class FakeError:
    """An error answer, in the provider's real error body shape.

    ``error_type`` overrides the ``type`` derived from ``status`` and ``code``
    the OpenAI ``code`` field. ``headers`` are added to the response (e.g.
    ``{"retry-after-ms": "1"}`` for retry tests). With ``mid_stream_after=N`` a
    streaming request gets a 200 stream whose first ``N`` events are sent before
    an error event; non-streaming requests get the plain error. Anthropic's
    ``event: error`` and OpenAI chat's ``data: {"error": …}`` make the SDKs raise
    (``APIStatusError`` / ``APIError``); the Responses API's ``event: error`` is
    yielded as an event, as the SDK does with the real one.
    """

    status: int = 429
    message: Optional[str] = None
    error_type: Optional[str] = None
    headers: Optional[Mapping[str, str]] = None
    code: Optional[str] = None
    mid_stream_after: Optional[int] = None


@dataclass(frozen=True)
class FakeDisconnect:
    """The connection breaks after ``after_chunks`` body chunks have been sent.

    A stream sends its first ``after_chunks`` SSE events (one chunk each); a
    non-streaming body is cut in half. The in-process transport then raises the
    HTTP library's ``RemoteProtocolError`` (what a real client raises when the
    server closes mid-body); the loopback server closes the socket without
    ending the chunked body, which produces the same error. ``reply`` is what
    was being sent (default reply when ``None``).
    """

    after_chunks: int = 3
    reply: Optional[FakeReply] = None


@dataclass(frozen=True)
class FakeTimeout:
    """The server stops answering.

    In-process transports raise the HTTP library's ``ReadTimeout`` at once. The
    loopback server instead stalls for ``delay`` seconds (give the client a
    shorter timeout), then closes the connection. With ``after_chunks=N`` a
    stream sends ``N`` events before stalling.
    """

    delay: float = 5.0
    after_chunks: Optional[int] = None
    reply: Optional[FakeReply] = None


FakeItem = Union[FakeReply, FakeError, FakeDisconnect, FakeTimeout]


@dataclass(frozen=True)
class FakeRequest:
    """A request the provider received: ``json`` is the parsed body (``{}`` when empty)."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any = field(default_factory=dict)
