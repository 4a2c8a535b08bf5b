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
"""Path of an OTLP JSON Lines file (the Collector file exporter's format) that spans and metrics
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
