"""The telemetry core: one :class:`Invocation` per GenAI call, shared by every provider.

An invocation opens the CLIENT span before the request leaves, makes it current while the SDK
sends the request (so HTTP spans nest under it), and ends it exactly once, with the response,
the stream as far as it was read, or the error. Metrics are recorded at that single end.

Hot-path notes (see benchmarks/PROFILE.md): the OpenTelemetry SDK validates, copies and hashes
the attributes of every metric point and span attribute call, so an invocation makes one
``set_attributes`` call at its end, and the counters (cost, unknown-price calls, savings) are
summed locally and reported by observable counters at collection time instead of one
``Counter.add`` (~11 µs) per call, and the histogram points wait in a queue that the first
collection after the call records (``_deferred``) instead of ~10 µs per point on the call.
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from typing import Any, Iterable, Mapping, Optional

from opentelemetry import _logs
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter, get_meter_provider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from . import semconv as sc
from ._content_events import ContentEvents
from ._deferred import DeferredPoints, context_of, record
from ._errors import log_internal_error, logger
from ._pii import NO_SCRUB, PIIScrubber
from .config import Settings
from .content import scrub_content
from .cost import STATUS_UNKNOWN, Cost, cost_for_call
from .model import GenAIRequest, GenAIResult, Usage
from .pricing import price_table
from .version import __version__

SCOPE = "tokentrace"

# Attributes copied from the request onto every metric point: few and bounded.
_METRIC_REQUEST_KEYS = (
    sc.GEN_AI_OPERATION_NAME,
    sc.GEN_AI_PROVIDER_NAME,
    sc.GEN_AI_REQUEST_MODEL,
    sc.SERVER_ADDRESS,
    sc.SERVER_PORT,
)


class Telemetry:
    """Tracer, instruments and content settings, bound once at ``instrument()`` time."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: Optional[TracerProvider] = None,
        meter_provider: Optional[MeterProvider] = None,
        logger_provider: Optional[_logs.LoggerProvider] = None,
    ) -> None:
        self.settings = settings
        self.tracer = trace.get_tracer(
            SCOPE, __version__, tracer_provider=tracer_provider, schema_url=None
        )
        meter = get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_USAGE_BUCKETS),
        )
        self.duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.time_per_output_chunk = meter.create_histogram(
            sc.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time between consecutive chunks of a streamed response.",
            explicit_bucket_boundaries_advisory=list(sc.CHUNK_BUCKETS),
        )
        counters, self.deferred = _shared_counters(
            meter_provider if meter_provider is not None else get_meter_provider(), meter
        )
        self.cost: Totals = counters[sc.METRIC_COST]
        self.cost_unknown: Totals = counters[sc.METRIC_COST_UNKNOWN]
        self.cost_saved: Totals = counters[sc.METRIC_COST_SAVED]
        self.tokens_saved: Totals = counters[sc.METRIC_CACHE_TOKENS_SAVED]
        self.prompt_cache_tokens: Totals = counters[sc.METRIC_PROMPT_CACHE_TOKENS]
        self.chunk_metrics = _chunk_metrics(settings)
        """Record ``gen_ai.client.operation.time_per_output_chunk`` (one point per chunk)."""
        self._warned_models: set[str] = set()
        mode = settings.capture_content
        self.content_enabled = mode.enabled
        """The one check the calls make when content capture is off."""
        self.content_on_span = mode.on_span
        self.content_events = ContentEvents(logger_provider) if mode.as_event else None
        if settings.capture_content.enabled and settings.pii_scrub:
            self.scrubber: PIIScrubber = PIIScrubber(
                enabled=True, max_length=settings.content_max_length or None
            )
        elif settings.capture_content.enabled:
            self.scrubber = PIIScrubber(enabled=False, max_length=settings.content_max_length or None)
        else:
            self.scrubber = NO_SCRUB
        self.capper = (
            PIIScrubber(enabled=False, max_length=settings.content_max_length or None) if mode.enabled else NO_SCRUB
        )
        """Caps what is not text (a blob's base64 content) without looking for PII in it."""

    def start(self, request: GenAIRequest) -> "Invocation":
        return Invocation(self, request)

    def scrub_content(self, value: Any) -> Any:
        return scrub_content(value, self.scrubber.scrub_value, self.capper.scrub)

    def cost_of(self, request: GenAIRequest, result: GenAIResult, usage: Optional[Usage], estimated: bool) -> Cost:
        cost = cost_for_call(
            price_table(), request.provider, result.response_model, request.model, usage,
            tier=result.service_tier, estimated=estimated,
        )
        if cost.status == STATUS_UNKNOWN and usage is not None:
            self._warn_unknown(result.response_model or request.model)
        return cost

    def _warn_unknown(self, model: Optional[str]) -> None:
        key = model or "<no model>"
        if key in self._warned_models or len(self._warned_models) > 1000:
            return
        self._warned_models.add(key)
        logger.warning(
            "tokentrace has no price for model %r: its calls are recorded with cost status 'unknown' "
            "(add it with a price file or tokentrace.set_model_price)", key,
        )


