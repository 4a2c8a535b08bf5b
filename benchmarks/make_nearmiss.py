"""Make a held-out near-miss file (the format of ../shared/data/nearmiss-dev.jsonl.gz) from QQP.

The verification stage was tuned on ``nearmiss-dev.jsonl.gz``; this makes another file of the
same nature — a one- or two-word edit that changes the answer — from QQP questions that file does
not hold, with edits and word lists of its own (cities, antonyms and negated verbs that the
verification's lists mostly do not contain), so a run on it shows how the checks generalise:

    python benchmarks/make_nearmiss.py --out /tmp/nearmiss-heldout.jsonl.gz
    python benchmarks/cache_quality.py --nearmiss /tmp/nearmiss-heldout.jsonl.gz --embedders minilm \\
        --out benchmarks/CACHE_QUALITY_HELDOUT.md

Kinds: ``number`` (a number changed), ``negation`` (an auxiliary negated), ``swap`` (the two sides
of "from X to Y" / "X to Y" / "X better than Y" / "X vs Y" exchanged), ``entity`` (a city, country
or language replaced by another), and ``antonym`` (a word replaced by its opposite: a kind
nearmiss-dev does not have).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
from pathlib import Path
from typing import Callable, Optional

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

# Mostly names the verification's list does not hold: found, if at all, by capitalisation.
PLACES = ["Lucknow", "Jaipur", "Ahmedabad", "Kochi", "Manchester", "Seattle", "Austin", "Denver", "Lagos",
          "Nairobi", "Lima", "Oslo", "Vienna", "Prague", "Warsaw", "Dublin", "Lisbon", "Athens", "Helsinki",
          "Zurich", "Melbourne", "Vancouver", "Montreal", "Osaka", "Manila", "Dhaka", "Karachi", "Lahore"]
KNOWN = ["India", "China", "USA", "Canada", "Germany", "Japan", "Australia", "Pakistan", "France", "Russia",
         "Python", "Java", "Delhi", "Mumbai", "Bangalore", "London", "Google", "Amazon", "Facebook", "Apple"]
ANTONYMS = [("best", "worst"), ("cheap", "expensive"), ("increase", "decrease"), ("advantages", "disadvantages"),
            ("positive", "negative"), ("strong", "weak"), ("rich", "poor"), ("love", "hate"), ("happy", "sad"),
            ("fast", "slow"), ("safe", "dangerous"), ("healthy", "unhealthy"), ("legal", "illegal"),
            ("win", "lose"), ("accept", "reject"), ("remember", "forget"), ("succeed", "fail"),
            ("easiest", "hardest"), ("good", "bad"), ("hot", "cold"), ("buy", "sell"), ("more", "less"),
            ("true", "false"), ("start", "stop"), ("increase", "reduce"), ("gain", "lose"), ("men", "women"),
            ("boys", "girls"), ("before", "after"), ("cheapest", "costliest"), ("smart", "stupid")]
NEGATABLE = [("Why is ", "Why isn't "), ("Why are ", "Why aren't "), ("Why do ", "Why don't "),
             ("Why does ", "Why doesn't "), ("Why did ", "Why didn't "), ("Why can ", "Why can't "),
             ("Why should ", "Why shouldn't "), ("Why would ", "Why wouldn't "), ("Why was ", "Why wasn't "),
             ("Is it ", "Isn't it "), ("Can I ", "Can't I "), ("Should I ", "Shouldn't I "),
             ("Does ", "Doesn't "), ("Do ", "Don't ")]


def number_edit(text: str, rng: random.Random) -> Optional[str]:
    numbers = list(re.finditer(r"\b\d+\b", text))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = int(m.group())
    new = value + rng.choice([1, 2, 5, 10]) if value < 1900 or value > 2100 else value + rng.choice([-3, -1, 1, 2])
    return text[:m.start()] + str(new) + text[m.end():]


def negation_edit(text: str, rng: random.Random) -> Optional[str]:
    for plain, negated in NEGATABLE:
        if text.startswith(plain) and "n't" not in text and " not " not in text:
            return negated + text[len(plain):]
    return None


_SWAPS = [re.compile(r"\bfrom (\w+) to (\w+)\b", re.I), re.compile(r"\b(\w+) better than (\w+)\b", re.I),
          re.compile(r"\b(\w+) (?:vs\.?|versus) (\w+)\b", re.I), re.compile(r"\bconvert (\w+) to (\w+)\b", re.I)]
_SMALL = {"a", "an", "the", "i", "it", "is", "me", "my", "you", "to", "be", "do", "and", "or", "one"}


def swap_edit(text: str, rng: random.Random) -> Optional[str]:
    for pattern in _SWAPS:
        m = pattern.search(text)
        if m and m.group(1).lower() != m.group(2).lower() and not {m.group(1).lower(), m.group(2).lower()} & _SMALL:
            whole = m.group()
            a, b = m.group(1), m.group(2)
            swapped = whole.replace(a, "\0").replace(b, a).replace("\0", b)
            return text[:m.start()] + swapped + text[m.end():]
    return None


def entity_edit(text: str, rng: random.Random) -> Optional[str]:
    for name in KNOWN + PLACES:
        m = re.search(rf"\b{re.escape(name)}\b", text)
        if m:
            other = rng.choice([p for p in PLACES if p != name])
            return text[:m.start()] + other + text[m.end():]
    return None


def antonym_edit(text: str, rng: random.Random) -> Optional[str]:
    pairs = ANTONYMS[:]
    rng.shuffle(pairs)
    for a, b in pairs:
        for src, dst in ((a, b), (b, a)):
            m = re.search(rf"\b{src}\b", text)
            if m:
                return text[:m.start()] + dst + text[m.end():]
    return None


EDITS: dict[str, Callable[[str, random.Random], Optional[str]]] = {
    "number": number_edit, "negation": negation_edit, "swap": swap_edit, "entity": entity_edit,
    "antonym": antonym_edit,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--qqp", default=str(DATA / "qqp-dev.jsonl.gz"))
    parser.add_argument("--exclude", default=str(DATA / "nearmiss-dev.jsonl.gz"),
                        help="near-miss file whose stored questions are not reused")
    parser.add_argument("--per-kind", type=int, default=300)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with gzip.open(args.exclude, "rt", encoding="utf-8") as handle:
        excluded = {json.loads(line)["stored"] for line in handle if line.strip()}
    with gzip.open(args.qqp, "rt", encoding="utf-8") as handle:
        questions = sorted({q.strip() for line in handle if line.strip()
                            for q in (json.loads(line)["text_a"], json.loads(line)["text_b"])} - excluded)
    rng.shuffle(questions)
    rows, counts = [], {kind: 0 for kind in EDITS}
    for text in questions:
        if len(text) > 200:
            continue
        for kind, edit in EDITS.items():
            if counts[kind] >= args.per_kind:
                continue
            query = edit(text, rng)
            if query and query != text:
                rows.append({"stored": text, "query": query, "kind": kind})
                counts[kind] += 1
                break
        if all(n >= args.per_kind for n in counts.values()):
            break
    opener = gzip.open if args.out.endswith(".gz") else open
    with opener(args.out, "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    print(f"wrote {len(rows)} near-misses to {args.out}: {counts}")


if __name__ == "__main__":
    main()
