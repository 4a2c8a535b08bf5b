"""OpenAI Chat Completions: request body, response and chunks to the neutral model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from .. import semconv as sc
from ..content import function_tool_definitions, text_part, text_parts, tool_call_part, tool_response_part
from ..model import GenAIRequest, GenAIResult, Usage
from ._attributes import accessor, base_attributes, copy_numbers, get, model_of, stop_sequences

_NUMBERS = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "seed": sc.GEN_AI_REQUEST_SEED,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
}


def build_request(body: Mapping[str, Any], server: tuple[str, int]) -> GenAIRequest:
    model = model_of(body)
    attrs = base_attributes(sc.PROVIDER_OPENAI, sc.OPERATION_CHAT, model, server)
    attrs[sc.OPENAI_API_TYPE] = sc.API_TYPE_CHAT_COMPLETIONS
    copy_numbers(attrs, body, _NUMBERS)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(max_tokens, int):
        attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_tokens
    n = body.get("n")
    if isinstance(n, int) and n != 1:
        attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] = n
    stops = stop_sequences(body.get("stop"))
    if stops:
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = stops
    stream = bool(body.get("stream"))
    attrs[sc.GEN_AI_REQUEST_STREAM] = stream
    tier = body.get("service_tier")
    if isinstance(tier, str):
        attrs[sc.OPENAI_REQUEST_SERVICE_TIER] = tier
    attrs[sc.GEN_AI_OUTPUT_TYPE] = output_type(body.get("response_format"))
    return GenAIRequest(
        provider=sc.PROVIDER_OPENAI,
        operation=sc.OPERATION_CHAT,
        model=model,
        stream=stream,
        attributes=attrs,
        body=body,
        content=lambda: input_content(body),
    )


def output_type(response_format: Any) -> str:
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    return sc.OUTPUT_TYPE_JSON if kind in ("json_object", "json_schema") else sc.OUTPUT_TYPE_TEXT


def inject_stream_usage(body: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    options = body.get("stream_options")
    if isinstance(options, Mapping) and "include_usage" in options:
        return None  # the application decided
    merged = dict(options) if isinstance(options, Mapping) else {}
    merged["include_usage"] = True
    return {**body, "stream_options": merged}


def usage_of(usage: Any) -> Optional[Usage]:
    if usage is None:
        return None
    prompt = get(usage, "prompt_tokens")
    details = get(usage, "prompt_tokens_details")
    out_details = get(usage, "completion_tokens_details")
    return Usage(
        input_tokens=prompt,
        output_tokens=get(usage, "completion_tokens"),
        cache_read_input_tokens=get(details, "cached_tokens") if details is not None else None,
        reasoning_output_tokens=get(out_details, "reasoning_tokens") if out_details is not None else None,
    )


def _response_attributes(obj: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    tier = get(obj, "service_tier")
    if isinstance(tier, str):
        attrs[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
    fingerprint = get(obj, "system_fingerprint")
    if isinstance(fingerprint, str):
        attrs[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint
    return attrs


def result_of(completion: Any) -> GenAIResult:
    choices = get(completion, "choices") or ()
    return GenAIResult(
        response_id=get(completion, "id"),
        response_model=get(completion, "model"),
        finish_reasons=tuple(get(c, "finish_reason") or "" for c in choices),
        usage=usage_of(get(completion, "usage")),
        attributes=_response_attributes(completion),
        output_messages=lambda: [_output_message(c) for c in choices],
        service_tier=get(completion, "service_tier"),
    )


def _output_message(choice: Any) -> dict[str, Any]:
    message = get(choice, "message")
    parts: list[dict[str, Any]] = []
    content = get(message, "content")
    if content:
        parts.append(text_part(content))
    refusal = get(message, "refusal")
    if refusal:
        parts.append({"type": "refusal", "content": refusal})
    for call in get(message, "tool_calls") or ():
        fn = get(call, "function")
        parts.append(tool_call_part(get(call, "id"), get(fn, "name"), get(fn, "arguments")))
    return {"role": "assistant", "parts": parts, "finish_reason": get(choice, "finish_reason") or ""}


def input_content(body: Mapping[str, Any]) -> dict[str, Any]:
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in body.get("messages") or ():
        if not isinstance(message, Mapping):
            continue
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(text_parts(message.get("content")))
            continue
        if role == "tool":
            parts = [tool_response_part(message.get("tool_call_id"), message.get("content"))]
        else:
            parts = text_parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                fn = call.get("function") or {}
                parts.append(tool_call_part(call.get("id"), fn.get("name"), fn.get("arguments")))
        messages.append({"role": role, "parts": parts})
    return {
        sc.GEN_AI_INPUT_MESSAGES: messages,
        sc.GEN_AI_SYSTEM_INSTRUCTIONS: system,
        sc.GEN_AI_TOOL_DEFINITIONS: function_tool_definitions(body.get("tools")),
    }


class _Choice:
    __slots__ = ("text", "refusal", "tool_calls", "finish_reason")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}
        self.finish_reason: Optional[str] = None


class ChatStreamAccumulator:
    """Folds ``chat.completion.chunk`` objects; swallows the usage chunk tokentrace asked for."""

    __slots__ = ("usage_injected", "response_id", "model", "usage", "choices", "attributes", "_read",
                 "_text_of_first", "_kind")

    def __init__(self, request: GenAIRequest, usage_injected: bool) -> None:
        self.usage_injected = usage_injected
        self.response_id: Optional[str] = None
        self.model: Optional[str] = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}
        self.attributes: dict[str, Any] = {}
        self._read: Any = None
        self._text_of_first: Any = None
        """``append`` of choice 0's text, for the common chunk (below), once the general path has
        seen an SDK chunk of ``_kind``."""
        self._kind: Any = None

    def add(self, chunk: Any) -> bool:
        # Nearly every chunk of a stream is one choice, index 0, a piece of text and nothing else:
        # read with plain attribute loads (no calls); anything else takes the general path.
        append = self._text_of_first
        if append is not None and type(chunk) is self._kind:
            try:
                choices = chunk.choices
                if chunk.usage is None and len(choices) == 1:
                    choice = choices[0]
                    delta = choice.delta
                    if (choice.index == 0 and choice.finish_reason is None and delta is not None
                            and delta.tool_calls is None and delta.refusal is None):
                        text = delta.content
                        if text:
                            append(text)
                        return True
            except AttributeError:  # an SDK model without one of these fields: the general path from now on
                self._text_of_first = None
        return self._add(chunk)

    def _add(self, chunk: Any) -> bool:
        if type(chunk) is dict:  # the usage chunk the usage tap read with json.loads
            read: Any = get
        else:  # SDK chunks (and their choices) are all of one kind: chosen once
            read = self._read
            if read is None:
                read = self._read = accessor(chunk)
        if self.response_id is None:
            self.response_id = read(chunk, "id", None)
            self.model = read(chunk, "model", None)
            self.attributes = _response_attributes(chunk)
        usage = read(chunk, "usage", None)
        choices = read(chunk, "choices", None)
        if usage is not None:
            self.usage = usage
            if self.usage_injected and not choices:
                return False
        for choice in choices or ():  # one frame per chunk, not two: this runs for every chunk
            index = read(choice, "index", None) or 0
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
                if index == 0 and read is getattr and self.response_id is not None:
                    self._text_of_first, self._kind = state.text.append, type(chunk)
            delta = read(choice, "delta", None)
            if delta is not None:
                text = read(delta, "content", None)
                if text:
                    state.text.append(text)
                refusal = read(delta, "refusal", None)
                if refusal:
                    state.refusal.append(refusal)
                calls = read(delta, "tool_calls", None)
                if calls:
                    for call in calls:
                        self._add_tool_call(state, call)
            reason = read(choice, "finish_reason", None)
            if reason:
                state.finish_reason = reason
        return True

    def hides(self, chunk: Any) -> bool:
        """Whether ``chunk`` is the usage-only chunk tokentrace asked for (kept from the application)."""
        read = accessor(chunk)
        return self.usage_injected and read(chunk, "usage", None) is not None and not read(chunk, "choices", None)

    @staticmethod
    def _add_tool_call(state: _Choice, call: Any) -> None:
        index = get(call, "index") or 0
        entry = state.tool_calls.setdefault(index, [None, None, []])
        fn = get(call, "function")
        if get(call, "id"):
            entry[0] = get(call, "id")
        if fn is not None:
            if get(fn, "name"):
                entry[1] = get(fn, "name")
            if get(fn, "arguments"):
                entry[2].append(get(fn, "arguments"))

    def result(self) -> GenAIResult:
        choices = [self.choices[i] for i in sorted(self.choices)]
        return GenAIResult(
            response_id=self.response_id,
            response_model=self.model,
            finish_reasons=tuple(c.finish_reason for c in choices if c.finish_reason),
            usage=usage_of(self.usage),
            attributes=self.attributes,
            output_messages=lambda: [_streamed_message(c) for c in choices],
            output_text=lambda: [t for c in choices for t in (*c.text, *c.refusal, *_call_texts(c))],
            service_tier=self.attributes.get(sc.OPENAI_RESPONSE_SERVICE_TIER),
        )


def _call_texts(choice: _Choice) -> list[str]:
    return [piece for _, name, fragments in choice.tool_calls.values() for piece in (name or "", *fragments)]


def _streamed_message(choice: _Choice) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if choice.text:
        parts.append(text_part("".join(choice.text)))
    if choice.refusal:
        parts.append({"type": "refusal", "content": "".join(choice.refusal)})
    for index in sorted(choice.tool_calls):
        call_id, name, fragments = choice.tool_calls[index]
        parts.append(tool_call_part(call_id, name, "".join(fragments)))
    return {"role": "assistant", "parts": parts, "finish_reason": choice.finish_reason or ""}
