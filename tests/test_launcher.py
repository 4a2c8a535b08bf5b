"""Zero-code use: ``opentelemetry-instrument python app.py`` with tokentrace's entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

APP = textwrap.dedent(
    """
    from tokentrace.testing import FakeProvider

    fake = FakeProvider()
    oa = fake.openai_client()
    oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    an = fake.anthropic_client()
    an.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    import anthropic._base_client as anthropic_base
    import openai._base_client as openai_base
    print("ANTHROPIC_PATCHED=" + str(hasattr(anthropic_base.SyncAPIClient.request, "__wrapped__")))
    print("OPENAI_PATCHED=" + str(hasattr(openai_base.SyncAPIClient.request, "__wrapped__")))
    """
)


def _run(tmp_path: Path, **extra_env: str) -> list[dict]:
    return _run_app(tmp_path, **extra_env)[0]


def _run_app(tmp_path: Path, **extra_env: str) -> tuple[list[dict], str]:
    """The app under the launcher: its console spans and its stdout."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "TOKENTRACE_"))}
    env.update(
        OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none",
        OTEL_SERVICE_NAME="launcher-test", **extra_env,
    )
    launcher = Path(sys.executable).with_name("opentelemetry-instrument")
    done = subprocess.run(
        [str(launcher), sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return _console_spans(done.stdout), done.stdout


def _console_spans(stdout: str) -> list[dict]:
    """The console exporter prints one pretty JSON object per span."""
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while True:
        start = stdout.find("{", index)
        if start < 0:
            return spans
        obj, index = decoder.raw_decode(stdout, start)
        spans.append(obj)


def test_entry_points_have_unique_names():
    """Both instrumentors are registered under names no other package uses."""
    names = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert names["tokentrace_openai"].endswith(":OpenAIInstrumentor")
    assert names["tokentrace_anthropic"].endswith(":AnthropicInstrumentor")


def test_launcher_instruments_both_sdks_once(tmp_path):
    """Under the launcher each call yields exactly one GenAI span (no SDK duplicate)."""
    spans = _run(tmp_path)
    names = sorted(s["name"] for s in spans)
    assert names == ["chat claude-haiku-4-5", "chat gpt-4o-mini"]
    assert all(s["resource"]["attributes"]["service.name"] == "launcher-test" for s in spans)
    assert {s["attributes"]["gen_ai.provider.name"] for s in spans} == {"openai", "anthropic"}


def test_disabled_instrumentations_turn_one_off(tmp_path):
    """OTEL_PYTHON_DISABLED_INSTRUMENTATIONS can switch off one provider by name."""
    spans = _run(tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="tokentrace_openai")
    providers = {s["attributes"].get("gen_ai.provider.name") for s in spans}
    assert "openai" not in providers and "anthropic" in providers


def test_each_instrumentor_checks_its_own_sdk_version_under_the_launcher(monkeypatch):
    """The launcher checks a distribution's extras and then skips the instrumentor's own check;
    with two SDKs in one distribution, each instrumentor still refuses an SDK it does not support
    (raising the conflict the launcher logs and skips), leaving the SDK unpatched."""
    import openai
    from opentelemetry.instrumentation import dependencies
    from opentelemetry.instrumentation.distro import BaseDistro

    conflict_error = getattr(dependencies, "DependencyConflictError", None)  # older versions log instead

    from tokentrace.instrumentation.openai import OpenAIInstrumentor

    class Distro(BaseDistro):
        def _configure(self, **kwargs):
            pass

    monkeypatch.setattr(OpenAIInstrumentor, "instruments", ("openai >= 999",))
    (entry_point,) = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "tokentrace_openai"]
    original = openai._base_client.SyncAPIClient.request
    try:
        Distro().load_instrumentor(entry_point, skip_dep_check=True)
    except Exception as error:
        assert conflict_error is not None and isinstance(error, conflict_error)
        assert "openai >= 999" in str(error.conflict)
    else:
        assert conflict_error is None, "the conflict was not raised for the launcher to log"
    assert openai._base_client.SyncAPIClient.request is original
    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry


# tokentrace's span names ("{operation} {model}"). anthropic >= 2 emits spans of its own
# ("anthropic.messages.create") when tokentrace does not instrument it: that is the SDK untouched.
TOKENTRACE_SPANS = {"chat gpt-4o-mini", "chat claude-haiku-4-5"}


def test_disabled_instrumentations_turn_anthropic_off(tmp_path):
    """Disabling tokentrace_anthropic leaves the anthropic SDK unpatched, with no tokentrace span
    for it; openai is still instrumented."""
    spans, stdout = _run_app(tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="tokentrace_anthropic")
    ours = [s for s in spans if s["name"] in TOKENTRACE_SPANS]
    assert [(s["name"], s["attributes"]["gen_ai.provider.name"]) for s in ours] == [("chat gpt-4o-mini", "openai")]
    assert "ANTHROPIC_PATCHED=False" in stdout and "OPENAI_PATCHED=True" in stdout


def test_disabling_both_by_name(tmp_path):
    """Both names in the comma-separated list: no tokentrace span at all, the app still works."""
    spans, stdout = _run_app(tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="tokentrace_openai,tokentrace_anthropic")
    assert [s["name"] for s in spans if s["name"] in TOKENTRACE_SPANS] == []
    assert "ANTHROPIC_PATCHED=False" in stdout and "OPENAI_PATCHED=False" in stdout
