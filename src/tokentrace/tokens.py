"""Token counts before a call is sent, and for streams that report no usage.

Public API::

    count_tokens(text, model) -> TokenCount(tokens, method)
    count_output_tokens(texts, model) -> TokenCount
    estimate_request_tokens(provider, body) -> RequestEstimate(input_tokens, max_output_tokens, method, exact)

``method`` is ``"tiktoken:<encoding>"`` when text was counted by OpenAI's tokenizer and
``"approximate"`` otherwise.

Which tokenizer
    OpenAI models use tiktoken with the model's encoding: ``tiktoken.encoding_name_for_model``
    where tiktoken knows the model, else a prefix table (o200k_base: ``gpt-4o*``, ``gpt-4.1*``,
    ``gpt-4.5*``, ``gpt-5*``, ``o1*``, ``o3*``, ``o4*``, ``chatgpt-4o*``; cl100k_base: ``gpt-4*``,
    ``gpt-3.5*``, ``text-embedding-3-*``, ``text-embedding-ada-002``). Every other model — all
    Claude models, unknown and self-hosted models — is approximated.

Never a network call
    tiktoken downloads its BPE files on first use; tokentrace never lets it. Encodings are
    built only from local files: ``$TOKENTRACE_TIKTOKEN_DIR/<encoding>.tiktoken[.gz]``, else a
    file already in tiktoken's cache (``$TIKTOKEN_CACHE_DIR``, ``$DATA_GYM_CACHE_DIR`` or
    ``<tmp>/data-gym-cache``), checked against tiktoken's pinned SHA-256. Each encoding is loaded
    once per process (thread-safe, ~0.3–0.7 s for o200k_base). When no file is there, counts for
    its models use the approximation (method ``"approximate"``) and one warning is logged per
    encoding. Details in ``tokentrace._tokens_bpe``.

The approximation (``tokentrace._tokens_approx``)
    Not chars/4: a linear model over character-class counts taken in C on the UTF-8 bytes —
    ASCII words, letters past the 8th of a word, digits and digit runs, punctuation and its runs,
    newlines, spaces and their runs, tabs, and per-character weights for Latin-1, Latin
    extended/Greek, Cyrillic, Hebrew/Arabic, Indic/Thai, symbols, CJK/kana, Hangul and emoji —
    fitted to real cl100k_base and o200k_base counts (the o200k weights are used for o200k models
    whose file is missing, the cl100k weights for everything else, Claude included). Error against
    real tiktoken counts on 3,815 varied strings (held-out half; mean |error| / bias):

    ===================  ==================  ==================  ==============
    text                 vs cl100k_base      vs o200k_base       ceil(chars/4)
    ===================  ==================  ==================  ==============
    all                  10.5% / −1.5%       11.6% / −2.0%       29–33%
    English prose        8.9% / +2.2%        9.1% / +2.1%        17–21%
    Python, C source     8.3–8.6%            8.0–8.8%            13–16%
    JSON                 2.1%                2.5%                37%
    Chinese, Japanese    7–13%               6–7%                54–70%
    Korean               19% / −9%           25% / −15%          76–81%
    IDs, base64, numbers 25% / −13%          22% / −12%          55%
    other scripts        23% / −11%          36% / −15%          43–75%
    ===================  ==================  ==================  ==============

    (relative error = (approx − true) / max(true, 10); "other scripts" are words of ~120 glibc
    locales: Cyrillic, Greek, Arabic, Hebrew, Indic, Thai …). Rerun:
    ``python benchmarks/estimate_tokens.py --accuracy``.

Requests (``estimate_request_tokens``)
    OpenAI chat completions — the cookbook "How to count tokens with tiktoken" rules: 3 tokens per
    message, +1 for ``name``, 3 to prime the reply; function/tool definitions: 7 (o200k) or 10
    (cl100k) per function + ``name:description``, 3 to open the properties, per property
    3 + ``name:type:description`` (enum: −3, then 3 + the item per item), 12 per request. Tool
    calls and tool results are not in the cookbook; fitted on recorded responses: per call
    ``name`` + ``arguments`` + 3, several calls in one message + 6 + 3 per call (their
    ``multi_tool_use.parallel`` wrapper), per ``tool`` message the called function's ``name`` + 2
    (roles are counted as usual). On the 27 recorded cases in tests/data/openai_usage_cases.json
    plain messages match ``usage.prompt_tokens`` exactly and requests with tools or tool calls
    within 5 tokens (the cookbook's constants are averages: an empty description or a property
    without one is rendered shorter than its rule assumes). ``exact`` is True only for plain
    text/``name`` messages counted with tiktoken, the case the cookbook shows to match the API,
    and not for reasoning models (``o1``/``o3``/``o4``…, ``gpt-5`` and later): on each of their
    recorded plain requests the API counts one token fewer than the cookbook's rules (one per
    request, not per message), and OpenAI documents no rule for them, so their counts keep the
    cookbook's (an upper bound) and are flagged inexact. Images: OpenAI's vision formula
    (low: 85; high/auto: fit 2048², shortest side 768, 170 per 512px tile + 85; the documented
    per-model variants for gpt-4o-mini, o1/o3 and the patch-billed gpt-4.1-mini/nano, o4-mini);
    sizes are read from base64 data URLs, and an http(s) URL counts as 1024×1024 (765 tokens at
    85/170) with ``exact=False``.
    OpenAI Responses — ``instructions`` and each input item as a chat message, function calls
    and outputs like tool calls and results, function tools with the cookbook rules; never exact.
    OpenAI embeddings — the sum of the inputs' tokens (token arrays are counted as given); exact.
    Anthropic messages — no public tokenizer, so never exact: text approximated (cl100k weights;
    on the recorded Claude 4.x text-only requests within 0–6% of the API's count), 8 tokens per
    request, 3 per message, system text as is; images width×height/750 after Anthropic's resize
    (long edge ≤ 1568 px, ≤ ~1,600 tokens; 1,600 when the size is unknown); PDF pages 2,250 each
    (Anthropic: 1,500–3,000 per page); ``tool_use`` 20 + name + input JSON, ``tool_result``
    20 + content; tools: Anthropic's documented tool-use system prompt (346 tokens for
    ``auto``/``none``, 313 for ``any``/``tool`` on Claude 3.7/4.x/Haiku 4.5; the Claude 3 table
    for older models) + per tool name, description and compact input-schema JSON + 5, plus 250
    when any tool takes parameters — undocumented, measured on recorded responses (see
    tests/data/openai_usage_cases.json and the tests for the cases and their errors).
    ``max_output_tokens`` is ``max_completion_tokens`` / ``max_output_tokens`` / ``max_tokens``,
    times ``n`` when a chat request asks for several choices.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from . import _tokens_bpe
from ._tokens_approx import approximate_tokens
from ._tokens_bpe import encoding_name_for_model
from ._tokens_images import (
    OPENAI_DEFAULT_SIZE,
    anthropic_image_tokens,
    data_url_payload,
    image_size_from_base64,
    openai_image_tokens,
)

__all__ = [
    "RequestEstimate",
    "TokenCount",
    "count_output_tokens",
    "count_tokens",
    "encoding_name_for_model",
    "estimate_request_tokens",
]

APPROXIMATE = "approximate"


@dataclass(frozen=True, slots=True)
class TokenCount:
    """A token count and how it was obtained: ``"tiktoken:<encoding>"`` or ``"approximate"``."""

    tokens: int
    method: str


@dataclass(frozen=True, slots=True)
class RequestEstimate:
    """Input tokens of a request before it is sent, and its output bound."""

    input_tokens: int
    max_output_tokens: Optional[int]
    method: str
    exact: bool
    """True only when every part was counted by a rule the provider documents as exact."""


def count_tokens(text: str, model: Optional[str]) -> TokenCount:
    """Tokens of ``text`` for ``model`` (no message overhead)."""
    counter = _Counter.for_model(model)
    return TokenCount(counter(text if isinstance(text, str) else _text(text)), counter.method)


def count_output_tokens(texts: Iterable[str], model: Optional[str]) -> TokenCount:
    """Tokens of generated text received as chunks (a stream without usage), counted as a whole."""
    joined = "".join(t for t in texts if isinstance(t, str))
    return count_tokens(joined, model)


def estimate_request_tokens(provider: str, body: Mapping[str, Any], *, operation: Optional[str] = None) -> RequestEstimate:
    """Estimate the input tokens of a request body as the SDK sends it.

    Args:
        provider: ``"openai"`` or ``"anthropic"`` (others are treated as OpenAI-shaped).
        body: the JSON body (``messages``…, ``input``…), as a mapping.
        operation: ``"chat"``, ``"responses"`` or ``"embeddings"`` when the caller knows it;
            otherwise guessed from the body (``messages`` → chat; ``input`` → embeddings for
            models whose name contains ``embed``, else Responses).
    """
    if not isinstance(body, Mapping):
        body = {}
    model = body.get("model") if isinstance(body.get("model"), str) else None
    provider = (provider or "").lower()
    if provider == "anthropic" or (provider != "openai" and model and "claude" in model.lower() and "messages" in body):
        return _anthropic(body, model)
    counter = _Counter.for_model(model)
    op = (operation or "").lower()
    if not op:
        if "messages" in body:
            op = "chat"
        elif "input" in body:
            op = "embeddings" if model and "embed" in model.lower() else "responses"
        elif "prompt" in body:
            op = "completions"
        else:
            op = "chat"
    if op in ("embeddings", "embedding"):
        return _openai_embeddings(body, counter)
    if op in ("responses", "response"):
        return _openai_responses(body, counter, model or "")
    if op in ("completions", "text_completion"):
        tokens = sum(counter(p) for p in _strings(body.get("prompt")))
        return RequestEstimate(tokens, _max_output(body), counter.method, counter.exact)
    return _openai_chat(body, counter, model or "")


# --------------------------------------------------------------------------------------------
# counting text


_COUNT_CACHE: dict[tuple[str, int, int], int] = {}
_COUNT_CACHE_MAX = 8192
_CACHE_MIN_CHARS = 256


class _Counter:
    """Counts text with one model's tokenizer, or the approximation."""

    __slots__ = ("encoding", "method", "exact", "table")

    def __init__(self, encoding: Any, method: str, table: str) -> None:
        self.encoding = encoding
        self.method = method
        self.exact = encoding is not None
        self.table = table

    @classmethod
    def for_model(cls, model: Optional[str]) -> "_Counter":
        name = encoding_name_for_model(model)
        encoding = _tokens_bpe.get_encoding(name) if name else None
        if encoding is not None:
            return cls(encoding, f"tiktoken:{name}", "")
        return cls(None, APPROXIMATE, "o200k" if name and name.startswith("o200k") else "cl100k")

    def __call__(self, text: Optional[str]) -> int:
        if not text:
            return 0
        if self.encoding is None:
            return approximate_tokens(text, self.table)
        if len(text) < _CACHE_MIN_CHARS:
            return len(self.encoding.encode_ordinary(text))
        # Long texts repeat across calls (system prompts, tool schemas, chat history): remember
        # their counts by (encoding, hash, length) — the text itself is not kept alive.
        key = (self.method, hash(text), len(text))
        tokens = _COUNT_CACHE.get(key)
        if tokens is None:
            tokens = len(self.encoding.encode_ordinary(text))
            if len(_COUNT_CACHE) >= _COUNT_CACHE_MAX:
                _COUNT_CACHE.clear()
            _COUNT_CACHE[key] = tokens
        return tokens


