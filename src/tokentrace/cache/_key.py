"""Cache keys: a hash of everything in a request that can change the answer, plus its scope.

The key covers the whole JSON body the SDK sends (model, messages, system prompt, tools,
tool choice, sampling parameters, response format, seed, ...) except the fields listed in
:data:`NOT_ANSWER_FIELDS`, which change how an answer is delivered, billed or attributed but not
what it says. Over-including costs hits, never correctness, so the list is short.

Who may see an entry is the *scope*, hashed into the key: an explicit scope (context manager or
``X-Tokentrace-Cache-Scope`` header) wins; otherwise the end-user identity the request carries
(OpenAI ``user`` / ``safety_identifier``, Anthropic ``metadata.user_id``). With
``scope="shared"`` identities are ignored; with ``scope="required"`` a request with no scope is
not cached at all.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping, Optional

NOT_ANSWER_FIELDS = frozenset(
    {
        "stream",  # a stream and a plain response carry the same answer
        "stream_options",
        "user",  # identities: they go into the scope, not the content
        "safety_identifier",
        "metadata",
        "store",
        "service_tier",  # billing and latency, not content
        "prompt_cache_key",
        "prompt_cache_retention",
    }
)

KEY_VERSION = "1"


def identity_of(body: Mapping[str, Any]) -> Optional[str]:
    """The end-user identity a request carries, if any."""
    for name in ("user", "safety_identifier"):
        value = body.get(name)
        if isinstance(value, str) and value:
            return value
    metadata = body.get("metadata")
    if isinstance(metadata, Mapping):
        value = metadata.get("user_id")
        if isinstance(value, str) and value:
            return value
    return None


def answer_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in NOT_ANSWER_FIELDS}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def exact_key(provider: str, operation: str, scope: str, body: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the key version, provider, operation, scope and the answer fields."""
    digest = hashlib.sha256()
    for part in (KEY_VERSION, provider, operation, scope):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(canonical_json(answer_fields(body)).encode())
    return digest.hexdigest()