# --- counters summed locally ----------------------------------------------------------------

_OVERFLOW_KEY: tuple[tuple[str, Any], ...] = ((sc.METRIC_OVERFLOW, True),)
TOTALS_LIMIT = 2000
"""Attribute sets kept per counter (the SDK's default cardinality limit); further sets are summed
into one ``otel.metric.overflow=true`` set, as the SDK itself does."""

_COUNTERS = (
    (sc.METRIC_COST, "USD", "Cost of GenAI calls in US dollars."),
    (sc.METRIC_COST_UNKNOWN, "{call}", "GenAI calls whose cost is unknown: no price for the model, or no usage."),
    (sc.METRIC_COST_SAVED, "USD", "Cost of GenAI calls avoided (served by the cache)."),
    (sc.METRIC_CACHE_TOKENS_SAVED, "{token}", "Tokens not spent because the cache answered."),
    (sc.METRIC_PROMPT_CACHE_TOKENS, "{token}", "Input tokens read from or written to the provider's prompt cache."),
)


class Totals:
    """A monotonic counter summed in process and reported by an observable counter.

    ``add`` costs well under a microsecond (one tuple, one dict update under a lock) where
    ``Counter.add`` costs ~11 µs; at each collection the callback reports every attribute set's
    cumulative total, which is exactly what the SDK's sum aggregation of a counter holds (with
    delta temporality the SDK turns the cumulative observations into deltas). Thread-safe.
    """

    __slots__ = ("name", "_lock", "_sums", "_limit", "__weakref__")

    def __init__(self, name: str, limit: int = TOTALS_LIMIT) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._sums: dict[tuple[tuple[str, Any], ...], float] = {}
        self._limit = limit

    def add(self, amount: float, attributes: dict[str, Any], extra: Optional[tuple[str, Any]] = None) -> None:
        """Add ``amount`` (≥ 0) for ``attributes`` (plus the ``extra`` key/value pair, if any)."""
        if not amount > 0:  # also drops NaN; counters never go down
            return
        key = tuple(attributes.items())
        if extra is not None:
            key += (extra,)
        sums = self._sums
        with self._lock:
            try:
                sums[key] += amount
                return
            except KeyError:
                pass
            except TypeError:  # a list-valued attribute: OpenTelemetry stores sequences as tuples
                key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in key)
                if key in sums:
                    sums[key] += amount
                    return
            if len(sums) < self._limit:
                sums[key] = amount
            else:
                sums[_OVERFLOW_KEY] = sums.get(_OVERFLOW_KEY, 0) + amount

    def totals(self) -> dict[tuple[tuple[str, Any], ...], float]:
        with self._lock:
            return dict(self._sums)

    def observe(self, options: Optional[CallbackOptions] = None) -> Iterable[Observation]:
        """The observable counter's callback: every attribute set's cumulative total."""
        return [Observation(total, dict(key)) for key, total in self.totals().items()]


