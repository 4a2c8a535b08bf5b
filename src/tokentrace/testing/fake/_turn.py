"""Resolve a queued :class:`FakeReply` against a request into provider-neutral facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

from ._model import FakeReply, FakeToolCall
from ._text import count_words, cut_at_stop, default_text, truncate_words

_TO_OPENAI = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
              "refusal": "content_filter", "pause_turn": "stop"}
_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                 "content_filter": "refusal"}

_EMPTY = FakeReply()


@dataclass
class Turn:
    """One model answer, with the finish reason in both vocabularies and the token counts."""

    text: Optional[str]
    refusal: Optional[str]
    tool_calls: List[FakeToolCall]
    finish_openai: str
    finish_anthropic: str
    stop_sequence: Optional[str]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cache_creation_tokens: int
    reasoning_tokens: int
    model: str
    chunks: int


def resolve_turn(
    reply: Optional[FakeReply],
    *,
    prompt: str,
    input_tokens: int,
    model: str,
    max_tokens: Optional[int],
    stops: Sequence[str],
    default_chunks: int,
) -> Turn:
    """Apply defaults, stop sequences and ``max_tokens`` truncation to ``reply``."""
    reply = reply or _EMPTY
    tool_calls = list(reply.tool_calls)
    refusal = reply.refusal
    text = reply.text
    if text is None and not tool_calls and refusal is None:
        text = default_text(prompt)

    derived = ("tool_calls", "tool_use") if tool_calls else ("stop", "end_turn")
    if refusal is not None:
        derived = ("stop", "refusal")
    stop_sequence = None
    if text and stops:
        text, stop_sequence = cut_at_stop(text, stops)
        if stop_sequence is not None:
            derived, tool_calls = ("stop", "stop_sequence"), []
    if text and max_tokens is not None:
        text, cut = truncate_words(text, max_tokens)
        if cut:
            derived, tool_calls, stop_sequence = ("length", "max_tokens"), [], None

    finish_openai, finish_anthropic = derived
    if reply.finish_reason is not None:
        finish_openai = _TO_OPENAI.get(reply.finish_reason, reply.finish_reason)
        finish_anthropic = _TO_ANTHROPIC.get(reply.finish_reason, reply.finish_reason)

    if reply.output_tokens is not None:
        output_tokens = reply.output_tokens
    else:
        visible = count_words(text) + count_words(refusal)
        visible += sum(count_words(c.name) + count_words(c.arguments_json) for c in tool_calls)
        output_tokens = max(1, visible) + reply.reasoning_tokens

    return Turn(
        text=text,
        refusal=refusal,
        tool_calls=tool_calls,
        finish_openai=finish_openai,
        finish_anthropic=finish_anthropic,
        stop_sequence=stop_sequence,
        input_tokens=reply.input_tokens if reply.input_tokens is not None else input_tokens,
        output_tokens=output_tokens,
        cached_tokens=reply.cached_tokens,
        cache_creation_tokens=reply.cache_creation_tokens,
        reasoning_tokens=reply.reasoning_tokens,
        model=reply.response_model or model,
        chunks=reply.chunks or default_chunks,
    )
