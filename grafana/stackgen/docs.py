"""The generated parts of ``grafana/README.md``: dashboards, alerts and the metric -> panels/alerts
table, between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` markers."""

from __future__ import annotations

import re

from .alerts import ALERTS, RECORDING
from .dashboards import DASHBOARDS
from .metrics import ALL
from .model import Query, TraceQuery


def _uses(expr: str, metric) -> bool:
    return any(re.search(rf"\b{re.escape(name)}\b", expr) for name in metric.series_names)


def _alerts_using(metric) -> list[str]:
    records = {r.record for r in RECORDING if _uses(r.expr, metric)}
    names = []
    for alert in ALERTS:
        if _uses(alert.expr, metric) or any(rec in alert.expr for rec in records):
            names.append(f"`{alert.name}`")
    return names


def metric_table() -> str:
    lines = [
        "| metric (OTel) | Prometheus series | dashboard panels | alerts |",
        "|---|---|---|---|",
    ]
    for metric in ALL:
        panels = []
        for dashboard in DASHBOARDS:
            for panel, query in dashboard.prometheus_queries():
                if _uses(query.expr, metric):
                    label = f"{dashboard.title.split(' / ')[1]}: {panel.title}"
                    if label not in panels:
                        panels.append(label)
        series = ", ".join(f"`{s}`" for s in metric.series_names)
        lines.append(f"| `{metric.otel_name}` ({metric.kind}, `{metric.unit}`) | {series} | "
                     f"{'<br>'.join(panels) or '— (cache dashboard, planned)'} | {', '.join(_alerts_using(metric)) or '—'} |")
    return "\n".join(lines)


def dashboard_list() -> str:
    out = []
    for dashboard in DASHBOARDS:
        out.append(f"**{dashboard.title}** (`{dashboard.filename}`): {dashboard.description}\n")
        for row in dashboard.rows:
            titles = []
            for panel in row.panels:
                source = " *(Tempo)*" if any(isinstance(q, TraceQuery) for q in panel.queries) else ""
                if not any(isinstance(q, (Query, TraceQuery)) for q in panel.queries):
                    source = " *(Tempo service graph)*"
                titles.append(f"{panel.title}{source}")
            out.append(f"- {row.title}: " + "; ".join(titles))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def alert_list() -> str:
    lines = ["| alert | severity, for | fires when | runbook |", "|---|---|---|---|"]
    for alert in ALERTS:
        lines.append(f"| `{alert.name}` | {alert.severity}, {alert.for_ or 'at once'} | {alert.description} | {alert.runbook} |")
    lines.append("")
    lines.append("Recording rules they use: " + ", ".join(f"`{r.record}`" for r in RECORDING) + ".")
    return "\n".join(lines)


SECTIONS = {"dashboards": dashboard_list, "alerts": alert_list, "metrics": metric_table}


def fill(readme: str) -> str:
    for name, render in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(readme):
            raise ValueError(f"grafana/README.md has no generated:{name} markers")
        readme = pattern.sub(lambda m: m.group(1) + render().rstrip() + "\n" + m.group(2), readme)
    return readme
