"""Image token formulas (OpenAI, Anthropic) and image sizes read from inline (base64) data."""

from __future__ import annotations

import base64
import binascii
import math
import re
import struct
from typing import Optional

# OpenAI, detail high/auto, when the size is unknown (an http(s) URL): a 1024x1024 image, i.e. what a
# typical photo costs once scaled (2048 square, then 768 shortest side: 2x2 tiles = 765 tokens).
OPENAI_DEFAULT_SIZE = (1024, 1024)
# Anthropic, when the size is unknown: the documented cap (~1,600 tokens: images are scaled down
# until the long edge is at most 1568 px and the image is at most ~1.15 megapixels).
ANTHROPIC_MAX_IMAGE_TOKENS = 1600

_PATCH_MULTIPLIER = {"gpt-4.1-mini": 1.62, "gpt-4.1-nano": 2.46, "o4-mini": 1.72}
"""Models OpenAI documents as billed per 32px patch (at most 1536 patches), times a multiplier."""
_O_SERIES_TILES = re.compile(r"o[13](?:$|-(?!mini))")


def openai_image_tokens(model: str, width: int, height: int, detail: str) -> int:
    """OpenAI's documented image cost (vision guide, "Calculating costs")."""
    model = model.lower()
    for prefix, multiplier in _PATCH_MULTIPLIER.items():
        if model.startswith(prefix):
            return math.ceil(_patches(width, height) * multiplier)
    # base and per-512px-tile cost: 85/170 unless OpenAI documents other values for the model
    if model.startswith("gpt-4o-mini"):
        base, tile = 2833, 5667
    elif _O_SERIES_TILES.match(model):
        base, tile = 75, 150
    else:
        base, tile = 85, 170
    if detail == "low":
        return base
    w, h = float(width), float(height)
    if max(w, h) > 2048:  # fit within 2048 x 2048
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:  # shortest side 768
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return base + tile * tiles


def _patches(width: int, height: int) -> int:
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches <= 1536:
        return patches
    ratio = math.sqrt(32 * 32 * 1536 / (width * height))
    ratio *= min(math.floor(width * ratio / 32) / (width * ratio / 32),
                 math.floor(height * ratio / 32) / (height * ratio / 32))
    return min(1536, math.ceil(width * ratio / 32) * math.ceil(height * ratio / 32))


def anthropic_image_tokens(width: Optional[int], height: Optional[int]) -> int:
    """Anthropic's documented estimate: tokens = width * height / 750, after the resize cap."""
    if not width or not height:
        return ANTHROPIC_MAX_IMAGE_TOKENS
    w, h = float(width), float(height)
    if max(w, h) > 1568:
        scale = 1568 / max(w, h)
        w, h = w * scale, h * scale
    return min(ANTHROPIC_MAX_IMAGE_TOKENS, max(1, math.ceil(w * h / 750)))


def data_url_payload(url: str) -> Optional[str]:
    """The base64 part of a ``data:...;base64,`` URL, or None."""
    if not url.startswith("data:"):
        return None
    head, sep, payload = url.partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return payload


def image_size_from_base64(payload: str) -> Optional[tuple[int, int]]:
    """(width, height) from the header of a base64 PNG, GIF, WebP or JPEG, or None.

    Decodes only what the header needs (JPEG: up to 1 MiB, for images with a large EXIF block).
    """
    for limit in (64, 96 * 1024, 1024 * 1024):
        chunk = payload[: limit - limit % 4]
        try:
            data = base64.b64decode(chunk)
        except (binascii.Error, ValueError):
            return None
        size = _image_size(data)
        if size is not None or len(chunk) >= len(payload):
            return size
        if not data.startswith(b"\xff\xd8"):
            return None  # only JPEG needs more than the first bytes
    return None


def _image_size(data: bytes) -> Optional[tuple[int, int]]:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP" and len(data) >= 30:
        kind = data[12:16]
        if kind == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
        if kind == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if kind == b"VP8X":
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
        return None
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
    return None
