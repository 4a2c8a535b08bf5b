"""The dashboards: every panel, its unit and its queries.

Add a panel: append a ``Panel`` to a row below and run ``python grafana/generate.py``. The proof
test (``tests/stack/test_proof.py``) then evaluates its queries against a real workload with no
further change. Add a dashboard: define it here and list it in ``DASHBOARDS``.
"""

from __future__ import annotations

from tokentrace import semconv as sc

from .metrics import (
    CACHE_LOOKUP_DURATION, CACHE_LOOKUPS, CACHE_TOKENS_SAVED, COST, COST_SAVED, COST_UNKNOWN, DURATION,
    PROMPT_CACHE_TOKENS, TIME_PER_OUTPUT_CHUNK, TIME_TO_FIRST_CHUNK, TOKEN_USAGE, L,
)
from .model import TEMPO, Dashboard, Panel, Query, Row, ServiceMapQuery, TraceQuery, Variable

RATE = "$__rate_interval"
RANGE = "$__range"

# Grafana units.
USD = "currencyUSD"
SECONDS = "s"
PER_SECOND = "reqps"
RATIO = "percentunit"
TOKENS = "suffix: tokens"
TOKENS_PER_SECOND = "suffix: tokens/s"
CALLS = "suffix: calls"


def sel(*extra: str) -> str:
    """The label matchers of the dashboard variables (service, provider, model), plus ``extra``."""
    matchers = [f'{L.job}=~"$service"', f'{L.provider}=~"$provider"', f'{L.request_model}=~"$model"', *extra]
    return "{" + ", ".join(matchers) + "}"


NOT_CACHE_HIT = f'{L.cache_result}!="{sc.CACHE_HIT}"'
IS_ERROR = f'{L.error_type}!=""'


def _variables(series: str, service_description: str) -> list[Variable]:
    """service, provider and model, each listing the values ``series`` has under the ones before it."""
    return [
        Variable("service", "Service", f"label_values({series}, {L.job})", description=service_description),
        Variable("provider", "Provider", f'label_values({series}{{{L.job}=~"$service"}}, {L.provider})'),
        Variable("model", "Model",
                 f'label_values({series}{{{L.job}=~"$service", {L.provider}=~"$provider"}}, {L.request_model})',
                 description="gen_ai.request.model"),
    ]


VARIABLES = _variables(DURATION.count, "service.name (job label) of the instrumented application")


def _quantiles(metric, title: str, description: str, by: str = "", extra: tuple[str, ...] = (),
               width: int = 12) -> Panel:
    group = f"le, {by}" if by else "le"
    legend_by = f" {{{{{by}}}}}" if by else ""
    return Panel(
        title, "timeseries", unit=SECONDS, description=description, width=width,
        queries=[
            Query(f"histogram_quantile({q}, sum by ({group}) (rate({metric.bucket}{sel(*extra)}[{RATE}])))",
                  legend=f"p{int(q * 100)}{legend_by}")
            for q in (0.5, 0.95, 0.99)
        ],
    )


TRACEQL_VARIABLE_FORMAT = "pipe"


def traceql_matches(attribute: str, variable: str) -> str:
    """TraceQL: ``attribute`` is one of the values selected in the multi-value ``variable``.

    Grafana's ``:regex`` format escapes ``.`` as ``\\.``, which Tempo rejects inside a TraceQL
    string ("invalid char escape", grafana/tempo#3086): selecting gpt-4.1-mini would break every
    Tempo panel. ``:pipe`` joins the values with ``|`` unescaped (*All* gives the allValue ``.*``),
    so a ``.`` in a value matches any character, a harmless over-match. Anchored, so gpt-4o does
    not also select gpt-4o-mini.
    """
    return f'{attribute} =~ "^(${{{variable}:{TRACEQL_VARIABLE_FORMAT}}})$"'


def _tempo_filter() -> str:
    return " && ".join((
        traceql_matches("resource.service.name", "service"),
        traceql_matches(f"span.{sc.GEN_AI_PROVIDER_NAME}", "provider"),
        traceql_matches(f"span.{sc.GEN_AI_REQUEST_MODEL}", "model"),
    ))


