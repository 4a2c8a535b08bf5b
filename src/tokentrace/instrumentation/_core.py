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

import abc
import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from .. import semconv as sc
from .._errors import log_internal_error
from .._streams import AsyncStreamProxy, RawResponseProxy, SyncStreamProxy, end_with_helper_close, offer_to_helper
from ..cache._controls import HEADER as CACHE_CONTROL_HEADER
from ..cache._controls import pop_header
from ..cache._replay import fold_stream
from ..guards import ChainOutcome, GuardChain, GuardRefusal
from ..model import GenAIRequest, GenAIResult, StreamAccumulator
from ..telemetry import Invocation, Telemetry
from ._serve import aserve, response_body, serve

RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


@dataclass(frozen=True)
class Route:
    """How one GenAI endpoint maps onto the provider-neutral model."""

    build_request: Callable[[Mapping[str, Any], tuple[str, int]], GenAIRequest]
    result_of: Callable[[Any], GenAIResult]
    new_accumulator: Callable[[GenAIRequest, bool], StreamAccumulator]
    inject_stream_usage: Optional[Callable[[Mapping[str, Any]], Optional[dict[str, Any]]]] = None
    """Returns a body asking for stream usage, or None when the body already does."""
    api: str = ""
    """The API's name for guards (``openai.chat``, ``anthropic.messages``, ...)."""
    tap_usage_chunk: Optional[Callable[[Any, Callable[[Any], Any], bool], None]] = None
    """Hands the injected usage chunk of a fresh SDK stream to a callback before the SDK parses it."""


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
    """A GenAI call in flight: its invocation, the guards' outcome, how to read the response."""

    __slots__ = ("invocation", "route", "usage_injected", "chain", "outcome")

    def __init__(self, invocation: Invocation, route: Route, usage_injected: bool,
                 chain: Optional[GuardChain] = None, outcome: Optional[ChainOutcome] = None) -> None:
        self.invocation = invocation
        self.route = route
        self.usage_injected = usage_injected
        self.chain = chain
        self.outcome = outcome

    @property
    def answer(self) -> Any:
        outcome = self.outcome
        return outcome.answer if outcome is not None else None

    def unanswer(self) -> None:
        """Serving the answer failed: the call goes to the provider after all."""
        if self.outcome is not None:
            self.outcome.answer = None
        self.invocation.cache_hit = False
        self.invocation.span.set_attribute(sc.TT_CACHE_RESULT, sc.CACHE_ERROR)

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
            return RawResponseProxy(result, lambda parsed: self.complete(parsed, is_async), self._end_unparsed)
        if inv.request.stream and hasattr(result, "response"):
            inv.detach()
            acc = self.route.new_accumulator(inv.request, self.usage_injected)
            if self._wants_response():
                acc = _RecordingAccumulator(acc, self, is_async)
            if self.usage_injected and self.route.tap_usage_chunk is not None:
                try:
                    self.route.tap_usage_chunk(result, acc.add, is_async)
                except Exception:  # the proxy still drops the usage chunk the SDK parses
                    log_internal_error("reading the stream usage chunk")
            proxy_type = AsyncStreamProxy if is_async else SyncStreamProxy
            raw = getattr(result, "_raw_stream", None)
            if raw is not None and hasattr(raw, "response"):
                # Older anthropic SDKs return their stream helper itself, which reads its
                # inner raw stream through private generators: observe that raw stream.
                result._raw_stream = proxy_type(raw, inv, acc)
                end_with_helper_close(result, is_async)
                return result
            if _refuses_proxies(result):
                # isinstance(proxy, Stream) would be False: observe the stream's iterator in place.
                observer = result._iterator = proxy_type(result._iterator, inv, acc)
                end_with_helper_close(result, is_async)
                offer_to_helper(observer)
                return result
            proxy = proxy_type(result, inv, acc)
            offer_to_helper(proxy)
            return proxy
        inv.finish(self.route.result_of(result))
        if self._wants_response():
            self.deliver(lambda: response_body(result), is_async)
        return result

    def _wants_response(self) -> bool:
        return self.chain is not None and self.outcome is not None and self.outcome.answer is None

    def deliver(self, body_of: Callable[[], Optional[Mapping[str, Any]]], is_async: bool) -> None:
        """Give the complete response to the guards (off the event loop when they do I/O)."""
        chain, outcome = self.chain, self.outcome
        assert chain is not None and outcome is not None

        def run() -> None:
            try:
                body = body_of()
                if body is not None:
                    chain.on_response(outcome.request, body)
            except Exception:
                log_internal_error("guards after the response")

        if is_async and chain.blocking:
            try:
                asyncio.get_running_loop().run_in_executor(None, contextvars_run(run))
                return
            except RuntimeError:
                pass
        run()

    def _end_unparsed(self) -> None:
        if not self.invocation.ended:
            try:
                self.invocation.finish(GenAIResult())
            except Exception:
                log_internal_error("ending an unparsed raw response")


