"""tiktoken encodings without the network: which encoding a model uses, and loading it offline.

tiktoken downloads its BPE rank files on first use. tokentrace never lets it: an encoding is
built only from bytes already on this machine, looked up in this order:

1. the encoding tiktoken itself already loaded in this process (``tiktoken.registry.ENCODINGS``);
2. ``$TOKENTRACE_TIKTOKEN_DIR/<encoding>.tiktoken`` or ``<encoding>.tiktoken.gz``;
3. tiktoken's own cache, only if the file is already there: ``$TIKTOKEN_CACHE_DIR``, else
   ``$DATA_GYM_CACHE_DIR``, else ``<tempdir>/data-gym-cache``, file name = SHA-1 of the blob URL
   (as ``tiktoken.load.read_file_cached`` names it); an empty ``TIKTOKEN_CACHE_DIR`` means no cache.

Every file is checked against the SHA-256 that tiktoken pins for it; a mismatch is skipped (and,
unlike tiktoken, never deleted or re-downloaded). When nothing is found the encoding is recorded as
unavailable, one warning is logged, and callers fall back to the approximation.

How the encoding is built. ``pat_str``, the special tokens and ``explicit_n_vocab`` are not copied
here: tiktoken's own constructor (``tiktoken_ext.openai_public.o200k_base`` …) is run, as authored,
from a private copy whose global ``load_tiktoken_bpe`` is the offline loader above. The copy is a
new function object over the constructor's code with its own globals dict, so tiktoken's modules are
never modified (no monkeypatching, safe with concurrent threads), and the constructor also tells the
loader the blob URL (for the file name and the cache key) and the expected hash. In that copy every
other name that could reach the network (any module object, anything from ``tiktoken.load``) is
replaced by a stub that raises, and a constructor that imports anything itself is refused — so a
future tiktoken that fetched in a new way degrades to the approximation instead of downloading.
"""

from __future__ import annotations

import base64
import dis
import gzip
import hashlib
import importlib
import logging
import os
import posixpath
import re
import sys
import tempfile
import threading
import types
import urllib.parse
from typing import Any, Callable, Optional

logger = logging.getLogger("tokentrace.tokens")

ENV_DIR = "TOKENTRACE_TIKTOKEN_DIR"

# Our own table, used only for models tiktoken does not know (older tiktoken, newer models).
_O200K = re.compile(r"(?:ft:)?(?:gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|chatgpt-4o|o[134](?:$|[-.]))")
_CL100K = re.compile(r"(?:ft:)?(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3-|text-embedding-ada-002)")

_lock = threading.Lock()
_encodings: dict[str, Any] = {}
"""encoding name -> tiktoken.Encoding, or None when it is unavailable offline."""
_model_encoding: dict[str, Optional[str]] = {}
_MODEL_CACHE_MAX = 4096


class Unavailable(Exception):
    """The encoding's data is not on this machine (or cannot be loaded safely)."""


def encoding_name_for_model(model: Optional[str]) -> Optional[str]:
    """The tiktoken encoding an OpenAI model uses, or None (unknown and non-OpenAI models).

    tiktoken's own table decides where it knows the model; the prefix table above covers the rest
    (``gpt-4o*``, ``gpt-4.1*``, ``gpt-5*``, ``o1*``/``o3*``/``o4*``, ``chatgpt-4o*`` → o200k_base;
    ``gpt-4*``, ``gpt-3.5*``, ``text-embedding-3-*``, ``text-embedding-ada-002`` → cl100k_base).
    A provider prefix such as ``openai/`` is ignored.
    """
    if not model or not isinstance(model, str):
        return None
    try:
        return _model_encoding[model]
    except KeyError:
        pass
    name = model.strip().lower()
    if "/" in name and not name.startswith("ft:"):
        name = name.rsplit("/", 1)[1]
    result: Optional[str] = None
    try:
        import tiktoken

        result = tiktoken.encoding_name_for_model(name)
    except Exception:  # KeyError for unknown models; anything else must not break counting
        result = None
    if result is None:
        if _O200K.match(name):
            result = "o200k_base"
        elif _CL100K.match(name):
            result = "cl100k_base"
    if len(_model_encoding) >= _MODEL_CACHE_MAX:
        _model_encoding.clear()
    _model_encoding[model] = result
    return result


