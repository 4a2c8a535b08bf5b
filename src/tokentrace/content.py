"""Helpers for message content in the GenAI conventions' JSON shape.

Shapes: a message is ``{"role", "parts": [...]}`` (output messages add ``finish_reason``); a
part is ``{"type": "text", "content"}``, ``{"type": "tool_call", "id", "name", "arguments"}``,
``{"type": "tool_call_response", "id", "response"}``, a media part, or ``{"type": <other>}``.

Media parts (gen-ai-input-messages.json): ``{"type": "blob", "modality", "mime_type",
"content"}`` for data sent inline (``content`` is base64), ``{"type": "uri", "modality",
"mime_type", "uri"}`` for data the provider fetches, ``{"type": "file", "modality", "mime_type",
"file_id"}`` for a file uploaded to the provider before. ``modality`` is ``image``, ``video`` or
``audio``, and ``document`` for PDFs and other files (the conventions' newest value);
``mime_type`` is left out when the request does not tell it.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import unquote_to_bytes

BLOB = "blob"
URI = "uri"
FILE = "file"
DOCUMENT = "document"
_MODALITIES = ("image", "video", "audio")
_AUDIO_MIME_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


def tool_call_part(call_id: Optional[str], name: Optional[str], arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": parse_arguments(arguments)}


def tool_response_part(call_id: Optional[str], response: Any) -> dict[str, Any]:
    return {"type": "tool_call_response", "id": call_id, "response": response}


def blob_part(modality: str, content: str, mime_type: Optional[str] = None) -> dict[str, Any]:
    return _media_part(BLOB, modality, mime_type, "content", content)


def uri_part(modality: str, uri: str, mime_type: Optional[str] = None) -> dict[str, Any]:
    return _media_part(URI, modality, mime_type, "uri", uri)


def file_part(modality: str, file_id: str, mime_type: Optional[str] = None) -> dict[str, Any]:
    return _media_part(FILE, modality, mime_type, "file_id", file_id)


def _media_part(kind: str, modality: str, mime_type: Optional[str], key: str, value: str) -> dict[str, Any]:
    part = {"type": kind, "modality": modality}
    if mime_type:
        part["mime_type"] = mime_type
    part[key] = value
    return part


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments arrive as JSON text; record them as JSON when they parse."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def text_parts(content: Any) -> list[dict[str, Any]]:
    """Parts of a message ``content`` that is a string or a list of typed blocks (text and media)."""
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
        elif kind in _MEDIA_BLOCKS:
            parts.extend(_MEDIA_BLOCKS[kind](block))
        elif kind:
            parts.append({"type": str(kind)})
    return parts


# --- media blocks of each API ------------------------------------------------------------------


def _chat_image_url(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OpenAI chat ``{"type": "image_url", "image_url": {"url": "https://…" | "data:…"}}``."""
    image = block.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    return [_url_part(url, "image") or {"type": "image"}]


