"""OpenAI ``/chat/completions`` and OpenAI-shaped errors and headers."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ._model import FakeError, FakeReply
from ._text import last_user_text, messages_tokens, split_chunks
from ._turn import Turn, resolve_turn
from ._wire import SSE_DONE, Context, WireResponse, json_response, sse_data, sse_response

SYSTEM_FINGERPRINT = "fp_fa4e0c1d2e"

_ERROR_TYPES = {400: "invalid_request_error", 401: "invalid_request_error", 403: "invalid_request_error",
                404: "invalid_request_error", 409: "invalid_request_error", 422: "invalid_request_error",
                429: "requests"}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
_ERROR_MESSAGES = {
    400: "Invalid request.",
    401: "Incorrect API key provided.",
    403: "You are not allowed to perform this request.",
    404: "The model does not exist or you do not have access to it.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    503: "The engine is currently overloaded, please try again later.",
}


def headers(request_id: str) -> List[Tuple[str, str]]:
    """The response headers OpenAI sends that SDKs read."""
    return [("x-request-id", request_id), ("openai-version", "2020-10-01"), ("openai-processing-ms", "1")]


def error_object(error: FakeError) -> Dict[str, Any]:
    """The inner ``error`` object of an OpenAI error body."""
    status = error.status
    default_type = "server_error" if status >= 500 else "invalid_request_error"
    return {
        "message": error.message or _ERROR_MESSAGES.get(status, f"Fake error {status}."),
        "type": error.error_type or _ERROR_TYPES.get(status, default_type),
        "param": None,
        "code": error.code if error.code is not None else _ERROR_CODES.get(status),
    }


def error_response(error: FakeError, request_id: str) -> WireResponse:
    """``{"error": {message, type, param, code}}`` with the error's status."""
    extra = list((error.headers or {}).items())
    return json_response(error.status, {"error": error_object(error)}, headers(request_id) + extra)


def chat_stream_error(error: FakeError) -> bytes:
    """A chat stream's mid-stream error (the SDK raises ``APIError`` on it)."""
    return sse_data({"error": error_object(error)})


def _stops(value: Any) -> List[str]:
    if isinstance(value, str):
        return [value]
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def chat_turn(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context) -> Turn:
    """Resolve ``reply`` against a chat completions request body."""
    messages = body.get("messages") or []
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None:
        max_tokens = body.get("max_tokens")
    return resolve_turn(
        reply,
        prompt=last_user_text(messages),
        input_tokens=messages_tokens(messages),
        model=str(body.get("model", "")),
        max_tokens=max_tokens,
        stops=_stops(body.get("stop")),
        default_chunks=ctx.default_chunks,
    )


def _usage(turn: Turn, n: int) -> Dict[str, Any]:
    completion = turn.output_tokens * n
    return {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": completion,
        "total_tokens": turn.input_tokens + completion,
        "prompt_tokens_details": {"cached_tokens": turn.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": turn.reasoning_tokens * n,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_ids(turn: Turn, ctx: Context) -> List[str]:
    return [call.id or ctx.next_id("call_") for call in turn.tool_calls]


def chat_completion(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context, request_id: str) -> WireResponse:
    """A ``chat.completion`` object, or its ``chat.completion.chunk`` stream."""
    turn = chat_turn(body, reply, ctx)
    n = max(1, int(body.get("n") or 1))
    head = {
        "id": ctx.next_id("chatcmpl-"),
        "object": "chat.completion",
        "created": ctx.now(),
        "model": turn.model,
        "service_tier": body.get("service_tier") or "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if body.get("stream"):
        options = body.get("stream_options") or {}
        return sse_response(_chunks(head, turn, n, ctx, bool(options.get("include_usage"))), headers(request_id))
    message: Dict[str, Any] = {"role": "assistant", "content": turn.text, "refusal": turn.refusal, "annotations": []}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}
            for call_id, call in zip(_tool_ids(turn, ctx), turn.tool_calls, strict=True)
        ]
    choices = [
        {"index": i, "message": message, "logprobs": None, "finish_reason": turn.finish_openai} for i in range(n)
    ]
    return json_response(200, {**head, "choices": choices, "usage": _usage(turn, n)}, headers(request_id))


def _deltas(turn: Turn, ctx: Context) -> List[Tuple[Dict[str, Any], Optional[str]]]:
    """One choice's (delta, finish_reason) steps, as OpenAI streams them."""
    if turn.refusal is not None and turn.text is None:
        first: Dict[str, Any] = {"role": "assistant", "content": None, "refusal": ""}
    else:
        first = {"role": "assistant", "content": "" if turn.text is not None else None, "refusal": None}
    steps: List[Tuple[Dict[str, Any], Optional[str]]] = [(first, None)]
    if turn.text:
        steps += [({"content": piece}, None) for piece in split_chunks(turn.text, turn.chunks)]
    if turn.refusal:
        steps += [({"refusal": piece}, None) for piece in split_chunks(turn.refusal, turn.chunks)]
    for index, (call_id, call) in enumerate(zip(_tool_ids(turn, ctx), turn.tool_calls, strict=True)):
        header = {"index": index, "id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}
        steps.append(({"tool_calls": [header]}, None))
        steps += [
            ({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None)
            for piece in split_chunks(call.arguments_json, turn.chunks)
        ]
    steps.append(({}, turn.finish_openai))
    return steps


def _chunks(head: Dict[str, Any], turn: Turn, n: int, ctx: Context, include_usage: bool) -> List[bytes]:
    base = {**head, "object": "chat.completion.chunk"}
    # As the API sends them: with include_usage, every chunk ends with "usage":null after "choices".
    tail = {"usage": None} if include_usage else {}
    steps = _deltas(turn, ctx)
    chunks = [
        sse_data({**base, "choices": [{"index": i, "delta": delta, "logprobs": None, "finish_reason": finish}],
                  **tail})
        for delta, finish in steps
        for i in range(n)
    ]
    if include_usage:
        chunks.append(sse_data({**base, "choices": [], "usage": _usage(turn, n)}))
    chunks.append(SSE_DONE)
    return chunks
