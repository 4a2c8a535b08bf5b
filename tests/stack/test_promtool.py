"""promtool: the shipped Prometheus config and rules are valid, and the alert unit tests pass
(each alert firing when it should and staying silent when it should not)."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from stackgen import alerts, rule_tests

from .conftest import GRAFANA, RULES_FILE

PROMETHEUS_DIR = GRAFANA / "prometheus"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=PROMETHEUS_DIR)


def test_check_config(promtool):
    result = _run(promtool, "check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout  # rules/*.yml resolved next to the config


def test_check_rules(promtool):
    result = _run(promtool, "check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(alerts.RECORDING) + len(alerts.ALERTS)} rules found" in result.stdout


def test_rule_unit_tests(promtool):
    files = sorted(str(p.relative_to(PROMETHEUS_DIR)) for p in (PROMETHEUS_DIR / "tests").glob("*.test.yml"))
    assert len(files) == len(rule_tests.FILES)
    result = _run(promtool, "test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(files)


def test_every_alert_has_firing_and_silent_unit_tests():
    untested = {a.name for a in alerts.ALERTS} - rule_tests.tested_alerts()
    assert not untested, f"alerts without a firing and a silent promtool case: {untested}"


def test_every_alert_has_summary_description_and_runbook():
    rules = [r for g in alerts.render_rules()["groups"] for r in g["rules"] if "alert" in r]
    assert {r["alert"] for r in rules} == {a.name for a in alerts.ALERTS}
    for rule in rules:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"] and annotations["runbook"], rule["alert"]
        assert annotations["runbook_url"], rule["alert"]
        assert rule["labels"]["severity"] in ("info", "warning", "critical")


def _github_anchor(heading: str) -> str:
    """GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_runbook_url_leads_to_its_runbook_heading():
    readme = GRAFANA / "README.md"
    anchors = {_github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", readme.read_text(), re.M)}
    shipped = yaml.safe_load(RULES_FILE.read_text())["groups"]
    for rule in (r for g in shipped for r in g["rules"] if "alert" in r):
        path, _, anchor = rule["annotations"]["runbook_url"].rpartition("#")
        assert (GRAFANA.parent / path).resolve() == readme.resolve() or path.endswith("/grafana/README.md"), path
        assert anchor == _github_anchor(rule["alert"]) and anchor in anchors, (rule["alert"], anchor)


def test_alerts_read_recordings_made_before_them_in_their_group():
    """promtool (at each step, in a random order) and Prometheus (concurrently) evaluate groups
    independently: an alert reading a series recorded in another group sees its previous
    evaluation, or nothing once that is older than the 5-minute lookback. Rules in one group run
    in order at one timestamp, so the shipped file keeps every recording rule before its readers."""
    shipped = yaml.safe_load(RULES_FILE.read_text())["groups"]
    recorded: dict[str, tuple[str, int]] = {}
    for group in shipped:
        for i, rule in enumerate(group["rules"]):
            if "record" in rule:
                recorded[rule["record"]] = (group["name"], i)
    for group in shipped:
        for i, rule in enumerate(group["rules"]):
            for record, (where, index) in recorded.items():
                if re.search(rf"(?<![\\w:]){re.escape(record)}(?![\\w:])", rule["expr"]):
                    name = rule.get("alert") or rule.get("record")
                    assert where == group["name"] and index < i, f"{name} reads {record}, recorded in {where}[{index}]"


def test_the_generator_refuses_a_cross_group_recording():
    split = [("recording", alerts.RECORDING), ("alerts", alerts.ALERTS)]
    with pytest.raises(ValueError, match="recorded in group recording"):
        alerts.check_order(split)
    with pytest.raises(ValueError, match="later in its group"):
        alerts.check_order([("one", [*alerts.ALERTS, *alerts.RECORDING])])
    alerts.check_order()
