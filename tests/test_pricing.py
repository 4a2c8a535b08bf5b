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
