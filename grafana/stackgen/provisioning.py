"""Grafana provisioning: the data sources (Prometheus with exemplars -> Tempo; Tempo with
traces-to-metrics and the service graph) and the dashboard provider.

The traces-to-metrics queries use metric names, so they are generated like the dashboards and
evaluated by the proof test (with ``$__tags`` filled in).
"""

from __future__ import annotations

from tokentrace import semconv as sc

from .metrics import COST, DURATION, L
from .model import PROMETHEUS, TEMPO

DASHBOARDS_DIR = "/var/lib/grafana/dashboards/tokentrace"
EXEMPLAR_TRACE_ID_LABEL = "trace_id"  # the Collector's prometheus exporter's exemplar label

# Span attribute -> metric label, for jumping from a span to its metrics.
TRACE_TO_METRIC_TAGS = [
    ("service.name", L.job),
    (sc.GEN_AI_PROVIDER_NAME, L.provider),
    (sc.GEN_AI_REQUEST_MODEL, L.request_model),
]
TRACE_TO_METRIC_QUERIES = [
    ("GenAI calls per second", f"sum(rate({DURATION.count}{{$__tags}}[5m]))"),
    ("GenAI p95 latency", f"histogram_quantile(0.95, sum by (le) (rate({DURATION.bucket}{{$__tags}}[5m])))"),
    ("GenAI spend (USD/hour)", f"sum(rate({COST.prom}{{$__tags}}[5m])) * 3600"),
]


def _escape(query: str) -> str:
    """Grafana expands ``$VAR`` in provisioning files from the environment: ``$$`` keeps a ``$``."""
    return query.replace("$", "$$")


def datasources() -> dict:
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus", "type": PROMETHEUS.type, "uid": PROMETHEUS.uid, "access": "proxy",
                "url": "http://prometheus:9090", "isDefault": True, "editable": False,
                "jsonData": {
                    "httpMethod": "POST",
                    "timeInterval": "15s",  # the scrape interval in prometheus.yml
                    "exemplarTraceIdDestinations": [
                        {"name": EXEMPLAR_TRACE_ID_LABEL, "datasourceUid": TEMPO.uid, "urlDisplayLabel": "View trace"},
                    ],
                },
            },
            {
                "name": "Tempo", "type": TEMPO.type, "uid": TEMPO.uid, "access": "proxy",
                "url": "http://tempo:3200", "editable": False,
                "jsonData": {
                    "tracesToMetrics": {
                        "datasourceUid": PROMETHEUS.uid,
                        "spanStartTimeShift": "-10m",
                        "spanEndTimeShift": "10m",
                        "tags": [{"key": key, "value": value} for key, value in TRACE_TO_METRIC_TAGS],
                        "queries": [{"name": name, "query": _escape(q)} for name, q in TRACE_TO_METRIC_QUERIES],
                    },
                    "serviceMap": {"datasourceUid": PROMETHEUS.uid},
                    "nodeGraph": {"enabled": True},
                    "search": {"hide": False},
                    "traceQuery": {"timeShiftEnabled": True, "spanStartTimeShift": "-1h", "spanEndTimeShift": "1h"},
                    "streamingEnabled": {"search": True, "metrics": True},
                },
            },
        ],
    }


def dashboard_provider() -> dict:
    return {
        "apiVersion": 1,
        "providers": [{
            "name": "tokentrace", "orgId": 1, "folder": "tokentrace", "type": "file",
            "disableDeletion": False, "allowUiUpdates": False, "updateIntervalSeconds": 30,
            "options": {"path": DASHBOARDS_DIR, "foldersFromFilesStructure": False},
        }],
    }
