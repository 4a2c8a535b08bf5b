"""Helpers for message content in the GenAI conventions' JSON shape.

Shapes: a message is ``{"role", "parts": [...]}`` (output messages add ``finish_reason``); a
part is ``{"type": "text", "content"}``, ``{"type": "tool_call", "id", "name", "arguments"}``,
``{"type": "tool_call_response", "id", "response"}``, or ``{"type": <other>, ...}`` for media.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def tool_call_part(call_id: Optional[str], name: Optional[str], arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": parse_arguments(arguments)}


def tool_response_part(call_id: Optional[str], response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments arrive as JSON text; record them as JSON when they parse."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def text_parts(content: Any) -> list[dict[str, Any]]:
    """Parts of a message ``content`` that is a string or a list of typed blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return [text_part(content)]
    parts: list[dict[str, Any]] = []
    for block in content if isinstance(content, Iterable) else ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        text = block.get("text")
        if isinstance(text, str):
            parts.append(text_part(text))
        elif kind in ("image_url", "image", "input_image"):
            parts.append({"type": "image"})
        elif kind in ("input_audio", "audio"):
            parts.append({"type": "audio"})
        elif kind in ("file", "input_file", "document"):
            parts.append({"type": "file"})
        elif kind:
            parts.append({"type": str(kind)})
    return parts


def function_tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """``gen_ai.tool.definitions`` from OpenAI-style or Anthropic-style tool lists."""
    definitions = []
    for tool in tools or ():
        if not isinstance(tool, Mapping):
            continue
        fn = tool.get("function") if isinstance(tool.get("function"), Mapping) else tool
        definition = {"type": tool.get("type") or "function", "name": fn.get("name")}
        if fn.get("description"):
            definition["description"] = fn["description"]
        schema = fn.get("parameters", fn.get("input_schema"))
        if schema is not None:
            definition["parameters"] = schema
        definitions.append(definition)
    return definitions
