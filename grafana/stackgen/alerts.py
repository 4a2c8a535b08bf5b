"""Prometheus recording and alerting rules (the anomaly alerts), rendered to
``grafana/prometheus/rules/tokentrace.rules.yml``.

Prometheus evaluates them (``promtool test rules`` proves each one firing and staying silent:
``grafana/prometheus/tests/``); Grafana lists them under Alerting as data-source-managed rules.

Add an alert: append an ``Alert`` to ``ALERTS`` (and any recording rule it needs to
``RECORDING``), regenerate, and add its firing and silent cases to the promtool tests. The proof
test evaluates every expression here against the real workload as well.

All rules are in one group, the recording rules first. Rules of a group run one after the other
at the same evaluation time, each seeing what the rules before it recorded; separate groups run
independently (Prometheus: concurrently, each on its own schedule; ``promtool test rules``: in a
random order at each step), so an alert in another group would read its recording rule's previous
evaluation, or nothing when that is older than the 5-minute lookback (a promtool step of 10
minutes). ``render_rules`` refuses a rule that reads a series recorded after it or in another group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokentrace import semconv as sc

from .metrics import CACHE_LOOKUPS, COST, COST_UNKNOWN, DURATION, L

# Thresholds, documented in grafana/README.md.
COST_SPIKE_FACTOR = 3
COST_SPIKE_MIN_USD_PER_HOUR = 0.5
ERROR_RATIO_MIN = 0.05
ERROR_SPIKE_FACTOR = 3
LATENCY_FACTOR = 3
LATENCY_MIN_SECONDS = 1
MIN_CALLS_PER_5M = 5
CACHE_HIT_RATIO_DROP_FACTOR = 0.5
CACHE_MIN_LOOKUPS_PER_HOUR = 50

# Recorded series.
CALLS_RATE5M = "tokentrace:gen_ai_calls:rate5m"
ERROR_RATIO_5M = "tokentrace:gen_ai_error_ratio:rate5m"
P95_5M = "tokentrace:gen_ai_call_duration_seconds:p95_5m"
COST_PER_HOUR_1H = "tokentrace:cost_usd_per_hour:rate1h"
CACHE_HIT_RATIO_1H = "tokentrace:cache_hit_ratio:rate1h"

RUNBOOK_BASE_URL = "grafana/README.md"
"""Where the runbooks are: the generated *Runbooks* section of grafana/README.md, one heading per
alert. Repository-relative; to make the links absolute in notifications, set it to where your copy
of the file is served (e.g. ``https://github.com/<org>/<repo>/blob/main/grafana/README.md``) and
regenerate."""


def runbook_anchor(alert_name: str) -> str:
    """The anchor GitHub (and most Markdown renderers) give the heading ``### <alert_name>``."""
    return alert_name.lower()


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str

    def render(self) -> dict:
        return {"record": self.record, "expr": self.expr}


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    runbook: str
    on_workload: str
    """What the proof test's workload must give this expression: "fires" (series) or "silent" (none)."""

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE_URL}#{runbook_anchor(self.name)}"

    def annotations(self) -> dict:
        return {"summary": self.summary, "description": self.description, "runbook": self.runbook,
                "runbook_url": self.runbook_url}

    def render(self) -> dict:
        rule = {"alert": self.name, "expr": self.expr}
        if self.for_:
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity, "source": "tokentrace"}
        rule["annotations"] = self.annotations()
        return rule


_PROVIDER_CALLS = f'{DURATION.count}{{{L.cache_result}!="{sc.CACHE_HIT}"}}'
_PROVIDER_BUCKETS = f'{DURATION.bucket}{{{L.cache_result}!="{sc.CACHE_HIT}"}}'
# Cache lookups that reached the cache (skips are requests the cache does not take).
_CACHE_HITS = f'{CACHE_LOOKUPS.prom}{{{L.cache_result}="{sc.CACHE_HIT}"}}'
_CACHE_ANSWERED = f'{CACHE_LOOKUPS.prom}{{{L.cache_result}=~"{sc.CACHE_HIT}|{sc.CACHE_MISS}"}}'

