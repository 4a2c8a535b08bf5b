"""Anthropic ``/v1/messages`` (plain and streamed), ``count_tokens`` and errors."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from ._model import FakeError, FakeReply
from ._text import MESSAGE_OVERHEAD, content_text, count_words, last_user_text, messages_tokens, split_chunks
from ._turn import Turn, resolve_turn
from ._wire import Context, WireResponse, json_response, sse_event, sse_response

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
                403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error"}
_ERROR_MESSAGES = {
    400: "Invalid request.",
    401: "invalid x-api-key",
    403: "Your API key does not have permission to use the specified resource.",
    404: "Not found.",
    429: "Number of request tokens has exceeded your per-minute rate limit.",
    500: "Internal server error.",
    529: "Overloaded",
}


def headers(request_id: str) -> List[Tuple[str, str]]:
    """The response headers Anthropic sends that SDKs read."""
    return [("request-id", request_id)]


def error_object(error: FakeError) -> Dict[str, Any]:
    """The inner ``error`` object of an Anthropic error body."""
    status = error.status
    default_type = "api_error" if status >= 500 else "invalid_request_error"
    return {
        "type": error.error_type or _ERROR_TYPES.get(status, default_type),
        "message": error.message or _ERROR_MESSAGES.get(status, f"Fake error {status}."),
    }


def error_response(error: FakeError, request_id: str) -> WireResponse:
    """``{"type": "error", "error": {type, message}, "request_id"}`` with the error's status."""
    body = {"type": "error", "error": error_object(error), "request_id": request_id}
    return json_response(error.status, body, headers(request_id) + list((error.headers or {}).items()))


def stream_error(error: FakeError) -> bytes:
    """The mid-stream ``event: error`` (the SDK raises an ``APIStatusError`` on it)."""
    return sse_event("error", {"type": "error", "error": error_object(error)})


def input_tokens(body: Dict[str, Any]) -> int:
    """Messages' tokens plus the system prompt's (``MESSAGE_OVERHEAD`` + words)."""
    tokens = messages_tokens(body.get("messages") or [])
    system = body.get("system")
    if system:
        tokens += MESSAGE_OVERHEAD + count_words(content_text(system))
    return tokens


def count_tokens(body: Dict[str, Any], reply: Optional[FakeReply], request_id: str) -> WireResponse:
    """``/v1/messages/count_tokens``: ``{"input_tokens": N}``."""
    tokens = reply.input_tokens if reply is not None and reply.input_tokens is not None else input_tokens(body)
    return json_response(200, {"input_tokens": tokens}, headers(request_id))


def _turn(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context) -> Turn:
    stops = body.get("stop_sequences") or []
    return resolve_turn(
        reply,
        prompt=last_user_text(body.get("messages") or []),
        input_tokens=input_tokens(body),
        model=str(body.get("model", "")),
        max_tokens=body.get("max_tokens"),
        stops=[s for s in stops if isinstance(s, str)],
        default_chunks=ctx.default_chunks,
    )


def _usage(turn: Turn, output_tokens: int, speed: Any = None) -> Dict[str, Any]:
    usage = {
        "input_tokens": turn.input_tokens,
        "cache_creation_input_tokens": turn.cache_creation_tokens,
        "cache_read_input_tokens": turn.cached_tokens,
        "cache_creation": {"ephemeral_5m_input_tokens": turn.cache_creation_tokens, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if speed is not None:  # fast mode (the request's "speed"): the API reports the speed it served
        usage["speed"] = speed
    return usage


def _tool_input(arguments: str) -> Any:
    try:
        value = json.loads(arguments)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _blocks(turn: Turn, ctx: Context) -> List[Dict[str, Any]]:
    blocks: List[Dict[str, Any]] = []
    # Anthropic has no refusal field: a refusal is text with stop_reason "refusal".
    text = turn.text if turn.refusal is None else (turn.text or "") + turn.refusal
    if text is not None:
        blocks.append({"type": "text", "text": text})
    for call in turn.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id or ctx.next_id("toolu_"), "name": call.name,
                       "input": _tool_input(call.arguments_json)})
    return blocks


def create_message(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context, request_id: str) -> WireResponse:
    """A ``message`` object, or the Messages event stream."""
    turn = _turn(body, reply, ctx)
    message = {
        "id": ctx.next_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": turn.model,
        "content": _blocks(turn, ctx),
        "stop_reason": turn.finish_anthropic,
        "stop_sequence": turn.stop_sequence,
        "usage": _usage(turn, turn.output_tokens, body.get("speed")),
    }
    if body.get("stream"):
        return sse_response(_events(message, turn), headers(request_id))
    return json_response(200, message, headers(request_id))


def _events(message: Dict[str, Any], turn: Turn) -> List[bytes]:
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None, "usage": _usage(turn, 1, message["usage"].get("speed"))}
    events = [sse_event("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opened: Dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in split_chunks(block["text"], turn.chunks)
                      if p]
        else:
            opened = {**block, "input": {}}
            arguments = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in ["", *split_chunks(arguments, turn.chunks)]]
        events.append(sse_event("content_block_start",
                                {"type": "content_block_start", "index": index, "content_block": opened}))
        if index == 0:
            events.append(sse_event("ping", {"type": "ping"}))
        events += [sse_event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
                   for d in deltas]
        events.append(sse_event("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    events.append(sse_event("message_delta", {"type": "message_delta", "delta": delta,
                                              "usage": {"output_tokens": turn.output_tokens}}))
    events.append(sse_event("message_stop", {"type": "message_stop"}))
    return events