def _refuses_proxies(stream: Any) -> bool:
    """A stream class whose metaclass has its own ``isinstance`` rule (anthropic < 0.4x's
    ``Stream``: only its exact type passes), iterating a private ``_iterator``."""
    meta = type(type(stream))
    return meta not in _PLAIN_METACLASSES and "__instancecheck__" in vars(meta) and hasattr(stream, "_iterator")


_PLAIN_METACLASSES = (type, abc.ABCMeta)
"""Their ``isinstance`` looks at ``__class__``, which a proxy reports as the stream's."""


def contextvars_run(fn: Callable[[], None]) -> Callable[[], None]:
    context = contextvars.copy_context()
    return lambda: context.run(fn)


class _RecordingAccumulator:
    """Keeps a stream's chunks so that, once it finished, guards get the complete response."""

    __slots__ = ("_inner", "_call", "_is_async", "_chunks", "_delivered")

    def __init__(self, inner: StreamAccumulator, call: Call, is_async: bool) -> None:
        self._inner = inner
        self._call = call
        self._is_async = is_async
        self._chunks: list[Any] = []
        self._delivered = False

    def add(self, chunk: Any) -> bool:
        self._chunks.append(chunk)
        return self._inner.add(chunk)

    def hides(self, chunk: Any) -> bool:
        hides = getattr(self._inner, "hides", None)
        return hides is not None and hides(chunk)

    def result(self) -> GenAIResult:
        result = self._inner.result()
        if not self._delivered:
            self._delivered = True
            chunks, api = self._chunks, self._call.route.api
            self._chunks = []
            self._call.deliver(lambda: fold_stream(api, [response_body(c) for c in chunks]), self._is_async)
        return result


@dataclass
class PendingCall:
    """A GenAI request recognised and read, before guards and telemetry have seen it."""

    route: Route
    request: GenAIRequest
    options: Any
    server: tuple[str, int]
    usage_injected: bool
    outcome: Optional[ChainOutcome] = None
    refusal: Optional[BaseException] = None
    body_before_injection: Any = None
    """The JSON body as the application (or a guard's rewrite) made it, before tokentrace asked for usage."""

    def decide(self, chain: GuardChain) -> None:
        """Run the guards; never raises (a refusal is kept and raised by :meth:`start`)."""
        try:
            self.outcome = chain.decide(self.request, self._rebuild)
        except GuardRefusal as exc:
            self.refusal = exc
            return
        except Exception:
            log_internal_error("running guards")
            return
        outcome = self.outcome
        if outcome.body is not None:
            self.options.json_data = self.body_before_injection = dict(outcome.body)
            if self.usage_injected:  # ask again for the usage tokentrace had asked for, if still a stream
                self.usage_injected = bool(outcome.body.get("stream")) and _inject_stream_usage(
                    self.options, self.route, outcome.body)
        self.request = outcome.request
        self.request.attributes.update(outcome.attributes)
        if self.usage_injected:
            self.request.attributes[sc.TT_STREAM_USAGE_INJECTED] = True
        else:
            self.request.attributes.pop(sc.TT_STREAM_USAGE_INJECTED, None)

    def _rebuild(self, body: Mapping[str, Any]) -> GenAIRequest:
        rebuilt = self.route.build_request(body, self.server)
        rebuilt.provider = self.request.provider
        rebuilt.attributes[sc.GEN_AI_PROVIDER_NAME] = self.request.attributes[sc.GEN_AI_PROVIDER_NAME]
        rebuilt.api, rebuilt.hints, rebuilt.guard_state = self.request.api, self.request.hints, self.request.guard_state
        return rebuilt

    def start(self, telemetry: Telemetry, chain: Optional[GuardChain]) -> Optional[Call]:
        """Start the span. Raises the guards' refusal, after recording it on the span."""
        try:
            call = Call(telemetry.start(self.request), self.route, self.usage_injected, chain, self.outcome)
            call.invocation.cache_hit = self.answer is not None
        except Exception:
            log_internal_error("starting a span")
            call = None
            if self.usage_injected:  # no one would take the usage chunk out: send what the app asked
                self.options.json_data = self.body_before_injection
                self.usage_injected = False
        if self.refusal is not None:
            if call is not None:
                call.fail(self.refusal)
            raise self.refusal
        return call

    @property
    def answer(self) -> Any:
        return self.outcome.answer if self.outcome is not None else None


