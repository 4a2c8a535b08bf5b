"""Per-request cache controls: a context manager, or a header on the SDK call.

In code::

    with tokentrace.cache_control(skip=True): ...           # neither read nor write the cache
    with tokentrace.cache_control(store=False): ...         # read, but do not store the answer
    with tokentrace.cache_control(refresh=True): ...        # do not read; store the fresh answer
    with tokentrace.cache_control(ttl=60, scope="tenant-42"): ...

Per call, through the SDK's ``extra_headers`` (tokentrace removes the header before the request
is sent, so the provider never sees it)::

    client.chat.completions.create(..., extra_headers={"X-Tokentrace-Cache": "no-store, ttl=60"})

Header directives: ``skip``, ``no-store``, ``refresh``, ``ttl=<seconds>``, ``scope=<name>``.
A header directive wins over the context manager for that call.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, replace
from typing import Any, Iterator, Mapping, Optional

HEADER = "X-Tokentrace-Cache"


@dataclass(frozen=True)
class CacheControl:
    skip: bool = False
    store: bool = True
    refresh: bool = False
    ttl: Optional[float] = None
    scope: Optional[str] = None


DEFAULT = CacheControl()
_current: contextvars.ContextVar[CacheControl] = contextvars.ContextVar("tokentrace_cache_control", default=DEFAULT)


@contextlib.contextmanager
def cache_control(*, skip: Optional[bool] = None, store: Optional[bool] = None, refresh: Optional[bool] = None,
                  ttl: Optional[float] = None, scope: Optional[str] = None) -> Iterator[CacheControl]:
    """Cache behaviour for the calls made inside the block (nested blocks override fields)."""
    if ttl is not None and not ttl > 0:
        raise ValueError(f"ttl must be a positive number of seconds but got {ttl!r}")
    changes: dict[str, Any] = {k: v for k, v in
                               {"skip": skip, "store": store, "refresh": refresh, "ttl": ttl, "scope": scope}.items()
                               if v is not None}
    control = replace(_current.get(), **changes)
    token = _current.set(control)
    try:
        yield control
    finally:
        _current.reset(token)


def parse_header(value: str) -> dict[str, Any]:
    """Directives of one ``X-Tokentrace-Cache`` header value; unknown ones are ignored."""
    changes: dict[str, Any] = {}
    for item in value.split(","):
        name, _, argument = item.strip().partition("=")
        name = name.strip().lower()
        if name == "skip":
            changes["skip"] = True
        elif name == "no-store":
            changes["store"] = False
        elif name == "refresh":
            changes["refresh"] = True
        elif name == "ttl":
            try:
                ttl = float(argument)
            except ValueError:
                continue
            if ttl > 0:
                changes["ttl"] = ttl
        elif name == "scope" and argument.strip():
            changes["scope"] = argument.strip()
    return changes


def pop_header(headers: Any) -> Optional[str]:
    """Remove the cache header from the SDK's request headers; return its value."""
    if not headers:
        return None
    for name in list(headers):
        if isinstance(name, str) and name.lower() == HEADER.lower():
            value = headers.pop(name)
            return value if isinstance(value, str) else None
    return None


def current_control(request: Any) -> CacheControl:
    control = _current.get()
    header = request.hints.get(HEADER) if request.hints else None
    if header:
        control = replace(control, **parse_header(header))
    return control
