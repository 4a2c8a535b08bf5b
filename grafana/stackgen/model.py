"""A small model of Grafana dashboards: panels are data (title, unit, queries), rendered to the
dashboard JSON Grafana provisions. The same data is what the proof test evaluates, so a panel
and its proof are one definition.

Why not ``grafana-foundation-sdk``: its builders produce the same JSON, but the proof needs the
queries as plain data anyway, the SDK's Python package is generated per Grafana version (pinning
it ties the tests to one schema), and the handful of panel types used here fit in this module.
The output is classic dashboard JSON (``schemaVersion`` 39), which Grafana 10-12 load as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Optional, Union


@dataclass(frozen=True)
class Datasource:
    type: str
    uid: str

    def ref(self) -> dict:
        return {"type": self.type, "uid": self.uid}


PROMETHEUS = Datasource("prometheus", "prometheus")
TEMPO = Datasource("tempo", "tempo")


@dataclass(frozen=True)
class Query:
    """A PromQL target. ``instant`` for stat/bar/table panels showing one value per series."""

    expr: str
    legend: str = ""
    instant: bool = False
    interval: str = ""  # minimum step, e.g. "1d" for daily bars
    table: bool = False


@dataclass(frozen=True)
class TraceQuery:
    """A TraceQL target: a span search (table) or, with ``metrics``, a TraceQL metrics query."""

    query: str
    metrics: bool = False
    limit: int = 20
    spans_per_trace: int = 5  # span searches: matching spans shown per trace (Tempo's "spss")


@dataclass(frozen=True)
class ServiceMapQuery:
    """Tempo's service graph (from the metrics generator's ``traces_service_graph_*`` series)."""


Target = Union[Query, TraceQuery, ServiceMapQuery]


@dataclass
class Panel:
    title: str
    kind: str  # timeseries | stat | bargauge | table | nodeGraph
    queries: list[Target]
    unit: str = ""
    description: str = ""
    width: int = 12
    height: int = 8
    datasource: Datasource = PROMETHEUS
    bars: bool = False
    stacked: bool = False
    min: Optional[float] = 0
    decimals: Optional[int] = None
    span_attributes: tuple[str, ...] = ()
    """Tempo panels: the span attributes the TraceQL uses (the tests check the library emits them)."""
    sort_descending_by: str = ""
    """Tables: the column (display name) whose largest values come first."""
    numeric_columns: tuple[str, ...] = ()
    """Tempo tables: span attribute columns to sort as numbers (Grafana types them as strings)."""


@dataclass
class Row:
    title: str
    panels: list[Panel]


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    query: str = ""  # label_values(...) for a query variable
    textbox_default: Optional[str] = None  # a textbox variable when set
    description: str = ""

    def render(self) -> dict:
        if self.textbox_default is not None:
            return {
                "name": self.name, "label": self.label, "type": "textbox", "description": self.description,
                "query": self.textbox_default, "hide": 0,
                "current": {"selected": False, "text": self.textbox_default, "value": self.textbox_default},
                "options": [{"selected": True, "text": self.textbox_default, "value": self.textbox_default}],
            }
        return {
            "name": self.name, "label": self.label, "type": "query", "description": self.description,
            "datasource": PROMETHEUS.ref(),
            "definition": self.query,
            "query": self.query,  # the classic string form: every Grafana version parses label_values(...)
            "refresh": 2, "sort": 1, "hide": 0, "regex": "",
            "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [],
        }


@dataclass
class Dashboard:
    uid: str
    title: str
    description: str
    rows: list[Row]
    variables: list[Variable] = field(default_factory=list)
    tags: tuple[str, ...] = ("tokentrace", "genai")
    time_from: str = "now-6h"
    refresh: str = "30s"

    @property
    def filename(self) -> str:
        return f"{self.uid}.json"

    def panels(self) -> Iterator[Panel]:
        for row in self.rows:
            yield from row.panels

    def prometheus_queries(self) -> Iterator[tuple[Panel, Query]]:
        for panel in self.panels():
            for query in panel.queries:
                if isinstance(query, Query):
                    yield panel, query

    def render(self) -> dict:
        panels: list[dict] = []
        next_id = 1
        y = 0
        for row in self.rows:
            panels.append({
                "id": next_id, "type": "row", "title": row.title, "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": [],
            })
            next_id += 1
            y += 1
            x = 0
            line_height = 0
            for panel in row.panels:
                if x + panel.width > 24:
                    x = 0
                    y += line_height
                    line_height = 0
                panels.append(_render_panel(panel, next_id, {"x": x, "y": y, "w": panel.width, "h": panel.height}))
                next_id += 1
                x += panel.width
                line_height = max(line_height, panel.height)
            y += line_height
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": 39,
            "version": 1,
            "timezone": "browser",
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "annotations": {"list": []},
            "links": [{
                "title": "tokentrace dashboards", "type": "dashboards", "tags": ["tokentrace"],
                "asDropdown": True, "includeVars": True, "keepTime": True,
            }],
            "templating": {"list": [v.render() for v in self.variables]},
            "panels": panels,
        }


def _render_panel(panel: Panel, panel_id: int, grid: dict) -> dict:
    ds = panel.datasource.ref()
    defaults: dict = {}
    if panel.unit:
        defaults["unit"] = panel.unit
    if panel.min is not None and panel.kind in ("timeseries", "bargauge"):
        defaults["min"] = panel.min
    if panel.decimals is not None:
        defaults["decimals"] = panel.decimals
    out: dict = {
        "id": panel_id, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": ds, "gridPos": grid,
        "targets": [_render_target(q, chr(ord("A") + i), ds) for i, q in enumerate(panel.queries)],
    }
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if panel.bars else "line", "lineWidth": 1,
            "fillOpacity": 80 if panel.bars else 10, "showPoints": "never", "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
        }
        out["options"] = {
            "legend": {"showLegend": True, "displayMode": "list", "placement": "bottom", "calcs": []},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    elif panel.kind == "stat":
        defaults["color"] = {"mode": "thresholds"}
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}]}
        out["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "none", "justifyMode": "auto", "textMode": "auto",
            "orientation": "auto",
        }
    elif panel.kind == "bargauge":
        out["options"] = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
        }
    elif panel.kind == "table":
        out["options"] = {"showHeader": True, "cellHeight": "sm"}
        out["transformations"] = _table_transformations(panel)
        if panel.sort_descending_by:
            out["options"]["sortBy"] = [{"displayName": panel.sort_descending_by, "desc": True}]
    elif panel.kind == "nodeGraph":
        out["options"] = {}
    out["fieldConfig"] = {"defaults": defaults, "overrides": []}
    return out


def _table_transformations(panel: Panel) -> list[dict]:
    steps: list[dict] = []
    if panel.datasource == PROMETHEUS:
        steps.append({"id": "organize", "options": {"excludeByName": {"Time": True}}})
    if panel.numeric_columns:
        conversions = [{"targetField": name, "destinationType": "number"} for name in panel.numeric_columns]
        steps.append({"id": "convertFieldType", "options": {"fields": {}, "conversions": conversions}})
    if panel.sort_descending_by:
        steps.append({"id": "sortBy", "options": {"fields": {}, "sort": [{"field": panel.sort_descending_by, "desc": True}]}})
    return steps


def _render_target(query: Target, ref_id: str, ds: dict) -> dict:
    if isinstance(query, Query):
        target = {
            "refId": ref_id, "datasource": ds, "expr": query.expr, "legendFormat": query.legend or "__auto",
            "range": not query.instant, "instant": query.instant, "editorMode": "code",
            "format": "table" if query.table else "time_series",
        }
        if not query.instant:
            target["exemplar"] = True
        if query.interval:
            target["interval"] = query.interval
        return target
    if isinstance(query, TraceQuery):
        target = {"refId": ref_id, "datasource": ds, "queryType": "traceql", "query": query.query, "limit": query.limit}
        if query.metrics:
            target["metricsQueryType"] = "range"
        else:
            target["tableType"] = "spans"
            target["spss"] = query.spans_per_trace
        return target
    return {"refId": ref_id, "datasource": ds, "queryType": "serviceMap"}


# --- template substitution, as Grafana does it, for evaluating queries outside Grafana ---------

_VAR = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def substitute(expr: str, values: dict[str, str]) -> str:
    """Replace ``$var``, ``${var}`` and ``${var:format}`` (and ``$__rate_interval`` etc.) by ``values``."""

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for template variable ${name} in {expr!r}")
        return values[name]

    return _VAR.sub(replace, expr)
