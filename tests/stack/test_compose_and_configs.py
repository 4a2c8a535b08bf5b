"""The compose file (validated by docker-compose, offline), the Collector config (every pipeline's
components defined, current component names), the Tempo config, and their wiring to each other."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tokentrace import semconv as sc

from .conftest import COLLECTOR, GRAFANA

COMPOSE = GRAFANA / "docker-compose.yaml"


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_docker_compose_config_is_valid(docker_compose):
    result = subprocess.run([docker_compose, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                            timeout=120, cwd=GRAFANA)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_images_pinned_ports_on_loopback_and_mounts_exist():
    compose = _load(COMPOSE)
    services = compose["services"]
    assert {"otel-collector", "tempo", "prometheus", "grafana"} <= set(services)
    for name, service in services.items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+", image), f"{name}: pin an exact version, not {image}"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: publish {port} on 127.0.0.1 only"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (GRAFANA / source).exists(), f"{name}: mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
    collector_ports = {p.split(":", 1)[1] for p in services["otel-collector"]["ports"]}
    assert {"4317:4317", "4318:4318"} <= collector_ports


def _components(config: dict, kind: str) -> dict:
    return config.get(kind) or {}


# Component types of the contrib distribution, by their current names (otlp_grpc, not the
# deprecated otlp alias; otlp_http, not otlphttp).
KNOWN = {
    "receivers": {"otlp"},
    "processors": {"memory_limiter", "batch", "tail_sampling"},
    "exporters": {"otlp_grpc", "otlp_http", "prometheus", "debug"},
    "extensions": {"health_check"},
}


def _check_pipelines(config: dict) -> None:
    service = config["service"]
    for kind in ("extensions",):
        for ref in service.get(kind, []):
            assert ref in _components(config, kind), f"service.{kind}: {ref} is not defined"
    for name, pipeline in service["pipelines"].items():
        assert pipeline.get("receivers") and pipeline.get("exporters"), name
        for kind in ("receivers", "processors", "exporters"):
            for ref in pipeline.get(kind, []):
                assert ref in _components(config, kind), f"pipeline {name}: {kind[:-1]} {ref} is not defined"
        processors = pipeline.get("processors", [])
        assert processors[0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert processors[-1] == "batch", f"{name}: batch must come last"
    for kind, known in KNOWN.items():
        for ref in _components(config, kind):
            assert ref.split("/")[0] in known, f"{kind}: unknown or deprecated component type {ref}"


def _merge(base: dict, overlay: dict) -> dict:
    """The Collector's merge of several --config files: maps merge, everything else is replaced."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def test_collector_config():
    config = _load(COLLECTOR / "otelcol.yaml")
    _check_pipelines(config)
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert protocols["http"]["endpoint"] == "0.0.0.0:4318"
    assert set(config["service"]["pipelines"]) == {"traces", "metrics"}
    exporter = config["exporters"]["prometheus"]
    # The dashboards rely on the default name translation: no namespace, suffixes on.
    assert "namespace" not in exporter and exporter.get("add_metric_suffixes", True) is True
    assert exporter.get("translation_strategy", "UnderscoreEscapingWithSuffixes") == "UnderscoreEscapingWithSuffixes"
    assert not exporter.get("resource_to_telemetry_conversion", {}).get("enabled", False)


def test_collector_tail_sampling_overlay():
    config = _merge(_load(COLLECTOR / "otelcol.yaml"), _load(COLLECTOR / "tail-sampling.yaml"))
    _check_pipelines(config)
    assert "tail_sampling" in config["service"]["pipelines"]["traces"]["processors"]
    assert "tail_sampling" not in config["service"]["pipelines"]["metrics"].get("processors", [])
    policies = {p["type"]: p for p in config["processors"]["tail_sampling"]["policies"]}
    assert policies["status_code"]["status_code"]["status_codes"] == ["ERROR"]
    assert any(sc.TT_COST_TOTAL in c for c in policies["ottl_condition"]["ottl_condition"]["span"])
    assert policies["string_attribute"]["string_attribute"]["key"] == sc.TT_COST_STATUS


def test_wiring_between_collector_tempo_prometheus_and_grafana():
    collector = _load(COLLECTOR / "otelcol.yaml")
    tempo = _load(GRAFANA / "tempo" / "tempo.yaml")
    prometheus = _load(GRAFANA / "prometheus" / "prometheus.yml")
    services = _load(COMPOSE)["services"]
    # Collector -> Tempo
    tempo_endpoint = collector["exporters"]["otlp_grpc/tempo"]["endpoint"]
    assert tempo_endpoint.split(":")[0] in services
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":" + tempo_endpoint.split(":")[1])
    # Prometheus scrapes the Collector's exporter, keeping the exporter's job/instance labels
    exporter_port = collector["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "otel-collector")
    assert job["honor_labels"] is True
    assert job["static_configs"][0]["targets"] == [f"otel-collector:{exporter_port}"]
    # Tempo's metrics generator -> Prometheus remote write (enabled on Prometheus)
    url = tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
    assert url.startswith("http://prometheus:9090/")
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]
    assert "--enable-feature=exemplar-storage" in services["prometheus"]["command"]
    assert collector["exporters"]["prometheus"]["enable_open_metrics"] is True  # exemplars
    processors = tempo["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert {"service-graphs", "span-metrics", "local-blocks"} <= set(processors)
    assert tempo["metrics_generator"]["processor"]["local_blocks"]["filter_server_spans"] is False
    known = {v for k, v in vars(sc).items() if k.isupper() and isinstance(v, str)}
    assert set(tempo["metrics_generator"]["processor"]["span_metrics"]["dimensions"]) <= known
    # retention covers the cost alert's 7-day baseline
    retention = next(a for a in services["prometheus"]["command"] if a.startswith("--storage.tsdb.retention.time="))
    assert int(retention.split("=")[1].rstrip("d")) > 7


@pytest.mark.parametrize("path", sorted(COLLECTOR.glob("*.yaml")) + sorted((GRAFANA / "tempo").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_config_files_are_plain_yaml(path):
    assert isinstance(_load(path), dict)
