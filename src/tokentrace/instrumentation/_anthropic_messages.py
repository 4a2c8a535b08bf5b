"""Anthropic Messages: request body, response and stream events to the neutral model.

Anthropic reports ``input_tokens`` without cache reads and writes; the conventions' input count
includes them, so ``Usage.input_tokens`` is the sum. ``message_delta.usage`` is cumulative:
its counts replace, never add to, what ``message_start`` said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from .. import semconv as sc
from ..content import function_tool_definitions, text_part, text_parts, tool_call_part, tool_response_part
from ..cost import FAST_SPEED
from ..model import GenAIRequest, GenAIResult, Usage
from ._attributes import accessor, base_attributes, copy_numbers, get, model_of, stop_sequences

_NUMBERS = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "top_k": sc.GEN_AI_REQUEST_TOP_K,
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
}
_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


def build_request(body: Mapping[str, Any], server: tuple[str, int]) -> GenAIRequest:
    model = model_of(body)
    attrs = base_attributes(sc.PROVIDER_ANTHROPIC, sc.OPERATION_CHAT, model, server)
    copy_numbers(attrs, body, _NUMBERS)
    stops = stop_sequences(body.get("stop_sequences"))
    if stops:
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = stops
    stream = bool(body.get("stream"))
    attrs[sc.GEN_AI_REQUEST_STREAM] = stream
    attrs[sc.GEN_AI_OUTPUT_TYPE] = _output_type(body)
    return GenAIRequest(
        provider=sc.PROVIDER_ANTHROPIC,
        operation=sc.OPERATION_CHAT,
        model=model,
        stream=stream,
        attributes=attrs,
        body=body,
        content=lambda: input_content(body),
    )


def _output_type(body: Mapping[str, Any]) -> str:
    for holder in (body, body.get("output_config")):
        fmt = holder.get("output_format", holder.get("format")) if isinstance(holder, Mapping) else None
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            return sc.OUTPUT_TYPE_JSON
    return sc.OUTPUT_TYPE_TEXT


def usage_from_counts(counts: Mapping[str, Optional[int]]) -> Usage:
    uncached = counts.get("input_tokens")
    read = counts.get("cache_read_input_tokens")
    written = counts.get("cache_creation_input_tokens")
    total_input = None if uncached is None else uncached + (read or 0) + (written or 0)
    return Usage(
        input_tokens=total_input,
        output_tokens=counts.get("output_tokens"),
        cache_read_input_tokens=read,
        cache_creation_input_tokens=written,
        cache_creation_1h_input_tokens=counts.get("cache_creation_1h"),
    )


def _counts(usage: Any) -> dict[str, Optional[int]]:
    counts = {name: get(usage, name) for name in _USAGE_FIELDS}
    breakdown = get(usage, "cache_creation")
    if breakdown is not None:
        counts["cache_creation_1h"] = get(breakdown, "ephemeral_1h_input_tokens")
    return counts


def _tier(usage: Any) -> Optional[str]:
    """The rates the call is billed at: ``fast`` for fast mode (``usage.speed``), else ``usage.service_tier``."""
    if usage is None:
        return None
    if get(usage, "speed") == FAST_SPEED:
        return FAST_SPEED
    tier = get(usage, "service_tier")
    return tier if isinstance(tier, str) else None


def result_of(message: Any) -> GenAIResult:
    usage = get(message, "usage")
    reason = get(message, "stop_reason")
    content = get(message, "content") or ()
    return GenAIResult(
        response_id=get(message, "id"),
        response_model=get(message, "model"),
        finish_reasons=(reason,) if reason else (),
        usage=usage_from_counts(_counts(usage)) if usage is not None else None,
        output_messages=lambda: [_output_message(content, reason)],
        service_tier=_tier(usage),
    )


def _output_message(blocks: Any, reason: Optional[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = get(block, "type")
        if kind == "text":
            parts.append(text_part(get(block, "text") or ""))
        elif kind == "tool_use":
            parts.append(tool_call_part(get(block, "id"), get(block, "name"), get(block, "input")))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": get(block, "thinking") or ""})
        elif kind:
            parts.append({"type": str(kind)})
    return {"role": "assistant", "parts": parts, "finish_reason": reason or ""}


def input_content(body: Mapping[str, Any]) -> dict[str, Any]:
    messages = []
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        parts = text_parts(content)
        if isinstance(content, list):
            parts = _blocks_to_parts(content)
        messages.append({"role": message.get("role"), "parts": parts})
    return {
        sc.GEN_AI_INPUT_MESSAGES: messages,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS: text_parts(body.get("system")),
        sc.GEN_AI_TOOL_DEFINITIONS: function_tool_definitions(body.get("tools")),
    }


def _blocks_to_parts(blocks: list[Any]) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "tool_use":
            parts.append(tool_call_part(block.get("id"), block.get("name"), block.get("input")))
        elif kind == "tool_result":
            parts.append(tool_response_part(block.get("tool_use_id"), block.get("content")))
        else:
            parts.extend(text_parts([block]))
    return parts


class _NoType:
    """Matches no event: the text-delta fast path is off."""


class MessagesStreamAccumulator:
    """Folds raw Messages stream events (``message_start`` … ``message_stop``)."""

    __slots__ = ("response_id", "model", "counts", "stop_reason", "blocks", "tier", "_text_delta")

    def __init__(self, request: GenAIRequest, usage_injected: bool) -> None:
        self.response_id: Optional[str] = None
        self.model: Optional[str] = None
        self.counts: dict[str, Optional[int]] = {}
        self.stop_reason: Optional[str] = None
        self.blocks: dict[int, list[Any]] = {}
        self.tier: Optional[str] = None
        self._text_delta: tuple[type, type] = (_NoType, _NoType)
        """The SDK's (event, delta) classes of a text delta, once the general path has seen one."""

    def add(self, event: Any) -> bool:
        # Most events are a text delta: read with plain attribute loads (no calls).
        event_type, delta_type = self._text_delta
        if type(event) is event_type:
            try:
                delta = event.delta
                if type(delta) is delta_type:
                    piece = delta.text
                    if piece:
                        block = self.blocks.get(event.index or 0)
                        if block is not None:
                            block[2].append(piece)
                    return True
            except AttributeError:  # an SDK model without one of these fields: the general path from now on
                self._text_delta = (_NoType, _NoType)
        return self._add(event)

    def _add(self, event: Any) -> bool:
        read = accessor(event)
        kind = read(event, "type", None)
        if kind == "content_block_delta":
            delta = read(event, "delta", None)
            text = read(delta, "text", None)
            if read is getattr and isinstance(text, str):
                self._text_delta = (type(event), type(delta))
            piece = text or read(delta, "partial_json", None) or read(delta, "thinking", None)
            if piece:
                block = self.blocks.get(read(event, "index", None) or 0)
                if block is not None:
                    block[2].append(piece)
        elif kind == "content_block_start":
            block = get(event, "content_block")
            self.blocks[get(event, "index") or 0] = [get(block, "type"), block, []]
        elif kind == "message_start":
            message = get(event, "message")
            self.response_id = get(message, "id")
            self.model = get(message, "model")
            self._take_counts(get(message, "usage"))
        elif kind == "message_delta":
            self.stop_reason = get(get(event, "delta"), "stop_reason") or self.stop_reason
            self._take_counts(get(event, "usage"))
        return True

    def _take_counts(self, usage: Any) -> None:
        if usage is None:
            return
        for name, value in _counts(usage).items():
            if value is not None:
                self.counts[name] = value
        self.tier = _tier(usage) or self.tier

    def result(self) -> GenAIResult:
        blocks = [self.blocks[i] for i in sorted(self.blocks)]
        reason = self.stop_reason
        return GenAIResult(
            response_id=self.response_id,
            response_model=self.model,
            finish_reasons=(reason,) if reason else (),
            usage=usage_from_counts(self.counts) if self.counts else None,
            output_messages=lambda: [_streamed_message(blocks, reason)],
            output_text=lambda: ["".join(pieces) for _, _, pieces in blocks],
            service_tier=self.tier,
        )


def _streamed_message(blocks: list[list[Any]], reason: Optional[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for kind, start, pieces in blocks:
        text = "".join(pieces)
        if kind == "tool_use":
            parts.append(tool_call_part(get(start, "id"), get(start, "name"), text or get(start, "input")))
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": text})
        else:
            parts.append(text_part(text))
    return {"role": "assistant", "parts": parts, "finish_reason": reason or ""}
