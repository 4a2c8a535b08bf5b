"""Grafana provisioning and dashboards: parsed, generated files current, unique panel ids, valid
non-overlapping grid positions, data source references that exist, units, template variables."""

from __future__ import annotations

import json
import re

import pytest
import yaml

import stackgen
from stackgen import dashboards, provisioning
from stackgen.metrics import ALL

from .conftest import GRAFANA

DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))


def _datasources() -> dict[str, str]:
    data = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    assert data["apiVersion"] == 1
    return {d["uid"]: d["type"] for d in data["datasources"]}


def test_generated_files_are_current():
    stale = stackgen.stale()
    assert not stale, f"run `python grafana/generate.py`: stale {[str(p) for p in stale]}"


def test_datasources_provisioning():
    data = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    sources = data["datasources"]
    assert len({d["uid"] for d in sources}) == len(sources)
    assert sum(1 for d in sources if d.get("isDefault")) == 1
    uids = {d["uid"]: d for d in sources}
    prometheus, tempo = uids["prometheus"], uids["tempo"]
    for dest in prometheus["jsonData"]["exemplarTraceIdDestinations"]:
        assert dest["datasourceUid"] in uids
    t = tempo["jsonData"]
    assert t["tracesToMetrics"]["datasourceUid"] in uids and t["serviceMap"]["datasourceUid"] in uids
    for query in t["tracesToMetrics"]["queries"]:
        # Grafana expands $VAR from the environment in provisioning files: $__tags must be escaped.
        assert "$$__tags" in query["query"] and not re.search(r"(?<!\$)\$__tags", query["query"])


def test_dashboard_provider_points_at_the_mounted_dashboards():
    data = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text())
    (provider,) = data["providers"]
    compose = yaml.safe_load((GRAFANA / "docker-compose.yaml").read_text())
    mounts = dict(v.split(":")[:2] for v in compose["services"]["grafana"]["volumes"])
    assert mounts["./dashboards"] == provider["options"]["path"] == provisioning.DASHBOARDS_DIR
    assert mounts["./provisioning"] == "/etc/grafana/provisioning"
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provisioning.DASHBOARDS_DIR + "/") and (GRAFANA / "dashboards" / home.rsplit("/", 1)[1]).exists()


def test_every_dashboard_is_generated():
    assert [p.name for p in DASHBOARD_FILES] == sorted(d.filename for d in dashboards.DASHBOARDS)


def _refs(obj):
    if isinstance(obj, dict):
        if set(obj) >= {"type", "uid"} and isinstance(obj.get("uid"), str):
            yield obj
        for value in obj.values():
            yield from _refs(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _refs(value)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboard_structure(path):
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], int] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h")), panel["title"]
        assert grid["x"] >= 0 and grid["y"] >= 0 and grid["w"] >= 1 and grid["h"] >= 1, panel["title"]
        assert grid["x"] + grid["w"] <= 24, f"{panel['title']}: wider than the 24-column grid"
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]
    sources = _datasources()
    for ref in _refs(dashboard):
        assert ref["uid"] in sources, f"unknown data source uid {ref['uid']}"
        assert sources[ref["uid"]] == ref["type"], f"data source {ref['uid']} is a {sources[ref['uid']]}, not {ref['type']}"
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
        if panel["type"] not in ("table", "nodeGraph"):
            assert panel["fieldConfig"]["defaults"].get("unit"), f"{panel['title']}: set a unit"


@pytest.mark.parametrize("dashboard", dashboards.DASHBOARDS, ids=lambda d: d.uid)
def test_template_variables(dashboard):
    names = {v.name for v in dashboard.variables}
    assert {"service", "provider", "model"} <= names
    filters = {v.name for v in dashboard.variables if v.query}
    rendered = json.dumps(dashboard.render())
    for panel, query in dashboard.prometheus_queries():
        for var in filters:
            assert f"${var}" in query.expr, f"{panel.title}: does not filter by ${var}"
    used = set(re.findall(r"\$\{?(\w+)", rendered)) - {"__rate_interval", "__range", "__interval", "__all", "labels", "value"}
    assert used <= names, f"undefined variables {used - names}"


