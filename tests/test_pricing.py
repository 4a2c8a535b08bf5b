"""The shipped price table, price files, overrides and their errors."""

from __future__ import annotations

import json
import sys

import pytest

import tokentrace
from tokentrace import semconv as sc
from tokentrace.pricing import PriceFileError, load_default_prices, load_price_file, price_table
from tokentrace.testing import FakeReply


@pytest.fixture(autouse=True)
def _clean_prices():
    yield
    tokentrace.reset_prices()


def test_shipped_table_is_valid_and_covers_the_main_families():
    """Every shipped entry parses, has a source and a check date; the main models resolve."""
    models = load_default_prices()
    assert len(models) >= 20
    for price in models.values():
        assert price.source and price.checked, price.name
    table = price_table()
    for name in ("gpt-4o", "gpt-4o-mini-2024-07-18", "gpt-4.1", "o3-mini", "text-embedding-3-small",
                 "claude-sonnet-4-20250514", "claude-3-5-haiku-20241022", "claude-opus-4-1-20250805"):
        assert table.resolve(name) is not None, name


def test_price_file_extends_and_overrides(tmp_path):
    """A JSON price file adds new models and replaces shipped ones."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {
        "my-model": {"provider": "openai", "input": 1.0, "output": 2.0},
        "gpt-4o": {"provider": "openai", "input": 100.0, "output": 200.0},
    }}))
    tokentrace.use_price_file(path)
    assert price_table().resolve("my-model").rates.output == 2.0
    assert price_table().resolve("gpt-4o-2024-08-06").rates.input == 100.0


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TOML price files need tomllib (Python 3.11+)")
def test_toml_price_file(tmp_path):
    """TOML price files work like JSON ones."""
    path = tmp_path / "prices.toml"
    path.write_text('[models."team-model"]\nprovider = "anthropic"\ninput = 1.5\noutput = 7.5\ncache_read = 0.15\n')
    tokentrace.use_price_file(path)
    assert price_table().resolve("team-model").rates.cache_read == 0.15


@pytest.mark.parametrize(
    "text, line, field",
    [
        ('{\n "models": {\n  "m": {\n   "provider": "openai",\n   "input": "cheap",\n   "output": 1\n  }\n }\n}', 5, "models.m.input"),
        ('{\n "models": {\n  "m": {\n   "provider": "acme",\n   "input": 1, "output": 1\n  }\n }\n}', 4, "models.m.provider"),
        ('{\n "models": {\n  "m": {\n   "provider": "openai",\n   "input": 1\n  }\n }\n}', 3, "models.m.output"),
        ('{\n "models": {\n  "m": {\n   "provider": "openai",\n   "input": 1, "output": 1,\n   "ouput": 2\n  }\n }\n}', 6, "models.m.ouput"),
    ],
)
def test_malformed_price_file_names_file_line_and_field(tmp_path, text, line, field):
    """Errors say which file, which line and which field."""
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(PriceFileError) as raised:
        load_price_file(path)
    message = str(raised.value)
    assert str(path) in message and f"line {line}" in message and field in message


def test_invalid_json_names_the_line(tmp_path):
    """A JSON syntax error reports its line."""
    path = tmp_path / "broken.json"
    path.write_text('{\n "models": {\n  "m": {,}\n }\n}')
    with pytest.raises(PriceFileError, match=r"broken.json, line 3: invalid JSON"):
        load_price_file(path)


def test_malformed_price_file_fails_at_instrument(tmp_path, monkeypatch):
    """instrument() refuses a bad TOKENTRACE_PRICES_FILE before patching anything."""
    path = tmp_path / "bad.json"
    path.write_text('{"models": {"m": {"provider": "openai", "input": -1, "output": 1}}}')
    monkeypatch.setenv("TOKENTRACE_PRICES_FILE", str(path))
    with pytest.raises(PriceFileError, match="bad.json"):
        tokentrace.instrument()
    assert not tokentrace.is_instrumented("openai")


def test_set_model_price_in_code(fake, instrumented):
    """set_model_price prices a model for this process; spans then carry its cost."""
    tokentrace.set_model_price("house-model", provider="openai", input=1.0, output=3.0, cached_input=0.5)
    fake.queue(FakeReply(text="ok", input_tokens=1000, output_tokens=100, cached_tokens=200))
    fake.openai_client().chat.completions.create(model="house-model", messages=[{"role": "user", "content": "x"}])
    attrs = instrumented.span().attributes
    assert attrs[sc.TT_COST_STATUS] == "reported"
    assert attrs[sc.TT_COST_TOTAL] == pytest.approx((800 * 1.0 + 200 * 0.5 + 100 * 3.0) / 1e6)
    assert attrs[sc.TT_COST_PRICE_MODEL] == "house-model"


def test_cli_list_show_validate(tmp_path, capsys):
    """``tokentrace prices`` lists, looks up and validates."""
    from tokentrace.cli import main

    assert main(["prices", "list", "--provider", "anthropic"]) == 0
    listing = capsys.readouterr().out
    assert "claude" in listing and "gpt-4o" not in listing
    assert main(["prices", "show", "gpt-4o-2024-08-06"]) == 0
    shown = capsys.readouterr().out
    assert shown.startswith("gpt-4o-2024-08-06 -> gpt-4o") and '"input"' in shown
    assert main(["prices", "show", "no-such-model"]) == 1
    good = tmp_path / "good.json"
    good.write_text('{"models": {"x": {"provider": "openai", "input": 1, "output": 2}}}')
    assert main(["prices", "validate", str(good)]) == 0
    assert "OK, 1 models" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": {"x": {"provider": "openai", "input": 1}}}')
    assert main(["prices", "validate", str(bad)]) == 1
    assert "models.x.output" in capsys.readouterr().err


# --- name resolution against the shipped table ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "jp.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ],
)
def test_bedrock_inference_profiles_resolve(name):
    """Every cross-region inference profile prefix (and a model ARN) resolves like the bare model ID."""
    price = price_table().resolve(name, "aws.bedrock")
    assert price is not None and price.name == "claude-sonnet-4-5"


# (model, USD input, USD output per 1M) as OpenAI's pricing page lists them (legacy models table
# of the 2025 page for the retired snapshots).
PUBLISHED_SNAPSHOT_PRICES = [
    ("gpt-3.5-turbo-0125", 0.5, 1.5),
    ("gpt-3.5-turbo-1106", 1.0, 2.0),
    ("gpt-3.5-turbo-0613", 1.5, 2.0),
    ("gpt-3.5-turbo-0301", 1.5, 2.0),
    ("gpt-3.5-turbo-16k-0613", 3.0, 4.0),
    ("gpt-4-0314", 30.0, 60.0),
    ("gpt-4-0613", 30.0, 60.0),
    ("gpt-4-32k", 60.0, 120.0),
    ("gpt-4-32k-0613", 60.0, 120.0),
    ("gpt-4-turbo-preview", 10.0, 30.0),
    ("gpt-4-0125-preview", 10.0, 30.0),
    ("gpt-4-1106-vision-preview", 10.0, 30.0),
    ("gpt-4-turbo-2024-04-09", 10.0, 30.0),
    ("gpt-4o-2024-05-13", 5.0, 15.0),
    ("gpt-4o-2024-08-06", 2.5, 10.0),
    ("gpt-4o-2024-11-20", 2.5, 10.0),
    ("gpt-4o-mini-2024-07-18", 0.15, 0.6),
]


@pytest.mark.parametrize("name, input_rate, output_rate", PUBLISHED_SNAPSHOT_PRICES)
def test_dated_snapshots_get_their_own_published_price(name, input_rate, output_rate):
    """A snapshot never borrows its family's price when its own was different."""
    rates = price_table().resolve(name, "openai").rates
    assert (rates.input, rates.output) == (input_rate, output_rate)


