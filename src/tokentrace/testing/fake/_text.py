"""The deterministic token rule, default reply text and stream splitting."""

from __future__ import annotations

import re
from typing import Any, Iterable, List, Optional, Sequence, Tuple

#: Tokens added per message (and per system prompt / instructions) on top of its words.
MESSAGE_OVERHEAD = 3
DEFAULT_PREFIX = "This is a fake reply to: "

_WORD = re.compile(r"\S+")


def count_words(text: Optional[str]) -> int:
    """Whitespace-separated words: the fake's notion of a token."""
    return len(text.split()) if text else 0


def content_text(content: Any) -> str:
    """The text of a message's content: a string, or the ``text`` of its parts.

    Tool results nested in Anthropic ``tool_result`` parts count too.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, str):
                pieces.append(part)
            elif isinstance(part, dict):
                text = part.get("text")
                if isinstance(text, str):
                    pieces.append(text)
                elif part.get("type") == "tool_result":
                    pieces.append(content_text(part.get("content")))
        return " ".join(pieces)
    return ""


def item_text(item: Any) -> str:
    """Text of a chat message or Responses input item (``content``, else a tool ``output``)."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict):
        return ""
    if "content" in item:
        return content_text(item["content"])
    output = item.get("output")
    return output if isinstance(output, str) else ""


def messages_tokens(messages: Iterable[Any]) -> int:
    """Σ over messages of (``MESSAGE_OVERHEAD`` + words of its text)."""
    return sum(MESSAGE_OVERHEAD + count_words(item_text(m)) for m in messages)


def last_user_text(messages: Sequence[Any]) -> str:
    """Text of the last ``role: user`` message (or of a bare string input)."""
    for message in reversed(messages):
        if isinstance(message, str):
            return message
        if isinstance(message, dict) and message.get("role", "user") == "user" and "content" in message:
            return content_text(message["content"])
    return ""


def default_text(prompt: str) -> str:
    """``"This is a fake reply to: <first 40 chars of the prompt>"``."""
    snippet = " ".join(prompt.split())[:40]
    return DEFAULT_PREFIX + snippet if snippet else "This is a fake reply."


def split_chunks(text: str, count: int) -> List[str]:
    """``text`` in ``count`` near-equal pieces (fewer when the text is shorter)."""
    length = len(text)
    count = max(1, min(count, length))
    if count == 1:
        return [text]
    return [text[i * length // count : (i + 1) * length // count] for i in range(count)]


def truncate_words(text: str, limit: int) -> Tuple[str, bool]:
    """The first ``limit`` words of ``text`` and whether anything was cut."""
    if limit <= 0:
        return "", bool(text)
    ends = [m.end() for m in _WORD.finditer(text)]
    if len(ends) <= limit:
        return text, False
    return text[: ends[limit - 1]], True


def cut_at_stop(text: str, stops: Sequence[str]) -> Tuple[str, Optional[str]]:
    """``text`` before the earliest stop sequence it contains, and that sequence."""
    best: Optional[Tuple[int, str]] = None
    for stop in stops:
        if stop:
            at = text.find(stop)
            if at >= 0 and (best is None or at < best[0]):
                best = (at, stop)
    if best is None:
        return text, None
    return text[: best[0]], best[1]
