"""OpenAI ``/responses`` (Responses API), plain and streamed."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ._model import FakeError, FakeReply
from ._openai import error_object, headers
from ._text import MESSAGE_OVERHEAD, count_words, last_user_text, messages_tokens, split_chunks
from ._turn import Turn, resolve_turn
from ._wire import Context, WireResponse, json_response, sse_event, sse_response

_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}
FAILED = "failed"
"""``FakeReply(finish_reason="failed")``: a response with ``status: failed`` and a ``server_error``
(``response.failed`` as the last stream event), as the API reports a failure after a 200."""


def _turn(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context) -> Turn:
    raw_input = body.get("input")
    items = [raw_input] if isinstance(raw_input, str) else list(raw_input or [])
    tokens = messages_tokens(items)
    instructions = body.get("instructions")
    if isinstance(instructions, str):
        tokens += MESSAGE_OVERHEAD + count_words(instructions)
    return resolve_turn(
        reply,
        prompt=last_user_text(items),
        input_tokens=tokens,
        model=str(body.get("model", "")),
        max_tokens=body.get("max_output_tokens"),
        stops=(),
        default_chunks=ctx.default_chunks,
    )


def _usage(turn: Turn) -> Dict[str, Any]:
    return {
        "input_tokens": turn.input_tokens,
        # cache_write_tokens is required by recent SDK models; it carries the reply's cache writes.
        "input_tokens_details": {"cached_tokens": turn.cached_tokens, "cache_write_tokens": turn.cache_creation_tokens},
        "output_tokens": turn.output_tokens,
        "output_tokens_details": {"reasoning_tokens": turn.reasoning_tokens},
        "total_tokens": turn.input_tokens + turn.output_tokens,
    }


class _Builder:
    """Builds the response object and its output items for one request."""

    def __init__(self, body: Dict[str, Any], turn: Turn, ctx: Context) -> None:
        self.body = body
        self.turn = turn
        self.id = ctx.next_id("resp_")
        self.created = ctx.now()
        self.incomplete = _INCOMPLETE.get(turn.finish_openai)
        self.item_status = "incomplete" if self.incomplete else "completed"
        self.message_id = ctx.next_id("msg_") if turn.text is not None or turn.refusal is not None else None
        self.calls = [(ctx.next_id("fc_"), call.id or ctx.next_id("call_"), call) for call in turn.tool_calls]

    def parts(self) -> List[Dict[str, Any]]:
        parts: List[Dict[str, Any]] = []
        if self.turn.text is not None:
            parts.append({"type": "output_text", "annotations": [], "logprobs": [], "text": self.turn.text})
        if self.turn.refusal is not None:
            parts.append({"type": "refusal", "refusal": self.turn.refusal})
        return parts

    def message(self, status: str, parts: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"id": self.message_id, "type": "message", "status": status, "content": parts, "role": "assistant"}

    def call(self, index: int, status: str, arguments: Optional[str] = None) -> Dict[str, Any]:
        item_id, call_id, call = self.calls[index]
        return {
            "id": item_id,
            "type": "function_call",
            "status": status,
            "arguments": call.arguments_json if arguments is None else arguments,
            "call_id": call_id,
            "name": call.name,
        }

    def output(self) -> List[Dict[str, Any]]:
        items = [self.message(self.item_status, self.parts())] if self.message_id else []
        return items + [self.call(i, "completed") for i in range(len(self.calls))]

    def response(self, status: str, output: List[Dict[str, Any]], usage: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        body = self.body
        reasoning = body.get("reasoning") or {}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "background": bool(body.get("background", False)),
            "error": None,
            "incomplete_details": {"reason": self.incomplete} if self.incomplete and status == "incomplete" else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": self.turn.model,
            "output": output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": body.get("service_tier") or "default",
            "store": body.get("store", True),
            "temperature": body.get("temperature", 1.0),
            "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_logprobs": body.get("top_logprobs", 0),
            "top_p": body.get("top_p", 1.0),
            "truncation": body.get("truncation", "disabled"),
            "usage": usage,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }

    def final(self) -> Dict[str, Any]:
        if self.turn.finish_openai == FAILED:
            failed = self.response(FAILED, self.output(), _usage(self.turn))
            return {**failed, "error": {"code": "server_error", "message": "The model failed to generate a response."}}
        return self.response("incomplete" if self.incomplete else "completed", self.output(), _usage(self.turn))


def create_response(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context, request_id: str) -> WireResponse:
    """A ``response`` object, or the Responses API event stream."""
    builder = _Builder(body, _turn(body, reply, ctx), ctx)
    if body.get("stream"):
        return sse_response(_events(builder), headers(request_id))
    return json_response(200, builder.final(), headers(request_id))


def _events(b: _Builder) -> List[bytes]:
    events: List[Tuple[str, Dict[str, Any]]] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append((kind, fields))

    emit("response.created", response=b.response("in_progress", [], None))
    emit("response.in_progress", response=b.response("in_progress", [], None))
    index = 0
    if b.message_id:
        emit("response.output_item.added", output_index=index, item=b.message("in_progress", []))
        for content_index, part in enumerate(b.parts()):
            where = {"item_id": b.message_id, "output_index": index, "content_index": content_index}
            if part["type"] == "output_text":
                emit("response.content_part.added", **where, part={**part, "text": ""})
                for piece in split_chunks(part["text"], b.turn.chunks) if part["text"] else []:
                    emit("response.output_text.delta", **where, delta=piece, logprobs=[])
                emit("response.output_text.done", **where, text=part["text"], logprobs=[])
            else:
                emit("response.content_part.added", **where, part={**part, "refusal": ""})
                for piece in split_chunks(part["refusal"], b.turn.chunks) if part["refusal"] else []:
                    emit("response.refusal.delta", **where, delta=piece)
                emit("response.refusal.done", **where, refusal=part["refusal"])
            emit("response.content_part.done", **where, part=part)
        emit("response.output_item.done", output_index=index, item=b.message(b.item_status, b.parts()))
        index += 1
    for call_index in range(len(b.calls)):
        item = b.call(call_index, "completed")
        emit("response.output_item.added", output_index=index, item=b.call(call_index, "in_progress", ""))
        where = {"item_id": item["id"], "output_index": index}
        for piece in split_chunks(item["arguments"], b.turn.chunks):
            emit("response.function_call_arguments.delta", **where, delta=piece)
        emit("response.function_call_arguments.done", **where, arguments=item["arguments"])
        emit("response.output_item.done", output_index=index, item=item)
        index += 1
    final = b.final()
    emit(f"response.{final['status']}", response=final)
    return [
        sse_event(kind, {"type": kind, "sequence_number": seq, **fields}) for seq, (kind, fields) in enumerate(events)
    ]


def stream_error(error: FakeError, sequence_number: int) -> bytes:
    """The Responses API's mid-stream ``error`` event."""
    inner = error_object(error)
    data = {"type": "error", "code": inner["code"] or inner["type"], "message": inner["message"], "param": None,
            "sequence_number": sequence_number}
    return sse_event("error", data)