_Shared = tuple[dict[str, Totals], DeferredPoints]
_SHARED: "weakref.WeakKeyDictionary[Any, _Shared]" = weakref.WeakKeyDictionary()
_SHARED_BY_ID: dict[int, tuple[Any, _Shared]] = {}
_SHARED_LOCK = threading.Lock()


def _shared_counters(provider: Any, meter: Any) -> _Shared:
    """The counters and deferred points of ``provider``, created (with their observable
    instruments; the cost counter's callbacks first drain the deferred points) on first use.

    Shared by every :class:`Telemetry` of one meter provider (the openai and the anthropic
    instrumentor, and each ``instrument()`` after an ``uninstrument()``): the SDK keeps the first
    registration of an instrument name and ignores the callbacks of later ones, so one set of
    totals per provider is what keeps every call counted.
    """
    with _SHARED_LOCK:
        try:
            shared = _SHARED.get(provider)
        except TypeError:  # not weak-referenceable: keep it alive by id
            entry = _SHARED_BY_ID.get(id(provider))
            shared = entry[1] if entry is not None and entry[0] is provider else None
        if shared is not None:
            return shared
        counters = {}
        deferred = DeferredPoints()
        for name, unit, description in _COUNTERS:
            totals = counters[name] = Totals(name)
            # The queue needs one callback that runs at every collection of this provider; the SDK
            # runs all observable callbacks before it reads any aggregation, so any counter's
            # would do. A dedicated instrument would export an empty metric.
            callbacks = [deferred.drain, totals.observe] if name == sc.METRIC_COST else [totals.observe]
            meter.create_observable_counter(name, callbacks=callbacks, unit=unit, description=description)
        shared = (counters, deferred)
        try:
            _SHARED[provider] = shared
        except TypeError:
            _SHARED_BY_ID[id(provider)] = (provider, shared)
        return shared


def _chunk_metrics(settings: Settings) -> bool:
    return settings.chunk_metrics




def error_type(exc: BaseException) -> str:
    return type(exc).__qualname__ or sc.ERROR_TYPE_OTHER


