"""The metrics tokentrace emits, by their OpenTelemetry names (from ``tokentrace.semconv``), with the
Prometheus names the shipped Collector pipeline gives them.

Units and instrument kinds are listed here because ``telemetry.py`` passes them as literals; the
stack tests check this table against the instruments a real workload produces, so a change of
unit or kind in the library fails the tests instead of silently emptying a panel.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokentrace import semconv as sc

from .naming import COUNTER, HISTOGRAM, label_name, metric_name


@dataclass(frozen=True)
class Metric:
    otel_name: str
    unit: str
    kind: str
    meaning: str

    @property
    def prom(self) -> str:
        """The Prometheus name (histograms: the base, without ``_bucket``/``_sum``/``_count``)."""
        return metric_name(self.otel_name, self.unit, self.kind)

    @property
    def bucket(self) -> str:
        self._histogram_only()
        return self.prom + "_bucket"

    @property
    def sum(self) -> str:
        self._histogram_only()
        return self.prom + "_sum"

    @property
    def count(self) -> str:
        self._histogram_only()
        return self.prom + "_count"

    @property
    def series_names(self) -> tuple[str, ...]:
        if self.kind == HISTOGRAM:
            return (self.bucket, self.sum, self.count)
        return (self.prom,)

    def _histogram_only(self) -> None:
        if self.kind != HISTOGRAM:
            raise TypeError(f"{self.otel_name} is a {self.kind}, not a histogram")


DURATION = Metric(sc.METRIC_OPERATION_DURATION, "s", HISTOGRAM, "duration of each GenAI call")
TOKEN_USAGE = Metric(sc.METRIC_TOKEN_USAGE, "{token}", HISTOGRAM, "input and output tokens per call")
TIME_TO_FIRST_CHUNK = Metric(sc.METRIC_TIME_TO_FIRST_CHUNK, "s", HISTOGRAM, "streams: time to the first chunk")
TIME_PER_OUTPUT_CHUNK = Metric(sc.METRIC_TIME_PER_OUTPUT_CHUNK, "s", HISTOGRAM, "streams: gap between chunks")
COST = Metric(sc.METRIC_COST, "USD", COUNTER, "spend in USD")
COST_UNKNOWN = Metric(sc.METRIC_COST_UNKNOWN, "{call}", COUNTER, "calls whose model has no price")
COST_SAVED = Metric(sc.METRIC_COST_SAVED, "USD", COUNTER, "spend avoided by response-cache hits")
PROMPT_CACHE_TOKENS = Metric(sc.METRIC_PROMPT_CACHE_TOKENS, "{token}", COUNTER,
                             "input tokens read from or written to the provider's prompt cache")
# Response cache (the cache dashboard and the hit-ratio-drop alert).
CACHE_LOOKUPS = Metric(sc.METRIC_CACHE_LOOKUPS, "{lookup}", COUNTER, "response-cache lookups by result")
CACHE_LOOKUP_DURATION = Metric(sc.METRIC_CACHE_LOOKUP_DURATION, "s", HISTOGRAM, "response-cache lookup time")
CACHE_TOKENS_SAVED = Metric(sc.METRIC_CACHE_TOKENS_SAVED, "{token}", COUNTER, "tokens not spent thanks to the cache")

ALL = (
    DURATION, TOKEN_USAGE, TIME_TO_FIRST_CHUNK, TIME_PER_OUTPUT_CHUNK, PROMPT_CACHE_TOKENS,
    COST, COST_UNKNOWN, COST_SAVED,
    CACHE_LOOKUPS, CACHE_LOOKUP_DURATION, CACHE_TOKENS_SAVED,
)


class L:
    """Label names, derived from the attribute keys tokentrace puts on metric points."""

    job = "job"  # service.name (and service.namespace) of the resource
    instance = "instance"  # service.instance.id
    operation = label_name(sc.GEN_AI_OPERATION_NAME)
    provider = label_name(sc.GEN_AI_PROVIDER_NAME)
    request_model = label_name(sc.GEN_AI_REQUEST_MODEL)
    response_model = label_name(sc.GEN_AI_RESPONSE_MODEL)
    server_address = label_name(sc.SERVER_ADDRESS)
    error_type = label_name(sc.ERROR_TYPE)
    token_type = label_name(sc.GEN_AI_TOKEN_TYPE)
    cost_status = label_name(sc.TT_COST_STATUS)
    cost_unknown_reason = label_name(sc.TT_COST_UNKNOWN_REASON)
    prompt_cache_operation = label_name(sc.TT_PROMPT_CACHE_OPERATION)
    cache_result = label_name(sc.TT_CACHE_RESULT)
    cache_lookup = label_name(sc.TT_CACHE_LOOKUP)
    cache_backend = label_name(sc.TT_CACHE_BACKEND)
