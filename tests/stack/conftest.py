"""Fixtures for the stack tests: paths, the Debian tools (never skipped when missing: the tests
fail and say what to install), and the proof harness (a real workload, its metrics exposed as the
Collector would, scraped by a Prometheus of our own on loopback)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
COLLECTOR = ROOT / "collector-config"
RULES_FILE = GRAFANA / "prometheus" / "rules" / "tokentrace.rules.yml"
sys.path.insert(0, str(GRAFANA))

SCRAPE_INTERVAL_S = 1
INSTALL_HINT = "apt-get install -y prometheus docker-compose (.ci/run installs them)"


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed; the stack tests need it: {INSTALL_HINT}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_tool("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return require_tool("prometheus")


@pytest.fixture(scope="session")
def docker_compose() -> str:
    return require_tool("docker-compose")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusAPI:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def get(self, path: str, **params: Any) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params, doseq=True)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                body = json.load(response)
        except urllib.error.HTTPError as err:  # 400/422: a bad query; the body says why
            body = json.loads(err.read() or b"{}")
        if body.get("status") != "success":
            raise PromQLError(f"{body.get('errorType')}: {body.get('error')} (for {params})")
        return body["data"]

    def query(self, expr: str, at: Optional[float] = None) -> list[dict]:
        params = {"query": expr}
        if at is not None:
            params["time"] = at
        return self.get("/api/v1/query", **params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict]:
        return self.get("/api/v1/query_range", query=expr, start=start, end=end, step=step)["result"]

    def series(self, match: str) -> list[dict]:
        return self.get("/api/v1/series", **{"match[]": match})


class PromQLError(AssertionError):
    pass


@dataclass
class Proof:
    """The finished workload, and the Prometheus that scraped it."""

    api: PrometheusAPI
    spans: list
    metrics: Any
    exposition: str
    calls: int
    log: Path
    evaluated_at: float = field(default_factory=time.time)


class _Exposition(BaseHTTPRequestHandler):
    render: Any = None

    def do_GET(self) -> None:  # noqa: N802
        body = type(self).render().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _wait(predicate: Any, timeout: float, what: str, log: Optional[Path] = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, PromQLError):
            pass
        time.sleep(0.25)
    tail = ""
    if log is not None and log.exists():
        tail = "\n--- prometheus log ---\n" + "\n".join(log.read_text().splitlines()[-30:])
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{tail}", pytrace=False)


@pytest.fixture(scope="session")
def proof(prometheus_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    import tokentrace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from tokentrace.testing import FakeProvider

    from . import exposition, workload

    tmp = tmp_path_factory.mktemp("prometheus")
    resource = Resource.create({"service.name": "tokentrace-proof", "deployment.environment.name": "test"})
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    def render() -> str:
        return exposition.render(reader.get_metrics_data())

    handler = type("Exposition", (_Exposition,), {"render": staticmethod(render)})
    http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()

    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
        f"rule_files:\n  - {json.dumps(str(RULES_FILE))}\n"
        "scrape_configs:\n"
        "  - job_name: otel-collector\n    honor_labels: true\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{http.server_address[1]}']\n"
    )
    log = tmp / "prometheus.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=info"],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    api = PrometheusAPI(f"http://127.0.0.1:{port}")
    try:
        _wait(lambda: urllib.request.urlopen(f"{api.base_url}/-/ready", timeout=2).status == 200, 60,
              "Prometheus to be ready", log)
        tokentrace.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, cache=workload.CACHE)
        fake = FakeProvider(latency=0.005, chunk_delay=0.002)
        calls = 0
        try:
            with fake.serve() as server:
                calls += workload.run_round(fake, server, 1)
                scrape_count = f'count(up{{job="otel-collector"}} == 1) and count({_DURATION_COUNT})'
                _wait(lambda: api.query(scrape_count), 30, "the first scrape of the workload's metrics", log)
                time.sleep(3 * SCRAPE_INTERVAL_S)
                calls += workload.run_round(fake, server, 2)
        finally:
            tokentrace.uninstrument()
        final = exposition.render(reader.get_metrics_data())
        total = f"sum({_DURATION_COUNT})"
        _wait(lambda: float(api.query(total)[0]["value"][1]) >= calls, 30, "the second round to be scraped", log)
        from stackgen.alerts import RECORDING

        _wait(lambda: all(api.query(r.record) for r in RECORDING), 30, "every recording rule to have results", log)
        time.sleep(2 * SCRAPE_INTERVAL_S)
        yield Proof(api=api, spans=list(spans.get_finished_spans()), metrics=reader.get_metrics_data(),
                    exposition=final, calls=calls, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        http.shutdown()
        http.server_close()
        meter_provider.shutdown()
        tracer_provider.shutdown()


def _duration_count() -> str:
    from stackgen.metrics import DURATION

    return DURATION.count


_DURATION_COUNT = _duration_count()