@pytest.mark.parametrize("name", ["gpt-4o-2025-01-01", "gpt-3.5-turbo-0999", "gpt-3.5-turbo-instruct-0914"])
def test_unlisted_snapshots_of_families_with_a_price_history_are_unknown(name):
    """gpt-4o and gpt-3.5-turbo snapshots were priced differently: an unlisted one is unknown, not guessed."""
    assert price_table().resolve(name, "openai") is None


def test_only_listed_snapshots_in_a_price_file(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {
        "house": {"provider": "openai", "input": 1, "output": 2, "aliases": ["house-2026-01-01"],
                  "only_listed_snapshots": True},
        "open": {"provider": "openai", "input": 1, "output": 2},
    }}))
    tokentrace.use_price_file(path)
    assert price_table().resolve("house-2026-01-01").name == "house"
    assert price_table().resolve("house-2026-02-02") is None
    assert price_table().resolve("open-2026-02-02").name == "open"
    path.write_text('{"models": {"house": {"provider": "openai", "input": 1, "output": 2,\n'
                    '  "only_listed_snapshots": "yes"}}}')
    with pytest.raises(PriceFileError, match=r"line 2: field 'models.house.only_listed_snapshots'"):
        load_price_file(path)


# --- error lines in nested tables and dotted keys --------------------------------------------------

