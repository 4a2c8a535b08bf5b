"""In-process transports for httpx / httpx2 that answer from a FakeProvider."""

from __future__ import annotations

import asyncio
import importlib
import time
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Optional, Tuple

from ._wire import WireResponse

if TYPE_CHECKING:
    from ._provider import FakeProvider

_DISCONNECT = "peer closed connection without sending complete message body (incomplete chunked read)"


def resolve_http_module(http_module: Optional[ModuleType] = None) -> ModuleType:
    """``http_module`` itself, else the HTTP library the installed openai SDK is built on (else
    anthropic's), else ``httpx2`` if importable, else ``httpx``."""
    if http_module is not None:
        return http_module
    from ._clients import sdk_http_module

    for sdk in ("openai", "anthropic"):
        try:
            return sdk_http_module(sdk)
        except ImportError:
            continue
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("the fake provider's transports need httpx2 or httpx")


def _fault_error(http: ModuleType, kind: str, request: Any) -> Exception:
    if kind == "timeout":
        return http.ReadTimeout("timed out", request=request)
    return http.RemoteProtocolError(_DISCONNECT, request=request)


@lru_cache(maxsize=None)
def _classes(http: ModuleType) -> Tuple[type, type]:
    """Transport classes subclassing this module's base transports (built once per module)."""

    class FakeByteStream(http.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, wire: WireResponse, request: Any, delay: float) -> None:
            self._wire, self._request, self._delay = wire, request, delay

        def __iter__(self) -> Iterator[bytes]:
            fault = self._wire.fault
            for index, chunk in enumerate(self._wire.chunks):
                if fault is not None and fault.after == index:
                    raise _fault_error(http, fault.kind, self._request)
                if self._delay and index:
                    time.sleep(self._delay)
                yield chunk
            if fault is not None:
                raise _fault_error(http, fault.kind, self._request)

    class AsyncFakeByteStream(http.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, wire: WireResponse, request: Any, delay: float) -> None:
            self._wire, self._request, self._delay = wire, request, delay

        async def __aiter__(self) -> AsyncIterator[bytes]:
            fault = self._wire.fault
            for index, chunk in enumerate(self._wire.chunks):
                if fault is not None and fault.after == index:
                    raise _fault_error(http, fault.kind, self._request)
                if self._delay and index:
                    await asyncio.sleep(self._delay)
                yield chunk
            if fault is not None:
                raise _fault_error(http, fault.kind, self._request)

    def respond(wire: WireResponse, request: Any, stream: Any) -> Any:
        if wire.fault is not None and wire.fault.after is None:
            raise _fault_error(http, wire.fault.kind, request)
        if not wire.stream and wire.fault is None:
            return http.Response(wire.status, headers=wire.headers, content=wire.chunks[0], request=request)
        return http.Response(wire.status, headers=wire.headers, stream=stream, request=request)

    class FakeTransport(http.BaseTransport):  # type: ignore[name-defined,misc]
        """Sync transport: every request is answered by the provider, streams chunk by chunk."""

        def __init__(self, provider: FakeProvider) -> None:
            self.provider = provider

        def handle_request(self, request: Any) -> Any:
            provider = self.provider
            wire = provider.handle(request.method, request.url.path, request.headers, request.read())
            if provider.latency:
                time.sleep(provider.latency)
            return respond(wire, request, FakeByteStream(wire, request, provider.chunk_delay))

    class AsyncFakeTransport(http.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """Async transport: every request is answered by the provider, streams chunk by chunk."""

        def __init__(self, provider: FakeProvider) -> None:
            self.provider = provider

        async def handle_async_request(self, request: Any) -> Any:
            provider = self.provider
            body = await request.aread()
            wire = provider.handle(request.method, request.url.path, request.headers, body)
            if provider.latency:
                await asyncio.sleep(provider.latency)
            return respond(wire, request, AsyncFakeByteStream(wire, request, provider.chunk_delay))

    return FakeTransport, AsyncFakeTransport


def sync_transport(provider: FakeProvider, http_module: Optional[ModuleType] = None) -> Any:
    """A ``BaseTransport`` of ``http_module`` answering from ``provider``."""
    return _classes(resolve_http_module(http_module))[0](provider)


def async_transport(provider: FakeProvider, http_module: Optional[ModuleType] = None) -> Any:
    """An ``AsyncBaseTransport`` of ``http_module`` answering from ``provider``."""
    return _classes(resolve_http_module(http_module))[1](provider)