RECORDING = [
    Recording(CALLS_RATE5M, f"sum by ({L.job}) (rate({DURATION.count}[5m]))"),
    Recording(
        ERROR_RATIO_5M,
        # Errors / calls; 0 (not absent) when there are calls but no errors; absent without calls.
        f'(sum by ({L.job}) (rate({DURATION.count}{{{L.error_type}!=""}}[5m]))'
        f" or sum by ({L.job}) (rate({DURATION.count}[5m])) * 0)"
        f" / (sum by ({L.job}) (rate({DURATION.count}[5m])) > 0)",
    ),
    Recording(
        P95_5M,
        # Provider calls only (cache hits would pull it down); absent, not NaN, without calls, so
        # idle periods do not poison the baseline.
        f"histogram_quantile(0.95, sum by ({L.job}, le) (rate({_PROVIDER_BUCKETS}[5m])))"
        f" and on ({L.job}) sum by ({L.job}) (rate({_PROVIDER_CALLS}[5m])) > 0",
    ),
    Recording(COST_PER_HOUR_1H, f"sum by ({L.job}) (rate({COST.prom}[1h])) * 3600"),
    Recording(
        CACHE_HIT_RATIO_1H,
        # Hits / (hits + misses); 0 (not absent) with lookups but no hits; absent without lookups,
        # so idle hours do not pull the baseline down.
        f"(sum by ({L.job}) (rate({_CACHE_HITS}[1h])) or sum by ({L.job}) (rate({_CACHE_ANSWERED}[1h])) * 0)"
        f" / (sum by ({L.job}) (rate({_CACHE_ANSWERED}[1h])) > 0)",
    ),
]

_UNKNOWN_BY = f"{L.job}, {L.provider}, {L.request_model}, {L.cost_unknown_reason}"

