"""OpenAI Responses API and Embeddings: request body, response and events to the neutral model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from .. import semconv as sc
from ..content import function_tool_definitions, text_part, text_parts, tool_call_part, tool_response_part
from ..model import GenAIRequest, GenAIResult, Usage
from ._attributes import base_attributes, copy_numbers, get, model_of

_NUMBERS = {"temperature": sc.GEN_AI_REQUEST_TEMPERATURE, "top_p": sc.GEN_AI_REQUEST_TOP_P}
_FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


def build_request(body: Mapping[str, Any], server: tuple[str, int]) -> GenAIRequest:
    model = model_of(body)
    attrs = base_attributes(sc.PROVIDER_OPENAI, sc.OPERATION_CHAT, model, server)
    attrs[sc.OPENAI_API_TYPE] = sc.API_TYPE_RESPONSES
    copy_numbers(attrs, body, _NUMBERS)
    if isinstance(body.get("max_output_tokens"), int):
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = body["max_output_tokens"]
    stream = bool(body.get("stream"))
    attrs[sc.GEN_AI_REQUEST_STREAM] = stream
    if isinstance(body.get("service_tier"), str):
        attrs[sc.OPENAI_REQUEST_SERVICE_TIER] = body["service_tier"]
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    attrs[sc.GEN_AI_OUTPUT_TYPE] = sc.OUTPUT_TYPE_JSON if kind in ("json_schema", "json_object") else sc.OUTPUT_TYPE_TEXT
    return GenAIRequest(
        provider=sc.PROVIDER_OPENAI,
        operation=sc.OPERATION_CHAT,
        model=model,
        stream=stream,
        attributes=attrs,
        body=body,
        content=lambda: input_content(body),
    )


def usage_of(usage: Any) -> Optional[Usage]:
    if usage is None:
        return None
    details = get(usage, "input_tokens_details")
    out_details = get(usage, "output_tokens_details")
    return Usage(
        input_tokens=get(usage, "input_tokens"),
        output_tokens=get(usage, "output_tokens"),
        cache_read_input_tokens=get(details, "cached_tokens") if details is not None else None,
        reasoning_output_tokens=get(out_details, "reasoning_tokens") if out_details is not None else None,
    )


def finish_reason(response: Any) -> str:
    status = get(response, "status")
    if status == "incomplete":
        details = get(response, "incomplete_details")
        return get(details, "reason") or "incomplete" if details is not None else "incomplete"
    if status == "failed":
        return "error"
    if any(get(item, "type") == "function_call" for item in get(response, "output") or ()):
        return "tool_calls"
    return "stop"


def failure_of(response: Any) -> Optional[str]:
    """``error.type`` of a response the API reports as failed: its error code."""
    if get(response, "status") != "failed":
        return None
    error = get(response, "error")
    code = get(error, "code") if error is not None else None
    return str(code) if code else sc.ERROR_TYPE_OTHER


def result_of(response: Any) -> GenAIResult:
    attrs: dict[str, Any] = {}
    tier = get(response, "service_tier")
    if isinstance(tier, str):
        attrs[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
    reason = finish_reason(response)
    return GenAIResult(
        error=failure_of(response),
        response_id=get(response, "id"),
        response_model=get(response, "model"),
        finish_reasons=(reason,),
        usage=usage_of(get(response, "usage")),
        attributes=attrs,
        output_messages=lambda: [_output_message(response, reason)],
        service_tier=tier if isinstance(tier, str) else None,
    )


def _output_message(response: Any, reason: str) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for item in get(response, "output") or ():
        kind = get(item, "type")
        if kind == "message":
            for block in get(item, "content") or ():
                text = get(block, "text")
                if text is not None:
                    parts.append(text_part(text))
                elif get(block, "refusal"):
                    parts.append({"type": "refusal", "content": get(block, "refusal")})
        elif kind == "function_call":
            parts.append(tool_call_part(get(item, "call_id"), get(item, "name"), get(item, "arguments")))
        elif kind:
            parts.append({"type": str(kind)})
    return {"role": "assistant", "parts": parts, "finish_reason": reason}


def input_content(body: Mapping[str, Any]) -> dict[str, Any]:
    system = text_parts(body.get("instructions")) if body.get("instructions") else []
    messages: list[dict[str, Any]] = []
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "parts": [text_part(items)]})
        items = ()
    for item in items or ():
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        if kind == "function_call":
            part = tool_call_part(item.get("call_id"), item.get("name"), item.get("arguments"))
            messages.append({"role": "assistant", "parts": [part]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "parts": [tool_response_part(item.get("call_id"), item.get("output"))]})
        elif item.get("role") in ("system", "developer"):
            system.extend(text_parts(item.get("content")))
        else:
            messages.append({"role": item.get("role", "user"), "parts": text_parts(item.get("content"))})
    return {
        sc.GEN_AI_INPUT_MESSAGES: messages,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS: system,
        sc.GEN_AI_TOOL_DEFINITIONS: function_tool_definitions(body.get("tools")),
    }


class ResponsesStreamAccumulator:
    """Folds Responses API stream events; the final event carries the whole response."""

    __slots__ = ("final", "response_id", "model", "text")

    def __init__(self, request: GenAIRequest, usage_injected: bool) -> None:
        self.final: Any = None
        self.response_id: Optional[str] = None
        self.model: Optional[str] = None
        self.text: list[str] = []

    def add(self, event: Any) -> bool:
        kind = get(event, "type")
        if kind == "response.output_text.delta":
            self.text.append(get(event, "delta") or "")
        elif kind in _FINAL_EVENTS:
            self.final = get(event, "response")
        elif kind == "response.created":
            response = get(event, "response")
            self.response_id = get(response, "id")
            self.model = get(response, "model")
        return True

    def result(self) -> GenAIResult:
        if self.final is not None:
            return result_of(self.final)
        text = "".join(self.text)
        return GenAIResult(
            response_id=self.response_id,
            response_model=self.model,
            output_messages=lambda: [{"role": "assistant", "parts": [text_part(text)], "finish_reason": ""}],
            output_text=lambda: [text],
        )


# --- embeddings ----------------------------------------------------------------------------


def build_embeddings_request(body: Mapping[str, Any], server: tuple[str, int]) -> GenAIRequest:
    model = model_of(body)
    attrs = base_attributes(sc.PROVIDER_OPENAI, sc.OPERATION_EMBEDDINGS, model, server)
    fmt = body.get("encoding_format")
    if isinstance(fmt, str):
        attrs[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = [fmt]
    if isinstance(body.get("dimensions"), int):
        attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = body["dimensions"]
    return GenAIRequest(
        provider=sc.PROVIDER_OPENAI,
        operation=sc.OPERATION_EMBEDDINGS,
        model=model,
        stream=False,
        attributes=attrs,
        body=body,
    )


def embeddings_result_of(response: Any) -> GenAIResult:
    usage = get(response, "usage")
    data = get(response, "data") or ()
    attrs: dict[str, Any] = {}
    if data:
        vector = get(data[0], "embedding")
        if isinstance(vector, (list, tuple)):
            attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(vector)
    return GenAIResult(
        response_model=get(response, "model"),
        usage=Usage(input_tokens=get(usage, "prompt_tokens")) if usage is not None else None,
        attributes=attrs,
    )


class NoStream:
    """Embeddings never stream; present so every route has an accumulator."""

    def __init__(self, request: GenAIRequest, usage_injected: bool) -> None:
        pass

    def add(self, chunk: Any) -> bool:
        return True

    def result(self) -> GenAIResult:
        return GenAIResult()