TOML_CASES = [
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\noutput = 2\n\n[models.m.tiers.batch]\ninput = 0.5\ninptu = 1\n',
        8, "models.m.tiers.batch.inptu", id="nested-table-header"),
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\noutput = 2\ntiers.batch.input = 0.5\ntiers.flex.output = -3\n',
        6, "models.m.tiers.flex.output", id="dotted-keys"),
    pytest.param(
        'models.m.provider = "openai"\nmodels.m.input = 1\nmodels.m.output = 2\nmodels.m.kind = "image"\n',
        4, "models.m.kind", id="dotted-keys-at-top-level"),
    pytest.param(
        '[models.a]\nprovider = "openai"\ninput = 1\noutput = 2\n'
        '[models."gpt-4.1-house"]  # a quoted name with a dot\nprovider = "openai"\n'
        'output = 2\ninput = "cheap"\n',
        8, "models.gpt-4.1-house.input", id="quoted-name-after-another-model"),
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\noutput = 2\n'
        'notes = """a note\n[models.x]\ninput = 9\n"""\ntiers = { batch = { input = 0.5 }, flex = { input = -1 } }\n',
        9, "models.m.tiers.flex.input", id="inline-tables-after-multiline-string"),
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\noutput = 2\n'
        '[[models.m.long_context]]\nabove_input_tokens = 1000\ninput = 2\n'
        '[[models.m.long_context]]\nabove_input_tokens = 2000\ninput = -2\n',
        10, "models.m.long_context[1].input", id="array-of-tables"),
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\noutput = 2\nlong_context = [\n'
        '  { above_input_tokens = 1000, input = 2 },\n  { above_input_tokens = "many", input = 3 },\n]\n',
        7, "models.m.long_context[1].above_input_tokens", id="array-of-inline-tables"),
    pytest.param(
        '[models.m]\nprovider = "openai"\ninput = 1\n', 1, "models.m.output", id="missing-field-at-its-table"),
]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TOML price files need tomllib (Python 3.11+)")
@pytest.mark.parametrize("text, line, field", TOML_CASES)
def test_toml_errors_name_the_right_line(tmp_path, text, line, field):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PriceFileError) as raised:
        load_price_file(path)
    assert f"bad.toml, line {line}: field {field!r}" in str(raised.value)


JSON_CASES = [
    pytest.param(
        '{"models": {\n "other": {"provider": "openai", "input": 1, "output": 2,\n'
        '   "aliases": ["m"], "tiers": {"batch": {"input": 1}}},\n'
        ' "m": {\n  "provider": "openai", "input": 1, "output": 2,\n  "tiers": {\n   "batch": {"input": 1},\n'
        '   "flex": {\n    "input": 1,\n    "inptu": 2\n   }\n  }\n }\n}}',
        10, "models.m.tiers.flex.inptu", id="nested-tier"),
    pytest.param(
        '{"models": {"m": {"provider": "openai", "input": 1, "output": 2, "long_context": [\n'
        '  {"above_input_tokens": 10, "input": 2},\n  {"above_input_tokens": 20,\n   "input": "x"}]}}}',
        4, "models.m.long_context[1].input", id="second-long-context-band"),
    pytest.param(
        '{"models": {"a\\"b": {\n "provider": "openai", "input": 1, "output": 2,\n "tiers": {"batch": {"output": -1}}}}}',
        3, 'models.a"b.tiers.batch.output', id="escaped-quote-in-name"),
]