def get_encoding(name: str) -> Any:
    """The ``tiktoken.Encoding`` called ``name`` built offline, or None when it cannot be.

    Loaded once per process (thread-safe); the first failure logs one warning and is remembered.
    """
    try:
        return _encodings[name]
    except KeyError:
        pass
    with _lock:
        if name in _encodings:
            return _encodings[name]
        encoding = None
        try:
            encoding = _load(name)
        except Unavailable as exc:
            reason = str(exc)
        except Exception as exc:  # a corrupt file, an unexpected tiktoken: approximate instead
            reason = f"{type(exc).__name__}: {exc}"
        if encoding is None:
            logger.warning(
                "tokentrace: tiktoken encoding %r is not available offline (%s); token counts for its "
                "models are approximated. Put %s.tiktoken (or .tiktoken.gz) in $%s to count exactly.",
                name, reason, name, ENV_DIR,
            )
        _encodings[name] = encoding
        return encoding


def reset() -> None:
    """Forget loaded encodings, failures and model lookups (tests, or after changing the env)."""
    with _lock:
        _encodings.clear()
        _model_encoding.clear()


def _load(name: str) -> Any:
    import tiktoken

    registry = sys.modules.get("tiktoken.registry")
    already = getattr(registry, "ENCODINGS", {}).get(name) if registry is not None else None
    if already is not None:
        return already
    spec = _offline_constructor(name)()
    return tiktoken.Encoding(**spec)


def _offline_constructor(name: str) -> Callable[[], dict[str, Any]]:
    """tiktoken's constructor for ``name``, rebound so that it can only read local files."""
    try:
        module = importlib.import_module("tiktoken_ext.openai_public")
        constructor = module.ENCODING_CONSTRUCTORS[name]
    except (ImportError, AttributeError, KeyError):
        raise Unavailable("tiktoken has no constructor for it") from None
    scope: dict[str, Any] = {}
    for key, value in vars(module).items():
        if isinstance(value, types.ModuleType) or getattr(value, "__module__", None) == "tiktoken.load":
            value = _blocked(key)
        scope[key] = value
    scope["load_tiktoken_bpe"] = _load_tiktoken_bpe
    scope["data_gym_to_mergeable_bpe_ranks"] = _blocked("data_gym_to_mergeable_bpe_ranks")
    for key, value in list(scope.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            if _imports(value.__code__):
                scope[key] = _blocked(key)
            else:
                scope[key] = types.FunctionType(
                    value.__code__, scope, value.__name__, value.__defaults__, value.__closure__
                )
    rebound = scope.get(getattr(constructor, "__name__", ""))
    if not isinstance(rebound, types.FunctionType) or rebound.__globals__ is not scope:
        raise Unavailable("unsupported tiktoken constructor")
    return rebound


def _imports(code: types.CodeType) -> bool:
    if any(ins.opname == "IMPORT_NAME" for ins in dis.get_instructions(code)):
        return True
    return any(_imports(const) for const in code.co_consts if isinstance(const, types.CodeType))


def _blocked(what: str) -> Callable[..., Any]:
    def blocked(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable(f"{what} is not available offline")

    return blocked


def _load_tiktoken_bpe(blobpath: str, expected_hash: Optional[str] = None) -> dict[bytes, int]:
    """Offline stand-in for ``tiktoken.load.load_tiktoken_bpe``."""
    ranks: dict[bytes, int] = {}
    decode = base64.b64decode
    for line in _read_offline(blobpath, expected_hash).splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


def _read_offline(blobpath: str, expected_hash: Optional[str]) -> bytes:
    base = posixpath.basename(urllib.parse.urlparse(blobpath).path) or blobpath
    tried: list[str] = []
    directory = os.environ.get(ENV_DIR)
    if directory:
        found = False
        for candidate in (base, base + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                found = True
                data = _read(path)
                if _hash_ok(data, expected_hash):
                    return data
                tried.append(f"{path} does not match tiktoken's SHA-256")
        if not found:
            tried.append(f"no {base}[.gz] in ${ENV_DIR}")
    cache_dir = _tiktoken_cache_dir()
    if cache_dir:
        path = os.path.join(cache_dir, hashlib.sha1(blobpath.encode()).hexdigest())
        if os.path.isfile(path):
            data = _read(path)
            if _hash_ok(data, expected_hash):
                return data
            tried.append(f"tiktoken cache file {path} does not match tiktoken's SHA-256")
        else:
            tried.append(f"not in tiktoken's cache {cache_dir}")
    raise Unavailable("; ".join(tried) or "no local copy")


def _tiktoken_cache_dir() -> Optional[str]:
    """Where ``tiktoken.load.read_file_cached`` keeps downloads; None when caching is off."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        directory = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        directory = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        directory = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return directory or None


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        data = gzip.decompress(data)
    return data


def _hash_ok(data: bytes, expected_hash: Optional[str]) -> bool:
    return expected_hash is None or hashlib.sha256(data).hexdigest() == expected_hash
