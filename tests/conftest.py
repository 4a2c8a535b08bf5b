"""Shared fixtures: real OTel SDK with in-memory exporters, instrumented SDKs, the fake provider."""

from __future__ import annotations

import os

import pytest

import tokentrace
from tokentrace.testing import CapturedTelemetry, FakeProvider

# Internal errors fail tests instead of being logged and swallowed.
os.environ["TOKENTRACE_RAISE_INTERNAL_ERRORS"] = "1"


@pytest.fixture
def telemetry():
    t = CapturedTelemetry()
    yield t
    t.shutdown()


@pytest.fixture
def instrument(telemetry):
    """Instrument both SDKs into ``telemetry``; call it to pass settings."""

    def _instrument(**settings):
        tokentrace.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider,
            logger_provider=telemetry.logger_provider, **settings
        )
        return telemetry

    return _instrument


@pytest.fixture
def instrumented(instrument):
    return instrument()


@pytest.fixture(autouse=True)
def _reset():
    yield
    tokentrace.uninstrument()


@pytest.fixture
def fake():
    return FakeProvider()
