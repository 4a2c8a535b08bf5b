"""FakeProvider: the reply queue, request log and routing shared by every transport."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Deque, Dict, Iterator, List, Mapping, Optional

from . import _anthropic, _openai, _responses
from ._clients import build_client
from ._embeddings import create_embeddings
from ._model import FakeDisconnect, FakeError, FakeItem, FakeReply, FakeRequest, FakeTimeout
from ._wire import Fault, WireResponse

Builder = Callable[[Dict[str, Any], Optional[FakeReply], Any, str], WireResponse]

_ROUTES: Dict[str, str] = {
    "/chat/completions": "chat",
    "/responses": "responses",
    "/embeddings": "embeddings",
    "/messages": "messages",
    "/messages/count_tokens": "count_tokens",
}
_BUILDERS: Dict[str, Builder] = {
    "chat": _openai.chat_completion,
    "responses": _responses.create_response,
    "embeddings": create_embeddings,
    "messages": _anthropic.create_message,
}
_ANTHROPIC_APIS = ("messages", "count_tokens")


class FakeProvider:
    """A fake OpenAI + Anthropic HTTP API for offline tests.

    Real SDK clients talk to it unchanged, through an in-process transport
    (:meth:`transport`, :meth:`openai_client`, :meth:`anthropic_client`) or a
    loopback HTTP server (:meth:`serve`).

    Args:
        chunks: default number of stream deltas a reply's text is split into.
        embedding_dimensions: vector size when a request gives no ``dimensions``.
        latency: seconds before the response head (time to first byte).
        chunk_delay: seconds between stream chunks.
        max_requests: how many recent requests :attr:`requests` keeps (0: record none).
    """

    def __init__(
        self,
        *,
        chunks: int = 8,
        embedding_dimensions: int = 8,
        latency: float = 0.0,
        chunk_delay: float = 0.0,
        max_requests: int = 1000,
    ) -> None:
        self.default_chunks = max(1, chunks)
        self.embedding_dimensions = embedding_dimensions
        self.latency = latency
        self.chunk_delay = chunk_delay
        self._queue: Deque[FakeItem] = deque()
        self._requests: Deque[FakeRequest] = deque(maxlen=max_requests)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- test-facing API -------------------------------------------------

    def queue(self, *items: FakeItem) -> None:
        """Serve ``items`` in order to the next requests (any endpoint); then the default reply."""
        for item in items:
            if not isinstance(item, (FakeReply, FakeError, FakeDisconnect, FakeTimeout)):
                raise TypeError(f"cannot queue {type(item).__name__}; expected FakeReply, FakeError, "
                                "FakeDisconnect or FakeTimeout")
        with self._lock:
            self._queue.extend(items)

    @property
    def pending(self) -> int:
        """How many queued items have not been served yet."""
        return len(self._queue)

    @property
    def requests(self) -> List[FakeRequest]:
        """The most recent requests received (oldest first), at most ``max_requests``."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget queued items and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    def transport(self, http_module: Any = None) -> Any:
        """A sync transport for ``httpx2`` or ``httpx``; by default for the library the installed
        openai SDK is built on (else anthropic's). Pass ``http_module`` when the two SDKs differ
        (openai >= 3 and anthropic >= 1 are built on httpx2, older ones on httpx)."""
        from ._transport import sync_transport

        return sync_transport(self, http_module)

    def async_transport(self, http_module: Any = None) -> Any:
        """An async transport, chosen as :meth:`transport` chooses."""
        from ._transport import async_transport

        return async_transport(self, http_module)

    def openai_client(self, async_: bool = False, **kwargs: Any) -> Any:
        """A real ``openai.OpenAI`` (or ``AsyncOpenAI``) wired to this provider in-process.

        Defaults: ``api_key="test-key"``, ``base_url="http://fake-openai.test/v1"``,
        ``max_retries=0``. Keyword arguments the SDK client does not take (e.g.
        ``event_hooks``) go to the HTTP client.
        """
        return build_client("openai", async_, "http://fake-openai.test/v1", kwargs, provider=self)

    def anthropic_client(self, async_: bool = False, **kwargs: Any) -> Any:
        """A real ``anthropic.Anthropic`` (or ``AsyncAnthropic``) wired to this provider in-process.

        Defaults: ``api_key="test-key"``, ``base_url="http://fake-anthropic.test"``,
        ``max_retries=0``; other keywords as in :meth:`openai_client`.
        """
        return build_client("anthropic", async_, "http://fake-anthropic.test", kwargs, provider=self)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[Any]:
        """Run a loopback HTTP/1.1 server in a daemon thread; yields a ``FakeServer``.

        The server has ``base_url`` (``http://127.0.0.1:PORT``), ``openai_base_url``
        (``…/v1``) and ``openai_client()`` / ``anthropic_client()`` that connect to it.
        It is shut down, and its connections closed, on exit.
        """
        from ._server import start_server

        server = start_server(self, host, port)
        try:
            yield server
        finally:
            server.stop()

    # -- transport-facing API --------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A unique, deterministic id such as ``chatcmpl-fake000000000000000001``."""
        return f"{prefix}fake{next(self._ids):018d}"

    def now(self) -> int:
        """Unix time for ``created`` fields."""
        return int(time.time())

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> WireResponse:
        """Answer one HTTP request: record it, take the next queued item, build the response."""
        route = path.split("?", 1)[0].rstrip("/")
        if route.startswith("/v1/"):
            route = route[3:]
        elif route.startswith("/openai/deployments/"):
            # Azure OpenAI: /openai/deployments/{deployment}/chat/completions
            route = "/" + route.split("/", 4)[-1]
        api = _ROUTES.get(route)
        request_id = self.next_id("req_")
        errors = _anthropic if api in _ANTHROPIC_APIS or route.startswith("/messages") else _openai
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            payload = None
        routed = api is not None and method.upper() == "POST" and isinstance(payload, dict)
        record = FakeRequest(method, path, dict(headers), payload) if self._requests.maxlen != 0 else None
        with self._lock:
            if record is not None:
                self._requests.append(record)
            item = self._queue.popleft() if routed and self._queue else None
        if payload is None:
            return errors.error_response(FakeError(400, "Could not parse the JSON body."), request_id)
        if api is None or not routed:
            return errors.error_response(FakeError(404, f"Unknown request URL: {method} {path}"), request_id)
        if isinstance(item, FakeError):
            return self._error(api, payload, item, request_id)
        reply = item if isinstance(item, FakeReply) else getattr(item, "reply", None)
        wire = self._build(api, payload, reply, request_id)
        if isinstance(item, FakeDisconnect):
            wire.fault = Fault("disconnect", max(0, item.after_chunks))
            if not wire.stream:
                body_bytes = wire.chunks[0]
                half = len(body_bytes) // 2
                wire.chunks = [body_bytes[:half], body_bytes[half:]]
                wire.fault = Fault("disconnect", 1)
        elif isinstance(item, FakeTimeout):
            after = item.after_chunks if wire.stream else None
            wire.fault = Fault("timeout", after, item.delay)
        return wire

    def _build(self, api: str, payload: Dict[str, Any], reply: Optional[FakeReply], request_id: str) -> WireResponse:
        if api == "count_tokens":
            return _anthropic.count_tokens(payload, reply, request_id)
        return _BUILDERS[api](payload, reply, self, request_id)

    def _error(self, api: str, payload: Dict[str, Any], error: FakeError, request_id: str) -> WireResponse:
        if error.mid_stream_after is None or not payload.get("stream") or api not in ("chat", "responses", "messages"):
            module = _anthropic if api in _ANTHROPIC_APIS else _openai
            return module.error_response(error, request_id)
        wire = self._build(api, payload, None, request_id)
        kept = wire.chunks[: max(0, error.mid_stream_after)]
        if api == "chat":
            event = _openai.chat_stream_error(error)
        elif api == "responses":
            event = _responses.stream_error(error, len(kept))
        else:
            event = _anthropic.stream_error(error)
        wire.chunks = kept + [event]
        return wire
