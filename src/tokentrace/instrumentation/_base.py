"""What the OpenAI and Anthropic instrumentors share: settings, telemetry and the one patch."""

from __future__ import annotations

from typing import Any, Collection, Mapping

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from ..config import Settings, resolve_settings
from ..guard_setup import shared_chain
from ..telemetry import Telemetry
from ._core import Route, Routes, async_request_wrapper, sync_request_wrapper


try:  # opentelemetry-instrumentation >= 0.55b0
    from opentelemetry.instrumentation.dependencies import DependencyConflictError  # noqa: F401

    _CONFLICTS_CAN_BE_RAISED = True
except ImportError:
    _CONFLICTS_CAN_BE_RAISED = False


class RequestHookInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Patches an SDK's ``SyncAPIClient.request`` / ``AsyncAPIClient.request``.

    ``instrument()`` accepts ``tracer_provider``, ``meter_provider``, ``logger_provider`` (for
    the content events) and ``settings`` (a :class:`~tokentrace.config.Settings`; resolved from
    the environment when absent, as under ``opentelemetry-instrument``).
    """

    base_client_module: str = ""
    instruments: Collection[str] = ()

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.instruments

    def instrument(self, **kwargs: Any) -> Any:
        # opentelemetry-instrument checks a distribution's "instruments" extras and then passes
        # skip_dep_check=True; this distribution holds two instrumentors for two SDKs, so each
        # checks its own SDK's version, and a conflict is raised for the launcher to log and skip.
        if kwargs.pop("skip_dep_check", False) and _CONFLICTS_CAN_BE_RAISED:
            kwargs["raise_exception_on_conflict"] = True  # older versions log the conflict themselves
        return super().instrument(**kwargs)

    def routes(self, settings: Settings) -> Mapping[str, Route]:
        raise TypeError("subclasses define their routes")

    def inject_stream_usage(self, settings: Settings) -> bool:
        return False

    def _instrument(self, **kwargs: Any) -> None:
        settings = kwargs.get("settings") or resolve_settings()
        telemetry = Telemetry(
            settings, kwargs.get("tracer_provider"), kwargs.get("meter_provider"), kwargs.get("logger_provider")
        )
        routes = Routes(self.routes(settings), inject_stream_usage=self.inject_stream_usage(settings))
        chain = kwargs.get("guard_chain")
        if chain is None:
            chain = shared_chain(settings, kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        self.telemetry = telemetry
        self.guard_chain = chain
        wrap_function_wrapper(
            self.base_client_module, "SyncAPIClient.request", sync_request_wrapper(telemetry, routes, chain)
        )
        wrap_function_wrapper(
            self.base_client_module, "AsyncAPIClient.request", async_request_wrapper(telemetry, routes, chain)
        )
        self._after_instrument(settings)

    def _uninstrument(self, **kwargs: Any) -> None:
        import importlib

        module = importlib.import_module(self.base_client_module)
        unwrap(module.SyncAPIClient, "request")
        unwrap(module.AsyncAPIClient, "request")
        self._after_uninstrument()

    def _after_instrument(self, settings: Settings) -> None:
        """Hook for provider-specific patches."""

    def _after_uninstrument(self) -> None:
        """Undo :meth:`_after_instrument`."""
