"""The verification stage of the semantic cache: does a similar stored question have the same answer?

Embedding similarity cannot tell "from Canada to India" from "from India to Canada", "Why is"
from "Why isn't", or 2010 from 2020 — those pairs score as high as true paraphrases. After the
nearest-neighbour search, each candidate is checked against the query on what changes an answer;
the first check that disagrees rejects it (its name goes on the span as
``tokentrace.cache.rejected_by``):

``number``    the numbers (digits, decimals, number words up to "twenty", "hundred", ...) differ;
``negation``  one question is negated and the other is not (not, n't, never, no, without, ...);
``antonym``   one uses a word and the other its opposite (enable/disable, increase/decrease,
              rows/columns, max/min, before/after, buy/sell, ...);
``direction`` both relate the same two words around an asymmetric marker (from/to, than,
              vs, into, over, before/after) but in the opposite order, or use the same
              content words around such a marker in another order;
``entity``    the named things differ: capitalised words (after the first word), and known
              country, city, language and company names in any case.

The checks are lexical, cheap (a few tens of µs per pair) and conservative: they reject only on
evidence that the answers differ, so true paraphrases (other words, same facts) pass.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)*")
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000",
    "billion": "1000000000", "first": "1", "second": "2", "third": "3", "half": "0.5", "dozen": "12",
}
_NEGATIONS = frozenset({"not", "no", "never", "without", "none", "nobody", "nothing", "neither", "nor", "cannot",
                        "nowhere", "unable"})
_ANTONYMS = [
    ("enable", "disable"), ("increase", "decrease"), ("row", "column"), ("max", "min"), ("maximum", "minimum"),
    ("before", "after"), ("buy", "sell"), ("add", "remove"), ("import", "export"), ("upload", "download"),
    ("start", "stop"), ("open", "close"), ("win", "lose"), ("gain", "lose"), ("gain", "loss"), ("rise", "fall"),
    ("best", "worst"), ("better", "worse"), ("most", "least"), ("more", "less"), ("more", "fewer"),
    ("high", "low"), ("higher", "lower"), ("highest", "lowest"), ("large", "small"), ("larger", "smaller"),
    ("largest", "smallest"), ("big", "small"), ("bigger", "smaller"), ("biggest", "smallest"), ("long", "short"),
    ("longer", "shorter"), ("fast", "slow"), ("faster", "slower"), ("hot", "cold"), ("good", "bad"),
    ("cheap", "expensive"), ("cheapest", "most expensive"), ("old", "new"), ("older", "newer"), ("oldest", "newest"),
    ("young", "old"), ("younger", "older"), ("male", "female"), ("men", "women"), ("man", "woman"), ("boy", "girl"),
    ("up", "down"), ("in", "out"), ("on", "off"), ("inside", "outside"), ("above", "below"), ("over", "under"),
    ("north", "south"), ("east", "west"), ("left", "right"), ("true", "false"), ("yes", "no"), ("pro", "con"),
    ("advantage", "disadvantage"), ("benefit", "drawback"), ("success", "failure"), ("love", "hate"),
    ("legal", "illegal"), ("possible", "impossible"), ("safe", "dangerous"), ("easy", "hard"), ("easy", "difficult"),
    ("early", "late"), ("first", "last"), ("begin", "end"), ("encrypt", "decrypt"), ("compress", "decompress"),
    ("install", "uninstall"), ("connect", "disconnect"), ("lock", "unlock"), ("show", "hide"), ("push", "pull"),
    ("send", "receive"), ("input", "output"), ("client", "server"), ("sync", "async"), ("internal", "external"),
    ("public", "private"), ("horizontal", "vertical"), ("ascending", "descending"), ("upper", "lower"),
    ("uppercase", "lowercase"), ("plus", "minus"), ("positive", "negative"), ("rich", "poor"), ("day", "night"),
    ("summer", "winter"), ("spring", "autumn"), ("birth", "death"), ("import", "export"),
]
_ANTONYM_OF: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _ANTONYM_OF.setdefault(_a, set()).add(_b)
    _ANTONYM_OF.setdefault(_b, set()).add(_a)
_DIRECTION_MARKERS = {"to": "to", "into": "to", "from": "from", "than": "than", "vs": "vs", "versus": "vs",
                      "over": "over", "before": "before", "after": "before", "toward": "to", "towards": "to"}
_STOP = frozenset("""a an the of in on at for by with and or is are was were be been being do does did
    what which who whom whose how why when where can could should would will shall may might must i me my we
    our you your he she it its they them their this that these those there here as about into from to than
    vs versus over before after toward towards if so such some any all each every very much many""".split())
_ENTITIES = frozenset("""
    afghanistan albania algeria argentina armenia australia austria bangladesh belgium bolivia brazil
    bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus czechia denmark ecuador egypt
    england estonia ethiopia finland france georgia germany ghana greece hungary iceland india indonesia iran
    iraq ireland israel italy jamaica japan jordan kazakhstan kenya korea kuwait latvia lebanon libya
    lithuania malaysia mexico mongolia morocco myanmar nepal netherlands zealand nigeria norway pakistan
    palestine panama peru philippines poland portugal qatar romania russia rwanda scotland senegal serbia
    singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand tunisia
    turkey uganda ukraine uae uk usa america venezuela vietnam wales yemen zambia zimbabwe africa asia europe
    london paris berlin tokyo delhi mumbai beijing shanghai moscow rome madrid sydney toronto chicago boston
    bangalore dubai istanbul cairo seoul bangkok hyderabad chennai kolkata pune california texas florida
    python java javascript typescript ruby php perl rust golang kotlin swift scala haskell matlab sql html css
    c++ c# android ios windows linux ubuntu macos iphone ipad
    google apple microsoft amazon facebook meta netflix tesla samsung uber twitter quora youtube instagram
    whatsapp linkedin ibm intel oracle nvidia flipkart infosys tcs wipro accenture deloitte
    english hindi spanish french german chinese japanese russian arabic portuguese italian korean tamil
    telugu bengali urdu marathi punjabi christian muslim hindu jewish buddhist
    trump obama clinton modi gandhi putin
    """.split())


@dataclass(frozen=True)
class Features:
    """What the checks compare, extracted once per text."""

    words: tuple[str, ...]
    numbers: Counter
    negated: bool
    antonym_words: frozenset[str]
    relations: frozenset[tuple[str, str, str]]
    entities: frozenset[str]
    content: tuple[str, ...]
    """Content words in order (stop words and numbers dropped), for the reordering test."""
    has_marker: bool


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _tokens(text: str) -> list[str]:
    text = text.replace("’", "'")
    text = re.sub(r"n't\b", " not", text, flags=re.IGNORECASE)
    text = re.sub(r"\bcan't\b", "can not", text, flags=re.IGNORECASE)
    return _WORD.findall(text)


@lru_cache(maxsize=65536)
def features(text: str) -> Features:
    raw = _tokens(text)
    words = tuple(w.lower().strip("'-") for w in raw)
    numbers = Counter(_NUMBER_WORDS.get(w, w.replace(",", "")) for w in words
                      if w[:1].isdigit() or w in _NUMBER_WORDS)
    negated = sum(1 for w in words if w in _NEGATIONS) % 2 == 1
    stems = [_stem(w) for w in words]
    antonym_words = frozenset(s for s in stems if s in _ANTONYM_OF) | frozenset(
        w for w in words if w in _ANTONYM_OF)
    relations = set()
    content = [(i, s) for i, s in enumerate(stems) if s not in _STOP and not s[:1].isdigit()]
    for i, word in enumerate(words):
        marker = _DIRECTION_MARKERS.get(word)
        if marker is None:
            continue
        left = next((s for j, s in reversed(content) if j < i), None)
        right = next((s for j, s in content if j > i), None)
        if left and right and left != right:
            relations.add((marker, left, right))
    entities = {w.lower() for index, w in enumerate(raw) if index and w[:1].isupper() and w.lower() not in _STOP
                and w != "I"}
    entities |= {w for w in words if w in _ENTITIES}
    has_marker = any(w in _DIRECTION_MARKERS for w in words)
    return Features(words, numbers, negated, antonym_words, frozenset(relations),
                    frozenset(_stem(e) for e in entities), tuple(s for _, s in content), has_marker)


def _numbers_differ(q: Features, c: Features) -> bool:
    return q.numbers != c.numbers


def _negation_differs(q: Features, c: Features) -> bool:
    return q.negated != c.negated


def _antonyms(q: Features, c: Features) -> bool:
    only_q, only_c = q.antonym_words - c.antonym_words, c.antonym_words - q.antonym_words
    return any(_ANTONYM_OF.get(word, set()) & only_c for word in only_q)


def _direction_reversed(q: Features, c: Features) -> bool:
    if any((marker, right, left) in c.relations for marker, left, right in q.relations):
        return True
    # The same words around an asymmetric marker, in another order ("from Android to Huawei P9"
    # / "from Huawei P9 to Android"): a reordering, not a rewording.
    return (q.has_marker and c.has_marker and q.content != c.content
            and Counter(q.content) == Counter(c.content))


def _entities_differ(q: Features, c: Features) -> bool:
    # Entities named in both must be the same; one side naming an entity the other lacks while
    # the other names a different one is a substitution ("Java" -> "Python").
    only_q, only_c = q.entities - c.entities, c.entities - q.entities
    return bool(only_q and only_c)


CHECKS: tuple[tuple[str, Callable[[Features, Features], bool]], ...] = (
    ("number", _numbers_differ),
    ("negation", _negation_differs),
    ("antonym", _antonyms),
    ("direction", _direction_reversed),
    ("entity", _entities_differ),
)


def verify(query: str, candidate: str) -> Optional[str]:
    """None when the candidate's answer fits the query, else the name of the rejecting check."""
    q, c = features(query), features(candidate)
    for name, differs in CHECKS:
        if differs(q, c):
            return name
    return None