def _legend(*labels: str) -> str:
    return " ".join(f"{{{{{label}}}}}" for label in labels)


def _hourly_spend_by(label: str, name: str) -> Panel:
    return Panel(f"Spend rate by {name} (USD/hour)", "timeseries", unit=USD, stacked=True, width=8,
                 queries=[Query(f"sum by ({label}) (rate({COST.prom}{sel()}[{RATE}])) * 3600", legend=_legend(label))])


def _daily_spend_by(label: str, name: str) -> Panel:
    return Panel(f"Daily spend by {name}", "timeseries", unit=USD, bars=True, stacked=True, width=8,
                 description="Spend per day (each bar: the 24 hours before it).",
                 queries=[Query(f"sum by ({label}) (increase({COST.prom}{sel()}[1d]))", legend=_legend(label),
                                interval="1d")])


OVERVIEW = Dashboard(
    uid="tokentrace-overview",
    title="tokentrace / GenAI overview",
    description="Traffic, errors, latency, streaming and tokens of the openai and anthropic calls tokentrace instruments.",
    variables=VARIABLES,
    rows=[
        Row("Traffic and errors", [
            Panel("Calls per second by provider and model", "timeseries", unit=PER_SECOND, width=12,
                  description="Every GenAI call, including errors and response-cache hits.",
                  queries=[Query(f"sum by ({L.provider}, {L.request_model}) (rate({DURATION.count}{sel()}[{RATE}]))",
                                 legend=_legend(L.provider, L.request_model))]),
            Panel("Errors per second by error.type", "timeseries", unit=PER_SECOND, width=12,
                  description="Failed calls by the exception's class name (RateLimitError, APITimeoutError, ...).",
                  queries=[Query(f"sum by ({L.error_type}) (rate({DURATION.count}{sel(IS_ERROR)}[{RATE}]))",
                                 legend=_legend(L.error_type))]),
            Panel("Error ratio", "timeseries", unit=RATIO, width=12,
                  description="Failed calls / all calls.",
                  queries=[Query(f"(sum(rate({DURATION.count}{sel(IS_ERROR)}[{RATE}])) or vector(0))"
                                 f" / sum(rate({DURATION.count}{sel()}[{RATE}]))", legend="error ratio")]),
            Panel("Calls in range", "stat", unit=CALLS, width=6, decimals=0,
                  queries=[Query(f"sum(increase({DURATION.count}{sel()}[{RANGE}]))", instant=True)]),
            Panel("Error ratio in range", "stat", unit=RATIO, width=6, decimals=2,
                  queries=[Query(f"(sum(increase({DURATION.count}{sel(IS_ERROR)}[{RANGE}])) or vector(0))"
                                 f" / sum(increase({DURATION.count}{sel()}[{RANGE}]))", instant=True)]),
        ]),
        Row("Latency", [
            _quantiles(DURATION, "Latency p50 / p95 / p99", "Provider calls; response-cache hits excluded.",
                       extra=(NOT_CACHE_HIT,)),
            Panel("p95 latency by model", "timeseries", unit=SECONDS,
                  description="Provider calls; response-cache hits excluded.",
                  queries=[Query(f"histogram_quantile(0.95, sum by (le, {L.request_model}) "
                                 f"(rate({DURATION.bucket}{sel(NOT_CACHE_HIT)}[{RATE}])))",
                                 legend=_legend(L.request_model))]),
            _quantiles(TIME_TO_FIRST_CHUNK, "Time to first chunk p50 / p95 / p99 (streams)",
                       "From sending the request to the first streamed chunk."),
            _quantiles(TIME_PER_OUTPUT_CHUNK, "Time per output chunk p50 / p95 / p99 (streams)",
                       "Gap between consecutive chunks of a stream."),
        ]),
        Row("Tokens", [
            Panel("Tokens per second, input and output, by model", "timeseries", unit=TOKENS_PER_SECOND, stacked=True,
                  description="gen_ai.client.token.usage (sum), by gen_ai.token.type.",
                  queries=[Query(f"sum by ({L.request_model}, {L.token_type}) (rate({TOKEN_USAGE.sum}{sel()}[{RATE}]))",
                                 legend=_legend(L.request_model, L.token_type))]),
            Panel("Prompt-cache tokens per second, read and write, by model", "timeseries", unit=TOKENS_PER_SECOND,
                  stacked=True,
                  description="Input tokens the provider read from its prompt cache (OpenAI cached tokens, Anthropic "
                              "cache reads: billed at a discount) or wrote to it (Anthropic cache creation, OpenAI "
                              "Responses cache writes: billed at a premium). tokentrace.usage.prompt_cache_tokens.",
                  queries=[Query(f"sum by ({L.request_model}, {L.prompt_cache_operation}) "
                                 f"(rate({PROMPT_CACHE_TOKENS.prom}{sel()}[{RATE}]))",
                                 legend=_legend(L.request_model, L.prompt_cache_operation))]),
            Panel("Tokens in range by provider and model", "bargauge", unit=TOKENS,
                  queries=[Query(f"sum by ({L.provider}, {L.request_model}, {L.token_type}) "
                                 f"(increase({TOKEN_USAGE.sum}{sel()}[{RANGE}]))", instant=True,
                                 legend=_legend(L.provider, L.request_model, L.token_type))]),
            Panel("Prompt-cache tokens in range by provider and model", "bargauge", unit=TOKENS,
                  description="Read: served from the provider's prompt cache; write: stored into it.",
                  queries=[Query(f"sum by ({L.provider}, {L.request_model}, {L.prompt_cache_operation}) "
                                 f"(increase({PROMPT_CACHE_TOKENS.prom}{sel()}[{RANGE}]))", instant=True,
                                 legend=_legend(L.provider, L.request_model, L.prompt_cache_operation))]),
            Panel("Average tokens per call by model", "timeseries", unit=TOKENS, width=24,
                  queries=[Query(f"sum by ({L.request_model}, {L.token_type}) (rate({TOKEN_USAGE.sum}{sel()}[{RATE}]))"
                                 f" / sum by ({L.request_model}, {L.token_type}) (rate({TOKEN_USAGE.count}{sel()}[{RATE}]))",
                                 legend=_legend(L.request_model, L.token_type))]),
        ]),
    ],
)

