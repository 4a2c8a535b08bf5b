"""What a semantic lookup compares: the last user question, within an exactly matched context.

A semantic hit may only differ from the stored request in the wording of its last user
message. Everything else — model, parameters, tools, system prompt and every earlier turn of the
conversation — is hashed into the *partition*, and only entries of the same partition are
searched. So a follow-up ("and in 2020?") is never matched against the same words asked after
a different conversation, which is the false hit of caches that embed only the last message and
ignore the rest.
"""

from __future__ import annotations

import hashlib
from typing import Any, Mapping, Optional

from ._key import KEY_VERSION, answer_fields, canonical_json
from ._replay import ANTHROPIC_MESSAGES, OPENAI_CHAT, OPENAI_RESPONSES

_PLACEHOLDER = "\x00question\x00"


def _text_of(content: Any, part_types: tuple[str, ...]) -> Optional[str]:
    """The text of a message's content, or None when it holds anything but text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content:
        texts = []
        for part in content:
            if not isinstance(part, Mapping) or part.get("type") not in part_types:
                return None
            texts.append(str(part.get("text", "")))
        return "\n".join(texts)
    return None


def question_and_context(api: str, body: Mapping[str, Any]) -> Optional[tuple[str, dict[str, Any]]]:
    """(the last user message's text, the body with that text replaced by a placeholder).

    None when the request has no plain-text last user message (images, tool results, ...):
    such requests are matched exactly only.
    """
    if api in (OPENAI_CHAT, ANTHROPIC_MESSAGES):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], Mapping):
            return None
        last = messages[-1]
        if last.get("role") != "user":
            return None
        text = _text_of(last.get("content"), ("text",))
        if text is None or not text.strip():
            return None
        context = {**body, "messages": messages[:-1] + [{**last, "content": _PLACEHOLDER}]}
        return text, context
    if api == OPENAI_RESPONSES:
        given = body.get("input")
        if isinstance(given, str):
            return (given, {**body, "input": _PLACEHOLDER}) if given.strip() else None
        if isinstance(given, list) and given and isinstance(given[-1], Mapping):
            last = given[-1]
            if last.get("role") != "user":
                return None
            text = _text_of(last.get("content"), ("input_text", "text"))
            if text is None or not text.strip():
                return None
            return text, {**body, "input": given[:-1] + [{**last, "content": _PLACEHOLDER}]}
    return None


def partition_of(provider: str, api: str, scope: str, context: Mapping[str, Any], embedder: str) -> str:
    digest = hashlib.sha256()
    for part in (KEY_VERSION, "semantic", provider, api, scope, embedder):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(canonical_json(answer_fields(context)).encode())
    return digest.hexdigest()[:32]