def prepare_call(routes: Routes, client: Any, args: tuple, kwargs: dict) -> Optional[PendingCall]:
    """Read a GenAI request, or None for any other request. Never raises."""
    try:
        options = args[1] if len(args) > 1 else kwargs["options"]
        route = routes.match(options)
        if route is None:
            return None
        body = options.json_data
        if not isinstance(body, Mapping):
            return None
        hint = pop_header(getattr(options, "headers", None))
        extra = getattr(options, "extra_json", None)
        if extra:
            body = {**body, **extra}
        injected = False
        sent = options.json_data
        if (routes.inject_stream_usage and route.inject_stream_usage is not None and body.get("stream")
                and _accepts_stream_options(client)):
            injected = _inject_stream_usage(options, route, body)
        server = server_of(client)
        request = route.build_request(body, server)
        request.api = route.api
        if hint is not None:
            request.hints = {CACHE_CONTROL_HEADER: hint}
        platform = _PLATFORM_PROVIDERS.get(type(client).__name__)
        if platform is not None:
            request.provider = platform
            request.attributes[sc.GEN_AI_PROVIDER_NAME] = platform
        if injected:
            request.attributes[sc.TT_STREAM_USAGE_INJECTED] = True
        return PendingCall(route, request, options, server, injected, body_before_injection=sent)
    except Exception:
        log_internal_error("reading a request")
        return None


def begin_call(telemetry: Telemetry, routes: Routes, client: Any, args: tuple, kwargs: dict,
               chain: Optional[GuardChain] = None) -> Optional[Call]:
    """Read the request, run the guards (sync) and start the span; None for other requests."""
    pending = prepare_call(routes, client, args, kwargs)
    if pending is None:
        return None
    if chain:
        pending.decide(chain)
    return pending.start(telemetry, chain if chain else None)


AZURE_STREAM_OPTIONS_SINCE = "2024-09-01"
"""Azure OpenAI rejects ``stream_options`` in api-versions before this one (HTTP 400)."""


def _accepts_stream_options(client: Any) -> bool:
    """False for an Azure client on an api-version that would refuse the usage request."""
    version = getattr(client, "_api_version", None)
    return not (isinstance(version, str) and version < AZURE_STREAM_OPTIONS_SINCE)


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


def _answer_sync(call: Call, client: Any, wrapped: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    try:
        return serve(client, args, kwargs, call.route.api, call.answer.response)
    except Exception:
        log_internal_error("serving a cached answer")
    call.unanswer()
    return wrapped(*args, **kwargs)


async def _answer_async(call: Call, client: Any, wrapped: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    try:
        return await aserve(client, args, kwargs, call.route.api, call.answer.response)
    except Exception:
        log_internal_error("serving a cached answer")
    call.unanswer()
    return await wrapped(*args, **kwargs)


def sync_request_wrapper(telemetry: Telemetry, routes: Routes, chain: Optional[GuardChain] = None) -> Callable[..., Any]:
    def traced_request(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        call = begin_call(telemetry, routes, instance, args, kwargs, chain)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            if call.answer is not None:
                result = _answer_sync(call, instance, wrapped, args, kwargs)
            else:
                result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.complete(result, is_async=False)

    return traced_request


def async_request_wrapper(telemetry: Telemetry, routes: Routes, chain: Optional[GuardChain] = None) -> Callable[..., Any]:
    async def traced_request(wrapped: Callable[..., Any], instance: Any, args: tuple, kwargs: dict) -> Any:
        if not is_instrumentation_enabled():
            return await wrapped(*args, **kwargs)
        pending = prepare_call(routes, instance, args, kwargs)
        if pending is None:
            return await wrapped(*args, **kwargs)
        if chain:
            if chain.blocking:  # guards doing I/O (Redis) run off the event loop
                await asyncio.to_thread(pending.decide, chain)
            else:
                pending.decide(chain)
        call = pending.start(telemetry, chain if chain else None)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            if call.answer is not None:
                result = await _answer_async(call, instance, wrapped, args, kwargs)
            else:
                result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        return call.complete(result, is_async=True)

    return traced_request
