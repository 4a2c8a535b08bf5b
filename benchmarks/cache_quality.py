"""Quality of the semantic response cache: does it serve paraphrases, and never near-misses?

    python benchmarks/cache_quality.py                                   # default files, all rows
    python benchmarks/cache_quality.py --paraphrases P.json --nearmiss N.jsonl.gz --qqp Q.jsonl.gz \\
        --embedders hashing,minilm --out benchmarks/CACHE_QUALITY.md

Every question goes through the real SDK (openai ``chat.completions.create``) and the real cache,
over tokentrace's fake provider as an in-process transport: the same code path as an application's
call, minus the network. Hits are read from the call's span (``tokentrace.cache.result``); the
served answer's response id tells which stored question it came from.

Rows (file formats of ../shared/data, see its README):
- paraphrases (``{origin, similar}`` pairs, JSON list): store every origin, ask every ``similar``;
  hit rate, and the share of hits that are right (the query's own origin, or an origin with the
  same text after lower-casing and dropping punctuation);
- near-misses (JSON lines ``{stored, query, kind}``): store ``stored``, ask ``query``; every hit
  is wrong; served rate per kind and overall;
- unrelated: QQP questions (``text_b``) asked against the stored paraphrase origins; every hit is
  a false hit;
- QQP pairs (JSON lines ``{text_a, text_b, label}``): store ``text_a``, ask ``text_b``; precision
  and true-hit rate of the hits at several similarity thresholds (labels are noisy: reported, not
  tuned to).
Each embedder is measured as shipped (verification on, its default threshold) and as the plain
recipe (no verification) at the same threshold; the paraphrase row also counts which check
rejected the nearest candidate.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", "", text.lower()).split())


class Harness:
    """One cache configuration, driven through the SDK."""

    def __init__(self, embedder: Any, verify: bool, threshold: Optional[float]) -> None:
        import tokentrace
        from tokentrace.testing import CapturedTelemetry, FakeProvider

        self.tokentrace = tokentrace
        self.embedder = embedder
        self.verify = verify
        self.threshold = threshold if threshold is not None else embedder.default_threshold
        self.telemetry = CapturedTelemetry()
        self.fake = FakeProvider(max_requests=0)  # hits are read from the spans, not from requests
        self.client = self.fake.openai_client()
        self.question_of: dict[str, str] = {}  # response id -> the question it answered

    def __enter__(self) -> "Harness":
        verifier = None if self.verify else (lambda query, candidate: None)
        cache = self.tokentrace.ResponseCache(
            self.tokentrace.MemoryBackend(max_entries=1_000_000, max_bytes=4 << 30), ttl=None, scope="shared",
            semantic=True, embedder=self.embedder, threshold=self.threshold, verifier=verifier,
        )
        self.tokentrace.instrument(tracer_provider=self.telemetry.tracer_provider,
                                   meter_provider=self.telemetry.meter_provider, cache=cache)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tokentrace.uninstrument()
        self.telemetry.shutdown()

    def ask(self, question: str) -> tuple[Optional[str], dict[str, Any]]:
        """Ask; returns (the stored question whose answer was served, or None on a miss; span attrs)."""
        self.telemetry.exporter.clear()
        reply = self.client.chat.completions.create(
            model="gpt-4o-mini", temperature=0, messages=[{"role": "user", "content": question}])
        attrs = dict(self.telemetry.exporter.get_finished_spans()[-1].attributes)
        if attrs.get("tokentrace.cache.result") != "hit":
            self.question_of[reply.id] = question
            return None, attrs
        return self.question_of[reply.id], attrs

    def store(self, questions: Iterable[str]) -> None:
        for question in questions:
            self.ask(question)


def paraphrase_row(harness: Harness, pairs: list[dict[str, str]]) -> dict[str, Any]:
    origins = [p["origin"] for p in pairs]
    harness.store(dict.fromkeys(origins))
    hits = right = 0
    rejected: collections.Counter[str] = collections.Counter()
    wrong_examples = []
    for pair in pairs:
        served, attrs = harness.ask(pair["similar"])
        if served is None:
            if "tokentrace.cache.rejected_by" in attrs:
                rejected[attrs["tokentrace.cache.rejected_by"]] += 1
            continue
        hits += 1
        if normalise(served) == normalise(pair["origin"]):
            right += 1
        elif len(wrong_examples) < 5:
            wrong_examples.append((pair["similar"], served))
    return {"queries": len(pairs), "hits": hits, "right": right, "rejected_by": dict(rejected),
            "wrong_examples": wrong_examples}


def nearmiss_row(harness: Harness, rows: list[dict[str, str]]) -> dict[str, Any]:
    harness.store(dict.fromkeys(r["stored"] for r in rows))
    served: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    rejected: collections.Counter[str] = collections.Counter()
    examples = []
    for row in rows:
        total[row["kind"]] += 1
        hit, attrs = harness.ask(row["query"])
        if hit is not None:
            served[row["kind"]] += 1
            if len(examples) < 8:
                examples.append((row["kind"], row["query"], hit))
        elif "tokentrace.cache.rejected_by" in attrs:
            rejected[attrs["tokentrace.cache.rejected_by"]] += 1
    return {"total": dict(total), "served": dict(served), "rejected_by": dict(rejected), "examples": examples}


def unrelated_row(harness: Harness, pairs: list[dict[str, str]], questions: list[str]) -> dict[str, Any]:
    harness.store(dict.fromkeys(p["origin"] for p in pairs))
    hits = [q for q in questions if harness.ask(q)[0] is not None]
    return {"queries": len(questions), "hits": len(hits), "examples": hits[:5]}


def qqp_row(harness: Harness, rows: list[dict[str, Any]], thresholds: list[float]) -> dict[str, Any]:
    harness.store(dict.fromkeys(r["text_a"] for r in rows))
    results = []  # (similarity, correct)
    for row in rows:
        served, attrs = harness.ask(row["text_b"])
        if served is None:
            continue
        similarity = attrs.get("tokentrace.cache.similarity", 1.0)
        correct = row["label"] == 1 and normalise(served) == normalise(row["text_a"])
        results.append((similarity, correct))
    duplicates = sum(1 for r in rows if r["label"] == 1)
    curve = []
    for threshold in thresholds:
        kept = [c for s, c in results if s >= threshold]
        true_hits = sum(kept)
        curve.append((threshold, len(kept), true_hits / len(kept) if kept else None, true_hits / duplicates))
    return {"pairs": len(rows), "duplicates": duplicates, "curve": curve}


def make_embedder(name: str) -> Any:
    from tokentrace.cache import embedders

    classes = {"hashing": "HashingEmbedder", "minilm": "MiniLMEmbedder"}
    return getattr(embedders, classes.get(name, name))()


def pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def run(args: argparse.Namespace) -> str:
    rng = random.Random(args.seed)
    pairs = json.loads(Path(args.paraphrases).read_text())
    nearmiss = read_json_lines(Path(args.nearmiss))
    qqp = read_json_lines(Path(args.qqp))
    qqp_sample = rng.sample(qqp, min(args.qqp_pairs, len(qqp)))
    unrelated = [r["text_b"] for r in rng.sample(qqp, min(args.unrelated, len(qqp)))]
    out = [f"# Semantic cache quality\n\nCommand: `python benchmarks/cache_quality.py {' '.join(sys.argv[1:])}`\n",
           f"Files: paraphrases `{Path(args.paraphrases).name}` ({len(pairs)} pairs), near-misses "
           f"`{Path(args.nearmiss).name}` ({len(nearmiss)}), QQP `{Path(args.qqp).name}` (sample of {len(qqp_sample)} "
           f"pairs, {len(unrelated)} unrelated questions; seed {args.seed}).\n"]
    table = ["| embedder | verification | threshold | paraphrases served | hits right | near-misses served | "
             "number | swap | entity | negation | unrelated false hits |", "|---" * 11 + "|"]
    details = []
    for name in args.embedders.split(","):
        for verify in (True, False):
            embedder = make_embedder(name)
            started = time.perf_counter()
            with Harness(embedder, verify, args.threshold) as h:
                para = paraphrase_row(h, pairs)
            with Harness(embedder, verify, args.threshold) as h:
                near = nearmiss_row(h, nearmiss)
            with Harness(embedder, verify, args.threshold) as h:
                unrel = unrelated_row(h, pairs, unrelated)
            kinds = [pct(near["served"].get(k, 0), near["total"].get(k, 0)) for k in ("number", "swap", "entity", "negation")]
            threshold = h.threshold
            table.append(
                f"| {embedder.name} | {'on' if verify else 'off (plain cosine)'} | {threshold:.2f} | "
                f"{pct(para['hits'], para['queries'])} | {pct(para['right'], para['hits'])} | "
                f"{pct(sum(near['served'].values()), sum(near['total'].values()))} | {' | '.join(kinds)} | "
                f"{pct(unrel['hits'], unrel['queries'])} |")
            detail = [f"\n### {embedder.name}, verification {'on' if verify else 'off'} "
                      f"({time.perf_counter() - started:.0f} s)\n"]
            if verify:
                detail.append(f"- paraphrase queries whose nearest candidate a check rejected: {para['rejected_by']}")
                detail.append(f"- near-misses rejected by check: {near['rejected_by']}")
            detail.append(f"- wrong paraphrase hits (query → served): {para['wrong_examples']}")
            detail.append(f"- near-misses served (kind, query → served): {near['examples']}")
            detail.append(f"- unrelated false hits: {unrel['examples']}")
            if verify:
                with Harness(embedder, verify, min(args.qqp_thresholds)) as h:
                    q = qqp_row(h, qqp_sample, args.qqp_thresholds)
                detail.append(f"- QQP ({q['pairs']} pairs, {q['duplicates']} labelled duplicates), hits at similarity ≥ t: "
                              + "; ".join(f"t={t:.2f}: {n} hits, precision {p if p is None else f'{p:.1%}'}, "
                                          f"true-hit rate {r:.1%}" for t, n, p, r in q["curve"]))
            details.extend(detail)
    return "\n".join(out + table + details) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paraphrases", default=str(DATA / "gptcache-mock-pairs.json"))
    parser.add_argument("--nearmiss", default=str(DATA / "nearmiss-dev.jsonl.gz"))
    parser.add_argument("--qqp", default=str(DATA / "qqp-dev.jsonl.gz"))
    parser.add_argument("--embedders", default="hashing,minilm")
    parser.add_argument("--threshold", type=float, default=None, help="default: each embedder's own")
    parser.add_argument("--qqp-pairs", type=int, default=2000)
    parser.add_argument("--unrelated", type=int, default=2000)
    parser.add_argument("--qqp-thresholds", type=lambda s: [float(x) for x in s.split(",")],
                        default=[0.75, 0.8, 0.85, 0.9, 0.95])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    report = run(args)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