@pytest.mark.parametrize("text, line, field", JSON_CASES)
def test_json_errors_name_the_right_line(tmp_path, text, line, field):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(PriceFileError) as raised:
        load_price_file(path)
    assert f"bad.json, line {line}: field {field!r}" in str(raised.value)


# --- instrument() and the price file ------------------------------------------------------------


def _price_file(tmp_path, name, input_rate):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"models": {"house-model": {"provider": "openai", "input": input_rate, "output": 1}}}))
    return str(path)


def test_a_repeated_instrument_keeps_the_price_file(tmp_path, instrument):
    """A second instrument() without prices does not undo the first one's file; one with prices applies it."""
    instrument(prices=_price_file(tmp_path, "first", 1.0))
    assert price_table().resolve("house-model").rates.input == 1.0
    instrument()
    assert price_table().resolve("house-model").rates.input == 1.0
    instrument(prices=_price_file(tmp_path, "second", 2.0))
    assert price_table().resolve("house-model").rates.input == 2.0


def test_a_repeated_instrument_does_not_reapply_the_env_file(tmp_path, instrument, monkeypatch):
    """TOKENTRACE_PRICES_FILE is read by the first call; later calls without prices leave the table be."""
    monkeypatch.setenv("TOKENTRACE_PRICES_FILE", _price_file(tmp_path, "env", 3.0))
    instrument()
    assert price_table().resolve("house-model").rates.input == 3.0
    instrument(prices=_price_file(tmp_path, "argument", 4.0))
    instrument()
    assert price_table().resolve("house-model").rates.input == 4.0


def test_instrument_without_a_file_keeps_prices_set_before(tmp_path, instrument):
    """instrument() with no file at all does not drop a file applied with use_price_file."""
    tokentrace.use_price_file(_price_file(tmp_path, "early", 5.0))
    instrument()
    assert price_table().resolve("house-model").rates.input == 5.0


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_honours_the_env_var_with_instrument_precedence(tmp_path, capsys, monkeypatch):
    from tokentrace.cli import main

    monkeypatch.setenv("TOKENTRACE_PRICES_FILE", _price_file(tmp_path, "env", 7.0))
    assert main(["prices", "show", "house-model"]) == 0
    assert '"input": 7.0' in capsys.readouterr().out
    assert main(["prices", "list"]) == 0
    assert "house-model" in capsys.readouterr().out
    assert main(["prices", "show", "house-model", "--prices", _price_file(tmp_path, "arg", 8.0)]) == 0
    assert '"input": 8.0' in capsys.readouterr().out


def test_cli_names_the_setting_of_a_bad_file(tmp_path, capsys, monkeypatch):
    from tokentrace.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"models": {"x": {"provider": "openai", "input": 1}}}')
    monkeypatch.setenv("TOKENTRACE_PRICES_FILE", str(bad))
    assert main(["prices", "list"]) == 1
    assert capsys.readouterr().err.startswith(f"error: TOKENTRACE_PRICES_FILE: {bad}, line 1")
    assert main(["prices", "list", "--prices", str(bad)]) == 1
    assert capsys.readouterr().err.startswith("error: --prices: ")


def test_cli_output_cut_short_by_the_reader_exits_quietly(tmp_path):
    """`tokentrace prices list | head -1`: no BrokenPipeError traceback, SIGPIPE-like status."""
    import os
    import subprocess

    many = {f"model-{i:05d}": {"provider": "openai", "input": 1, "output": 2} for i in range(5000)}
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"models": many}))  # a listing far larger than a pipe's buffer
    env = {**os.environ, "TOKENTRACE_PRICES_FILE": str(path)}
    process = subprocess.Popen([sys.executable, "-m", "tokentrace.cli", "prices", "list"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 141
    assert first.startswith(b"model")
    assert stderr == b""