def _reset_cache() -> None:
    """Forget loaded encodings, their failures, model lookups and cached counts (for tests)."""
    _tokens_bpe.reset()
    _COUNT_CACHE.clear()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        return str(value)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def _int(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _max_output(body: Mapping[str, Any], choices: bool = False) -> Optional[int]:
    for key in ("max_completion_tokens", "max_output_tokens", "max_tokens"):
        value = _int(body.get(key))
        if value is not None:
            n = _int(body.get("n")) if choices else None
            return value * n if n and n > 1 else value
    return None


class _Tally:
    """Running total of one estimate, and whether every part was exact."""

    __slots__ = ("tokens", "exact")

    def __init__(self, exact: bool) -> None:
        self.tokens = 0
        self.exact = exact

    def add(self, tokens: int, exact: bool = True) -> None:
        self.tokens += tokens
        if not exact:
            self.exact = False


# --------------------------------------------------------------------------------------------
# OpenAI


PER_MESSAGE = 3
PER_NAME = 1
REPLY_PRIMING = 3
TOOL_CALL = 3
TOOL_RESULT = 2
PARALLEL_CALLS = 6
PARALLEL_PER_CALL = 3
# cookbook function-definition overheads: (func_init, prop_init, prop_key, enum_init, enum_item, func_end)
_FUNCTION_OVERHEAD = {"o200k": (7, 3, 3, -3, 3, 12), "cl100k": (10, 3, 3, -3, 3, 12)}


# o-series and GPT-5 onwards: their chat overhead is not the cookbook's (see the module docstring).
_REASONING_MODEL = re.compile(r"(?:^|/)(?:o\d|gpt-(?:[5-9]|\d{2,}))")


def _openai_chat(body: Mapping[str, Any], n: _Counter, model: str) -> RequestEstimate:
    tally = _Tally(n.exact and not _REASONING_MODEL.search(model.lower()))
    call_names: dict[str, str] = {}
    messages = body.get("messages")
    for message in messages if isinstance(messages, (list, tuple)) else ():
        if not isinstance(message, Mapping):
            tally.add(n(_text(message)), False)
            continue
        tally.add(PER_MESSAGE)
        role = message.get("role")
        tally.add(n(role if isinstance(role, str) else ""))
        _openai_content(message.get("content"), n, model, tally)
        name = message.get("name")
        if isinstance(name, str) and name:
            tally.add(n(name) + PER_NAME)
        refusal = message.get("refusal")
        if isinstance(refusal, str):
            tally.add(n(refusal))
        calls = message.get("tool_calls")
        calls = [c for c in calls if isinstance(c, Mapping)] if isinstance(calls, (list, tuple)) else []
        if len(calls) > 1:  # parallel calls are wrapped in one multi_tool_use.parallel call
            tally.add(PARALLEL_CALLS + PARALLEL_PER_CALL * len(calls), False)
        for call in calls:
            if isinstance(call, Mapping):
                function = call.get("function") if isinstance(call.get("function"), Mapping) else call
                fname = function.get("name") if isinstance(function.get("name"), str) else ""
                if isinstance(call.get("id"), str):
                    call_names[call["id"]] = fname
                tally.add(TOOL_CALL + n(fname) + n(_text(function.get("arguments"))), False)
        legacy_call = message.get("function_call")
        if isinstance(legacy_call, Mapping):
            fname = legacy_call.get("name") if isinstance(legacy_call.get("name"), str) else ""
            tally.add(TOOL_CALL + n(fname) + n(_text(legacy_call.get("arguments"))), False)
        if role == "tool":
            tally.add(TOOL_RESULT + n(call_names.get(message.get("tool_call_id"), "")), False)
        if message.get("audio") is not None:
            tally.add(0, False)  # a previous audio reply, referenced by id: size unknown
    tally.add(REPLY_PRIMING)
    tools = body.get("tools")
    functions = [t.get("function") if isinstance(t.get("function"), Mapping) else t
                 for t in (tools if isinstance(tools, (list, tuple)) else ()) if isinstance(t, Mapping)]
    legacy = body.get("functions")
    functions += [f for f in (legacy if isinstance(legacy, (list, tuple)) else ()) if isinstance(f, Mapping)]
    if functions:
        tally.add(_openai_functions(functions, n), False)
    _response_format(body.get("response_format"), n, tally)
    return RequestEstimate(tally.tokens, _max_output(body, choices=True), n.method, tally.exact)


def _openai_content(content: Any, n: _Counter, model: str, tally: _Tally) -> None:
    if content is None:
        return
    if isinstance(content, str):
        tally.add(n(content))
        return
    if not isinstance(content, (list, tuple)):
        tally.add(n(_text(content)), False)
        return
    for part in content:
        if isinstance(part, str):
            tally.add(n(part))
            continue
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            tally.add(n(part.get("text") if isinstance(part.get("text"), str) else ""))
        elif kind == "refusal":
            tally.add(n(part.get("refusal") if isinstance(part.get("refusal"), str) else ""))
        elif kind in ("image_url", "input_image"):
            image = part.get("image_url")
            if isinstance(image, Mapping):  # chat: {"url", "detail"}
                url, detail = image.get("url"), image.get("detail")
            else:  # responses: "image_url": str, "detail" beside it
                url, detail = image, part.get("detail")
            tally.add(_openai_image(model, url if isinstance(url, str) else "", detail), False)
        else:  # input_audio, file, input_file …: size not derivable from the request
            tally.add(n(_text(part.get("text"))) if isinstance(part.get("text"), str) else 0, False)


def _openai_image(model: str, url: str, detail: Any) -> int:
    detail = detail if isinstance(detail, str) else "auto"
    size = None
    payload = data_url_payload(url)
    if payload is not None:
        size = image_size_from_base64(payload)
    width, height = size or OPENAI_DEFAULT_SIZE
    return openai_image_tokens(model, width, height, detail)


def _openai_functions(functions: list[Mapping[str, Any]], n: _Counter) -> int:
    """The cookbook's function-definition rules (nested object properties counted the same way)."""
    table = "o200k" if n.method.endswith("o200k_base") or n.table == "o200k" else "cl100k"
    func_init, prop_init, prop_key, enum_init, enum_item, func_end = _FUNCTION_OVERHEAD[table]
    total = 0
    for function in functions:
        name = function.get("name") if isinstance(function.get("name"), str) else ""
        description = _strip_dot(function.get("description"))
        total += func_init + n(f"{name}:{description}")
        parameters = function.get("parameters")
        if isinstance(parameters, Mapping):
            total += _properties(parameters, n, prop_init, prop_key, enum_init, enum_item)
    return total + func_end


def _properties(schema: Mapping[str, Any], n: _Counter, prop_init: int, prop_key: int,
                enum_init: int, enum_item: int, depth: int = 0) -> int:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return 0
    total = prop_init
    for key, prop in properties.items():
        prop = prop if isinstance(prop, Mapping) else {}
        kind = prop.get("type")
        if isinstance(kind, (list, tuple)):
            kind = "|".join(str(k) for k in kind)
        elif not isinstance(kind, str):
            kind = "any"
        total += prop_key + n(f"{key}:{kind}:{_strip_dot(prop.get('description'))}")
        enum = prop.get("enum")
        if isinstance(enum, (list, tuple)):
            total += enum_init + sum(enum_item + n(_text(item)) for item in enum)
        if depth < 8:
            total += _properties(prop, n, prop_init, prop_key, enum_init, enum_item, depth + 1)
            items = prop.get("items")
            if isinstance(items, Mapping):
                total += _properties(items, n, prop_init, prop_key, enum_init, enum_item, depth + 1)
    return total


def _strip_dot(text: Any) -> str:
    text = text if isinstance(text, str) else ""
    return text[:-1] if text.endswith(".") else text


def _response_format(fmt: Any, n: _Counter, tally: _Tally) -> None:
    """Structured outputs put the JSON schema in the prompt: count it as compact JSON (inexact)."""
    if isinstance(fmt, Mapping):
        schema = fmt.get("json_schema") if fmt.get("type") == "json_schema" else fmt.get("schema")
        if isinstance(schema, Mapping):
            tally.add(n(_text(schema.get("schema", schema))), False)


def _openai_responses(body: Mapping[str, Any], n: _Counter, model: str) -> RequestEstimate:
    tally = _Tally(False)
    call_names: dict[str, str] = {}
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        tally.add(PER_MESSAGE + n("developer") + n(instructions))
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    for item in items if isinstance(items, (list, tuple)) else ():
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type") or ("message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            tally.add(PER_MESSAGE + n(role if isinstance(role, str) else ""))
            _openai_content(item.get("content"), n, model, tally)
        elif kind == "function_call":
            fname = item.get("name") if isinstance(item.get("name"), str) else ""
            if isinstance(item.get("call_id"), str):
                call_names[item["call_id"]] = fname
            tally.add(PER_MESSAGE + n("assistant") + TOOL_CALL + n(fname) + n(_text(item.get("arguments"))))
        elif kind == "function_call_output":
            output = item.get("output")
            tally.add(PER_MESSAGE + n("tool") + TOOL_RESULT + n(call_names.get(item.get("call_id"), "")))
            if isinstance(output, (list, tuple)):
                _openai_content(output, n, model, tally)
            else:
                tally.add(n(_text(output)))
        elif kind == "reasoning":
            for part in item.get("summary") or ():
                if isinstance(part, Mapping):
                    tally.add(n(_text(part.get("text"))))
        elif kind == "item_reference":
            pass  # stored server-side: size unknown
        else:  # built-in tool calls and their outputs: count their JSON
            tally.add(n(_text(item)))
    tally.add(REPLY_PRIMING)
    tools = body.get("tools")
    functions = [t for t in (tools if isinstance(tools, (list, tuple)) else ())
                 if isinstance(t, Mapping) and t.get("type", "function") == "function"]
    if functions:
        tally.add(_openai_functions(functions, n))
    text = body.get("text")
    if isinstance(text, Mapping) and isinstance(text.get("format"), Mapping):
        fmt = text["format"]
        if fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), Mapping):
            tally.add(n(_text(fmt["schema"])))
    return RequestEstimate(tally.tokens, _max_output(body), n.method, False)


