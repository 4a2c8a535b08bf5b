"""Transparent proxies for SDK streams and raw responses.

The application gets an object that behaves exactly like the SDK's own (iteration, context
manager, ``close()``, ``.response`` and every other attribute pass through); the invocation
ends exactly once: when the stream is exhausted, closed, fails, or is garbage-collected
unfinished.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator

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


def end_with_helper_close(helper: Any, is_async: bool) -> None:
    """The per-object form of :func:`sync_helper_close` / :func:`async_helper_close`, for a
    stream observed in place or an old anthropic stream helper (leaving it early closes only
    its HTTP response)."""
    wrapper = async_helper_close if is_async else sync_helper_close
    helper.close = functools.partial(wrapper, helper.close, helper, (), {})


def sync_helper_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    """``close()`` of a stream helper that closes the HTTP response itself, not the raw stream
    it reads (openai's ``ChatCompletionStream``, ``ResponseStream``; leaving their ``with`` calls
    it): the observed call ends there, as closed, not when the helper is garbage-collected."""
    try:
        return wrapped(*args, **kwargs)
    finally:
        _end_observed(instance)


async def async_helper_close(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _end_observed(instance)


def _end_observed(helper: Any) -> None:
    try:
        observer = _observer_of(helper)
        if observer is not None:
            observer._self_end(sc.STREAM_END_CLOSED)
    except Exception:
        log_internal_error("stream helper close")


def _observer_of(parsed: Any) -> Any:
    """The stream proxy behind ``parsed`` (what ``parse()`` returned, or a stream helper): itself,
    or the one observing an SDK stream in place (its ``_iterator``), or a helper's ``_raw_stream``."""
    if isinstance(parsed, _StreamEnds):
        return parsed
    for name in ("_iterator", "_raw_stream"):
        inner = getattr(parsed, name, None)
        if isinstance(inner, _StreamEnds):
            return inner
    return None


def _own_iterator(stream: Any) -> Any:
    """What iterating ``stream`` yields from: its ``_iterator`` when its ``__iter__`` (or
    ``__aiter__``) only re-yields that, as the SDKs' ``Stream``/``AsyncStream`` do (one generator
    frame less per chunk than without tokentrace), else the iterator ``iter()`` gives."""
    kind = type(stream)
    is_async = hasattr(kind, "__aiter__")
    plain = _PLAIN_ITERATION.get(kind)
    if plain is None:
        plain = _PLAIN_ITERATION[kind] = _re_yields_iterator(getattr(kind, "__aiter__" if is_async else "__iter__", None))
    inner = getattr(stream, "_iterator", None) if plain else None
    if inner is not None:
        return inner
    return stream.__aiter__() if is_async else iter(stream)


_PLAIN_ITERATION: dict[type, bool] = {}

chunk_clock = time.perf_counter
"""When a chunk arrived (the same clock as the call's start)."""


def _re_yields_iterator(method: Any) -> bool:
    code = getattr(method, "__code__", None)
    return code is not None and code.co_names == ("_iterator",) and code.co_code in _RE_YIELDING


def _sync_reference(self: Any) -> Iterator[Any]:
    for item in self._iterator:
        yield item


async def _async_reference(self: Any) -> AsyncIterator[Any]:
    async for item in self._iterator:
        yield item


_RE_YIELDING = (_sync_reference.__code__.co_code, _async_reference.__code__.co_code)
"""The bytecode of ``__iter__``/``__aiter__`` methods that only re-yield ``self._iterator``
(compiled by this interpreter, so it compares with the SDK's)."""


# The per-chunk path. Each twin is the one loop its iteration protocol needs (a generator: the
# application's loop resumes it with no Python call per chunk); what a chunk means is shared:
# ``inv.chunk_times.append`` and the accumulator's ``add``, with the failure paths in the helpers.
# Primed at creation (see ``_StreamEnds._self_chunks``): from then on, a generator dropped or
# closed before the stream's end ends the call as abandoned.
def _observed(it: Any, inv: Invocation, acc: StreamAccumulator) -> Iterator[Any]:
    mark, unmark, clock, add = inv.chunk_times.append, inv.chunk_times.pop, chunk_clock, acc.add
    try:
        yield None
        for chunk in it:
            try:
                mark(clock())
                if not add(chunk):  # a chunk tokentrace asked for: the application never sees it
                    unmark()
                    continue
            except Exception:
                if _hidden_after_failure(acc, chunk):
                    continue
            yield chunk
    except GeneratorExit:
        _end(inv, acc, sc.STREAM_END_ABANDONED)
        raise
    except BaseException as exc:
        _fail(inv, acc, exc)
        raise
    _end(inv, acc, sc.STREAM_END_COMPLETED)


