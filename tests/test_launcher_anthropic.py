"""``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` turns off ``tokentrace_anthropic`` under the launcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

APP = textwrap.dedent(
    """
    from tokentrace.testing import FakeProvider

    fake = FakeProvider()
    oa = fake.openai_client()
    oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    an = fake.anthropic_client()
    message = an.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text
    import anthropic._base_client as anthropic_base
    import openai._base_client as openai_base
    print("ANTHROPIC_PATCHED=" + str(hasattr(anthropic_base.SyncAPIClient.request, "__wrapped__")))
    print("OPENAI_PATCHED=" + str(hasattr(openai_base.SyncAPIClient.request, "__wrapped__")))
    """
)


def _run(tmp_path: Path, **extra_env: str) -> tuple[list[dict], str]:
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
    decoder = json.JSONDecoder()
    spans, index = [], 0
    while True:
        start = stdout.find("{", index)
        if start < 0:
            return spans
        obj, index = decoder.raw_decode(stdout, start)
        spans.append(obj)


# tokentrace's span names ("{operation} {model}"). anthropic >= 2 emits spans of its own
# ("anthropic.messages.create") when tokentrace does not instrument it: that is the SDK untouched.
TOKENTRACE_SPANS = {"chat gpt-4o-mini", "chat claude-haiku-4-5"}


def test_disabled_instrumentations_turn_anthropic_off(tmp_path):
    """Disabling tokentrace_anthropic leaves the anthropic SDK unpatched, with no tokentrace span
    for it; openai is still instrumented."""
    spans, stdout = _run(tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="tokentrace_anthropic")
    ours = [s for s in spans if s["name"] in TOKENTRACE_SPANS]
    assert [(s["name"], s["attributes"]["gen_ai.provider.name"]) for s in ours] == [("chat gpt-4o-mini", "openai")]
    assert "ANTHROPIC_PATCHED=False" in stdout and "OPENAI_PATCHED=True" in stdout


def test_disabling_both_by_name(tmp_path):
    """Both names in the comma-separated list: no tokentrace span at all, the app still works."""
    spans, stdout = _run(tmp_path, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS="tokentrace_openai,tokentrace_anthropic")
    assert [s["name"] for s in spans if s["name"] in TOKENTRACE_SPANS] == []
    assert "ANTHROPIC_PATCHED=False" in stdout and "OPENAI_PATCHED=False" in stdout