def _openai_embeddings(body: Mapping[str, Any], n: _Counter) -> RequestEstimate:
    value = body.get("input")
    total, exact = 0, n.exact
    if isinstance(value, str):
        total = n(value)
    elif isinstance(value, (list, tuple)):
        if value and all(_int(v) is not None for v in value):  # one token array
            return RequestEstimate(len(value), None, n.method, True)
        for item in value:
            if isinstance(item, str):
                total += n(item)
            elif isinstance(item, (list, tuple)):  # a token array
                total += len(item)
            else:
                exact = False
    return RequestEstimate(total, None, n.method, exact)


# --------------------------------------------------------------------------------------------
# Anthropic


ANTHROPIC_PER_REQUEST = 8
ANTHROPIC_PER_MESSAGE = 3
ANTHROPIC_TOOL_USE = 20
ANTHROPIC_TOOL_RESULT = 20
ANTHROPIC_PER_TOOL = 5
ANTHROPIC_PARAMETERS = 250
ANTHROPIC_PDF_PAGE = 2250
# Tool-use system prompt by model: (pattern, auto/none, any/tool). Anthropic's table; the default
# (Claude 3.5 Sonnet, 3.7 and every 4.x model incl. Haiku 4.5) is 346 / 313.
_ANTHROPIC_TOOL_PROMPT = (
    (re.compile(r"claude-3-opus"), 530, 281),
    (re.compile(r"claude-3-sonnet"), 159, 235),
    (re.compile(r"claude-3-(?:5-)?haiku"), 264, 340),
)
_ANTHROPIC_TOOL_PROMPT_DEFAULT = (346, 313)
# Anthropic-defined client tools: documented input tokens each (bash 245, text editor 700,
# computer use 735 + its 466-499 token system prompt).
_ANTHROPIC_BUILTIN_TOOLS = (("bash_", 245), ("text_editor_", 700), ("computer_", 735 + 499))