_UNKNOWN_BY = (L.job, L.provider, L.request_model, L.cost_unknown_reason)

COST_DASHBOARD = Dashboard(
    uid="tokentrace-cost",
    title="tokentrace / GenAI cost",
    description="Spend in USD computed by tokentrace from reported usage and its price table.",
    variables=VARIABLES,
    time_from="now-24h",
    rows=[
        Row("Spend", [
            Panel("Spend in range", "stat", unit=USD, width=5, decimals=4,
                  queries=[Query(f"sum(increase({COST.prom}{sel()}[{RANGE}]))", instant=True)]),
            Panel("Spend rate, last hour", "stat", unit=USD, width=5, decimals=4,
                  description="USD per hour over the last hour.",
                  queries=[Query(f"sum(rate({COST.prom}{sel()}[1h])) * 3600", instant=True)]),
            Panel("Naive month-end projection", "stat", unit=USD, width=5, decimals=2,
                  description="Average daily spend of the last 7 days x the number of days in this month. Naive: "
                              "ignores growth, weekly patterns and what was actually spent so far this month.",
                  queries=[Query(f"sum(rate({COST.prom}{sel()}[7d])) * 86400 * days_in_month()", instant=True)]),
            Panel("Cost saved by the response cache", "stat", unit=USD, width=5, decimals=4,
                  description="What the calls answered by tokentrace's response cache would have cost, in range.",
                  queries=[Query(f"sum(increase({COST_SAVED.prom}{sel()}[{RANGE}]))", instant=True)]),
            Panel("Calls with unknown cost", "stat", unit=CALLS, width=4, decimals=0,
                  description="Calls whose cost is not in any spend panel: the model has no price (no_price: add it "
                              "with a price file or tokentrace.set_model_price) or the response reported no usage "
                              "(no_usage). The Unknown cost row breaks them down.",
                  queries=[Query(f"sum(increase({COST_UNKNOWN.prom}{sel()}[{RANGE}]))", instant=True)]),
        ]),
        Row("Spend over time", [
            _hourly_spend_by(L.request_model, "model"),
            _hourly_spend_by(L.provider, "provider"),
            _hourly_spend_by(L.operation, "operation"),
            _daily_spend_by(L.request_model, "model"),
            _daily_spend_by(L.provider, "provider"),
            _daily_spend_by(L.operation, "operation"),
            Panel("Spend rate by cost status (USD/hour)", "timeseries", unit=USD, stacked=True, width=24,
                  description="reported: from the provider's usage; estimated: usage counted locally "
                              "(streams that reported none).",
                  queries=[Query(f"sum by ({L.cost_status}) (rate({COST.prom}{sel()}[{RATE}])) * 3600",
                                 legend=_legend(L.cost_status))]),
        ]),
        Row("Breakdown", [
            Panel("Top 10 models by spend in range", "bargauge", unit=USD, width=12,
                  queries=[Query(f"topk(10, sum by ({L.provider}, {L.request_model}) "
                                 f"(increase({COST.prom}{sel()}[{RANGE}])))", instant=True,
                                 legend=_legend(L.provider, L.request_model))]),
            Panel("Cost saved by the response cache by model (USD/hour)", "timeseries", unit=USD, width=12,
                  queries=[Query(f"sum by ({L.request_model}) (rate({COST_SAVED.prom}{sel()}[{RATE}])) * 3600",
                                 legend=_legend(L.request_model))]),
        ]),
        Row("Unknown cost", [
            Panel("Unknown-cost calls by reason in range", "bargauge", unit=CALLS, width=8, decimals=0,
                  description="no_price: tokentrace has no price for the model; no_usage: the response reported no "
                              "usage and none could be estimated (tokentrace.cost.unknown_reason).",
                  queries=[Query(f"sum by ({L.cost_unknown_reason}) "
                                 f"(increase({COST_UNKNOWN.prom}{sel()}[{RANGE}]))", instant=True,
                                 legend=_legend(L.cost_unknown_reason))]),
            Panel("Unknown-cost calls by model and reason in range", "table", unit=CALLS, width=16, decimals=0,
                  queries=[Query(f"sum by ({', '.join(_UNKNOWN_BY)}) "
                                 f"(increase({COST_UNKNOWN.prom}{sel()}[{RANGE}]))", instant=True, table=True)]),
        ]),
    ],
)

