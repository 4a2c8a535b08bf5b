"""Between the two shapes of one answer: a complete response body and its stream events.

The cache stores every answer as the complete (non-stream) response body of its API. A stream
that was read to its end is folded into that body (:func:`fold_stream`); a cached body is
replayed to a ``stream=True`` request as the server-sent events the API would send
(:func:`stream_events`), so the SDK parses them into its own chunk/event types.

APIs: ``openai.chat`` (chat completions), ``openai.responses``, ``anthropic.messages``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional

OPENAI_CHAT = "openai.chat"
OPENAI_RESPONSES = "openai.responses"
OPENAI_EMBEDDINGS = "openai.embeddings"
ANTHROPIC_MESSAGES = "anthropic.messages"


def _data(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sse(events: Iterable[tuple[Optional[str], Any]]) -> bytes:
    """Encode ``(event name or None, data)`` pairs as a server-sent-events body."""
    out = []
    for name, data in events:
        text = data if isinstance(data, str) else _data(data)
        out.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
    return "".join(out).encode()


# --- complete body -> stream events --------------------------------------------------------
def stream_events(api: str, body: Mapping[str, Any], request: Mapping[str, Any]) -> bytes:
    if api == OPENAI_CHAT:
        return sse(_chat_events(body, request))
    if api == ANTHROPIC_MESSAGES:
        return sse(_anthropic_events(body))
    if api == OPENAI_RESPONSES:
        return sse(_responses_events(body))
    raise ValueError(f"no stream format for {api}")


def _chat_events(body: Mapping[str, Any], request: Mapping[str, Any]) -> Iterable[tuple[Optional[str], Any]]:
    options = request.get("stream_options")
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    head = {"id": body.get("id"), "object": "chat.completion.chunk", "created": body.get("created"),
            "model": body.get("model")}
    for name in ("system_fingerprint", "service_tier"):
        if body.get(name) is not None:
            head[name] = body[name]
    if include_usage:
        head["usage"] = None

    def chunk(index: int, delta: dict[str, Any], finish: Optional[str] = None, logprobs: Any = None) -> Any:
        choice: dict[str, Any] = {"index": index, "delta": delta, "finish_reason": finish}
        if logprobs is not None:
            choice["logprobs"] = logprobs
        return None, {**head, "choices": [choice]}

    for choice in body.get("choices") or []:
        index = choice.get("index", 0)
        message = choice.get("message") or {}
        yield chunk(index, {"role": message.get("role", "assistant"), "content": "" if message.get("content") is not None else None})
        if message.get("content"):
            yield chunk(index, {"content": message["content"]}, logprobs=choice.get("logprobs"))
        if message.get("refusal"):
            yield chunk(index, {"refusal": message["refusal"]})
        for position, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") or {}
            yield chunk(index, {"tool_calls": [{
                "index": position, "id": call.get("id"), "type": call.get("type", "function"),
                "function": {"name": function.get("name"), "arguments": function.get("arguments", "")},
            }]})
        yield chunk(index, {}, choice.get("finish_reason"))
    if include_usage:
        yield None, {**head, "choices": [], "usage": body.get("usage")}
    yield None, "[DONE]"


def _anthropic_events(body: Mapping[str, Any]) -> Iterable[tuple[Optional[str], Any]]:
    usage = dict(body.get("usage") or {})
    start_usage = {**usage, "output_tokens": min(usage.get("output_tokens") or 0, 1)}
    message = {**body, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    yield "message_start", {"type": "message_start", "message": message}
    for index, block in enumerate(body.get("content") or []):
        kind = block.get("type")
        if kind == "text":
            start = {k: v for k, v in block.items() if k != "citations"}
            start["text"] = ""
            deltas = [{"type": "text_delta", "text": block.get("text", "")}]
        elif kind in ("tool_use", "server_tool_use"):
            start = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": _data(block.get("input", {}))}]
        elif kind == "thinking":
            start = {**block, "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": block.get("thinking", "")},
                      {"type": "signature_delta", "signature": block.get("signature", "")}]
        else:  # redacted_thinking and blocks without deltas arrive whole
            start, deltas = dict(block), []
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield "message_delta", {
        "type": "message_delta",
        "delta": {"stop_reason": body.get("stop_reason"), "stop_sequence": body.get("stop_sequence")},
        "usage": usage,
    }
    yield "message_stop", {"type": "message_stop"}


def _responses_events(body: Mapping[str, Any]) -> Iterable[tuple[Optional[str], Any]]:
    sequence = iter(range(1 << 30))

    def event(kind: str, **fields: Any) -> tuple[str, Any]:
        return kind, {"type": kind, "sequence_number": next(sequence), **fields}

    pending = {**body, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=pending)
    yield event("response.in_progress", response=pending)
    for out_index, item in enumerate(body.get("output") or []):
        kind = item.get("type")
        if kind == "message":
            yield event("response.output_item.added", output_index=out_index,
                        item={**item, "status": "in_progress", "content": []})
            for part_index, part in enumerate(item.get("content") or []):
                common = {"item_id": item.get("id"), "output_index": out_index, "content_index": part_index}
                empty = {**part, "text": ""} if "text" in part else {**part, "refusal": ""}
                if part.get("type") == "output_text":
                    empty["annotations"] = []
                yield event("response.content_part.added", **common, part=empty)
                if part.get("type") == "output_text":
                    yield event("response.output_text.delta", **common, delta=part.get("text", ""), logprobs=[])
                    yield event("response.output_text.done", **common, text=part.get("text", ""), logprobs=[])
                elif part.get("type") == "refusal":
                    yield event("response.refusal.delta", **common, delta=part.get("refusal", ""))
                    yield event("response.refusal.done", **common, refusal=part.get("refusal", ""))
                yield event("response.content_part.done", **common, part=part)
        elif kind == "function_call":
            yield event("response.output_item.added", output_index=out_index,
                        item={**item, "status": "in_progress", "arguments": ""})
            common = {"item_id": item.get("id"), "output_index": out_index}
            yield event("response.function_call_arguments.delta", **common, delta=item.get("arguments", ""))
            yield event("response.function_call_arguments.done", **common, arguments=item.get("arguments", ""))
        else:
            yield event("response.output_item.added", output_index=out_index, item=item)
        yield event("response.output_item.done", output_index=out_index, item=item)
    yield event("response.completed", response=dict(body))


# --- stream chunks -> complete body ---------------------------------------------------------
def fold_stream(api: str, chunks: list[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    """The complete response body a finished stream carried, or None if it did not finish."""
    if api == OPENAI_CHAT:
        return _fold_chat(chunks)
    if api == ANTHROPIC_MESSAGES:
        return _fold_anthropic(chunks)
    if api == OPENAI_RESPONSES:
        return _fold_responses(chunks)
    return None


def _fold_chat(chunks: list[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    if not chunks:
        return None
    first = chunks[0]
    body: dict[str, Any] = {"id": first.get("id"), "object": "chat.completion", "created": first.get("created"),
                            "model": first.get("model")}
    choices: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for name in ("system_fingerprint", "service_tier"):
            if chunk.get(name) is not None:
                body[name] = chunk[name]
        if chunk.get("usage"):
            body["usage"] = chunk["usage"]
        for choice in chunk.get("choices") or []:
            _fold_chat_choice(choices, choice)
    if not choices or any(c["finish_reason"] is None for c in choices.values()):
        return None
    body["choices"] = [choices[i] for i in sorted(choices)]
    for choice in body["choices"]:
        message = choice["message"]
        if message.get("tool_calls"):
            message["tool_calls"] = [message["tool_calls"][i] for i in sorted(message["tool_calls"])]
    return body


def _fold_chat_choice(choices: dict[int, dict[str, Any]], choice: Mapping[str, Any]) -> None:
    index = choice.get("index", 0)
    state = choices.setdefault(index, {"index": index, "message": {"role": "assistant", "content": None},
                                       "finish_reason": None, "logprobs": None})
    delta = choice.get("delta") or {}
    message = state["message"]
    if delta.get("role"):
        message["role"] = delta["role"]
    for name in ("content", "refusal"):
        if delta.get(name) is not None:
            message[name] = (message.get(name) or "") + delta[name]
    for call in delta.get("tool_calls") or []:
        calls = message.setdefault("tool_calls", {})
        slot = calls.setdefault(call.get("index", 0), {"id": None, "type": "function",
                                                        "function": {"name": "", "arguments": ""}})
        if call.get("id"):
            slot["id"] = call["id"]
        function = call.get("function") or {}
        if function.get("name"):
            slot["function"]["name"] += function["name"]
        if function.get("arguments"):
            slot["function"]["arguments"] += function["arguments"]
    logprobs = choice.get("logprobs")
    if logprobs and logprobs.get("content"):
        state["logprobs"] = state["logprobs"] or {"content": [], "refusal": None}
        state["logprobs"]["content"].extend(logprobs["content"])
    if choice.get("finish_reason"):
        state["finish_reason"] = choice["finish_reason"]


def _fold_anthropic(events: list[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    body: Optional[dict[str, Any]] = None
    partial_json: dict[int, str] = {}
    stopped = False
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            body = dict(event.get("message") or {})
            body["content"] = []
        elif body is None:
            continue
        elif kind == "content_block_start":
            body["content"].append(dict(event.get("content_block") or {}))
        elif kind == "content_block_delta":
            _fold_anthropic_delta(body["content"][event["index"]], event.get("delta") or {}, partial_json, event["index"])
        elif kind == "content_block_stop":
            index = event.get("index", 0)
            if index in partial_json:
                text = partial_json.pop(index)
                body["content"][index]["input"] = json.loads(text) if text else {}
        elif kind == "message_delta":
            body.update({k: v for k, v in (event.get("delta") or {}).items()})
            body["usage"] = {**(body.get("usage") or {}), **{k: v for k, v in (event.get("usage") or {}).items() if v is not None}}
        elif kind == "message_stop":
            stopped = True
    return body if stopped else None


def _fold_anthropic_delta(block: dict[str, Any], delta: Mapping[str, Any], partial_json: dict[int, str], index: int) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + delta.get("text", "")
    elif kind == "input_json_delta":
        partial_json[index] = partial_json.get(index, "") + delta.get("partial_json", "")
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
    elif kind == "signature_delta":
        block["signature"] = delta.get("signature", "")
    elif kind == "citations_delta":
        block.setdefault("citations", []).append(delta.get("citation"))


def _fold_responses(events: list[Mapping[str, Any]]) -> Optional[dict[str, Any]]:
    for event in reversed(events):
        if event.get("type") == "response.completed":
            return dict(event.get("response") or {})
    return None
