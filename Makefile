# One command each: `make demo` sets up and runs the demo; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Oldest SDKs we support, tested in a second environment.
OLDEST_OPENAI ?= 1.40.0
OLDEST_ANTHROPIC ?= 0.30.0
# The OpenTelemetry floor in pyproject.toml (opentelemetry-api/sdk 1.30 = contrib 0.51b0).
OLDEST_OTEL ?= 1.30.0
OLDEST_OTEL_CONTRIB ?= 0.51b0
OLD_VENV ?= .venv-oldest

.PHONY: demo test test-latest test-oldest setup bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

setup: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[openai,anthropic,test]'

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[openai,anthropic]'
	$(BIN)/python -m tokentrace.demo

test: test-latest test-oldest

test-latest: setup
	$(BIN)/python -m pytest -q

$(OLD_VENV)/bin/python:
	$(PYTHON) -m venv $(OLD_VENV)
	$(OLD_VENV)/bin/python -m pip install --quiet --upgrade pip

test-oldest: $(OLD_VENV)/bin/python
	$(OLD_VENV)/bin/python -m pip install --quiet -e '.[test]' 'openai==$(OLDEST_OPENAI)' 'anthropic==$(OLDEST_ANTHROPIC)' 'httpx<0.28' \
		'opentelemetry-api==$(OLDEST_OTEL)' 'opentelemetry-sdk==$(OLDEST_OTEL)' 'opentelemetry-exporter-otlp==$(OLDEST_OTEL)' \
		'opentelemetry-instrumentation==$(OLDEST_OTEL_CONTRIB)' 'opentelemetry-distro==$(OLDEST_OTEL_CONTRIB)' \
		'opentelemetry-exporter-prometheus==$(OLDEST_OTEL_CONTRIB)' 'opentelemetry-semantic-conventions==$(OLDEST_OTEL_CONTRIB)'
	$(OLD_VENV)/bin/python -m pytest -q tests/instrumentation tests/guards tests/test_never_break.py tests/test_content_and_config.py tests/testing \
		tests/test_launcher.py tests/test_setup.py tests/test_demo.py tests/test_never_break_injected.py

# The overhead benchmark compares against pinned peer instrumentations: its own venv, never the test one.
BENCH_VENV ?= .venv-bench

$(BENCH_VENV)/bin/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip

bench: $(BENCH_VENV)/bin/python
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[openai,anthropic]' -r benchmarks/requirements.txt
	$(BENCH_VENV)/bin/python benchmarks/overhead.py --out benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) $(OLD_VENV) $(BENCH_VENV) .pytest_cache
