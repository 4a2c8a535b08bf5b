"""The public surface cannot drift unnoticed."""

import tokentrace
import tokentrace.testing


def test_exported_members():
    """tokentrace exports exactly its documented API, sorted."""
    assert tokentrace.__all__ == [
        "Answer", "CacheSettings", "ConfigError", "ContentCapture", "Estimate", "Guard", "GuardError", "GuardRefusal",
        "MemoryBackend", "Pass", "PriceFileError", "RedisBackend", "ResponseCache", "Rewrite", "Settings",
        "__version__", "cache_control", "estimate", "instrument", "is_instrumented", "reset_prices",
        "set_model_price", "uninstrument",
    ]
    for name in tokentrace.__all__:
        assert hasattr(tokentrace, name)


def test_testing_members():
    """tokentrace.testing exports the fake provider and the telemetry capture."""
    assert set(tokentrace.testing.__all__) == {
        "CapturedTelemetry", "FakeDisconnect", "FakeError", "FakeProvider", "FakeReply", "FakeTimeout",
        "FakeToolCall", "capture_telemetry",
    }
