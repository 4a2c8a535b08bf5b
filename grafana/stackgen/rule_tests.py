"""``promtool test rules`` unit tests: synthetic series showing each alert firing when it should
and staying silent when it should not. Rendered to ``grafana/prometheus/tests/*.test.yml``.

The scenarios (series and expected alerts) are written out here; the expected annotations come
from the alert definitions, so a reworded runbook does not need editing twice. Run them with
``promtool test rules grafana/prometheus/tests/*.test.yml`` (``tests/stack`` does).
"""

from __future__ import annotations

from tokentrace import semconv as sc

from .alerts import ALERTS, Alert
from .metrics import CACHE_LOOKUPS, COST, COST_UNKNOWN, DURATION, L

_BY_NAME = {a.name: a for a in ALERTS}


def _series(metric: str, **labels: str) -> str:
    return metric + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _fires(alert: str, summary: str, **labels: str) -> dict:
    a: Alert = _BY_NAME[alert]
    return {
        "exp_labels": {**labels, "severity": a.severity, "source": "tokentrace"},
        "exp_annotations": {**a.annotations(), "summary": summary},
    }


def _check(alert: str, eval_time: str, *fired: dict) -> dict:
    return {"eval_time": eval_time, "alertname": alert, "exp_alerts": list(fired)}


_OPENAI = {L.provider: "openai", L.operation: "chat", L.request_model: "gpt-4o-mini"}


def _unknown_cost(model: str, reason: str, values: str) -> dict:
    labels = {**_OPENAI, L.request_model: model, L.cost_unknown_reason: reason}
    return {"series": _series(COST_UNKNOWN.prom, job="app", instance="i1", **labels), "values": values}


def _unknown_cost_fires(model: str, reason: str) -> dict:
    return _fires("TokentraceUnknownCostCalls", f"app: calls to {model} have no known cost ({reason})",
                  job="app", **{L.provider: "openai", L.request_model: model, L.cost_unknown_reason: reason})


def _cost(job: str, values: str) -> dict:
    return {"series": _series(COST.prom, job=job, instance="i1", **_OPENAI, **{L.cost_status: "reported"}),
            "values": values}


# 10-minute steps: 8 days of history without thousands of evaluations.
COST_TESTS = {
    "rule_files": ["../rules/tokentrace.rules.yml"],
    "evaluation_interval": "10m",
    "tests": [{
        "name": "cost spike over 3x the 7-day average fires; steady spend and small spikes stay silent",
        "interval": "10m",
        "input_series": [
            # 6 USD/hour for 8 days, then 60 USD/hour.
            _cost("app", "0+1x1152 1162+10x24"),
            # 6 USD/hour throughout.
            _cost("steady", "0+1x1176"),
            # 0.006 -> 0.06 USD/hour: ten times its average, but below the 0.5 USD/hour floor.
            _cost("small", "0+0.001x1152 1.162+0.01x24"),
        ],
        "alert_rule_test": [
            _check("TokentraceCostSpike", "7d"),
            _check("TokentraceCostSpike", "8d"),
            _check("TokentraceCostSpike", "8d2h",
                   _fires("TokentraceCostSpike", "app: GenAI spend is 60.00 USD/hour, over 3x its 7-day average",
                          job="app")),
        ],
    }],
}


def _calls(job: str, values: str, **extra: str) -> dict:
    return {"series": _series(DURATION.count, job=job, instance="i1", **_OPENAI, **extra), "values": values}


def _buckets(job: str, bounds: dict[str, str]) -> list[dict]:
    series = [{"series": _series(DURATION.bucket, job=job, instance="i1", **_OPENAI, le=le), "values": v}
              for le, v in bounds.items()]
    return series + [_calls(job, bounds["+Inf"])]


