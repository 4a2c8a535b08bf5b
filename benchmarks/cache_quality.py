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
Each embedder is measured as shipped (verification on, its default threshold, the ambiguity rule)
and as the plain recipe (nearest neighbour above the threshold, nothing else); with
``--ablation`` also with each check left out and with the ambiguity rule off, which shows what each
part gains (near-misses it stops) and costs (paraphrases it turns away). The paraphrase row also
counts which check rejected the nearest candidate.
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

    def __init__(self, embedder: Any, verifier: Optional[Callable[[str, str], Optional[str]]],
                 threshold: Optional[float], ambiguity_margin: float = 0.02) -> None:
        import tokentrace
        from tokentrace.testing import CapturedTelemetry, FakeProvider

        self.tokentrace = tokentrace
        self.embedder = embedder
        self.verifier = verifier
        self.ambiguity_margin = ambiguity_margin
        self.threshold = threshold if threshold is not None else embedder.default_threshold
        self.telemetry = CapturedTelemetry()
        self.fake = FakeProvider(max_requests=0)  # hits are read from the spans, not from requests
        self.client = self.fake.openai_client()
        self.question_of: dict[str, str] = {}  # response id -> the question it answered

    def __enter__(self) -> "Harness":
        cache = self.tokentrace.ResponseCache(
            self.tokentrace.MemoryBackend(max_entries=1_000_000, max_bytes=4 << 30), ttl=None, scope="shared",
            semantic=True, embedder=self.embedder, threshold=self.threshold, verifier=self.verifier,
            ambiguity_margin=self.ambiguity_margin,
        )
        self.tokentrace.instrument(tracer_provider=self.telemetry.tracer_provider,
                                   meter_provider=self.telemetry.meter_provider, cache=cache)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.tokentrace.uninstrument()
        self.telemetry.shutdown()

    def ask(self, question: str) -> tuple[Optional[str], dict[str, Any]]:
        """Ask without storing the answer (so a query only ever meets the stored questions);
        returns (the stored question whose answer was served, or None on a miss; span attrs)."""
        with self.tokentrace.cache_control(store=False):
            return self._call(question)

    def _call(self, question: str) -> tuple[Optional[str], dict[str, Any]]:
        self.telemetry.exporter.clear()
        reply = self.client.chat.completions.create(
            model="gpt-4o-mini", temperature=0, messages=[{"role": "user", "content": question}])
        attrs = dict(self.telemetry.exporter.get_finished_spans()[-1].attributes)
        if attrs.get("tokentrace.cache.result") != "hit":
            self.question_of[reply.id] = question
            return None, attrs
        return self.question_of[reply.id], attrs

    def store(self, questions: Iterable[str]) -> None:
        """Store every question's answer (``refresh``: no lookup, so a question similar to one
        stored before is stored too, as each would be after its own first miss)."""
        with self.tokentrace.cache_control(refresh=True):
            for question in questions:
                self._call(question)


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
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    rejected: collections.Counter[str] = collections.Counter()
    examples = []
    for row in rows:
        total[row["kind"]] += 1
        hit, attrs = harness.ask(row["query"])
        if hit is not None:
            served[row["kind"]] += 1
            if normalise(hit) == normalise(row["stored"]):
                own[row["kind"]] += 1
            if len(examples) < 8:
                examples.append((row["kind"], row["query"], hit))
        elif "tokentrace.cache.rejected_by" in attrs:
            rejected[attrs["tokentrace.cache.rejected_by"]] += 1
    return {"total": dict(total), "served": dict(served), "own": dict(own), "rejected_by": dict(rejected),
            "examples": examples}


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


