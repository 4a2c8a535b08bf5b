"""Prometheus text exposition of OpenTelemetry SDK metrics, as the shipped Collector pipeline
(OTLP receiver -> prometheus exporter, default translation, scraped with ``honor_labels``)
presents them to Prometheus.

What the Collector's exporter does, and this module does too:

* metric names and label names translated by ``stackgen.naming`` (the exporter's default
  ``UnderscoreEscapingWithSuffixes`` rules);
* ``job`` = ``[service.namespace/]service.name`` and ``instance`` = ``service.instance.id`` from
  the resource on every series, the other resource attributes only on ``target_info``;
* ``otel_scope_name`` / ``otel_scope_version`` (and scope attributes as ``otel_scope_<key>``)
  on every series; empty values are left out (Prometheus drops empty labels anyway);
* cumulative histograms as ``_bucket`` (cumulative counts, ``le`` in Go's shortest float format,
  ``+Inf``), ``_sum``, ``_count``; monotonic sums as counters; other sums and gauges as gauges.

Not reproduced: exemplars and ``_created`` series, which only the OpenMetrics format carries
(the shipped exporter enables it); neither changes a series name or a query result.
"""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "grafana"))

from opentelemetry.sdk.metrics.export import Gauge, Histogram, MetricsData, Sum  # noqa: E402

from stackgen.naming import COUNTER, GAUGE, HISTOGRAM, UPDOWN_COUNTER, instance_of, job_of, label_name, metric_name  # noqa: E402

_RESOURCE_IDENTITY = ("service.name", "service.namespace", "service.instance.id")


def go_float(value: float) -> str:
    """``strconv.FormatFloat(v, 'g', -1, 64)``: how client_golang (the exporter) writes values and ``le``.

    Shortest round-trip digits; exponent form when the decimal exponent is < -4 or >= 6
    (so ``le="1.048576e+06"``, ``le="0.01"``).
    """
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    point = len(mantissa) + exponent  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        return _exp_form(prefix, mantissa, exp)
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{mantissa}"
    if point >= len(mantissa):
        return prefix + mantissa + "0" * (point - len(mantissa))
    return f"{prefix}{mantissa[:point]}.{mantissa[point:]}"


def _exp_form(prefix: str, mantissa: str, exp: int) -> str:
    head = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{prefix}{head}e{'+' if exp >= 0 else '-'}{abs(exp):02d}"


def _value(v: Any) -> str:
    """An attribute value as the Collector's ``AsString`` writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, (list, tuple)):
        return json.dumps(list(v), separators=(",", ":"))
    return str(v)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs if v != "")
    return "{" + body + "}" if body else ""


def kind_of(data: Any) -> str:
    if isinstance(data, Histogram):
        return HISTOGRAM
    if isinstance(data, Sum):
        return COUNTER if data.is_monotonic else UPDOWN_COUNTER
    if isinstance(data, Gauge):
        return GAUGE
    raise TypeError(f"unsupported metric data {type(data).__name__}")


def render(data: MetricsData) -> str:
    families: dict[str, dict[str, Any]] = {}
    target_info: list[str] = []
    for rm in data.resource_metrics:
        resource = dict(rm.resource.attributes)
        identity = [("job", job_of(resource) or ""), ("instance", instance_of(resource) or "")]
        target_info.append("target_info" + _labels(
            [(label_name(k), _value(v)) for k, v in sorted(resource.items()) if k not in _RESOURCE_IDENTITY]
            + identity) + " 1")
        for sm in rm.scope_metrics:
            scope = sm.scope
            scope_labels = [(label_name("otel_scope_" + k), _value(v)) for k, v in (scope.attributes or {}).items()]
            scope_labels += [("otel_scope_name", scope.name or ""), ("otel_scope_version", scope.version or ""),
                             ("otel_scope_schema_url", scope.schema_url or "")]
            for metric in sm.metrics:
                kind = kind_of(metric.data)
                name = metric_name(metric.name, metric.unit or "", kind)
                prom_type = {HISTOGRAM: "histogram", COUNTER: "counter"}.get(kind, "gauge")
                family = families.setdefault(name, {"type": prom_type, "help": metric.description or "", "lines": []})
                if family["type"] != prom_type:
                    raise ValueError(f"{name}: type conflict {family['type']} vs {prom_type}")
                for point in metric.data.data_points:
                    labels = [(label_name(k), _value(v)) for k, v in point.attributes.items()]
                    labels += scope_labels + identity
                    family["lines"].extend(_point_lines(name, kind, point, labels))
    out = ["# HELP target_info Target metadata", "# TYPE target_info gauge", *target_info]
    for name, family in families.items():
        out.append(f"# HELP {name} {_escape(family['help'])}")
        out.append(f"# TYPE {name} {family['type']}")
        out.extend(family["lines"])
    return "\n".join(out) + "\n"


def _point_lines(name: str, kind: str, point: Any, labels: list[tuple[str, str]]) -> list[str]:
    if kind != HISTOGRAM:
        return [f"{name}{_labels(labels)} {go_float(float(point.value))}"]
    lines = []
    cumulative = 0
    for bound, count in zip(point.explicit_bounds, point.bucket_counts):
        cumulative += count
        lines.append(f"{name}_bucket{_labels(labels + [('le', go_float(float(bound)))])} {cumulative}")
    lines.append(f"{name}_bucket{_labels(labels + [('le', '+Inf')])} {point.count}")
    lines.append(f"{name}_sum{_labels(labels)} {go_float(float(point.sum))}")
    lines.append(f"{name}_count{_labels(labels)} {point.count}")
    return lines