# 1-minute steps over a day and an hour: error ratio, latency and unknown-cost alerts.
ALERT_TESTS = {
    "rule_files": ["../rules/tokentrace.rules.yml"],
    "evaluation_interval": "1m",
    "tests": [
        {
            "name": "error ratio spike fires; a steady error ratio and a trickle of calls stay silent",
            "interval": "1m",
            "input_series": [
                # 10 successful calls/minute; errors 0.1/minute for a day (1 %), then 3/minute (23 %).
                _calls("app", "0+10x1500"),
                _calls("app", "0+0.1x1440 147+3x60", **{L.error_type: "RateLimitError"}),
                # always 10 % errors: above 5 %, but not above 3x its own baseline.
                _calls("flaky", "0+9x1500"),
                _calls("flaky", "0+1x1500", **{L.error_type: "InternalServerError"}),
                # a trickle of calls (2.5 per 5 minutes) that all start failing after a day.
                _calls("quiet", "0+0.5x1440"),
                _calls("quiet", "0x1440 0.5+0.5x60", **{L.error_type: "APITimeoutError"}),
            ],
            "alert_rule_test": [
                _check("TokentraceErrorRateSpike", "23h"),
                _check("TokentraceErrorRateSpike", "1d2m"),  # pending: for 5m
                _check("TokentraceErrorRateSpike", "1d30m",
                       _fires("TokentraceErrorRateSpike", "app: 23.08% of GenAI calls fail", job="app")),
            ],
        },
        {
            "name": "p95 latency over 3x its baseline fires; a steadily slow model and a spike under 1s stay silent",
            "interval": "1m",
            "input_series": [
                # 10 calls/minute under 0.5 s for a day (p95 0.475 s), then all in (2.56, 5.12] (p95 4.99 s).
                *_buckets("app", {"0.5": "0+10x1440 14400x60", "1": "0+10x1440 14400x60",
                                  "2.56": "0+10x1440 14400x60", "5.12": "0+10x1500", "+Inf": "0+10x1500"}),
                # always slow: p95 4.99 s, above 1 s but its own baseline.
                *_buckets("slow", {"0.5": "0x1500", "1": "0x1500", "2.56": "0x1500",
                                   "5.12": "0+10x1500", "+Inf": "0+10x1500"}),
                # 0.095 s -> 0.975 s: ten times its baseline, but under 1 s.
                *_buckets("fast", {"0.1": "0+10x1440 14400x60", "0.5": "0+10x1440 14400x60",
                                   "1": "0+10x1500", "+Inf": "0+10x1500"}),
            ],
            "alert_rule_test": [
                _check("TokentraceLatencyP95High", "23h"),
                _check("TokentraceLatencyP95High", "1d5m"),  # pending: for 10m
                _check("TokentraceLatencyP95High", "1d40m",
                       _fires("TokentraceLatencyP95High", "app: GenAI p95 latency is 4.99s, over 3x its baseline",
                              job="app")),
            ],
        },
        {
            "name": "unknown-cost calls fire for a new model and for more calls, by reason; silent once they stop",
            "interval": "1m",
            "input_series": [
                _unknown_cost("acme-1", sc.COST_UNKNOWN_NO_PRICE, "1x70"),
                _unknown_cost("acme-2", sc.COST_UNKNOWN_NO_PRICE, "1x40 2x30"),
                _unknown_cost("gpt-4o-mini", sc.COST_UNKNOWN_NO_USAGE, "_x60 1x25"),
            ],
            "alert_rule_test": [
                # both series are new: their first calls alert.
                _check("TokentraceUnknownCostCalls", "5m",
                       _unknown_cost_fires("acme-1", sc.COST_UNKNOWN_NO_PRICE),
                       _unknown_cost_fires("acme-2", sc.COST_UNKNOWN_NO_PRICE)),
                _check("TokentraceUnknownCostCalls", "30m"),
                # acme-2 is called again at 41m.
                _check("TokentraceUnknownCostCalls", "45m", _unknown_cost_fires("acme-2", sc.COST_UNKNOWN_NO_PRICE)),
                # a priced model answers without usage at 61m: its own alert, by reason.
                _check("TokentraceUnknownCostCalls", "65m",
                       _unknown_cost_fires("gpt-4o-mini", sc.COST_UNKNOWN_NO_USAGE)),
                _check("TokentraceUnknownCostCalls", "80m"),
            ],
        },
    ],
}


def _lookups(job: str, result: str, lookup: str, values: str) -> dict:
    labels = {L.provider: "openai", L.operation: "chat", L.cache_result: result, L.cache_lookup: lookup}
    return {"series": _series(CACHE_LOOKUPS.prom, job=job, instance="i1", **labels), "values": values}


# 10-minute steps: 8 days of history, then 4 hours. Counts per 10 minutes.
CACHE_TESTS = {
    "rule_files": ["../rules/tokentrace.rules.yml"],
    "evaluation_interval": "10m",
    "tests": [{
        "name": "hit ratio under half its 7-day average fires; a steadily low ratio and a quiet cache stay silent",
        "interval": "10m",
        "input_series": [
            # 360 lookups/hour: 50 % hits (20 exact, 10 semantic per 10m) for 8 days, then 10 % (6 exact).
            _lookups("app", "hit", "exact", "0+20x1152 23046+6x24"),
            _lookups("app", "hit", "semantic", "0+10x1152 11520x24"),
            _lookups("app", "miss", "semantic", "0+30x1152 34614+54x24"),
            # skips do not count: the requests the cache does not take (temperature > 0 ...).
            _lookups("app", "skip", "exact", "0+100x1176"),
            # always 10 % hits: low, but not below its own baseline.
            _lookups("steady", "hit", "exact", "0+6x1176"),
            _lookups("steady", "miss", "semantic", "0+54x1176"),
            # 24 lookups/hour, 50 % hits, then none: a drop, but under 50 lookups an hour.
            _lookups("quiet", "hit", "exact", "0+2x1152 2304x24"),
            _lookups("quiet", "miss", "semantic", "0+2x1152 2308+4x24"),
        ],
        "alert_rule_test": [
            _check("TokentraceCacheHitRatioDrop", "7d"),
            _check("TokentraceCacheHitRatioDrop", "8d"),
            _check("TokentraceCacheHitRatioDrop", "8d1h"),  # under half since 8d40m: pending (for 1h)
            _check("TokentraceCacheHitRatioDrop", "8d3h",
                   _fires("TokentraceCacheHitRatioDrop",
                          "app: response-cache hit ratio is 10%, below 0.5x its 7-day average", job="app")),
        ],
    }],
}

FILES = {"cost.test.yml": COST_TESTS, "alerts.test.yml": ALERT_TESTS, "cache.test.yml": CACHE_TESTS}


def tested_alerts() -> set[str]:
    """Alerts with at least one firing and one silent check."""
    fired, silent = set(), set()
    for spec in FILES.values():
        for test in spec["tests"]:
            for check in test["alert_rule_test"]:
                (fired if check["exp_alerts"] else silent).add(check["alertname"])
    return fired & silent