class MemoEmbedder:
    """The embedder, remembering each text's vector: every configuration of one embedder sees the
    same vectors, and only the first pays for the model."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.dimensions = inner.name, inner.dimensions
        self.default_threshold = inner.default_threshold
        self.blocking = getattr(inner, "blocking", True)
        self._vectors: dict[str, Any] = {}

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))
        return np.stack([self._vectors[t] for t in texts])


def make_embedder(name: str) -> Any:
    from tokentrace.cache import embedders

    classes = {"hashing": "HashingEmbedder", "minilm": "MiniLMEmbedder"}
    return MemoEmbedder(getattr(embedders, classes[name])())


def verifier_without(skipped: str) -> Callable[[str, str], Optional[str]]:
    """The shipped verification stage minus one check."""
    from tokentrace.cache import _verify

    checks = [(name, check) for name, check in _verify.CHECKS if name != skipped]

    def verify(query: str, candidate: str) -> Optional[str]:
        q, c = _verify.features(query), _verify.features(candidate)
        return next((name for name, check in checks if check(q, c)), None)

    return verify


def configurations(ablation: bool) -> list[tuple[str, Any, float]]:
    """(label, verifier, ambiguity margin): the shipped default first, the plain recipe last."""
    from tokentrace.cache import _verify

    rows: list[tuple[str, Any, float]] = [("verified (default)", None, 0.02)]
    if ablation:
        rows.append(("verified, no ambiguity rule", None, 0.0))
        rows += [(f"verified without `{name}`", verifier_without(name), 0.02) for name, _ in _verify.CHECKS]
    rows.append(("plain cosine (no verification, no ambiguity rule)", lambda query, candidate: None, 0.0))
    return rows


def pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def run(args: argparse.Namespace) -> str:
    rng = random.Random(args.seed)
    pairs = json.loads(Path(args.paraphrases).read_text())
    nearmiss = read_json_lines(Path(args.nearmiss))
    qqp = read_json_lines(Path(args.qqp))
    qqp_sample = rng.sample(qqp, min(args.qqp_pairs, len(qqp)))
    unrelated = [r["text_b"] for r in rng.sample(qqp, min(args.unrelated, len(qqp)))]
    kinds_of_file = list(dict.fromkeys(r["kind"] for r in nearmiss))
    out = [f"# Semantic cache quality\n\nCommand: `python benchmarks/cache_quality.py {' '.join(sys.argv[1:])}`\n",
           f"Files: paraphrases `{Path(args.paraphrases).name}` ({len(pairs)} pairs), near-misses "
           f"`{Path(args.nearmiss).name}` ({len(nearmiss)}), QQP `{Path(args.qqp).name}` (sample of {len(qqp_sample)} "
           f"pairs, {len(unrelated)} unrelated questions; seed {args.seed}). Every question goes through the real "
           "openai SDK and the real cache (memory backend, exact search below 4096 entries).\n",
           "*near-misses served*: every hit counts as wrong, as the file defines it; *of them its own*: the "
           "hits that served the row's own `stored` question (the near-miss itself). The rest served another "
           "stored question of the file, which is sometimes the query's true duplicate (the file holds both "
           "\"Is India better than Pakistan?\" and \"Is Pakistan better than India?\").\n"]
    table = ["| embedder | configuration | threshold | paraphrases served | hits right | near-misses served | "
             "of them its own | " + " | ".join(kinds_of_file) + " | unrelated false hits |",
             "|---" * (8 + len(kinds_of_file)) + "|"]
    details = []
    for name in args.embedders.split(","):
        embedder = make_embedder(name)
        for label, verifier, margin in configurations(args.ablation):
            started = time.perf_counter()
            with Harness(embedder, verifier, args.threshold, margin) as h:
                para = paraphrase_row(h, pairs)
            with Harness(embedder, verifier, args.threshold, margin) as h:
                near = nearmiss_row(h, nearmiss)
            with Harness(embedder, verifier, args.threshold, margin) as h:
                unrel = unrelated_row(h, pairs, unrelated)
            kinds = [pct(near["served"].get(k, 0), near["total"].get(k, 0)) for k in kinds_of_file]
            total = sum(near["total"].values())
            table.append(
                f"| {embedder.name} | {label} | {h.threshold:.2f} | "
                f"{pct(para['hits'], para['queries'])} | {pct(para['right'], para['hits'])} | "
                f"{pct(sum(near['served'].values()), total)} | {pct(sum(near['own'].values()), total)} | "
                f"{' | '.join(kinds)} | {pct(unrel['hits'], unrel['queries'])} |")
            detail = [f"\n### {embedder.name}, {label} ({time.perf_counter() - started:.0f} s)\n"]
            if verifier is None or margin:
                detail.append(f"- paraphrase queries not served, by `tokentrace.cache.rejected_by` (a check "
                              f"rejecting true paraphrases costs hits): {para['rejected_by']}")
                detail.append(f"- near-misses not served, by `rejected_by`: {near['rejected_by']}")
            detail.append(f"- wrong paraphrase hits (query → served): {para['wrong_examples']}")
            detail.append(f"- near-misses served (kind, query → served): {near['examples']}")
            detail.append(f"- unrelated false hits: {unrel['examples']}")
            if label == "verified (default)":
                with Harness(embedder, verifier, min(args.qqp_thresholds), margin) as h:
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
    parser.add_argument("--ablation", action="store_true",
                        help="also each check left out, and the ambiguity rule off (what each gains and costs)")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    report = run(args)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