_SPAN_COLUMNS = (
    f"span.{sc.GEN_AI_REQUEST_MODEL}, span.{sc.GEN_AI_RESPONSE_MODEL}, span.{sc.GEN_AI_USAGE_INPUT_TOKENS}, "
    f"span.{sc.GEN_AI_USAGE_OUTPUT_TOKENS}, span.{sc.TT_COST_TOTAL}"
)
_GENAI = f"span.{sc.GEN_AI_OPERATION_NAME} != nil"
SEARCH_LIMIT = 500
"""Traces a span-search table asks Tempo for. TraceQL search has no ORDER BY: Tempo returns the
first matching traces it finds, so the tables sort what came back (see grafana/README.md)."""
_NO_ORDER_BY = (f"TraceQL search has no ORDER BY: Tempo returns the first {SEARCH_LIMIT} matching traces it finds, "
                "not the top ones, and this table sorts those. With more matches than that, raise the threshold "
                "until fewer come back (then the table holds all of them); the TraceQL metrics panels below show "
                "the true maximum per model.")

TRACES = Dashboard(
    uid="tokentrace-traces",
    title="tokentrace / GenAI traces",
    description="TraceQL searches over the GenAI spans in Tempo: the slowest, the most expensive, the failed.",
    variables=VARIABLES + [
        Variable("slow", "Slower than", textbox_default="5s", description="TraceQL duration, e.g. 2s, 500ms"),
        Variable("expensive", "Costlier than (USD)", textbox_default="0.01"),
    ],
    time_from="now-1h",
    rows=[
        Row("Spans", [
            Panel("Slowest GenAI calls (slower than $slow)", "table", datasource=TEMPO, width=24, height=9,
                  description=f"Calls slower than the threshold, slowest first. {_NO_ORDER_BY}",
                  sort_descending_by="Duration",
                  span_attributes=(sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_REQUEST_MODEL,
                                   sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_USAGE_INPUT_TOKENS,
                                   sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.TT_COST_TOTAL),
                  queries=[TraceQuery(f"{{ {_GENAI} && {_tempo_filter()} && duration > $slow }} "
                                      f"| select({_SPAN_COLUMNS})", limit=SEARCH_LIMIT, spans_per_trace=20)]),
            Panel("Most expensive GenAI calls (over $expensive USD)", "table", datasource=TEMPO, width=24, height=9,
                  description=f"Calls costlier than the threshold, most expensive first. {_NO_ORDER_BY}",
                  sort_descending_by=sc.TT_COST_TOTAL, numeric_columns=(sc.TT_COST_TOTAL,),
                  span_attributes=(sc.TT_COST_TOTAL, sc.TT_COST_PRICE_MODEL, sc.GEN_AI_REQUEST_MODEL),
                  queries=[TraceQuery(f"{{ {_GENAI} && {_tempo_filter()} && span.{sc.TT_COST_TOTAL} > $expensive }} "
                                      f"| select({_SPAN_COLUMNS}, span.{sc.TT_COST_PRICE_MODEL})",
                                      limit=SEARCH_LIMIT, spans_per_trace=20)]),
            Panel("Failed GenAI calls", "table", datasource=TEMPO, width=24, height=9,
                  span_attributes=(sc.ERROR_TYPE, sc.GEN_AI_REQUEST_MODEL),
                  queries=[TraceQuery(f"{{ {_GENAI} && {_tempo_filter()} && status = error }} "
                                      f"| select(span.{sc.ERROR_TYPE}, span.{sc.GEN_AI_REQUEST_MODEL}, "
                                      f"span.{sc.GEN_AI_PROVIDER_NAME})", limit=50)]),
        ]),
        Row("From spans (TraceQL metrics)", [
            Panel("Slowest call per model (max span duration)", "timeseries", unit=SECONDS, datasource=TEMPO,
                  width=12,
                  description="The longest GenAI span of each model per step, over every matching span (no search "
                              "limit).",
                  span_attributes=(sc.GEN_AI_REQUEST_MODEL,),
                  queries=[TraceQuery(f"{{ {_GENAI} && {_tempo_filter()} }} "
                                      f"| max_over_time(duration) by (span.{sc.GEN_AI_REQUEST_MODEL})", metrics=True)]),
            Panel("Most expensive call per model (max span cost)", "timeseries", unit=USD, datasource=TEMPO,
                  width=12,
                  description="The costliest GenAI span of each model per step (tokentrace.cost.total_usd).",
                  span_attributes=(sc.TT_COST_TOTAL, sc.GEN_AI_REQUEST_MODEL),
                  queries=[TraceQuery(f"{{ span.{sc.TT_COST_TOTAL} > 0 && {_tempo_filter()} }} "
                                      f"| max_over_time(span.{sc.TT_COST_TOTAL}) by (span.{sc.GEN_AI_REQUEST_MODEL})",
                                      metrics=True)]),
            Panel("p95 / p99 span duration by model", "timeseries", unit=SECONDS, datasource=TEMPO, width=12,
                  span_attributes=(sc.GEN_AI_REQUEST_MODEL,),
                  queries=[TraceQuery(f"{{ {_GENAI} && {_tempo_filter()} }} "
                                      f"| quantile_over_time(duration, .95, .99) by (span.{sc.GEN_AI_REQUEST_MODEL})",
                                      metrics=True)]),
            Panel("Spend by model (from spans)", "timeseries", unit=USD, datasource=TEMPO, width=12,
                  description="Sum of tokentrace.cost.total_usd over the spans in Tempo (undercounts when traces "
                              "are sampled; the cost dashboard's metrics do not).",
                  span_attributes=(sc.TT_COST_TOTAL, sc.GEN_AI_REQUEST_MODEL),
                  queries=[TraceQuery(f"{{ span.{sc.TT_COST_TOTAL} > 0 && {_tempo_filter()} }} "
                                      f"| sum_over_time(span.{sc.TT_COST_TOTAL}) by (span.{sc.GEN_AI_REQUEST_MODEL})",
                                      metrics=True)]),
            Panel("Service graph", "nodeGraph", datasource=TEMPO, width=24, height=10, min=None,
                  description="From Tempo's metrics generator (service-graphs processor): the application and "
                              "the providers it calls (virtual nodes named after server.address).",
                  queries=[ServiceMapQuery()]),
        ]),
    ],
)

