"""Cache settings: ``instrument(cache=...)`` and the ``TOKENTRACE_CACHE_*`` variables.

Each field follows the one precedence rule: a value given in code > its environment variable >
the default. ``instrument(cache=...)`` takes ``False``/``"off"``, ``True``/``"memory"``,
``"redis"``, a :class:`CacheSettings` (fields left None come from the environment) or a
ready :class:`~tokentrace.ResponseCache`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Callable, Mapping, Optional

from .. import environment_variables as env
from ..config import ConfigError, parse_bool

BACKENDS = ("off", "memory", "redis")


@dataclass(frozen=True)
class CacheSettings:
    """The response cache's configuration; None means "from the environment, else default"."""

    backend: Optional[str] = None
    ttl: Optional[float] = None
    redis_url: Optional[str] = None
    scope: Optional[str] = None
    max_temperature: Optional[float] = None
    max_entries: Optional[int] = None
    max_bytes: Optional[int] = None
    tool_calls: Optional[bool] = None
    truncated: Optional[bool] = None
    fail_closed: Optional[bool] = None
    semantic: Optional[bool] = None
    embedder: Optional[str] = None
    threshold: Optional[float] = None
    ambiguity_margin: Optional[float] = None


def _backend(name: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("false", "0", "no", "none"):
        text = "off"
    if text in ("true", "1", "yes", "on"):
        text = "memory"
    if text not in BACKENDS:
        raise ConfigError(f"{name} must be one of {', '.join(BACKENDS)}, got {value!r}")
    return text


def _number(name: str, value: Any, low: float, high: float, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not low <= number <= high:  # NaN fails every comparison
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return number


def _seconds(name: str, value: Any) -> Optional[float]:
    return _number(name, value, 0.0, float("inf"), "a non-negative number of seconds (0 = no expiry)") or None


def _non_negative(name: str, value: Any) -> float:
    return _number(name, value, 0.0, float("inf"), "a non-negative number")


def _similarity(name: str, value: Any) -> float:
    return _number(name, value, -1.0, 1.0, "a cosine similarity between -1 and 1")


def _margin(name: str, value: Any) -> float:
    return _number(name, value, 0.0, 1.0, "a similarity difference between 0 and 1 (0 = off)")


def _positive_int(name: str, value: Any) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return number


def _scope(name: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in ("request", "shared", "required"):
        raise ConfigError(f"{name} must be one of request, shared, required, got {value!r}")
    return text


EMBEDDERS = {"hashing": "HashingEmbedder", "minilm": "MiniLMEmbedder", "openai": "OpenAIEmbedder"}


def _embedder(name: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text not in EMBEDDERS:
        raise ConfigError(f"{name} must be one of {', '.join(EMBEDDERS)}, got {value!r}")
    return text


def _url(name: str, value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("redis://", "rediss://", "unix://", "valkey://")):
        raise ConfigError(f"{name} must be a redis://, rediss:// or unix:// URL, got {value!r}")
    return text.replace("valkey://", "redis://", 1)


_FIELDS: dict[str, tuple[str, Callable[[str, Any], Any], Any]] = {
    "backend": (env.TOKENTRACE_CACHE, _backend, "off"),
    "ttl": (env.TOKENTRACE_CACHE_TTL, _seconds, 3600.0),
    "redis_url": (env.TOKENTRACE_CACHE_REDIS_URL, _url, "redis://localhost:6379/0"),
    "scope": (env.TOKENTRACE_CACHE_SCOPE, _scope, "request"),
    "max_temperature": (env.TOKENTRACE_CACHE_MAX_TEMPERATURE, _non_negative, 0.0),
    "max_entries": (env.TOKENTRACE_CACHE_MAX_ENTRIES, _positive_int, 10_000),
    "max_bytes": (env.TOKENTRACE_CACHE_MAX_BYTES, _positive_int, 256 * 1024 * 1024),
    "tool_calls": (env.TOKENTRACE_CACHE_TOOL_CALLS, parse_bool, False),
    "truncated": (env.TOKENTRACE_CACHE_TRUNCATED, parse_bool, False),
    "fail_closed": (env.TOKENTRACE_CACHE_FAIL_CLOSED, parse_bool, False),
    "semantic": (env.TOKENTRACE_CACHE_SEMANTIC, parse_bool, False),
    "embedder": (env.TOKENTRACE_CACHE_EMBEDDER, _embedder, "hashing"),
    "threshold": (env.TOKENTRACE_CACHE_THRESHOLD, _similarity, None),
    "ambiguity_margin": (env.TOKENTRACE_CACHE_AMBIGUITY_MARGIN, _margin, 0.02),
}


def resolve_cache_settings(argument: Any, environ: Mapping[str, str]) -> Any:
    """A complete :class:`CacheSettings`, or the :class:`ResponseCache` the caller passed."""
    from ._guard import ResponseCache

    if isinstance(argument, ResponseCache):
        return argument
    if argument is None:
        given = CacheSettings()
    elif isinstance(argument, CacheSettings):
        given = argument
    elif isinstance(argument, (bool, str)):
        given = CacheSettings(backend=_backend("cache", argument))
    else:
        raise ConfigError(
            f"cache must be a bool, 'off'/'memory'/'redis', a CacheSettings or a ResponseCache, got {argument!r}"
        )
    values: dict[str, Any] = {}
    for field in fields(CacheSettings):
        env_name, parse, default = _FIELDS[field.name]
        value = getattr(given, field.name)
        if value is not None:
            values[field.name] = parse(f"cache.{field.name}" if field.name != "backend" else "cache", value)
            continue
        raw = environ.get(env_name)
        values[field.name] = parse(env_name, raw) if raw is not None and raw.strip() else default
    return replace(given, **values)


def build_cache(settings: CacheSettings) -> Any:
    """The :class:`ResponseCache` for complete settings, or None when the cache is off."""
    from ._guard import ResponseCache
    from ._memory import MemoryBackend

    if settings.backend == "off":
        return None
    if settings.backend == "redis":
        from ._redis import RedisBackend

        backend: Any = RedisBackend(settings.redis_url)
    else:
        backend = MemoryBackend(max_entries=settings.max_entries, max_bytes=settings.max_bytes)
    embedder = None
    if settings.semantic:
        from . import embedders

        embedder = getattr(embedders, EMBEDDERS[settings.embedder or "hashing"])()
    try:
        return ResponseCache(
            backend, ttl=settings.ttl, scope=settings.scope, max_temperature=settings.max_temperature,
            cache_tool_calls=settings.tool_calls, cache_truncated=settings.truncated, fail_closed=settings.fail_closed,
            semantic=bool(settings.semantic), embedder=embedder, threshold=settings.threshold,
            ambiguity_margin=settings.ambiguity_margin if settings.ambiguity_margin is not None else 0.02,
        )
    except (RuntimeError, ValueError) as exc:  # e.g. semantic over a Redis without vector sets
        raise ConfigError(f"{env.TOKENTRACE_CACHE}: {exc}") from exc
