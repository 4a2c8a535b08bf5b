"""OpenAI ``/embeddings`` with deterministic vectors."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from functools import lru_cache
from typing import Any, Dict, List, Optional, Tuple

from ._model import FakeReply
from ._openai import headers
from ._text import count_words
from ._wire import Context, WireResponse, json_response


@lru_cache(maxsize=4096)
def embedding_vector(key: str, dimensions: int) -> Tuple[Tuple[float, ...], str]:
    """A unit vector seeded from ``key``: float32 values, and their little-endian base64."""
    seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    rng = random.Random(seed)
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    packed = struct.pack(f"<{dimensions}f", *(v / norm for v in raw))
    # Round-trip through float32 so the float and base64 encodings carry identical values.
    return struct.unpack(f"<{dimensions}f", packed), base64.b64encode(packed).decode()


def _inputs(raw: Any) -> List[Tuple[str, int]]:
    """(hash key, token count) per input: strings count words, token arrays their length."""
    if isinstance(raw, str):
        return [(raw, count_words(raw))]
    if isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        return [(repr(raw), len(raw))]
    out = []
    for item in raw or []:
        if isinstance(item, str):
            out.append((item, count_words(item)))
        else:
            tokens = list(item)
            out.append((repr(tokens), len(tokens)))
    return out


def create_embeddings(body: Dict[str, Any], reply: Optional[FakeReply], ctx: Context, request_id: str) -> WireResponse:
    """``{object: list, data: [...], model, usage}``; only ``input_tokens`` and ``response_model`` of a reply apply."""
    dimensions = int(body.get("dimensions") or ctx.embedding_dimensions)
    as_base64 = body.get("encoding_format") == "base64"
    inputs = _inputs(body.get("input"))
    data = []
    for index, (key, _) in enumerate(inputs):
        floats, encoded = embedding_vector(key, dimensions)
        data.append({"object": "embedding", "index": index, "embedding": encoded if as_base64 else list(floats)})
    tokens = sum(count for _, count in inputs)
    model = str(body.get("model", ""))
    if reply is not None:
        tokens = reply.input_tokens if reply.input_tokens is not None else tokens
        model = reply.response_model or model
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return json_response(200, {"object": "list", "data": data, "model": model, "usage": usage}, headers(request_id))