CACHE_VARIABLES = _variables(CACHE_LOOKUPS.prom, "service.name (job label) of the applications with a response cache")

_HITS = f'{L.cache_result}="{sc.CACHE_HIT}"'
_ANSWERED = f'{L.cache_result}=~"{sc.CACHE_HIT}|{sc.CACHE_MISS}"'

CACHE_DASHBOARD = Dashboard(
    uid="tokentrace-cache",
    title="tokentrace / GenAI response cache",
    description="tokentrace's response cache: hit ratio (exact and semantic), lookups, lookup latency, "
                "and the tokens and spend it saved.",
    variables=CACHE_VARIABLES,
    time_from="now-24h",
    rows=[
        Row("Hits", [
            Panel("Hit ratio, exact vs semantic", "timeseries", unit=RATIO, stacked=True, width=12,
                  description="Hits of each kind / lookups that reached the cache (hits + misses; skipped requests, "
                              "e.g. sampled at temperature > max_temperature, are not lookups here). Stacked: the "
                              "top is the total hit ratio.",
                  queries=[Query(f"sum by ({L.cache_lookup}) (rate({CACHE_LOOKUPS.prom}{sel(_HITS)}[{RATE}]))"
                                 f" / ignoring ({L.cache_lookup}) group_left"
                                 f" sum(rate({CACHE_LOOKUPS.prom}{sel(_ANSWERED)}[{RATE}]))",
                                 legend=_legend(L.cache_lookup))]),
            Panel("Hit ratio in range", "stat", unit=RATIO, width=4, decimals=1,
                  queries=[Query(f"(sum(increase({CACHE_LOOKUPS.prom}{sel(_HITS)}[{RANGE}])) or vector(0))"
                                 f" / sum(increase({CACHE_LOOKUPS.prom}{sel(_ANSWERED)}[{RANGE}]))",
                                 instant=True)]),
            Panel("Cost saved in range", "stat", unit=USD, width=4, decimals=4,
                  description="What the calls the cache answered would have cost.",
                  queries=[Query(f"sum(increase({COST_SAVED.prom}{sel()}[{RANGE}]))", instant=True)]),
            Panel("Tokens saved in range", "stat", unit=TOKENS, width=4, decimals=0,
                  description="Input and output tokens the cache's answers did not spend.",
                  queries=[Query(f"sum(increase({CACHE_TOKENS_SAVED.prom}{sel()}[{RANGE}]))", instant=True)]),
        ]),
        Row("Lookups", [
            Panel("Lookups per second by result", "timeseries", unit=PER_SECOND, stacked=True, width=12,
                  description="hit, miss, or skip (not cacheable: temperature, scope, refresh, unsupported API).",
                  queries=[Query(f"sum by ({L.cache_result}) (rate({CACHE_LOOKUPS.prom}{sel()}[{RATE}]))",
                                 legend=_legend(L.cache_result))]),
            _quantiles(CACHE_LOOKUP_DURATION, "Lookup latency p50 / p95 / p99 by backend",
                       "Time the cache took to answer or miss (semantic lookups include embedding the question "
                       "and the vector search).", by=L.cache_backend),
        ]),
        Row("Savings", [
            Panel("Tokens saved per second by model", "timeseries", unit=TOKENS_PER_SECOND, stacked=True, width=12,
                  queries=[Query(f"sum by ({L.request_model}, {L.token_type}) "
                                 f"(rate({CACHE_TOKENS_SAVED.prom}{sel()}[{RATE}]))",
                                 legend=_legend(L.request_model, L.token_type))]),
            Panel("Cost saved by model (USD/hour)", "timeseries", unit=USD, stacked=True, width=12,
                  queries=[Query(f"sum by ({L.request_model}) (rate({COST_SAVED.prom}{sel()}[{RATE}])) * 3600",
                                 legend=_legend(L.request_model))]),
        ]),
    ],
)

DASHBOARDS = [OVERVIEW, COST_DASHBOARD, TRACES, CACHE_DASHBOARD]
