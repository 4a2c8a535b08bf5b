"""Every attribute, metric and event name tokentrace emits, in one place.

Names follow the OpenTelemetry GenAI semantic conventions (v1.41). Names the spec does not
have live under the ``tokentrace.`` prefix. Moving to a newer convention is a change here.
"""

from __future__ import annotations

# --- GenAI attributes (spec) ---------------------------------------------------------------
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED = "gen_ai.request.seed"
GEN_AI_REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS = "gen_ai.request.encoding_formats"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT = "gen_ai.embeddings.dimension.count"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_OUTPUT_TYPE = "gen_ai.output.type"
GEN_AI_TOKEN_TYPE = "gen_ai.token.type"
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"

SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"

# OpenAI-specific (spec)
OPENAI_REQUEST_SERVICE_TIER = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT = "openai.response.system_fingerprint"
OPENAI_API_TYPE = "openai.api.type"

# --- well-known values --------------------------------------------------------------------
OPERATION_CHAT = "chat"
OPERATION_EMBEDDINGS = "embeddings"
PROVIDER_OPENAI = "openai"
PROVIDER_ANTHROPIC = "anthropic"
TOKEN_TYPE_INPUT = "input"
TOKEN_TYPE_OUTPUT = "output"
OUTPUT_TYPE_TEXT = "text"
OUTPUT_TYPE_JSON = "json"
API_TYPE_CHAT_COMPLETIONS = "chat_completions"
API_TYPE_RESPONSES = "responses"
ERROR_TYPE_OTHER = "_OTHER"

# --- events (spec) ------------------------------------------------------------------------
EVENT_INFERENCE_DETAILS = "gen_ai.client.inference.operation.details"

# --- metrics (spec) -----------------------------------------------------------------------
METRIC_TOKEN_USAGE = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK = "gen_ai.client.operation.time_per_output_chunk"

TOKEN_USAGE_BUCKETS = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)
DURATION_BUCKETS = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
CHUNK_BUCKETS = DURATION_BUCKETS
"""The GenAI conventions give time_to_first_chunk and time_per_output_chunk the duration's boundaries."""

# --- tokentrace's own names ---------------------------------------------------------------
TT_COST_TOTAL = "tokentrace.cost.total_usd"
TT_COST_INPUT = "tokentrace.cost.input_usd"
TT_COST_CACHED_INPUT = "tokentrace.cost.cached_input_usd"
TT_COST_CACHE_WRITE = "tokentrace.cost.cache_write_usd"
TT_COST_OUTPUT = "tokentrace.cost.output_usd"
TT_COST_CURRENCY = "tokentrace.cost.currency"
TT_COST_STATUS = "tokentrace.cost.status"
TT_COST_PRICE_MODEL = "tokentrace.cost.price_model"
TT_USAGE_SOURCE = "tokentrace.usage.source"
USAGE_REPORTED = "reported"
USAGE_ESTIMATED = "estimated"

METRIC_COST = "tokentrace.cost"
METRIC_COST_UNKNOWN = "tokentrace.cost.unknown_calls"
METRIC_COST_SAVED = "tokentrace.cost.saved"
TT_COST_UNKNOWN_REASON = "tokentrace.cost.unknown_reason"
COST_UNKNOWN_NO_PRICE = "no_price"
COST_UNKNOWN_NO_USAGE = "no_usage"
METRIC_PROMPT_CACHE_TOKENS = "tokentrace.usage.prompt_cache_tokens"
"""Input tokens read from or written to the provider's prompt cache (the token-usage histogram has
only input and output); ``tokentrace.prompt_cache.operation`` says which."""
TT_PROMPT_CACHE_OPERATION = "tokentrace.prompt_cache.operation"
PROMPT_CACHE_READ = "read"
PROMPT_CACHE_WRITE = "write"
METRIC_OVERFLOW = "otel.metric.overflow"

TT_CACHE_RESULT = "tokentrace.cache.result"
TT_CACHE_LOOKUP = "tokentrace.cache.lookup"
TT_CACHE_SKIP_REASON = "tokentrace.cache.skip_reason"
TT_CACHE_KEY = "tokentrace.cache.key_hash"
TT_CACHE_AGE = "tokentrace.cache.age_s"
TT_CACHE_ORIGINAL_RESPONSE_ID = "tokentrace.cache.original_response_id"
TT_CACHE_SIMILARITY = "tokentrace.cache.similarity"
TT_CACHE_REJECTED_BY = "tokentrace.cache.rejected_by"
TT_CACHE_BACKEND = "tokentrace.cache.backend"
TT_CACHE_SAVED_INPUT_TOKENS = "tokentrace.cache.saved.input_tokens"
TT_CACHE_SAVED_OUTPUT_TOKENS = "tokentrace.cache.saved.output_tokens"
TT_CACHE_SAVED_COST = "tokentrace.cache.saved.cost_usd"
CACHE_HIT = "hit"
CACHE_MISS = "miss"
CACHE_SKIP = "skip"
CACHE_ERROR = "error"
CACHE_LOOKUP_EXACT = "exact"
CACHE_LOOKUP_SEMANTIC = "semantic"
COST_STATUS_CACHED = "cached"

METRIC_CACHE_LOOKUPS = "tokentrace.cache.lookups"
METRIC_CACHE_LOOKUP_DURATION = "tokentrace.cache.lookup.duration"
METRIC_CACHE_TOKENS_SAVED = "tokentrace.cache.tokens_saved"
CACHE_LOOKUP_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

TT_STREAM_USAGE_INJECTED = "tokentrace.stream.usage_injected"
TT_STREAM_CHUNKS = "tokentrace.stream.chunk_count"
TT_STREAM_END = "tokentrace.stream.end"
STREAM_END_COMPLETED = "completed"
STREAM_END_CLOSED = "closed_early"
STREAM_END_ABANDONED = "abandoned"
STREAM_END_ERROR = "error"
