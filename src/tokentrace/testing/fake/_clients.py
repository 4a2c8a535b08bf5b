"""Build real openai / anthropic SDK clients pointed at the fake provider."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from ._provider import FakeProvider

_CLASSES = {"openai": ("OpenAI", "AsyncOpenAI"), "anthropic": ("Anthropic", "AsyncAnthropic")}


def sdk_http_module(sdk: str) -> ModuleType:
    """The HTTP library (``httpx2`` or ``httpx``) the installed SDK is built on."""
    base = importlib.import_module(f"{sdk}._base_client")
    for name in ("httpx2", "httpx"):
        module = getattr(base, name, None)
        if isinstance(module, ModuleType):
            return module
    raise ImportError(f"cannot tell which HTTP library {sdk} uses")


def build_client(
    sdk: str,
    async_: bool,
    base_url: str,
    kwargs: Dict[str, Any],
    *,
    provider: Optional[FakeProvider] = None,
) -> Any:
    """An SDK client with test defaults; with ``provider`` it talks in-process, else over the network.

    Keywords the SDK client's constructor does not accept go to the HTTP client.
    """
    module = importlib.import_module(sdk)
    cls = getattr(module, _CLASSES[sdk][1 if async_ else 0])
    accepted = inspect.signature(cls.__init__).parameters
    http_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key not in accepted}
    kwargs.setdefault("api_key", "test-key")
    kwargs.setdefault("base_url", base_url)
    kwargs.setdefault("max_retries", 0)
    if "http_client" not in kwargs and (provider is not None or http_kwargs):
        http = sdk_http_module(sdk)
        if provider is not None:
            http_kwargs["transport"] = provider.async_transport(http) if async_ else provider.transport(http)
        # The SDK's own default client keeps its timeouts, limits and redirect policy.
        default = getattr(module, "DefaultAsyncHttpxClient" if async_ else "DefaultHttpxClient", None)
        kwargs["http_client"] = (default or (http.AsyncClient if async_ else http.Client))(**http_kwargs)
    elif http_kwargs:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(http_kwargs))}")
    return cls(**kwargs)