class Invocation:
    """One GenAI call from request to its single end."""

    __slots__ = (
        "telemetry", "request", "span", "_token", "_start", "chunk_times", "ended", "cache_hit", "_content",
    )

    def __init__(self, telemetry: Telemetry, request: GenAIRequest) -> None:
        self.telemetry = telemetry
        self.request = request
        name = f"{request.operation} {request.model}" if request.model else request.operation
        self.span = telemetry.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=request.attributes)
        self._token: Any = otel_context.attach(trace.set_span_in_context(self.span))
        self._start = time.perf_counter()
        self.chunk_times: list[float] = []
        """When each stream chunk arrived (``perf_counter``): appended by the stream proxy, the
        one per-chunk step of the call; gaps and time to first chunk are derived at the end."""
        self.ended = False
        self.cache_hit = False
        """Answered by the response cache: nothing was spent, the avoided cost was saved."""
        if telemetry.content_enabled:
            self._capture_input()

    def detach(self) -> None:
        """Stop being the current span; called as soon as the SDK call returns."""
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)

    @property
    def chunk_count(self) -> int:
        return len(self.chunk_times)

    def _time_to_first_chunk(self) -> Optional[float]:
        times = self.chunk_times
        return times[0] - self._start if times else None

    def finish(self, result: GenAIResult, stream_end: Optional[str] = None) -> None:
        """End the call with what the response (or stream) said. Runs at most once."""
        if self.ended:
            return
        self.ended = True
        self.detach()
        duration = time.perf_counter() - self._start
        span = self.span
        metric_attrs = self._metric_attributes(result.response_model)
        if self.cache_hit:
            self._finish_cached(result, stream_end, duration, metric_attrs)
            return
        usage, estimated = self._usage(result)
        result.usage = usage
        cost = self.telemetry.cost_of(self.request, result, usage, estimated)
        if span.is_recording():
            attributes = self._response_attributes(result, stream_end)
            _add_cost_attributes(attributes, cost)
            if usage is not None:
                attributes[sc.TT_USAGE_SOURCE] = sc.USAGE_ESTIMATED if estimated else sc.USAGE_REPORTED
            if result.error is not None:
                attributes[sc.ERROR_TYPE] = result.error
                span.set_status(Status(StatusCode.ERROR, result.error))
            span.set_attributes(attributes)  # one call: each takes the span's lock and validates
        if self.telemetry.content_enabled:
            self._capture_output(result, stream_end, result.error)
        self._record_metrics(usage, duration,
                             metric_attrs if result.error is None else {**metric_attrs, sc.ERROR_TYPE: result.error})
        self._record_cost(cost, metric_attrs, usage)
        span.end()

    def _finish_cached(self, result: GenAIResult, stream_end: Optional[str], duration: float,
                       metric_attrs: dict[str, Any]) -> None:
        """A cache hit used no tokens: its usage and cost are recorded as saved."""
        saved_usage, result.usage = result.usage, None
        saved = self.telemetry.cost_of(self.request, result, saved_usage, False)
        span = self.span
        if span.is_recording():
            attributes = self._response_attributes(result, stream_end)
            attributes[sc.TT_COST_STATUS] = sc.COST_STATUS_CACHED
            attributes[sc.TT_COST_TOTAL] = 0.0
            if saved_usage is not None:
                attributes[sc.TT_CACHE_SAVED_INPUT_TOKENS] = saved_usage.input_tokens or 0
                attributes[sc.TT_CACHE_SAVED_OUTPUT_TOKENS] = saved_usage.output_tokens or 0
            if saved.total is not None:
                attributes[sc.TT_CACHE_SAVED_COST] = saved.total
            span.set_attributes(attributes)
        if self.telemetry.content_enabled:
            self._capture_output(result, stream_end, None)
        self.telemetry.deferred.add(_record_points, (
            self.telemetry, {**metric_attrs, sc.TT_CACHE_RESULT: sc.CACHE_HIT}, span.get_span_context(),
            duration, None, None, None,
        ))
        if saved.total:
            self.telemetry.cost_saved.add(saved.total, metric_attrs)
        if saved_usage is not None:
            for kind, tokens in ((sc.TOKEN_TYPE_INPUT, saved_usage.input_tokens), (sc.TOKEN_TYPE_OUTPUT, saved_usage.output_tokens)):
                if tokens:
                    self.telemetry.tokens_saved.add(tokens, metric_attrs, (sc.GEN_AI_TOKEN_TYPE, kind))
        span.end()

    def fail(self, exc: BaseException, partial: Optional[GenAIResult] = None) -> None:
        """End the call with an error; ``partial`` is what a stream delivered before it."""
        if self.ended:
            return
        self.ended = True
        self.detach()
        duration = time.perf_counter() - self._start
        kind = error_type(exc)
        span = self.span
        metric_attrs = self._metric_attributes(partial.response_model if partial else None)
        cost = None
        if partial is not None and self.chunk_count:  # billed only once the provider answered
            partial.usage, estimated = self._usage(partial)
            cost = self.telemetry.cost_of(self.request, partial, partial.usage, estimated)
        if span.is_recording():
            attributes = self._response_attributes(partial, sc.STREAM_END_ERROR) if partial is not None else {}
            if cost is not None and partial is not None and partial.usage is not None:
                _add_cost_attributes(attributes, cost)
                attributes[sc.TT_USAGE_SOURCE] = sc.USAGE_ESTIMATED if estimated else sc.USAGE_REPORTED
            attributes[sc.ERROR_TYPE] = kind
            span.set_attributes(attributes)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{kind}: {exc}"[:512]))
        if self.telemetry.content_enabled:
            self._capture_output(partial, sc.STREAM_END_ERROR, kind)
        self._record_metrics(partial.usage if partial else None, duration, {**metric_attrs, sc.ERROR_TYPE: kind})
        if cost is not None and partial is not None and partial.usage is not None:
            self._record_cost(cost, metric_attrs, partial.usage)
        span.end()

    # --- internals ---------------------------------------------------------------------

    def _metric_attributes(self, response_model: Optional[str]) -> dict[str, Any]:
        req = self.request.attributes
        attrs = {k: req[k] for k in _METRIC_REQUEST_KEYS if k in req}
        if response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = response_model
        return attrs

    def _response_attributes(self, result: GenAIResult, stream_end: Optional[str]) -> dict[str, Any]:
        attrs: dict[str, Any] = dict(result.attributes)
        if result.response_id:
            attrs[sc.GEN_AI_RESPONSE_ID] = result.response_id
        if result.response_model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = result.response_model
        if result.finish_reasons:
            attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] = list(result.finish_reasons)
        usage = result.usage
        if usage is not None:
            for key, value in (
                (sc.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
                (sc.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
                (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_input_tokens),
                (sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, usage.cache_creation_input_tokens),
                (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_output_tokens),
            ):
                if value is not None:
                    attrs[key] = value
        if self.request.stream:
            attrs[sc.TT_STREAM_CHUNKS] = self.chunk_count
            if stream_end:
                attrs[sc.TT_STREAM_END] = stream_end
            if self.chunk_times:
                attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = self.chunk_times[0] - self._start
        return attrs

    def _record_metrics(self, usage: Optional[Usage], duration: float, attrs: dict[str, Any]) -> None:
        self.telemetry.deferred.add(_record_points, (
            self.telemetry, attrs, self.span.get_span_context(), duration, usage, self._time_to_first_chunk(),
            tuple(self.chunk_times) if self.telemetry.chunk_metrics else None,  # snapshot: the points are recorded later
        ))

    def _usage(self, result: GenAIResult) -> tuple[Optional[Usage], bool]:
        """The reported usage, or (when configured) an estimate of what is missing."""
        usage = result.usage
        if usage is not None and usage.input_tokens is not None and (
            usage.output_tokens is not None or self.request.operation == sc.OPERATION_EMBEDDINGS
        ):
            return usage, False
        if not self.telemetry.settings.estimate_missing_usage:
            return usage, False
        from .estimation import estimate_missing_usage

        filled = estimate_missing_usage(self.request, usage, result.output_text, result.response_model)
        return (filled, True) if filled is not None else (usage, False)

    def _record_cost(self, cost: Cost, attrs: dict[str, Any], usage: Optional[Usage]) -> None:
        telemetry = self.telemetry
        if cost.total is not None:
            if cost.total:
                telemetry.cost.add(cost.total, attrs, (sc.TT_COST_STATUS, cost.status))
        else:
            reason = sc.COST_UNKNOWN_NO_USAGE if usage is None else sc.COST_UNKNOWN_NO_PRICE
            telemetry.cost_unknown.add(1, attrs, (sc.TT_COST_UNKNOWN_REASON, reason))
        if usage is not None:
            if usage.cache_read_input_tokens:
                telemetry.prompt_cache_tokens.add(usage.cache_read_input_tokens, attrs,
                                                  (sc.TT_PROMPT_CACHE_OPERATION, sc.PROMPT_CACHE_READ))
            if usage.cache_creation_input_tokens:
                telemetry.prompt_cache_tokens.add(usage.cache_creation_input_tokens, attrs,
                                                  (sc.TT_PROMPT_CACHE_OPERATION, sc.PROMPT_CACHE_WRITE))

    def _capture_input(self) -> None:
        """Build the input content once: on the span now, kept for the event at the end."""
        self._content: Optional[dict[str, Any]] = None
        telemetry = self.telemetry
        on_span = telemetry.content_on_span and self.span.is_recording()
        if not on_span and telemetry.content_events is None:
            return
        try:
            self._content = captured = self._input_content()
            if on_span and captured:
                self.span.set_attributes({key: _to_json(value) for key, value in captured.items()})
        except Exception:
            log_internal_error("capturing the input messages")

    def _input_content(self) -> dict[str, Any]:
        content = self.request.content() if self.request.content is not None else {}
        captured = {}
        for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS, sc.GEN_AI_TOOL_DEFINITIONS):
            value = content.get(key)
            if value:
                captured[key] = value if key == sc.GEN_AI_TOOL_DEFINITIONS else self.telemetry.scrub_content(value)
        return captured

    def _capture_output(self, result: Optional[GenAIResult], stream_end: Optional[str], error: Optional[str]) -> None:
        """At the call's single end: the output on the span, and the one details event."""
        telemetry = self.telemetry
        on_span = telemetry.content_on_span and self.span.is_recording()
        if not on_span and telemetry.content_events is None:
            return
        try:
            outputs = None
            if result is not None and result.output_messages is not None:
                outputs = telemetry.scrub_content(result.output_messages())
            if on_span and outputs:
                self.span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, _to_json(outputs))
            if telemetry.content_events is not None:
                content = dict(self._content or {})
                if outputs:
                    content[sc.GEN_AI_OUTPUT_MESSAGES] = outputs
                attributes = self._operation_attributes(result, stream_end, error)
                telemetry.content_events.emit(attributes, content, self.span)
        except Exception:
            log_internal_error("recording the message content")

    def _operation_attributes(self, result: Optional[GenAIResult], stream_end: Optional[str],
                              error: Optional[str]) -> dict[str, Any]:
        """The span's attributes as the conventions name them (tokentrace's own left out)."""
        attributes = dict(self.request.attributes)
        if result is not None:
            attributes.update(self._response_attributes(result, stream_end))
        if error is not None:
            attributes[sc.ERROR_TYPE] = error
        return {key: value for key, value in attributes.items() if not key.startswith(_OWN_ATTRIBUTE_PREFIX)}


