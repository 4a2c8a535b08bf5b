#!/usr/bin/env python3
"""Cosine distributions and speed of the semantic cache's embedders, to choose their thresholds.

For each embedder (``tokentrace.cache.embedders``) it embeds:

- paraphrases: the ``{origin, similar}`` pairs of a GPTCache-format file (cosine of each pair);
- near-verbatim repeats: each origin, and a sample of (shorter) QQP questions, re-typed (case and
  punctuation changed; one typo; two typos), made here with a fixed seed;
- unrelated: questions of a QQP-format file against the stored origins: the cosine to one random
  origin, and the nearest-neighbour cosine over all origins (what a candidate search sees);
- near-misses (nearmiss format: ``stored``/``query``/``kind``): cosine per kind, i.e. how many
  reach the candidate stage and must be rejected by verification;
- QQP pairs (``text_a``/``text_b``/``label``): cosine by label (noisy labels: reported only);

and times ``embed([text])`` on single texts and ``embed(batch)`` on a batch.

A candidate-search threshold is recommended per embedder: the highest threshold (0.05 steps) that
keeps >= 95% of the embedder's true repeats (paraphrases for sentence models, near-verbatim repeats
for the hashing embedder, which does not find paraphrases) while at most 0.1% of unrelated queries
have a nearest origin at or above it.

Usage (the test venv, with the ``embeddings`` extra installed; about a minute)::

    .venv/bin/python benchmarks/embedders.py \\
        --pairs ../shared/data/gptcache-mock-pairs.json \\
        --nearmiss ../shared/data/nearmiss-dev.jsonl.gz \\
        --qqp ../shared/data/qqp-dev.jsonl.gz \\
        --out benchmarks/EMBEDDERS.md

``--embedders hashing,minilm,openai`` (openai needs ``OPENAI_API_KEY`` and the network);
``--sample`` bounds the QQP questions and pairs used (default 2000). With ``--out``, the results
replace the part of the file between the ``results`` markers (the rest is kept).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import statistics
import string
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from tokentrace.cache.embedders import HashingEmbedder, MiniLMEmbedder, OpenAIEmbedder  # noqa: E402

START, END = "<!-- results:start -->", "<!-- results:end -->"
GRID = [round(0.30 + 0.05 * i, 2) for i in range(14)]  # 0.30 .. 0.95
# The requirement is >= 90% of true repeats kept as candidates; 95% leaves room for the verification
# stage, which rejects some true repeats too, before what is served drops below 90%.
TARGET_RECALL = 0.95
UNRELATED_MAX_RATE = 0.001  # unrelated nearest neighbours at or above the threshold


def read_json_lines(path: str) -> List[Dict[str, Any]]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


# -- near-verbatim variants ------------------------------------------------------------------

def _typo(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    letters = [j for j, c in enumerate(w) if c.isalpha()]
    kind = rng.choice(["swap", "drop", "double", "replace"])
    j = rng.choice(letters[:-1]) if kind == "swap" else rng.choice(letters)
    if kind == "swap":
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif kind == "drop":
        w = w[:j] + w[j + 1:]
    elif kind == "double":
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[:j] + rng.choice(string.ascii_lowercase) + w[j + 1:]
    words[i] = w
    return " ".join(words)


def _case_punct(text: str, rng: random.Random) -> str:
    text = rng.choice([str.lower, str.upper, str.capitalize])(text)
    if rng.random() < 0.5:
        return re.sub(r"[^\w\s]", "", text)
    return text.rstrip(".?!") + rng.choice(["?", "!", " ?", "..."])


def verbatim_variants(bases: Sequence[str], seed: int, prefix: str = "") -> Dict[str, List[Tuple[int, str]]]:
    """Re-typed copies of ``bases``: kind -> [(index of the base, variant)]."""
    rng = random.Random(seed)
    out: Dict[str, List[Tuple[int, str]]] = {f"{prefix}case/punctuation": [], f"{prefix}1 typo": [],
                                             f"{prefix}2 typos": []}
    for i, text in enumerate(bases):
        out[f"{prefix}case/punctuation"].append((i, _case_punct(text, rng)))
        out[f"{prefix}1 typo"].append((i, _typo(text, rng)))
        out[f"{prefix}2 typos"].append((i, _typo(_typo(text, rng), rng)))
    return out


# -- measuring -------------------------------------------------------------------------------

def pair_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", a, b)


def share_at_least(values: np.ndarray, t: float) -> float:
    return float(np.mean(values >= t - 1e-9)) if values.size else float("nan")


def quantiles(values: np.ndarray) -> str:
    q = np.percentile(values, [1, 10, 50, 90, 99])
    return " / ".join(f"{x:.3f}" for x in q)


def time_embedder(embedder: Any, texts: Sequence[str], singles: int) -> Dict[str, float]:
    """Best of 3 rounds (the machine is shared: slow rounds measure the neighbours, not the code)."""
    embedder.embed(texts[:4])  # warm up (loads the model)
    rounds = []
    for _ in range(3):
        latencies = []
        for text in texts[:singles]:
            t0 = time.perf_counter()
            embedder.embed([text])
            latencies.append(time.perf_counter() - t0)
        batch = list(texts[:256])
        t0 = time.perf_counter()
        embedder.embed(batch)
        batched = (time.perf_counter() - t0) / len(batch)
        rounds.append({"single_p50_ms": statistics.median(latencies) * 1e3,
                       "single_p90_ms": float(np.percentile(latencies, 90)) * 1e3,
                       "batch_ms": batched * 1e3})
    return min(rounds, key=lambda r: r["single_p50_ms"])


def measure(embedder: Any, data: Dict[str, Any], singles: int) -> Dict[str, Any]:
    origins, similars = data["origins"], data["similars"]
    t0 = time.perf_counter()
    cold = None
    if isinstance(embedder, MiniLMEmbedder):
        embedder.embed(["warm up"])
        cold = time.perf_counter() - t0
    stored = embedder.embed(origins)
    similar_vecs = embedder.embed(similars)
    para = pair_cosines(stored, similar_vecs)
    # What a candidate search returns for each paraphrase: its nearest origin, right or not.
    para_sims = similar_vecs @ stored.T
    top = para_sims.argmax(axis=1)
    para_top = para_sims[np.arange(len(top)), top]
    para_top_right = np.array([data["origin_keys"][j] == data["origin_keys"][i] for i, j in enumerate(top)])
    verbatim = {}
    short_stored = embedder.embed(data["short_bases"])
    for kind, rows in data["variants"].items():
        vecs = embedder.embed([text for _, text in rows])
        base = short_stored if kind.startswith("QQP") else stored
        verbatim[kind] = pair_cosines(base[[i for i, _ in rows]], vecs)
    unrelated_vecs = embedder.embed(data["unrelated"])
    sims = unrelated_vecs @ stored.T
    unrelated_random = sims[np.arange(len(sims)), data["unrelated_partner"]]
    unrelated_nn = sims.max(axis=1)
    near = {}
    near_vecs_s = embedder.embed([r["stored"] for r in data["nearmiss"]])
    near_vecs_q = embedder.embed([r["query"] for r in data["nearmiss"]])
    near_all = pair_cosines(near_vecs_s, near_vecs_q)
    kinds = np.array([r["kind"] for r in data["nearmiss"]])
    for kind in sorted(set(kinds)):
        near[kind] = near_all[kinds == kind]
    qqp_a = embedder.embed([r["text_a"] for r in data["qqp"]])
    qqp_b = embedder.embed([r["text_b"] for r in data["qqp"]])
    qqp = pair_cosines(qqp_a, qqp_b)
    labels = np.array([int(r["label"]) for r in data["qqp"]])
    embed_seconds = time.perf_counter() - t0
    speed = time_embedder(embedder, data["speed_texts"], singles)
    return {"para": para, "para_top": para_top, "para_top_right": para_top_right, "verbatim": verbatim,
            "unrelated_random": unrelated_random, "unrelated_nn": unrelated_nn,
            "near": near, "near_all": near_all, "qqp": qqp, "labels": labels, "speed": speed, "cold": cold,
            "embed_seconds": embed_seconds}


def recommend(m: Dict[str, Any], hashing: bool) -> Tuple[float, str]:
    target = np.concatenate(list(m["verbatim"].values())) if hashing else m["para"]
    what = "near-verbatim repeats" if hashing else "paraphrases"
    best = float("nan")
    for t in GRID:
        if share_at_least(target, t) >= TARGET_RECALL and share_at_least(m["unrelated_nn"], t) <= UNRELATED_MAX_RATE:
            best = t
    return best, what


def report(results: Dict[str, Dict[str, Any]], embedders: Dict[str, Any], args: argparse.Namespace,
           counts: Dict[str, int]) -> str:
    lines: List[str] = []
    add = lines.append
    add(f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
        + (f", onnxruntime {__import__('onnxruntime').__version__}" if "minilm" in results else "") + ".")
    add("")
    add(f"Data: {counts['pairs']} paraphrase pairs ({Path(args.pairs).name}); {counts['variants']} near-verbatim "
        f"repeats made from its origins and from {counts['short']} QQP questions (seed {args.seed}); {counts['unrelated']} QQP questions against the "
        f"{counts['pairs']} origins; {counts['nearmiss']} near-misses ({Path(args.nearmiss).name}); "
        f"{counts['qqp']} QQP pairs ({Path(args.qqp).name}, sample, seed {args.seed}).")
    add("")
    add("### Recommended candidate thresholds")
    add("")
    add("| embedder | name | threshold | kept at it | unrelated nearest neighbour ≥ it | near-misses ≥ it |")
    add("|---|---|---|---|---|---|")
    for key, m in results.items():
        e = embedders[key]
        t, what = recommend(m, key == "hashing")
        target = np.concatenate(list(m["verbatim"].values())) if key == "hashing" else m["para"]
        add(f"| {key} | `{e.name}` | **{t:.2f}** | {share_at_least(target, t):.1%} of {what} "
            f"(paraphrases: {share_at_least(m['para'], t):.1%}) | {share_at_least(m['unrelated_nn'], t):.2%} "
            f"(max {m['unrelated_nn'].max():.3f}) | {share_at_least(m['near_all'], t):.1%} |")
    add("")
    add("### Cosine distributions (percentiles 1 / 10 / 50 / 90 / 99)")
    add("")
    add("| set | " + " | ".join(results) + " |")
    add("|---|" + "---|" * len(results))
    rows: List[Tuple[str, Callable[[Dict[str, Any]], np.ndarray]]] = [
        ("paraphrase pairs", lambda m: m["para"])]
    for kind in next(iter(results.values()))["verbatim"]:
        rows.append((f"near-verbatim: {kind}", lambda m, k=kind: m["verbatim"][k]))
    rows += [("unrelated, random origin", lambda m: m["unrelated_random"]),
             ("unrelated, nearest origin", lambda m: m["unrelated_nn"])]
    for kind in next(iter(results.values()))["near"]:
        rows.append((f"near-miss: {kind}", lambda m, k=kind: m["near"][k]))
    rows += [("QQP label 1", lambda m: m["qqp"][m["labels"] == 1]), ("QQP label 0", lambda m: m["qqp"][m["labels"] == 0])]
    for label, get in rows:
        add(f"| {label} | " + " | ".join(quantiles(get(m)) for m in results.values()) + " |")
    add("")
    for key, m in results.items():
        add(f"### {key}: share at or above each threshold")
        add("")
        add("| threshold | paraphrases (own pair) | nearest origin right | nearest origin wrong | near-verbatim | "
            "unrelated (nearest) | unrelated (random) | near-misses | QQP dup. found | QQP precision |")
        add("|---|---|---|---|---|---|---|---|---|---|")
        verbatim = np.concatenate(list(m["verbatim"].values()))
        pos, neg = m["qqp"][m["labels"] == 1], m["qqp"][m["labels"] == 0]
        for t in GRID:
            hits_pos, hits_neg = np.sum(pos >= t), np.sum(neg >= t)
            precision = hits_pos / (hits_pos + hits_neg) if hits_pos + hits_neg else float("nan")
            right = np.mean((m["para_top"] >= t - 1e-9) & m["para_top_right"])
            wrong = np.mean((m["para_top"] >= t - 1e-9) & ~m["para_top_right"])
            add(f"| {t:.2f} | {share_at_least(m['para'], t):.1%} | {right:.1%} | {wrong:.1%} | {share_at_least(verbatim, t):.1%} | "
                f"{share_at_least(m['unrelated_nn'], t):.2%} | {share_at_least(m['unrelated_random'], t):.2%} | "
                f"{share_at_least(m['near_all'], t):.1%} | {share_at_least(pos, t):.1%} | {precision:.1%} |")
        add("")
    add("### Speed")
    add("")
    add("| embedder | one text, p50 | one text, p90 | batch of 256, per text | first call (load) |")
    add("|---|---|---|---|---|")
    for key, m in results.items():
        s = m["speed"]
        cold = f"{m['cold'] * 1e3:.0f} ms" if m["cold"] is not None else "—"
        add(f"| {key} | {s['single_p50_ms']:.3f} ms | {s['single_p90_ms']:.3f} ms | {s['batch_ms']:.3f} ms | {cold} |")
    add("")
    add(f"Single texts: {args.singles} QQP questions (median {counts['speed_chars']} characters), one `embed([text])` "
        "each, and one `embed()` of 256 of them; best of 3 rounds. MiniLM ran with " + (f"{embedders['minilm'].threads} onnxruntime threads." if "minilm" in embedders
                                     else "—."))
    return "\n".join(lines)


def load(args: argparse.Namespace) -> Tuple[Dict[str, Any], Dict[str, int]]:
    rng = random.Random(args.seed)
    with open(args.pairs, encoding="utf-8") as f:
        pairs = json.load(f)
    origins = [p["origin"] for p in pairs]
    similars = [p["similar"] for p in pairs]
    qqp_all = read_json_lines(args.qqp)
    questions = sorted({r["text_a"] for r in qqp_all} | {r["text_b"] for r in qqp_all})
    stored_norm = {normalised(o) for o in origins}
    questions = [q for q in questions if normalised(q) not in stored_norm]
    unrelated = rng.sample(questions, min(args.sample, len(questions)))
    partner = [rng.randrange(len(origins)) for _ in unrelated]
    qqp = rng.sample(qqp_all, min(args.sample, len(qqp_all)))
    nearmiss = read_json_lines(args.nearmiss)
    # Near-verbatim repeats of the (long) GPTCache origins, and of short QQP questions.
    short_bases = rng.sample(questions, min(args.short, len(questions)))
    variants = verbatim_variants(origins, args.seed)
    variants.update(verbatim_variants(short_bases, args.seed, prefix="QQP "))
    speed_texts = rng.sample(questions, max(args.singles, 256))
    data = {"origins": origins, "origin_keys": [normalised(o) for o in origins], "similars": similars,
            "variants": variants, "short_bases": short_bases, "unrelated": unrelated,
            "unrelated_partner": np.array(partner), "nearmiss": nearmiss, "qqp": qqp, "speed_texts": speed_texts}
    counts = {"pairs": len(pairs), "variants": sum(len(v) for v in variants.values()), "short": len(short_bases), "unrelated": len(unrelated),
              "nearmiss": len(nearmiss), "qqp": len(qqp),
              "speed_chars": int(statistics.median(len(t) for t in speed_texts[: args.singles]))}
    return data, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", required=True, help="GPTCache-format JSON: [{origin, similar}, ...]")
    parser.add_argument("--nearmiss", required=True, help="JSON lines (.gz ok): {stored, query, kind}")
    parser.add_argument("--qqp", required=True, help="JSON lines (.gz ok): {text_a, text_b, label}")
    parser.add_argument("--embedders", default="hashing,minilm", help="comma list of hashing, minilm, openai")
    parser.add_argument("--sample", type=int, default=2000, help="QQP questions and QQP pairs to use")
    parser.add_argument("--short", type=int, default=500, help="QQP questions re-typed as near-verbatim repeats")
    parser.add_argument("--singles", type=int, default=200, help="single-text timings per embedder")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime threads for minilm")
    parser.add_argument("--openai-model", default="text-embedding-3-small")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", help="Markdown file to write the results into (between the results markers)")
    args = parser.parse_args()

    factories = {"hashing": lambda: HashingEmbedder(), "minilm": lambda: MiniLMEmbedder(threads=args.threads),
                 "openai": lambda: OpenAIEmbedder(model=args.openai_model)}
    keys = [k.strip() for k in args.embedders.split(",") if k.strip()]
    for key in keys:
        if key not in factories:
            parser.error(f"unknown embedder {key!r} (choose from {', '.join(factories)})")
    data, counts = load(args)
    embedders = {key: factories[key]() for key in keys}
    results = {}
    for key, embedder in embedders.items():
        print(f"measuring {embedder.name} ...", file=sys.stderr, flush=True)
        results[key] = measure(embedder, data, args.singles)
        print(f"  {results[key]['embed_seconds']:.1f} s", file=sys.stderr, flush=True)
    text = report(results, embedders, args, counts)
    print(text)
    if args.out:
        out = Path(args.out)
        block = f"{START}\n{text}\n{END}"
        if out.exists() and START in (old := out.read_text(encoding="utf-8")) and END in old:
            head, rest = old.split(START, 1)
            new = head + block + rest.split(END, 1)[1]
        else:
            new = f"# Embedders: thresholds and speed\n\n{block}\n"
        out.write_text(new, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
