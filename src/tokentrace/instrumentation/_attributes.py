"""Request-attribute helpers shared by the provider adapters."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from .. import semconv as sc


def base_attributes(provider: str, operation: str, model: Optional[str], server: tuple[str, int]) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        sc.GEN_AI_OPERATION_NAME: operation,
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.SERVER_ADDRESS: server[0],
        sc.SERVER_PORT: server[1],
    }
    if model:
        attrs[sc.GEN_AI_REQUEST_MODEL] = model
    return attrs


def copy_numbers(attrs: dict[str, Any], body: Mapping[str, Any], mapping: Mapping[str, str]) -> None:
    """Copy numeric request parameters that the call carries; absent means not recorded."""
    for key, attr in mapping.items():
        value = body.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attrs[attr] = value


def stop_sequences(value: Any) -> Optional[list[str]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def model_of(body: Mapping[str, Any]) -> Optional[str]:
    model = body.get("model")
    return model if isinstance(model, str) else None


def get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute of an SDK model, or key of a dict (cached or raw payloads)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)
