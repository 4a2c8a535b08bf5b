"""Answering a call from a guard (a cache hit) through the SDK's own response handling.

The answer is turned into the HTTP response the provider would have sent — a JSON body, or for
``stream=True`` the server-sent events of the API — and handed to the client's own
``_process_response``. So the application gets exactly the SDK's types: a ``ChatCompletion``,
``Message`` or ``Response``, a ``Stream`` of real chunks, a raw response for
``with_raw_response``, parsed output for ``parse()``, and the ``stream()`` helpers work unchanged.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Mapping

from ..cache._replay import stream_events

CACHE_HEADER = "x-tokentrace-cache"


def _http_module(client: Any) -> Any:
    """``httpx`` or ``httpx2``: whichever the SDK client is built on."""
    for cls in type(client._client).__mro__:
        root = cls.__module__.split(".", 1)[0]
        if root in ("httpx", "httpx2"):
            return sys.modules[root]
    raise TypeError(f"cannot tell the HTTP library of {type(client._client)!r}")


def _request(http: Any, client: Any, options: Any) -> Any:
    """A stand-in for the request the SDK would have sent: its URL and its string headers
    (``_process_response`` reads the raw-response header from it). Built by hand rather than
    with the SDK's ``_build_request``, which would read one-shot request bodies."""
    headers = {k: v for k, v in (options.headers or {}).items() if isinstance(k, str) and isinstance(v, str)}
    return http.Request("POST", client._prepare_url(options.url), headers=headers)


def _request_args(args: tuple, kwargs: Mapping[str, Any]) -> tuple[Any, Any, bool, Any]:
    cast_to = args[0] if args else kwargs["cast_to"]
    options = args[1] if len(args) > 1 else kwargs["options"]
    return cast_to, options, bool(kwargs.get("stream", False)), kwargs.get("stream_cls")


def http_response(client: Any, options: Any, api: str, answer: Mapping[str, Any], stream: bool) -> Any:
    http = _http_module(client)
    request = _request(http, client, options)
    if stream:
        content = stream_events(api, answer, options.json_data or {})
        content_type = "text/event-stream; charset=utf-8"
    else:
        content = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
        content_type = "application/json"
    headers = {"content-type": content_type, CACHE_HEADER: "hit"}
    return http.Response(200, headers=headers, content=content, request=request)


def serve(client: Any, args: tuple, kwargs: Mapping[str, Any], api: str, answer: Mapping[str, Any]) -> Any:
    cast_to, options, stream, stream_cls = _request_args(args, kwargs)
    response = http_response(client, options, api, answer, stream)
    return client._process_response(cast_to=cast_to, options=options, response=response, stream=stream,
                                    stream_cls=stream_cls)


async def aserve(client: Any, args: tuple, kwargs: Mapping[str, Any], api: str, answer: Mapping[str, Any]) -> Any:
    cast_to, options, stream, stream_cls = _request_args(args, kwargs)
    response = http_response(client, options, api, answer, stream)
    return await client._process_response(cast_to=cast_to, options=options, response=response, stream=stream,
                                          stream_cls=stream_cls)


def response_body(obj: Any) -> dict[str, Any]:
    """The JSON body a parsed SDK object was built from (keys as received, SDK additions dropped);
    a body that never became an SDK object (a dict) is returned as it is."""
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
        data = dump(mode="json", exclude_unset=True, by_alias=True, warnings=False)
    else:  # pydantic v1
        data = json.loads(obj.json(exclude_unset=True, by_alias=True))
    return _without_parsed(data)


_SDK_ADDITIONS = frozenset({"parsed", "parsed_arguments", "output_parsed"})


def _without_parsed(value: Any) -> Any:
    """Drop what ``parse()`` adds to a response: a replay is parsed again by the SDK."""
    if isinstance(value, dict):
        return {k: _without_parsed(v) for k, v in value.items() if k not in _SDK_ADDITIONS}
    if isinstance(value, list):
        return [_without_parsed(v) for v in value]
    return value