ALERTS = [
    Alert(
        "TokentraceCostSpike",
        f"{COST_PER_HOUR_1H} > {COST_SPIKE_FACTOR} * avg_over_time({COST_PER_HOUR_1H}[7d] offset 1h)"
        f" and {COST_PER_HOUR_1H} > {COST_SPIKE_MIN_USD_PER_HOUR}",
        for_="15m", severity="warning",
        summary='{{ $labels.job }}: GenAI spend is {{ printf "%.2f" $value }} USD/hour, '
                f"over {COST_SPIKE_FACTOR}x its 7-day average",
        description=f"Spend over the last hour is more than {COST_SPIKE_FACTOR} times the average hourly spend of "
                    f"the 7 days before it (and above {COST_SPIKE_MIN_USD_PER_HOUR} USD/hour).",
        runbook="Open the cost dashboard for this service: find the model or operation whose spend rose, then the "
                "most expensive calls on the traces dashboard (a loop, a larger model, a prompt that grew).",
        on_workload="silent",  # a fresh Prometheus has no 7-day baseline
    ),
    Alert(
        "TokentraceErrorRateSpike",
        f"{ERROR_RATIO_5M} > {ERROR_RATIO_MIN}"
        f" and {CALLS_RATE5M} * 300 >= {MIN_CALLS_PER_5M}"
        f" unless {ERROR_RATIO_5M} <= {ERROR_SPIKE_FACTOR} * avg_over_time({ERROR_RATIO_5M}[1d] offset 10m)",
        for_="5m", severity="critical",
        summary="{{ $labels.job }}: {{ $value | humanizePercentage }} of GenAI calls fail",
        description=f"More than {ERROR_RATIO_MIN:.0%} of GenAI calls failed over 5 minutes, and more than "
                    f"{ERROR_SPIKE_FACTOR} times the ratio of the day before (with no history yet, the "
                    f"{ERROR_RATIO_MIN:.0%} threshold alone applies). At least {MIN_CALLS_PER_5M} calls in 5 minutes.",
        runbook="Errors per second by error.type on the overview dashboard tells rate limits (RateLimitError: "
                "back off, raise limits), provider outages (InternalServerError, APITimeoutError) and client bugs "
                "(BadRequestError) apart; the failed calls are on the traces dashboard.",
        on_workload="fires",  # the workload fails about a fifth of its calls
    ),
    Alert(
        "TokentraceLatencyP95High",
        f"{P95_5M} > {LATENCY_FACTOR} * avg_over_time({P95_5M}[1d] offset 10m)"
        f" and {P95_5M} > {LATENCY_MIN_SECONDS}"
        f" and {CALLS_RATE5M} * 300 >= {MIN_CALLS_PER_5M}",
        for_="10m", severity="warning",
        summary='{{ $labels.job }}: GenAI p95 latency is {{ printf "%.2f" $value }}s, '
                f"over {LATENCY_FACTOR}x its baseline",
        description=f"The 95th percentile duration of provider calls (cache hits excluded) over 5 minutes is more "
                    f"than {LATENCY_FACTOR} times its average over the day before, and above {LATENCY_MIN_SECONDS}s.",
        runbook="Check p95 latency by model on the overview dashboard (one model or all?), time to first chunk for "
                "streams, and the slowest calls on the traces dashboard; compare with the provider's status page.",
        on_workload="silent",  # no baseline yet
    ),
    Alert(
        "TokentraceUnknownCostCalls",
        f"sum by ({_UNKNOWN_BY}) (increase({COST_UNKNOWN.prom}[15m])) > 0"
        f" or sum by ({_UNKNOWN_BY}) ({COST_UNKNOWN.prom} unless {COST_UNKNOWN.prom} offset 15m)",
        for_="", severity="info",
        summary=f"{{{{ $labels.{L.job} }}}}: calls to {{{{ $labels.{L.request_model} }}}} have no known cost "
                f"({{{{ $labels.{L.cost_unknown_reason} }}}})",
        description="Calls to this model have no cost, so they are missing from every spend panel and from the "
                    "cost alerts: tokentrace has no price for the model (reason no_price) or the response reported "
                    "no usage (no_usage). (The second half of the expression catches a model's first calls, which "
                    "increase() cannot see on a new series.)",
        runbook="no_price: add the model to a price file (TOKENTRACE_PRICES_FILE) or call "
                "tokentrace.set_model_price(); `tokentrace prices show <model>` tells how a name resolves. "
                "no_usage: the provider sent no usage (an OpenAI stream without stream_options.include_usage, "
                "a proxy dropping it): keep TOKENTRACE_OPENAI_STREAM_USAGE and TOKENTRACE_ESTIMATE_MISSING_USAGE on.",
        on_workload="fires",  # the workload calls an unpriced model
    ),
    Alert(
        "TokentraceCacheHitRatioDrop",
        f"{CACHE_HIT_RATIO_1H} < {CACHE_HIT_RATIO_DROP_FACTOR} * avg_over_time({CACHE_HIT_RATIO_1H}[7d] offset 1h)"
        f" and on ({L.job}) sum by ({L.job}) (increase({_CACHE_ANSWERED}[1h])) >= {CACHE_MIN_LOOKUPS_PER_HOUR}",
        for_="1h", severity="warning",
        summary="{{ $labels.job }}: response-cache hit ratio is {{ $value | humanizePercentage }}, "
                f"below {CACHE_HIT_RATIO_DROP_FACTOR:g}x its 7-day average",
        description=f"The response cache's hit ratio, hits / (hits + misses) over the last hour, is less than "
                    f"{CACHE_HIT_RATIO_DROP_FACTOR:g} times its average over the 7 days before it, with at least "
                    f"{CACHE_MIN_LOOKUPS_PER_HOUR} lookups in the hour. It must last an hour, so the warm-up of an "
                    "emptied cache (a process restarted with the memory backend) does not page.",
        runbook="Open the cache dashboard for this service: lookups by result (more misses for the same traffic?) and "
                "the exact vs semantic hit ratio (which kind fell) tell what changed. Usual causes: a prompt that now "
                "varies per call (a timestamp or request id in it), a new model or new parameters, a shorter TTL, a "
                "changed cache scope, embedder or threshold, a flushed or unreachable Redis (counted as misses, "
                "logged once).",
        on_workload="silent",  # a fresh Prometheus has no 7-day baseline
    ),
]

GROUPS = [("tokentrace", [*RECORDING, *ALERTS])]


def check_order(groups=None) -> None:
    """Every recorded series a rule reads is recorded earlier in the rule's own group."""
    groups = GROUPS if groups is None else groups
    recorded = {r.record: name for name, rules in groups for r in rules if isinstance(r, Recording)}
    for name, rules in groups:
        seen: set[str] = set()
        for rule in rules:
            for record, group in recorded.items():
                if re.search(rf"(?<![\w:]){re.escape(record)}(?![\w:])", rule.expr) and record not in seen:
                    raise ValueError(f"{getattr(rule, 'name', None) or rule.record} (group {name}) reads {record}, "
                                     f"which is recorded {'later in its group' if group == name else 'in group ' + group}: "
                                     "put the recording rule first in the same group")
            if isinstance(rule, Recording):
                seen.add(rule.record)


def render_rules() -> dict:
    check_order()
    return {"groups": [{"name": name, "rules": [r.render() for r in rules]} for name, rules in GROUPS]}