_OWN_ATTRIBUTE_PREFIX = "tokentrace."


def _record_points(
    tel: Telemetry, attrs: dict[str, Any], span_context: Any, duration: float,
    usage: Optional[Usage], time_to_first_chunk: Optional[float], chunk_times: Optional[tuple[float, ...]],
) -> None:
    """A call's histogram points (run by :class:`DeferredPoints`, usually at collection)."""
    context = context_of(span_context)  # exemplars lead to the call's span
    record(tel.duration, duration, attrs, context)
    if usage is not None:
        if usage.input_tokens is not None:
            record(tel.token_usage, usage.input_tokens, {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT}, context)
        if usage.output_tokens is not None:
            record(tel.token_usage, usage.output_tokens, {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT}, context)
    if time_to_first_chunk is not None:
        record(tel.time_to_first_chunk, time_to_first_chunk, attrs, context)
        if chunk_times:
            per_chunk = tel.time_per_output_chunk
            for before, after in zip(chunk_times, chunk_times[1:]):
                record(per_chunk, after - before, attrs)


def _add_cost_attributes(attrs: dict[str, Any], cost: Cost) -> None:
    attrs[sc.TT_COST_STATUS] = cost.status
    if cost.total is None:
        return
    attrs[sc.TT_COST_TOTAL] = cost.total
    # Parts that are 0 are left out: the SDK validates every attribute (~0.9 µs each).
    if cost.input:
        attrs[sc.TT_COST_INPUT] = cost.input
    if cost.cached_input:
        attrs[sc.TT_COST_CACHED_INPUT] = cost.cached_input
    if cost.cache_write:
        attrs[sc.TT_COST_CACHE_WRITE] = cost.cache_write
    if cost.output:
        attrs[sc.TT_COST_OUTPUT] = cost.output
    attrs[sc.TT_COST_CURRENCY] = cost.currency
    attrs[sc.TT_COST_PRICE_MODEL] = cost.price_model


def _to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
