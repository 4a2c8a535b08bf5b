"""The generated parts of ``grafana/README.md`` (dashboards, alerts, their runbooks and the metric ->
panels/alerts table) and of the main ``README.md``'s stack section (the metric -> dashboards/alerts summary),
between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->`` markers."""

from __future__ import annotations

import re

from .alerts import ALERTS, RECORDING, runbook_anchor
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


def _short_title(dashboard) -> str:
    return dashboard.title.split(" / ")[1]


def _panels_using(metric) -> list[tuple[object, str]]:
    """(dashboard, panel title) of every Prometheus panel that reads the metric."""
    out = []
    for dashboard in DASHBOARDS:
        for panel, query in dashboard.prometheus_queries():
            if _uses(query.expr, metric) and (dashboard, panel.title) not in out:
                out.append((dashboard, panel.title))
    return out


def metric_table() -> str:
    lines = [
        "| metric (OTel) | Prometheus series | dashboard panels | alerts |",
        "|---|---|---|---|",
    ]
    for metric in ALL:
        panels = [f"{_short_title(d)}: {title}" for d, title in _panels_using(metric)]
        series = ", ".join(f"`{s}`" for s in metric.series_names)
        lines.append(f"| `{metric.otel_name}` ({metric.kind}, `{metric.unit}`) | {series} | "
                     f"{'<br>'.join(panels) or '—'} | {', '.join(_alerts_using(metric)) or '—'} |")
    return "\n".join(lines)


def stack_metric_summary() -> str:
    """The main README's short version: metric -> dashboards (panel count) and alerts."""
    lines = ["| metric | Prometheus | dashboards (panels) | alerts |", "|---|---|---|---|"]
    for metric in ALL:
        counts: dict[str, int] = {}
        for dashboard, _ in _panels_using(metric):
            counts[_short_title(dashboard)] = counts.get(_short_title(dashboard), 0) + 1
        dashboards = ", ".join(f"{name} ({n})" for name, n in counts.items())
        base = f"`{metric.prom}_*`" if len(metric.series_names) > 1 else f"`{metric.prom}`"
        lines.append(f"| `{metric.otel_name}` | {base} | {dashboards or '—'} | {', '.join(_alerts_using(metric)) or '—'} |")
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
        lines.append(f"| `{alert.name}` | {alert.severity}, {alert.for_ or 'at once'} | {alert.description} | "
                     f"[runbook](#{runbook_anchor(alert.name)}) |")
    lines.append("")
    lines.append("Recording rules they use: " + ", ".join(f"`{r.record}`" for r in RECORDING) + ".")
    return "\n".join(lines)


def runbook_list() -> str:
    """One heading per alert: the targets of the alerts' ``runbook_url`` annotations."""
    out = []
    for alert in ALERTS:
        out += [f"### {alert.name}", "", f"*Fires when:* {alert.description}", "", alert.runbook, ""]
    return "\n".join(out)


SECTIONS = {"dashboards": dashboard_list, "alerts": alert_list, "runbooks": runbook_list, "metrics": metric_table}
MAIN_README_SECTIONS = {"stack-metrics": stack_metric_summary}


def fill(readme: str, sections=None) -> str:
    for name, render in (SECTIONS if sections is None else sections).items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(readme):
            raise ValueError(f"the README has no generated:{name} markers")
        readme = pattern.sub(lambda m: m.group(1) + render().rstrip() + "\n" + m.group(2), readme)
    return readme
