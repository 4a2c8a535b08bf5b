"""Transparent proxies for SDK streams and raw responses.

The application gets an object that behaves exactly like the SDK's own (iteration, context
manager, ``close()``, ``.response`` and every other attribute pass through); the invocation
ends exactly once: when the stream is exhausted, closed, fails, or is garbage-collected
unfinished.
"""

from __future__ import annotations

import contextvars
import inspect
import time
from typing import Any, Callable

import wrapt

from . import semconv as sc
from ._errors import log_internal_error
from .model import StreamAccumulator
from .telemetry import Invocation


_NOT_COLLECTING = object()

stream_for_helper: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "tokentrace_stream_for_helper", default=_NOT_COLLECTING
)
"""Set to None by a stream helper that is about to rebuild the SDK stream it gets; the request
hook then leaves its proxy here so the helper's own stream can be observed instead."""


def collect_streams_for_helper() -> contextvars.Token:
    return stream_for_helper.set(None)


def offer_to_helper(proxy: Any) -> None:
    if stream_for_helper.get() is None:
        stream_for_helper.set(proxy)


def end_with_helper_close(helper: Any, observed: Any, is_async: bool) -> None:
    """Leaving an old anthropic stream helper early closes only its HTTP response: end the call
    there too (as closed), not when the helper is garbage-collected."""
    close = helper.close
    if is_async:
        async def aclose() -> None:
            try:
                await close()
            finally:
                observed._self_end(sc.STREAM_END_CLOSED)

        helper.close = aclose
    else:
        def sync_close() -> None:
            try:
                close()
            finally:
                observed._self_end(sc.STREAM_END_CLOSED)

        helper.close = sync_close


def _observer_of(parsed: Any) -> Any:
    """The stream proxy behind what ``parse()`` returned: itself, or the one observing an SDK
    stream in place (its ``_iterator``, or an old stream helper's ``_raw_stream``)."""
    if isinstance(parsed, _StreamEnds):
        return parsed
    for name in ("_iterator", "_raw_stream"):
        inner = getattr(parsed, name, None)
        if isinstance(inner, _StreamEnds):
            return inner
    return None


class _StreamEnds:
    """The single-end bookkeeping shared by the sync and async stream proxies."""

    _self_inv: Invocation
    _self_acc: StreamAccumulator
    _self_handed_over = False
    _self_it: Any = None

    def hand_over(self, raw_stream: Any) -> Any:
        """Observe ``raw_stream`` instead of this one, with the same invocation."""
        self._self_handed_over = True
        return type(self)(raw_stream, self._self_inv, self._self_acc)

    def _self_take(self, chunk: Any) -> bool:
        """The twins' one step per chunk: observe it; whether the application gets it."""
        try:
            self._self_inv.on_chunk(time.perf_counter())
            return self._self_acc.add(chunk)
        except Exception:
            log_internal_error("stream chunk")
        try:  # the usage chunk tokentrace asked for must still not reach the application
            hides = getattr(self._self_acc, "hides", None)
            return not (hides is not None and hides(chunk))
        except Exception:
            return True

    def _self_end(self, how: str) -> None:
        inv = self._self_inv
        if inv.ended:
            return
        try:
            inv.finish(self._self_acc.result(), how)
        except Exception:
            log_internal_error("stream end")

    def _self_fail(self, exc: BaseException) -> None:
        inv = self._self_inv
        if inv.ended:
            return
        try:
            inv.fail(exc, self._self_acc.result())
        except Exception:
            log_internal_error("stream error")

    def __del__(self) -> None:
        # The application dropped the stream unfinished: end with what was received.
        try:
            if not self._self_handed_over and not self._self_inv.ended:
                self._self_end(sc.STREAM_END_ABANDONED)
        except Exception:  # noqa: S110 - never raise from a finalizer
            pass


class SyncStreamProxy(_StreamEnds, wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, invocation: Invocation, accumulator: StreamAccumulator) -> None:
        super().__init__(wrapped)
        self._self_inv = invocation
        self._self_acc = accumulator

    def __iter__(self) -> "SyncStreamProxy":
        return self

    def __next__(self) -> Any:
        it = self._self_it
        if it is None:  # the stream's own iterator, as a for loop over it would use (one frame less per chunk)
            it = self._self_it = iter(self.__wrapped__)
        while True:
            try:
                chunk = next(it)
            except StopIteration:
                self._self_end(sc.STREAM_END_COMPLETED)
                raise
            except BaseException as exc:
                self._self_fail(exc)
                raise
            if self._self_take(chunk):
                return chunk

    def __enter__(self) -> "SyncStreamProxy":
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end(sc.STREAM_END_CLOSED)

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(sc.STREAM_END_CLOSED)


class AsyncStreamProxy(_StreamEnds, wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, wrapped: Any, invocation: Invocation, accumulator: StreamAccumulator) -> None:
        super().__init__(wrapped)
        self._self_inv = invocation
        self._self_acc = accumulator

    def __aiter__(self) -> "AsyncStreamProxy":
        return self

    async def __anext__(self) -> Any:
        it = self._self_it
        if it is None:
            it = self._self_it = self.__wrapped__.__aiter__()
        while True:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                self._self_end(sc.STREAM_END_COMPLETED)
                raise
            except BaseException as exc:
                self._self_fail(exc)
                raise
            if self._self_take(chunk):
                return chunk

    async def __aenter__(self) -> "AsyncStreamProxy":
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end(sc.STREAM_END_CLOSED)

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end(sc.STREAM_END_CLOSED)

    async def aclose(self) -> None:
        await self.close()


class RawResponseProxy(wrapt.ObjectProxy):  # type: ignore[misc]
    """A ``with_raw_response`` / ``with_streaming_response`` result: ``parse()`` is observed.

    ``.headers``, ``.http_response``, ``parse(to=...)`` and everything else pass through. When
    the application reads the body without ``parse()``, the call ends at ``close()`` or when
    the object is dropped, with what HTTP told. Once ``parse()`` returned, what it returned owns
    the end: dropping this object (``...with_raw_response.create(stream=True).parse()`` in one
    expression drops it at once) leaves a parsed stream running; ``close()`` ends it as closed.
    """

    def __init__(self, wrapped: Any, on_parsed: Callable[[Any], Any], on_end: Callable[[], None]) -> None:
        super().__init__(wrapped)
        self._self_on_parsed = on_parsed
        self._self_on_end = on_end
        self._self_parsed: dict[int, Any] = {}

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        value = self.__wrapped__.parse(*args, **kwargs)
        if args or kwargs:  # parse(to=SomeType) is the application's own reading
            return value
        if inspect.isawaitable(value):
            return self._self_parse_async(value)
        return self._self_observe(value)

    async def _self_parse_async(self, awaitable: Any) -> Any:
        return self._self_observe(await awaitable)

    def _self_observe(self, value: Any) -> Any:
        key = id(value)
        seen = self._self_parsed.get(key)
        if seen is not None and seen[0] is value:
            return seen[1]
        observed = self._self_on_parsed(value)
        self._self_parsed[key] = (value, observed)
        return observed

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end(sc.STREAM_END_CLOSED)

    def __del__(self) -> None:
        try:
            if not self._self_parsed:
                self._self_on_end()
        except Exception:  # noqa: S110 - never raise from a finalizer
            pass

    def _self_end(self, how: str) -> None:
        if not self._self_parsed:
            self._self_on_end()
            return
        for _, observed in list(self._self_parsed.values()):
            observer = _observer_of(observed)
            if observer is not None:
                observer._self_end(how)