def _anthropic(body: Mapping[str, Any], model: Optional[str]) -> RequestEstimate:
    n = _Counter(None, APPROXIMATE, "cl100k")
    tokens = ANTHROPIC_PER_REQUEST
    system = body.get("system")
    if isinstance(system, str):
        tokens += n(system)
    elif isinstance(system, (list, tuple)):
        tokens += sum(_anthropic_block(b, n) for b in system)
    messages = body.get("messages")
    for message in messages if isinstance(messages, (list, tuple)) else ():
        if not isinstance(message, Mapping):
            continue
        tokens += ANTHROPIC_PER_MESSAGE
        content = message.get("content")
        if isinstance(content, str):
            tokens += n(content)
        elif isinstance(content, (list, tuple)):
            tokens += sum(_anthropic_block(b, n) for b in content)
    tokens += _anthropic_tools(body, n, (model or "").lower())
    return RequestEstimate(tokens, _max_output(body), APPROXIMATE, False)


def _anthropic_block(block: Any, n: _Counter) -> int:
    if isinstance(block, str):
        return n(block)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind == "text":
        return n(_text(block.get("text")))
    if kind == "image":
        source = block.get("source") if isinstance(block.get("source"), Mapping) else {}
        size = None
        if source.get("type") == "base64" and isinstance(source.get("data"), str):
            size = image_size_from_base64(source["data"])
        return anthropic_image_tokens(*(size or (None, None)))
    if kind == "document":
        source = block.get("source") if isinstance(block.get("source"), Mapping) else {}
        extra = n(_text(block.get("title"))) + n(_text(block.get("context")))
        if source.get("type") == "text":
            return extra + n(_text(source.get("data")))
        if source.get("type") == "content" and isinstance(source.get("content"), (list, tuple)):
            return extra + sum(_anthropic_block(b, n) for b in source["content"])
        if source.get("type") == "base64" and isinstance(source.get("data"), str):
            return extra + ANTHROPIC_PDF_PAGE * _pdf_pages(source["data"])
        return extra + ANTHROPIC_PDF_PAGE
    if kind == "tool_use":
        return ANTHROPIC_TOOL_USE + n(_text(block.get("name"))) + n(_text(block.get("input")))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, (list, tuple)):
            return ANTHROPIC_TOOL_RESULT + sum(_anthropic_block(b, n) for b in content)
        return ANTHROPIC_TOOL_RESULT + n(_text(content))
    if kind == "thinking":
        return n(_text(block.get("thinking")))
    if kind == "redacted_thinking":
        return n(_text(block.get("data")))
    # server tool uses and results, search results, anything newer: their JSON
    return n(_text({k: v for k, v in block.items() if k not in ("cache_control", "citations")}))