def _input_audio(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OpenAI ``{"type": "input_audio", "input_audio": {"data": <base64>, "format": "wav"}}``."""
    audio = block.get("input_audio")
    audio = audio if isinstance(audio, Mapping) else {}
    data, audio_format = audio.get("data"), audio.get("format")
    if not isinstance(data, str):
        return [{"type": "audio"}]
    mime_type = _AUDIO_MIME_TYPES.get(audio_format, f"audio/{audio_format}") if isinstance(audio_format, str) else None
    return [blob_part("audio", data, mime_type)]


def _chat_file(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """OpenAI chat ``{"type": "file", "file": {"file_id" | "file_data", "filename"}}``."""
    file = block.get("file")
    file = file if isinstance(file, Mapping) else {}
    return [_file_reference(file.get("file_id"), file.get("file_data"), None, file.get("filename"))]


def _input_image(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Responses ``{"type": "input_image", "image_url": "https://…" | "data:…", "file_id"}``."""
    if isinstance(block.get("file_id"), str):
        return [file_part("image", block["file_id"])]
    return [_url_part(block.get("image_url"), "image") or {"type": "image"}]


def _input_file(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Responses ``{"type": "input_file", "file_id" | "file_data" | "file_url", "filename"}``."""
    return [_file_reference(block.get("file_id"), block.get("file_data"), block.get("file_url"), block.get("filename"))]


def _anthropic_image(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _anthropic_source(block, "image")


def _anthropic_document(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    return _anthropic_source(block, DOCUMENT)


def _anthropic_source(block: Mapping[str, Any], default_modality: str) -> list[dict[str, Any]]:
    """Anthropic ``image`` / ``document`` blocks: their ``source`` is base64 data, a URL, an
    uploaded file, or (documents) plain text or content blocks."""
    source = block.get("source")
    source = source if isinstance(source, Mapping) else {}
    kind, mime_type = source.get("type"), source.get("media_type")
    modality = _modality(mime_type, default_modality)
    if kind == "base64" and isinstance(source.get("data"), str):
        return [blob_part(modality, source["data"], mime_type)]
    if kind == "url" and isinstance(source.get("url"), str):
        return [uri_part(modality, source["url"], mime_type)]
    if kind == "file" and isinstance(source.get("file_id"), str):
        return [file_part(modality, source["file_id"], mime_type)]
    if kind == "text" and isinstance(source.get("data"), str):
        return [text_part(source["data"])]
    if kind == "content":
        return text_parts(source.get("content"))
    return [{"type": str(block.get("type"))}]


_MEDIA_BLOCKS: dict[str, Callable[[Mapping[str, Any]], list[dict[str, Any]]]] = {
    "image_url": _chat_image_url,
    "input_audio": _input_audio,
    "file": _chat_file,
    "input_image": _input_image,
    "input_file": _input_file,
    "image": _anthropic_image,
    "document": _anthropic_document,
}


def _file_reference(file_id: Any, file_data: Any, file_url: Any, filename: Any) -> dict[str, Any]:
    """An OpenAI file input: uploaded (``file_id``), inline (``file_data``) or by URL."""
    guessed = mimetypes.guess_type(filename)[0] if isinstance(filename, str) else None
    if isinstance(file_id, str):
        return file_part(_modality(guessed, DOCUMENT), file_id, guessed)
    if isinstance(file_data, str):
        inline = _url_part(file_data, DOCUMENT) if file_data.startswith("data:") else None
        return inline or blob_part(_modality(guessed, DOCUMENT), file_data, guessed)
    if isinstance(file_url, str):
        return uri_part(_modality(guessed, DOCUMENT), file_url, guessed)
    return {"type": FILE}


def _url_part(url: Any, default_modality: str) -> Optional[dict[str, Any]]:
    """A ``data:`` URL as a blob part, any other URL as a uri part; None for no URL."""
    if not isinstance(url, str) or not url:
        return None
    if not url.startswith("data:"):
        return uri_part(default_modality, url)
    header, comma, data = url[5:].partition(",")
    if not comma:
        return None
    mime_type = header.split(";", 1)[0] or None
    if ";base64" not in header:  # percent-encoded data: blob content is base64
        data = base64.b64encode(unquote_to_bytes(data)).decode("ascii")
    return blob_part(_modality(mime_type, default_modality), data, mime_type)


def _modality(mime_type: Any, default: str) -> str:
    if isinstance(mime_type, str):
        family = mime_type.split("/", 1)[0]
        if family in _MODALITIES:
            return family
    return default


# --- scrubbing ---------------------------------------------------------------------------------


def scrub_content(value: Any, scrub: Callable[[Any], Any], cap: Callable[[str], str]) -> Any:
    """``value`` (messages, or a list of parts) with ``scrub`` applied to everything except the
    base64 ``content`` of blob parts, which only gets ``cap``: redacting inside encoded bytes
    finds nothing real and corrupts them."""
    if isinstance(value, list):
        return [scrub_content(item, scrub, cap) for item in value]
    if isinstance(value, Mapping):
        if value.get("type") == BLOB and isinstance(value.get("content"), str):
            return {**value, "content": cap(value["content"])}
        parts = value.get("parts")
        if isinstance(parts, list):
            rest = scrub({key: item for key, item in value.items() if key != "parts"})
            return {**rest, "parts": scrub_content(parts, scrub, cap)}
    return scrub(value)


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