def test_every_metric_name_in_a_query_is_known():
    """Static companion of the proof: every metric-like identifier is a catalogued series or recorded rule."""
    from stackgen.alerts import RECORDING

    known = {s for m in ALL for s in m.series_names} | {r.record for r in RECORDING}
    pattern = re.compile(r"\b((?:gen_ai|tokentrace)[a-z_:A-Z]*?_(?:bucket|sum|count|total))\b")
    for dashboard in dashboards.DASHBOARDS:
        for panel, query in dashboard.prometheus_queries():
            for name in pattern.findall(query.expr):
                assert name in known, f"{panel.title}: unknown series {name}"


_REFERENCE = re.compile(r"\$\{(?P<braced>\w+)(?::(?P<format>\w+))?\}|\$(?P<bare>\w+)")
_MULTI_VALUE_MATCH = re.compile(r'=~ "\^\(\$\{\w+:' + dashboards.TRACEQL_VARIABLE_FORMAT + r'\}\)\$"')


def _traceql_targets():
    """Every TraceQL query of the shipped dashboard files, with the file's template variables."""
    for path in DASHBOARD_FILES:
        dashboard = json.loads(path.read_text())
        variables = dashboard["templating"]["list"]
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target.get("queryType") == "traceql":
                    yield pytest.param(variables, target["query"], id=f"{path.name}: {panel['title']}")


def test_the_dashboards_have_traceql_queries():
    assert len(list(_traceql_targets())) >= 5


@pytest.mark.parametrize(("variables", "query"), list(_traceql_targets()))
def test_traceql_interpolates_variables_only_in_a_format_tempo_accepts(variables, query):
    """Multi-value variables only as ``=~ "^(${var:pipe})$"``: ``:regex`` escapes ``.`` as ``\\.``, which
    Tempo rejects inside a TraceQL string (grafana/tempo#3086), and the default (glob) format gives
    ``{a,b}``. Textbox variables (one value: a duration, a number) may stand bare."""
    multi_value = {v["name"] for v in variables if v["type"] == "query" and v.get("multi")}
    textboxes = {v["name"] for v in variables if v["type"] == "textbox"}
    braced = 0
    for ref in _REFERENCE.finditer(query):
        if ref["bare"]:
            assert ref["bare"] in textboxes, f"${ref['bare']} in {query!r}: use the {{name:pipe}} form"
            continue
        braced += 1
        assert ref["braced"] in multi_value, ref.group(0)
        assert ref["format"] == dashboards.TRACEQL_VARIABLE_FORMAT == "pipe", ref.group(0)
    assert len(_MULTI_VALUE_MATCH.findall(query)) == braced, query


def test_the_traceql_filter_survives_a_dotted_model_name():
    """What Grafana sends for gpt-4.1-mini: a TraceQL string with no backslash escape in it."""
    from stackgen.model import substitute

    clause = dashboards.traceql_matches("span.gen_ai.request.model", "model")
    assert substitute(clause, {"model": "gpt-4.1-mini"}) == 'span.gen_ai.request.model =~ "^(gpt-4.1-mini)$"'
    assert "\\" not in substitute(clause, {"model": "gpt-4.1-mini|gpt-4o"})


@pytest.mark.parametrize("title", ["Slowest GenAI calls (slower than $slow)",
                                   "Most expensive GenAI calls (over $expensive USD)"])
def test_the_span_tables_come_sorted_largest_first(title):
    rendered = json.loads((GRAFANA / "dashboards" / "tokentrace-traces.json").read_text())
    panel = next(p for p in rendered["panels"] if p["title"] == title)
    (sort,) = [t for t in panel["transformations"] if t["id"] == "sortBy"]
    column = sort["options"]["sort"][0]
    assert column["desc"] is True
    assert panel["options"]["sortBy"] == [{"displayName": column["field"], "desc": True}]
    (target,) = panel["targets"]
    assert target["limit"] >= 500, "the search limit caps what the table can sort"
    if column["field"] != "Duration":  # a span attribute: Grafana types it as a string
        conversions = [c for t in panel["transformations"] if t["id"] == "convertFieldType"
                       for c in t["options"]["conversions"]]
        assert {"targetField": column["field"], "destinationType": "number"} in conversions
        steps = [t["id"] for t in panel["transformations"]]
        assert steps.index("convertFieldType") < steps.index("sortBy")