def _pdf_pages(payload: str) -> int:
    import base64
    import binascii

    if len(payload) > 64 * 1024 * 1024:
        return max(1, len(payload) // 200_000)  # ~150 KB per page
    try:
        data = base64.b64decode(payload)
    except (binascii.Error, ValueError):
        return 1
    return max(1, len(re.findall(rb"/Type\s*/Page(?!s)", data)))


def _anthropic_tools(body: Mapping[str, Any], n: _Counter, model: str) -> int:
    tools = body.get("tools")
    tools = [t for t in tools if isinstance(t, Mapping)] if isinstance(tools, (list, tuple)) else []
    if not tools:
        return 0
    choice = body.get("tool_choice")
    choice = choice.get("type") if isinstance(choice, Mapping) else "auto"
    auto, forced = _ANTHROPIC_TOOL_PROMPT_DEFAULT
    for pattern, a, f in _ANTHROPIC_TOOL_PROMPT:
        if pattern.search(model):
            auto, forced = a, f
            break
    total = forced if choice in ("any", "tool") else auto
    with_parameters = False
    for tool in tools:
        kind = tool.get("type")
        if isinstance(kind, str) and kind != "custom":
            builtin = next((cost for prefix, cost in _ANTHROPIC_BUILTIN_TOOLS if kind.startswith(prefix)), None)
            total += builtin if builtin is not None else n(_text(tool))
            continue
        schema = tool.get("input_schema")
        if isinstance(schema, Mapping) and schema.get("properties"):
            with_parameters = True
        total += (ANTHROPIC_PER_TOOL + n(_text(tool.get("name"))) + n(_text(tool.get("description")))
                  + n(_text(schema)) + n(_text(tool.get("input_examples"))))
    if with_parameters:
        total += ANTHROPIC_PARAMETERS
    return total