async def _aobserved(it: Any, inv: Invocation, acc: StreamAccumulator) -> AsyncIterator[Any]:
    mark, unmark, clock, add = inv.chunk_times.append, inv.chunk_times.pop, chunk_clock, acc.add
    try:
        yield None
        async for chunk in it:
            try:
                mark(clock())
                if not add(chunk):  # a chunk tokentrace asked for: the application never sees it
                    unmark()
                    continue
            except Exception:
                if _hidden_after_failure(acc, chunk):
                    continue
            yield chunk
    except GeneratorExit:
        _end(inv, acc, sc.STREAM_END_ABANDONED)
        raise
    except BaseException as exc:
        _fail(inv, acc, exc)
        raise
    _end(inv, acc, sc.STREAM_END_COMPLETED)


def _primed(chunks: Any) -> Any:
    next(chunks)
    return chunks


def _aprimed(chunks: Any) -> Any:
    try:  # up to the first ``yield`` there is no ``await``: the first step completes at once
        chunks.asend(None).send(None)
    except StopIteration:
        return chunks
    raise RuntimeError("tokentrace: the stream observer did not start")


def _hidden_after_failure(acc: StreamAccumulator, chunk: Any) -> bool:
    """The accumulator failed on ``chunk``: still keep the usage chunk tokentrace asked for from
    the application."""
    log_internal_error("stream chunk")
    try:
        hides = getattr(acc, "hides", None)
        return hides is not None and bool(hides(chunk))
    except Exception:
        return False


def _end(inv: Invocation, acc: StreamAccumulator, how: str) -> None:
    if inv.ended:
        return
    try:
        inv.finish(acc.result(), how)
    except Exception:
        log_internal_error("stream end")


def _fail(inv: Invocation, acc: StreamAccumulator, exc: BaseException) -> None:
    if inv.ended:
        return
    try:
        inv.fail(exc, acc.result())
    except Exception:
        log_internal_error("stream error")


class _StreamEnds:
    """The single-end bookkeeping shared by the sync and async stream proxies."""

    _self_inv: Invocation
    _self_acc: StreamAccumulator
    _self_handed_over = False
    _self_chunks: Any = None
    """The observing generator, made (and primed) on first iteration. It holds the invocation, not
    the proxy (no reference cycle), and ends the call as abandoned when it is dropped unfinished."""
    _self_loop_holds_generator = False
    """Sync: ``for`` holds the generator ``__iter__`` returns, and the proxy may be gone before the
    stream ends, so once the generator exists it owns the abandoned end. Async: ``async for``
    holds the proxy, and asyncio finalizes a dropped async generator only on a later loop step, so
    the proxy's finalizer ends the call (at once, as before)."""

    def __init__(self, wrapped: Any, invocation: Invocation, accumulator: StreamAccumulator) -> None:
        super().__init__(wrapped)  # type: ignore[call-arg]
        self._self_inv = invocation
        self._self_acc = accumulator

    def hand_over(self, raw_stream: Any) -> Any:
        """Observe ``raw_stream`` instead of this one, with the same invocation."""
        self._self_handed_over = True
        return type(self)(raw_stream, self._self_inv, self._self_acc)

    def _self_end(self, how: str) -> None:
        _end(self._self_inv, self._self_acc, how)

    def __del__(self) -> None:
        # The application dropped the stream unfinished: end with what was received.
        try:
            if self._self_handed_over or self._self_inv.ended:
                return
            if self._self_chunks is None or not self._self_loop_holds_generator:
                self._self_end(sc.STREAM_END_ABANDONED)
        except Exception:  # noqa: S110 - never raise from a finalizer
            pass


class SyncStreamProxy(_StreamEnds, wrapt.ObjectProxy):  # type: ignore[misc]
    _self_loop_holds_generator = True

    def __iter__(self) -> Iterator[Any]:
        chunks = self._self_chunks
        if chunks is None:
            chunks = self._self_chunks = _primed(_observed(_own_iterator(self.__wrapped__), self._self_inv, self._self_acc))
        return chunks

    def __next__(self) -> Any:
        return next(self.__iter__())

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
    def __aiter__(self) -> "AsyncStreamProxy":
        return self

    def __anext__(self) -> Awaitable[Any]:
        chunks = self._self_chunks
        if chunks is None:
            chunks = self._self_chunks = _aprimed(_aobserved(_own_iterator(self.__wrapped__), self._self_inv, self._self_acc))
        return chunks.__anext__()

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
