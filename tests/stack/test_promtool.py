"""promtool: the shipped Prometheus config and rules are valid, and the alert unit tests pass
(each alert firing when it should and staying silent when it should not)."""

from __future__ import annotations

import subprocess

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
    for rule in alerts.render_rules()["groups"][1]["rules"]:
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"] and annotations["runbook"], rule["alert"]
        assert rule["labels"]["severity"] in ("info", "warning", "critical")
