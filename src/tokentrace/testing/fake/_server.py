"""A loopback HTTP/1.1 server answering from a FakeProvider, with real chunked SSE."""

from __future__ import annotations

import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Set

from ._clients import build_client

if TYPE_CHECKING:
    from ._provider import FakeProvider


_REASONS = {529: "Overloaded"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: Any, provider: FakeProvider) -> None:
        self.provider = provider
        self.stopping = threading.Event()
        self.connections: Set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients drop connections (closed streams, timeouts): that is not a server error.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Small SSE writes must leave at once; Nagle + delayed ACK would add ~40 ms stalls.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: test output stays clean."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        wire = server.provider.handle(self.command, self.path, headers, body)
        if server.provider.latency:
            server.stopping.wait(server.provider.latency)
        fault = wire.fault
        if fault is not None and fault.after is None:
            server.stopping.wait(fault.delay)
            self.close_connection = True
            return
        reason = self.responses.get(wire.status, (_REASONS.get(wire.status, "Error"),))[0]
        lines = [f"HTTP/1.1 {wire.status} {reason}"] + [f"{k}: {v}" for k, v in wire.headers]
        if wire.stream:
            lines.append("transfer-encoding: chunked")
        else:
            lines.append(f"content-length: {sum(len(c) for c in wire.chunks)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        delay = server.provider.chunk_delay
        try:
            self.wfile.write(head)
            for index, chunk in enumerate(wire.chunks):
                if fault is not None and fault.after == index:
                    break
                if delay and index:
                    server.stopping.wait(delay)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if wire.stream else chunk)
            if fault is None:
                if wire.stream:
                    self.wfile.write(b"0\r\n\r\n")
                return
            if fault.kind == "timeout":
                server.stopping.wait(fault.delay)
            self.close_connection = True
            # An unterminated body then EOF: the client sees the peer close mid-message.
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            self.close_connection = True

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _answer


class FakeServer:
    """A running loopback server (from :meth:`FakeProvider.serve`)."""

    def __init__(self, provider: FakeProvider, server: _Server) -> None:
        self.provider = provider
        self._server = server
        host, port = server.server_address[:2]
        self.host: str = str(host)
        self.port: int = int(port)
        self.base_url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="tokentrace-fake-server", daemon=True
        )

    @property
    def openai_base_url(self) -> str:
        """``base_url + "/v1"``, for ``openai.OpenAI(base_url=...)``."""
        return self.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        """``base_url``, for ``anthropic.Anthropic(base_url=...)``."""
        return self.base_url

    def openai_client(self, async_: bool = False, **kwargs: Any) -> Any:
        """A real OpenAI client connecting to this server (``max_retries=0``, ``api_key="test-key"``)."""
        return build_client("openai", async_, self.openai_base_url, kwargs)

    def anthropic_client(self, async_: bool = False, **kwargs: Any) -> Any:
        """A real Anthropic client connecting to this server (``max_retries=0``, ``api_key="test-key"``)."""
        return build_client("anthropic", async_, self.anthropic_base_url, kwargs)

    def stop(self) -> None:
        """Stop serving, close open connections and wait for handler threads."""
        server = self._server
        server.stopping.set()
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        self._thread.join()


def start_server(provider: FakeProvider, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
    """Bind, start the serving thread and return the handle."""
    handle = FakeServer(provider, _Server((host, port), provider))
    handle._thread.start()
    return handle
