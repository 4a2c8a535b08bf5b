"""Settings resolved once, at ``instrument()`` time, never on the hot path.

Precedence: explicit argument > environment variable > default. An invalid value raises
:class:`ConfigError` naming the setting.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, TypeVar

from . import environment_variables as env

T = TypeVar("T")


class ConfigError(ValueError):
    """A tokentrace setting (argument or environment variable) has an invalid value."""


class ContentCapture(enum.Enum):
    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def as_event(self) -> bool:
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def enabled(self) -> bool:
        return self is not ContentCapture.NO_CONTENT


@dataclass(frozen=True)
class Settings:
    capture_content: ContentCapture = ContentCapture.NO_CONTENT
    pii_scrub: bool = True
    content_max_length: int = 10_000
    openai_stream_usage: bool = True
    anthropic_sdk_spans: bool = False
    prices_file: Optional[str] = None
    estimate_missing_usage: bool = True
    chunk_metrics: bool = True
    cache: Any = None
    """Complete ``CacheSettings``, or the ``ResponseCache`` given in code."""
    guards: tuple[Any, ...] = ()
    """Guards given in code, run after the cache in this order."""


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def parse_non_negative_int(name: str, value: Any) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        number = -1
    if isinstance(value, bool) or number < 0:
        raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    return number


def parse_content_capture(name: str, value: Any) -> ContentCapture:
    if isinstance(value, ContentCapture):
        return value
    if isinstance(value, bool):
        return ContentCapture.SPAN_AND_EVENT if value else ContentCapture.NO_CONTENT
    text = str(value).strip()
    lowered = text.lower()
    if lowered in _TRUE:
        return ContentCapture.SPAN_AND_EVENT
    if lowered in _FALSE or lowered == "":
        return ContentCapture.NO_CONTENT
    try:
        return ContentCapture(text.upper())
    except ValueError:
        choices = ", ".join(m.value for m in ContentCapture)
        raise ConfigError(f"{name} must be one of {choices} (or true/false), got {value!r}") from None


def parse_path(name: str, value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ConfigError(f"{name} must be a file path, got {value!r}")
    return text


def _guards(value: Any) -> tuple[Any, ...]:
    from .guards import Guard

    if value is None:
        return ()
    guards = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    for guard in guards:
        if not isinstance(guard, Guard):
            raise ConfigError(f"guards must be tokentrace.guards.Guard objects, got {guard!r}")
    return guards


def _resolve(
    arguments: Mapping[str, Any],
    key: str,
    env_name: str,
    parse: Callable[[str, Any], T],
    default: T,
    environ: Mapping[str, str],
) -> T:
    if arguments.get(key) is not None:
        return parse(key, arguments[key])
    raw = environ.get(env_name)
    if raw is not None and raw.strip() != "":
        return parse(env_name, raw)
    return default


def resolve_settings(
    arguments: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build :class:`Settings` from ``instrument()`` arguments and the environment.

    Raises:
        ConfigError: a value is invalid; the message names the argument or variable.
    """
    from .cache._settings import resolve_cache_settings

    args = arguments or {}
    environ = os.environ if environ is None else environ
    return Settings(
        cache=resolve_cache_settings(args.get("cache"), environ),
        guards=_guards(args.get("guards")),
        capture_content=_resolve(
            args, "capture_content", env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
            parse_content_capture, ContentCapture.NO_CONTENT, environ,
        ),
        pii_scrub=_resolve(args, "pii_scrub", env.TOKENTRACE_PII_SCRUB, parse_bool, True, environ),
        content_max_length=_resolve(
            args, "content_max_length", env.TOKENTRACE_CONTENT_MAX_LENGTH,
            parse_non_negative_int, 10_000, environ,
        ),
        openai_stream_usage=_resolve(
            args, "openai_stream_usage", env.TOKENTRACE_OPENAI_STREAM_USAGE, parse_bool, True, environ
        ),
        anthropic_sdk_spans=_resolve(
            args, "anthropic_sdk_spans", env.TOKENTRACE_ANTHROPIC_SDK_SPANS, parse_bool, False, environ
        ),
        prices_file=_resolve(args, "prices", env.TOKENTRACE_PRICES_FILE, parse_path, None, environ),
        estimate_missing_usage=_resolve(
            args, "estimate_missing_usage", env.TOKENTRACE_ESTIMATE_MISSING_USAGE, parse_bool, True, environ
        ),
        chunk_metrics=_resolve(args, "chunk_metrics", env.TOKENTRACE_CHUNK_METRICS, parse_bool, True, environ),
    )
