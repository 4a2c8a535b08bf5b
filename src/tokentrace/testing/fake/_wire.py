"""A transport-neutral HTTP answer, and the SSE/JSON encoders the endpoints share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, List, Optional, Protocol, Tuple

JSON_TYPE = "application/json"
SSE_TYPE = "text/event-stream; charset=utf-8"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(obj: Any) -> bytes:
    """Compact JSON, as the providers send it."""
    return _dumps(obj).encode()


def sse_data(obj: Any) -> bytes:
    """One ``data:``-only event (OpenAI chat completions)."""
    return b"data: " + dumps(obj) + b"\n\n"


def sse_event(name: str, obj: Any) -> bytes:
    """One named event (Responses API, Anthropic)."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True)
class Fault:
    """How the answer goes wrong: ``after`` chunks are delivered first (``None``: before the head)."""

    kind: str  # "disconnect" or "timeout"
    after: Optional[int]
    delay: float = 0.0


@dataclass
class WireResponse:
    """Status, headers and body chunks; a streaming body is sent chunk by chunk."""

    status: int
    headers: List[Tuple[str, str]]
    chunks: List[bytes]
    stream: bool = False
    fault: Optional[Fault] = None


class Context(Protocol):
    """What endpoint builders need from the provider."""

    default_chunks: int
    embedding_dimensions: int

    def next_id(self, prefix: str) -> str: ...

    def now(self) -> int: ...


def json_response(status: int, body: Any, headers: List[Tuple[str, str]]) -> WireResponse:
    """A complete JSON answer."""
    return WireResponse(status, [("content-type", JSON_TYPE), *headers], [dumps(body)])


def sse_response(chunks: List[bytes], headers: List[Tuple[str, str]]) -> WireResponse:
    """A 200 event stream."""
    return WireResponse(200, [("content-type", SSE_TYPE), ("cache-control", "no-cache"), *headers], chunks, True)
