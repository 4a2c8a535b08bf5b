"""The proof: every PromQL expression of every dashboard panel, recording rule, alert rule, template
variable and traces-to-metrics link, evaluated by a real Prometheus against the metrics of a real
tokentrace workload, exposed under the names the shipped Collector pipeline gives them.

Fails on any parse or evaluation error, and on any panel query that returns no series (or only
NaN) for the workload.
"""

from __future__ import annotations

import math
import re
import time

import pytest
import yaml

from stackgen import alerts, dashboards, provisioning
from stackgen.docs import _panels_using
from stackgen.metrics import ALL, L
from stackgen.model import Query, substitute

from .conftest import GRAFANA
from .exposition import kind_of

# What Grafana would put in: all values of every variable; a rate window and a range that
# cover both workload rounds.
VALUES = {"__rate_interval": "1m", "__interval": "2s", "__range": "5m", "service": ".*", "provider": ".*", "model": ".*"}


def _panel_queries():
    for dashboard in dashboards.DASHBOARDS:
        for panel, query in dashboard.prometheus_queries():
            yield pytest.param(dashboard, panel, query, id=f"{dashboard.uid}: {panel.title}: {query.legend or query.expr[:40]}")


def _finite(result: list[dict]) -> bool:
    for series in result:
        samples = series.get("values") or [series.get("value")]
        if any(s and math.isfinite(float(s[1])) for s in samples):
            return True
    return False


@pytest.mark.parametrize(("dashboard", "panel", "query"), list(_panel_queries()))
def test_panel_query_returns_series(proof, dashboard, panel, query: Query):
    expr = substitute(query.expr, VALUES)
    now = time.time()
    if query.instant:
        result = proof.api.query(expr, at=now)
    else:
        result = proof.api.query_range(expr, start=now - 30, end=now, step=2)
    assert result, f"{dashboard.title} / {panel.title}: no series for\n  {expr}"
    assert _finite(result), f"{dashboard.title} / {panel.title}: only NaN for\n  {expr}\n  {result}"


@pytest.mark.parametrize("rule", alerts.RECORDING, ids=lambda r: r.record)
def test_recording_rule_returns_series(proof, rule):
    assert proof.api.query(rule.expr), f"recording rule {rule.record}: no series for\n  {rule.expr}"
    assert proof.api.query(rule.record), f"{rule.record} was not recorded by Prometheus"


@pytest.mark.parametrize("alert", alerts.ALERTS, ids=lambda a: a.name)
def test_alert_expression_on_the_workload(proof, alert):
    result = proof.api.query(alert.expr)  # raises on a parse or evaluation error
    if alert.on_workload == "fires":
        assert result, f"{alert.name} should match the workload (it {alert.on_workload}) but returned nothing"
    else:
        assert not result, f"{alert.name} should stay silent on the workload but returned {result}"


