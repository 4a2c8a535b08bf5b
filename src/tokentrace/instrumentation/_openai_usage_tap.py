"""Take the usage-only chunk tokentrace asked an OpenAI chat stream for before the SDK parses it.

The SDK turns every server-sent event into a pydantic ``ChatCompletionChunk``; for the usage
chunk (``"choices": []`` and a ``usage`` object) that costs ~28 µs, where ``json.loads`` of the
same event costs ~3 µs, for a chunk the application never sees. So, when
tokentrace injected ``stream_options.include_usage``, the stream's event source
(``Stream._iter_events``, present from openai 1.x to 3.x) is wrapped: that one event is read
with ``json.loads`` and handed to the accumulator; every other event passes through, minus the
``"usage":null`` that ``include_usage`` adds to it.
Anything unexpected (an SDK without that method, an event we cannot read) leaves the SDK's own
path in place, where the stream proxy drops the parsed chunk instead.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Callable, Iterator

from .._errors import log_internal_error

# Both spellings: the API sends compact JSON, fakes and proxies may not.
_EMPTY_CHOICES = ('"choices":[]', '"choices": []')


def tap_usage_chunk(stream: Any, take: Callable[[Any], Any], is_async: bool) -> None:
    """Route ``stream``'s usage-only event to ``take`` (a dict); left as it is when it cannot."""
    events = getattr(stream, "_iter_events", None)
    if events is None or not callable(events) or not hasattr(stream, "_iterator"):
        return
    stream._iter_events = (lambda: _atap(events(), take)) if is_async else (lambda: _tap(events(), take))


def _usage_only(data: Any, take: Callable[[Any], Any]) -> bool:
    """True when ``data`` was the usage-only chunk and ``take`` has it."""
    if not isinstance(data, str) or not (_EMPTY_CHOICES[0] in data or _EMPTY_CHOICES[1] in data):
        return False
    try:
        chunk: Any = json.loads(data)
    except ValueError:
        return False  # the SDK reports it exactly as it would without tokentrace
    if not (isinstance(chunk, dict) and chunk.get("choices") == [] and isinstance(chunk.get("usage"), dict)):
        return False  # e.g. Azure's prompt-filter chunk: the SDK's to parse and the app's to see
    try:
        take(chunk)
    except Exception:
        log_internal_error("reading the stream usage chunk")
        return False
    return True


# The twins share :func:`_passes`; an event it fails on goes to the SDK as it came (the stream
# proxy still keeps a parsed usage chunk from the application). Per-chunk code: no extra frames.
def _tap(events: Iterator[Any], take: Callable[[Any], Any]) -> Iterator[Any]:
    for sse in events:
        if _keeps(sse, take):
            yield sse


async def _atap(events: AsyncIterator[Any], take: Callable[[Any], Any]) -> AsyncIterator[Any]:
    async for sse in events:
        if _keeps(sse, take):
            yield sse


def _keeps(sse: Any, take: Callable[[Any], Any]) -> bool:
    """The twins' one step: whether the SDK gets ``sse``. Most events are an ordinary chunk ending
    in ``,"usage":null}``, stripped here at once; every other event goes to :func:`_passes`. An event
    this fails on goes to the SDK as it came (the stream proxy still keeps a parsed usage chunk
    from the application)."""
    try:
        data = getattr(sse, "_data", None)  # the SDK's ServerSentEvent: ``data`` is a property over it
        if data.__class__ is str and data.endswith(_NULL_USAGE_LAST):
            sse._data = data[:_CUT] + "}"
            return True
        return _passes(sse, take)
    except Exception:
        log_internal_error("reading a stream event")
        return True


def _passes(sse: Any, take: Callable[[Any], Any]) -> bool:
    """False for the usage-only event (``take`` has it), else the event goes on, without its
    ``"usage":null``."""
    data = getattr(sse, "data", None)
    if isinstance(data, str) and data.endswith(_NULL_USAGE_LAST):  # an event type of another shape
        try:
            sse._data = data[:_CUT] + "}"
        except Exception:  # noqa: S110 - one that cannot take it: left as it is
            pass
        return True
    if _usage_only(data, take):
        return False
    _drop_null_usage(sse, data)
    return True


_NULL_USAGE = ',"usage":null'
_NULL_USAGE_LAST = _NULL_USAGE + "}"
_CUT = -len(_NULL_USAGE_LAST)


def _drop_null_usage(sse: Any, data: Any) -> None:
    """The event without the ``"usage": null`` that ``include_usage`` adds to every other chunk.

    The application gets the chunk it would have got without tokentrace's request (no ``usage``
    among the fields set), and the SDK skips building that field. In JSON text the pattern cannot
    occur inside a string (its quotes would be escaped).
    """
    if not isinstance(data, str):
        return
    at = data.rfind(_NULL_USAGE)
    # Only the chunk's own (top-level, last) usage: nothing but a closing brace, or plain
    # top-level fields such as "obfuscation", may follow it.
    if at < 0 or not _only_flat_fields(data[at + len(_NULL_USAGE):]):
        return
    try:
        sse._data = data[:at] + data[at + len(_NULL_USAGE):]
    except Exception:  # noqa: S110 - an event type of another shape: left as it is
        pass


def _only_flat_fields(tail: str) -> bool:
    tail = tail.rstrip()
    return tail == "}" or (tail.startswith(',"') and tail.endswith("}") and tail.count("}") == 1
                           and "{" not in tail and "[" not in tail)
