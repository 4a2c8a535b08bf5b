"""The one hook both SDKs are patched at: their base client's ``request()``.

Every SDK surface (``create``, ``parse``, the ``stream()`` helpers, ``with_raw_response`` and
``with_streaming_response``) funnels through ``request(cast_to, options, stream=...)`` with the
final JSON body in ``options.json_data``. Hooking there makes one code path serve every
surface and every SDK version; provider modules only say which routes are GenAI calls and how
to read bodies, responses and chunks (a :class:`Route`).

Sync and async wrappers are ten-line twins around the same pure steps: :func:`begin_call`
and :meth:`Call.complete`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from .. import semconv as sc
from .._errors import log_internal_error
from .._streams import AsyncStreamProxy, RawResponseProxy, SyncStreamProxy, offer_to_helper
from ..model import GenAIRequest, GenAIResult, StreamAccumulator
from ..telemetry import Invocation, Telemetry

RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


@dataclass(frozen=True)
class Route:
    """How one GenAI endpoint maps onto the provider-neutral model."""

    build_request: Callable[[Mapping[str, Any], tuple[str, int]], GenAIRequest]
    result_of: Callable[[Any], GenAIResult]
    new_accumulator: Callable[[GenAIRequest, bool], StreamAccumulator]
    inject_stream_usage: Optional[Callable[[Mapping[str, Any]], Optional[dict[str, Any]]]] = None
    """Returns a body asking for stream usage, or None when the body already does."""


class Routes:
    """GenAI routes of one provider, keyed by the request path the SDK uses."""

    def __init__(self, routes: Mapping[str, Route], *, inject_stream_usage: bool) -> None:
        self._routes = dict(routes)
        self.inject_stream_usage = inject_stream_usage

    def match(self, options: Any) -> Optional[Route]:
        if getattr(options, "method", "post").lower() != "post":
            return None
        url = options.url
        route = self._routes.get(url)
        if route is None and "?" in url:
            route = self._routes.get(url.split("?", 1)[0])
        return route


# Clients of the same SDKs that reach another platform: the spec's provider name for each.
_PLATFORM_PROVIDERS = {
    "AzureOpenAI": "azure.ai.openai",
    "AsyncAzureOpenAI": "azure.ai.openai",
    "AnthropicBedrock": "aws.bedrock",
    "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicVertex": "gcp.vertex_ai",
    "AsyncAnthropicVertex": "gcp.vertex_ai",
}


def server_of(client: Any) -> tuple[str, int]:
    """``server.address``/``server.port`` from the client's base URL (httpx or httpx2 alike)."""
    base = client.base_url
    host = getattr(base, "host", None)
    port = getattr(base, "port", None)
    if host is None:
        parts = urlsplit(str(base))
        host, port = parts.hostname or "", parts.port
        scheme = parts.scheme
    else:
        scheme = getattr(base, "scheme", "https")
    if port is None:
        port = 80 if scheme == "http" else 443
    return host, port


class Call:
    """A GenAI call in flight: its invocation and how to read what the SDK returns."""

    __slots__ = ("invocation", "route", "usage_injected")

    def __init__(self, invocation: Invocation, route: Route, usage_injected: bool) -> None:
        self.invocation = invocation
        self.route = route
        self.usage_injected = usage_injected

    def fail(self, exc: BaseException) -> None:
        try:
            self.invocation.fail(exc)
        except Exception:
            log_internal_error("recording an error")

    def complete(self, result: Any, is_async: bool) -> Any:
        """Record ``result`` or wrap it so that reading it is recorded; never raises."""
        try:
            return self._observe(result, is_async)
        except Exception:
            log_internal_error("reading the response")
            self.invocation.detach()
            return result

    def _observe(self, result: Any, is_async: bool) -> Any:
        inv = self.invocation
        if hasattr(result, "http_response") and hasattr(result, "parse"):
            inv.detach()
            return RawResponseProxy(
                result, lambda parsed: self._observe(parsed, is_async), self._end_unparsed
            )
        if inv.request.stream and hasattr(result, "response"):
            inv.detach()
            acc = self.route.new_accumulator(inv.request, self.usage_injected)
            proxy_type = AsyncStreamProxy if is_async else SyncStreamProxy
            raw = getattr(result, "_raw_stream", None)
            if raw is not None and hasattr(raw, "response"):
                # Older anthropic SDKs return their stream helper itself, which reads its
                # inner raw stream through private generators: observe that raw stream.
                result._raw_stream = proxy_type(raw, inv, acc)
                return result
            proxy = proxy_type(result, inv, acc)
            offer_to_helper(proxy)
            return proxy
        inv.finish(self.route.result_of(result))
        return result

    def _end_unparsed(self) -> None:
        if not self.invocation.ended:
            try:
                self.invocation.finish(GenAIResult())
            except Exception:
                log_internal_error("ending an unparsed raw response")


def begin_call(telemetry: Telemetry, routes: Routes, client: Any, args: tuple, kwargs: dict) -> Optional[Call]:
    """Start the invocation for a GenAI request, or None for any other request. Never raises."""
    try:
        options = args[1] if len(args) > 1 else kwargs["options"]
        route = routes.match(options)
        if route is None:
            return None
        body = options.json_data
        if not isinstance(body, Mapping):
            return None
        extra = getattr(options, "extra_json", None)
        if extra:
            body = {**body, **extra}
        injected = False
        if routes.inject_stream_usage and route.inject_stream_usage is not None and body.get("stream"):
            injected = _inject_stream_usage(options, route, body)
        request = route.build_request(body, server_of(client))
        platform = _PLATFORM_PROVIDERS.get(type(client).__name__)
        if platform is not None:
            request.provider = platform
            request.attributes[sc.GEN_AI_PROVIDER_NAME] = platform
        if injected:
            request.attributes[sc.TT_STREAM_USAGE_INJECTED] = True
        return Call(telemetry.start(request), route, injected)
    except Exception:
        log_internal_error("starting a span")
        return None


def _inject_stream_usage(options: Any, route: Route, body: Mapping[str, Any]) -> bool:
    headers = getattr(options, "headers", None) or {}
    if RAW_RESPONSE_HEADER in headers or RAW_RESPONSE_HEADER.lower() in headers:
        return False  # the application reads raw bytes: it would see the extra chunk
    assert route.inject_stream_usage is not None
    new_json = route.inject_stream_usage(options.json_data)
    if new_json is None:
        return False
    options.json_data = new_json
    return True


def sync_request_wrapper(telemetry: Telemetry, routes: Routes) -> Callable[..., Any]:
    def traced_request(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        call = begin_call(telemetry, routes, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.complete(result, is_async=False)

    return traced_request


def async_request_wrapper(telemetry: Telemetry, routes: Routes) -> Callable[..., Any]:
    async def traced_request(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        call = begin_call(telemetry, routes, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.complete(result, is_async=True)

    return traced_request