def test_prometheus_loaded_every_rule_healthy(proof):
    groups = proof.api.get("/api/v1/rules")["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    expected = {r.record for r in alerts.RECORDING} | {a.name for a in alerts.ALERTS}
    assert expected <= set(rules), f"not loaded: {expected - set(rules)}"
    unhealthy = {name: r.get("lastError") for name, r in rules.items() if r.get("health") != "ok"}
    assert not unhealthy, unhealthy


def test_unknown_cost_alert_is_active_for_the_unpriced_model(proof):
    active = [a for g in proof.api.get("/api/v1/rules")["groups"] for r in g["rules"]
              if r["name"] == "TokentraceUnknownCostCalls" for a in r.get("alerts", [])]
    from .workload import UNPRICED_MODEL

    assert any(a["labels"].get(L.request_model) == UNPRICED_MODEL
               and a["labels"].get(L.cost_unknown_reason) == "no_price" for a in active), active


_LABEL_VALUES = re.compile(r"^label_values\((?P<selector>.+),\s*(?P<label>\w+)\)$")


def _query_variables():
    seen = {}
    for dashboard in dashboards.DASHBOARDS:
        for v in dashboard.variables:
            if v.query and v.query not in seen:
                seen[v.query] = pytest.param(v, id=f"{dashboard.uid}: {v.name}")
    return list(seen.values())


@pytest.mark.parametrize("variable", _query_variables())
def test_template_variable_has_values(proof, variable):
    match = _LABEL_VALUES.match(variable.query)
    assert match, variable.query
    series = proof.api.series(substitute(match["selector"], VALUES))
    values = {s[match["label"]] for s in series if match["label"] in s}
    assert values, f"${variable.name}: {variable.query} gives no values"


def _traces_to_metrics_queries():
    data = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    tempo = next(d for d in data["datasources"] if d["type"] == "tempo")
    t2m = tempo["jsonData"]["tracesToMetrics"]
    return [pytest.param(t2m["tags"], q["query"], id=q["name"]) for q in t2m["queries"]]


@pytest.mark.parametrize(("tags", "query"), _traces_to_metrics_queries())
def test_traces_to_metrics_query_returns_series(proof, tags, query):
    """The span -> metrics links, with $__tags filled in from a real GenAI span of the workload."""
    span = next(s for s in proof.spans if s.attributes.get("gen_ai.request.model") == "gpt-4o-mini")
    values = {**span.resource.attributes, **span.attributes}
    filled = ", ".join(f'{t["value"]}="{values[t["key"]]}"' for t in tags)
    expr = query.replace("$$", "$").replace("$__tags", filled)
    assert proof.api.query(expr), f"no series for {expr}"


def test_metric_catalog_matches_the_library(proof):
    """Every metric the workload produced is in stackgen's catalog with the same unit and kind."""
    catalog = {m.otel_name: m for m in ALL}
    seen = {}
    for rm in proof.metrics.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                seen[metric.name] = (metric.unit, kind_of(metric.data))
    unknown = set(seen) - set(catalog)
    assert not unknown, f"metrics missing from grafana/stackgen/metrics.py: {unknown}"
    wrong = {n: (seen[n], (catalog[n].unit, catalog[n].kind)) for n in seen if seen[n] != (catalog[n].unit, catalog[n].kind)}
    assert not wrong, f"(unit, kind) emitted vs catalogued: {wrong}"
    dashboard_metrics = {m.otel_name for m in ALL if _panels_using(m)}
    assert dashboard_metrics == {m.otel_name for m in ALL}, "a catalogued metric is on no panel"
    assert dashboard_metrics <= set(seen), f"the workload did not produce {dashboard_metrics - set(seen)}"


def test_every_catalogued_series_is_in_prometheus(proof):
    emitted = {m.name for rm in proof.metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    for metric in ALL:
        if metric.otel_name not in emitted:
            continue
        for name in metric.series_names:
            assert proof.api.query(f"count({name})"), f"{name} ({metric.otel_name}) is not in Prometheus"


def test_series_carry_job_instance_and_scope_labels(proof):
    from stackgen.metrics import DURATION

    series = proof.api.series(DURATION.count)
    assert series
    for s in series:
        assert s["job"] == "tokentrace-proof"
        assert s["instance"]  # service.instance.id
        assert s["otel_scope_name"] == "tokentrace"
    info = proof.api.series("target_info")
    assert info and info[0]["deployment_environment_name"] == "test"


@pytest.mark.parametrize(
    "panel", [p for d in dashboards.DASHBOARDS for p in d.panels() if p.span_attributes], ids=lambda p: p.title)
def test_tempo_panel_attributes_are_on_the_spans(proof, panel):
    """TraceQL cannot be run here (no Tempo): at least every span attribute it uses is really emitted."""
    emitted = set()
    for span in proof.spans:
        emitted.update(span.attributes)
    missing = set(panel.span_attributes) - emitted
    assert not missing, f"{panel.title}: the workload's spans never carry {missing}"
    for target in panel.queries:
        for attribute in panel.span_attributes:
            assert f"span.{attribute}" in target.query or attribute not in target.query


def test_the_workload_is_what_the_panels_assume(proof):
    from .workload import CALLS_PER_ROUND, FAILED_PER_ROUND

    assert proof.calls == 2 * CALLS_PER_ROUND
    failed = [s for s in proof.spans if s.attributes.get("error.type")]
    assert len(failed) == 2 * FAILED_PER_ROUND
    from .workload import EXACT_HITS, SEMANTIC_HITS

    hits = [s.attributes.get("tokentrace.cache.lookup") for s in proof.spans
            if s.attributes.get("tokentrace.cache.result") == "hit"]
    assert hits.count("exact") == sum(EXACT_HITS) and hits.count("semantic") == sum(SEMANTIC_HITS), hits
    assert any(s.attributes.get("tokentrace.cache.result") == "miss" for s in proof.spans)
    assert any(s.attributes.get("tokentrace.cache.result") == "skip" for s in proof.spans)
    assert any(s.attributes.get("tokentrace.cost.status") == "unknown" for s in proof.spans)
    assert provisioning.EXEMPLAR_TRACE_ID_LABEL == "trace_id"


def test_the_cache_panels_see_exact_and_semantic_hits_and_misses(proof):
    """Not just any series: the hit-ratio panel gets one line per kind of hit, with real values."""
    from stackgen.metrics import CACHE_LOOKUPS

    from .workload import EXACT_HITS, SEMANTIC_HITS

    counts = {(s["metric"][L.cache_result], s["metric"][L.cache_lookup]): float(s["value"][1])
              for s in proof.api.query(f"sum by ({L.cache_result}, {L.cache_lookup}) ({CACHE_LOOKUPS.prom})")}
    assert counts.get(("hit", "exact")) == sum(EXACT_HITS), counts
    assert counts.get(("hit", "semantic")) == sum(SEMANTIC_HITS), counts
    assert counts.get(("miss", "semantic"), 0) >= 2 and counts.get(("skip", "exact"), 0) > 0, counts
    ratio = next(q for d in dashboards.DASHBOARDS for p, q in d.prometheus_queries()
                 if p.title == "Hit ratio, exact vs semantic")
    now = time.time()
    lines = proof.api.query_range(substitute(ratio.expr, VALUES), start=now - 30, end=now, step=2)
    kinds = {s["metric"].get(L.cache_lookup) for s in lines if _finite([s])}
    assert kinds == {"exact", "semantic"}, lines


def _panel_query(title: str) -> Query:
    return next(q for d in dashboards.DASHBOARDS for p, q in d.prometheus_queries() if p.title == title)


def test_the_prompt_cache_panels_see_reads_and_writes_by_model(proof):
    """The provider's prompt cache: read and write tokens, each with its model, as the workload made them."""
    from stackgen.metrics import PROMPT_CACHE_TOKENS

    from .workload import CHAT_MODEL, CLAUDE_MODEL, PROMPT_CACHE_TOKENS as PER_ROUND

    totals = {s["metric"][L.prompt_cache_operation]: float(s["value"][1])
              for s in proof.api.query(f"sum by ({L.prompt_cache_operation}) ({PROMPT_CACHE_TOKENS.prom})")}
    assert totals == {op: 2 * tokens for op, tokens in PER_ROUND.items()}, totals
    now = time.time()
    rate = _panel_query("Prompt-cache tokens per second, read and write, by model")
    lines = proof.api.query_range(substitute(rate.expr, VALUES), start=now - 30, end=now, step=2)
    kinds = {(s["metric"][L.request_model], s["metric"][L.prompt_cache_operation]) for s in lines if _finite([s])}
    assert kinds == {(CHAT_MODEL, "read"), (CLAUDE_MODEL, "read"), (CLAUDE_MODEL, "write")}, lines


def test_the_unknown_cost_panel_breaks_down_by_reason(proof):
    by_reason = _panel_query("Unknown-cost calls by reason in range")
    result = proof.api.query(substitute(by_reason.expr, VALUES))
    assert {s["metric"].get(L.cost_unknown_reason) for s in result} == {"no_price"}, result


def test_the_cache_dashboard_filters_by_model(proof):
    """Lookups carry gen_ai.request.model: picking one model keeps its lookups and drops the others'."""
    from .workload import CHAT_MODEL

    lookups = _panel_query("Lookups per second by result")
    now = time.time()
    for model, expected in ((CHAT_MODEL, True), ("no-such-model", False)):
        expr = substitute(lookups.expr, {**VALUES, "model": model})
        lines = proof.api.query_range(expr, start=now - 30, end=now, step=2)
        assert bool(lines) == expected, (model, lines)
