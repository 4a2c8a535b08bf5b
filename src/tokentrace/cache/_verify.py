"""The verification stage of the semantic cache: does a similar stored question have the same answer?

Embedding similarity cannot tell "from Canada to India" from "from India to Canada", "Why is"
from "Why isn't", or 2010 from 2020 — those pairs score as high as true paraphrases. After the
nearest-neighbour search, the nearest stored question is checked against the query on what
changes an answer; the first check that disagrees rejects it (its name goes on the span as
``tokentrace.cache.rejected_by``):

``number``    the numeric values differ (digits and number words, by value and count). Words that
              are as often not a count ("one can", "at first", "in one go") only count against
              another such word; "thousands of" is no number;
``negation``  the questions hold a different number of negations (not, n't, never, no, without,
              lack, non-…; a leading "No," answer is not one). In long passages (over 25 words)
              only when the two are near-copies (≥ 70% of their content words shared), since a
              passage reworded sentence by sentence moves negations around;
``antonym``   one uses a word and the other its opposite (enable/disable, increase/decrease,
              rows/columns, max/min, before/after, buy/sell, ...);
``direction`` both relate the same two words around an asymmetric marker (from/to, than,
              vs, into, over, before/after) but in the opposite order, or use the same
              content words around such a marker in another order ("from B to A" counts
              one-letter names);
``entity``    the named things differ: capitalised words (not at a sentence start) and known
              country, city, language and company names in any case; spellings of one name
              ("Python"/"Pythonic") are one entity;
``substitution`` the two are word for word the same except for one or two words replaced,
              and a replaced word on either side matters ("sad"/"happy", "Lisbon"/"Facebook",
              "this"/"Tesla"): not a stop word or connective, not a spelling of the other side's
              word (a plural, "colour"/"color", a typo past the first letter, "log in"/"login"),
              not a number of the same value. It catches what the word lists above do not hold;
              its cost is the paraphrase that swaps one word for a synonym ("learn"/"study"),
              which is then asked of the provider.

Each check was measured on the paraphrase and near-miss files (benchmarks/CACHE_QUALITY.md: what
it rejects of each), and the whole stage on a held-out near-miss file made with other words
(benchmarks/make_nearmiss.py, CACHE_QUALITY_HELDOUT.md): with the word lists alone 3.3% of it was
served; counting antonyms and the substitution check brought that to 0.3%, 0.6% with the tie
group of equally near candidates (of which 0.3% its own near-miss). The checks are lexical, cheap (tens of µs per pair) and conservative: they
reject only on evidence that the answers differ, so true paraphrases (other words, same facts) pass.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['-])*|\d+(?:[.,]\d+)*")
"""Words in any script (letters, inner apostrophes and hyphens) and numbers."""
_CONTRACTIONS = ((re.compile(r"\bcan't\b", re.IGNORECASE), "can not"), (re.compile(r"n't\b", re.IGNORECASE), " not"),
                 (re.compile(r"'m\b", re.IGNORECASE), " am"), (re.compile(r"'ve\b", re.IGNORECASE), " have"),
                 (re.compile(r"'re\b", re.IGNORECASE), " are"), (re.compile(r"'ll\b", re.IGNORECASE), " will"),
                 (re.compile(r"'d\b", re.IGNORECASE), " would"))
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
    "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000",
    "billion": "1000000000", "first": "1", "second": "2", "third": "3", "half": "0.5", "dozen": "12",
}
_VAGUE_NUMBER_WORDS = frozenset({"one", "first", "second", "half", "dozen"})
"""Number words that are as often not a count ("one can", "at first", "in one go"): a value that
only such a word gives, on one side only, is not evidence of a different question."""
_PLURAL_NUMBER_WORDS = frozenset({"hundreds", "thousands", "millions", "billions", "dozens", "tens"})
"""Vague quantities ("thousands of files"): not a number."""
_NEGATIONS = frozenset({"not", "no", "never", "without", "none", "nobody", "nothing", "neither", "nor", "cannot",
                        "nowhere", "unable", "absence", "absent", "lack", "lacks", "lacking"})
_LEADING_ANSWER = re.compile(r"^\s*(?:no|yes)\s*[,.!:;]", re.IGNORECASE)
"""An answer's leading "No," / "Yes," is an interjection, not a negated predicate."""
_SENTENCE_END = frozenset(".!?:;\n")
_POSSESSIVE = re.compile(r"'s$")
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
    ("inside", "outside"), ("above", "below"), ("over", "under"),
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
_CONNECTIVES = frozenset("""then afterwards afterward also additionally furthermore moreover however
    just really actually basically simply please kindly""".split())
"""Words that link or soften without changing what is asked: swapping one for another is no
substitution."""
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
    """Numeric values named (digits and number words, by value), with how often."""
    vague_numbers: frozenset[str]
    """The values named only by a vague number word ("one", "first")."""
    negations: int
    antonym_words: Counter
    """Words (or their stems) that have an opposite in the list, with how often."""
    relations: frozenset[tuple[str, str, str]]
    entities: frozenset[str]
    content: tuple[str, ...]
    """Content words in order (stop words and numbers dropped), for the reordering test."""
    has_marker: bool
    marker_objects: frozenset[tuple[str, str]]
    """Each asymmetric marker with the word right after it ("from"/"a", "to"/"b")."""


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Words and numbers, each with whether it starts a sentence."""
    text = text.replace("’", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    out = []
    last_end = -1
    for match in _WORD.finditer(text):
        gap = text[max(last_end, 0):match.start()].rstrip()
        out.append((match.group(), last_end < 0 or (gap[-1:] or " ") in _SENTENCE_END))
        last_end = match.end()
    return out


def _number_value(word: str) -> Optional[str]:
    if word[:1].isdigit():
        return word.replace(",", "")
    return _NUMBER_WORDS.get(word)


@lru_cache(maxsize=65536)
def features(text: str) -> Features:
    tokens = _tokens(text)
    raw = [t for t, _ in tokens]
    words = tuple(_POSSESSIVE.sub("", w.lower()).strip("'-") for w in raw)
    exact_values = Counter(v for w in words if w not in _VAGUE_NUMBER_WORDS and (v := _number_value(w)) is not None)
    vague_values = {_NUMBER_WORDS[w] for w in words if w in _VAGUE_NUMBER_WORDS} - set(exact_values)
    negations = sum(1 for w in words if w in _NEGATIONS or w.startswith("non-"))
    if _LEADING_ANSWER.match(text) and words[:1] == ("no",):
        negations -= 1
    stems = [_stem(w) for w in words]
    antonym_words = Counter(s if s in _ANTONYM_OF else w for s, w in zip(stems, words)
                            if s in _ANTONYM_OF or w in _ANTONYM_OF)
    relations = set()
    # Relation ends: content words, numbers and one-letter names ("from B to A").
    ends = [(i, s) for i, s in enumerate(stems)
            if (s not in _STOP and s not in _DIRECTION_MARKERS) or (len(raw[i]) == 1 and raw[i].isupper())]
    for i, word in enumerate(words):
        marker = _DIRECTION_MARKERS.get(word)
        if marker is None:
            continue
        left = next((s for j, s in reversed(ends) if j < i), None)
        right = next((s for j, s in ends if j > i), None)
        if left and right and left != right:
            relations.add((marker, left, right))
    content = [s for s in stems if s not in _STOP and not s[:1].isdigit()]
    # Capitalised words name things, except at the start of a sentence ("Then", "Furthermore").
    entities = {w.lower() for w, (_, starts) in zip(raw, tokens) if not starts and w[:1].isupper()
                and w.lower() not in _STOP and w != "I"}
    entities |= {w for w in words if w in _ENTITIES}
    has_marker = any(w in _DIRECTION_MARKERS for w in words)
    marker_objects = frozenset((_DIRECTION_MARKERS[w], words[i + 1]) for i, w in enumerate(words[:-1])
                               if w in _DIRECTION_MARKERS)
    return Features(words, exact_values, frozenset(vague_values), negations, antonym_words,
                    frozenset(relations), frozenset(_stem(e) for e in entities), tuple(content), has_marker,
                    marker_objects)


def _numbers_differ(q: Features, c: Features) -> bool:
    if q.numbers != c.numbers:
        return True
    # A vague word ("one", "first") on one side only is no evidence; against each other they count.
    return bool(q.vague_numbers and c.vague_numbers and q.vague_numbers != c.vague_numbers)


def _negation_differs(q: Features, c: Features) -> bool:
    # Counted, not by parity: "Why don't people think it is not flat?" is not "Why do they think it is?"
    if q.negations == c.negations:
        return False
    # Long passages reworded sentence by sentence move negations around ("without waiting" /
    # "no need to wait"); there only a near-copy (an edit of a word or two) is evidence.
    if min(len(q.words), len(c.words)) <= LONG_TEXT_WORDS:
        return True
    return _overlap(q, c) >= NEAR_COPY_OVERLAP


LONG_TEXT_WORDS = 25
NEAR_COPY_OVERLAP = 0.7


def _overlap(q: Features, c: Features) -> float:
    a, b = set(q.content), set(c.content)
    return len(a & b) / len(a | b) if a or b else 1.0


def _antonyms(q: Features, c: Features) -> bool:
    # Counted: "bad, even with bad frameworks" against "bad, even with good frameworks" is one
    # "bad" turned into "good", though both sides say "bad".
    only_q, only_c = q.antonym_words - c.antonym_words, c.antonym_words - q.antonym_words
    return any(_ANTONYM_OF.get(word, set()) & only_c.keys() for word in only_q)


def _direction_reversed(q: Features, c: Features) -> bool:
    if any((marker, right, left) in c.relations for marker, left, right in q.relations):
        return True
    # The same words around an asymmetric marker, in another order ("from Android to Huawei P9"
    # / "from Huawei P9 to Android"): a reordering, not a rewording.
    if not (q.has_marker and c.has_marker):
        return False
    if q.content != c.content and Counter(q.content) == Counter(c.content):
        return True
    # The markers' objects exchanged, whatever words they are ("from 13k to 10k" / "from 10k to
    # 13k", "from some to 12345" / "from 12345 to some"); moving a whole phrase ("to B from A")
    # keeps each marker's object.
    if q.marker_objects == c.marker_objects:
        return False
    q_markers, q_objects = zip(*q.marker_objects) if q.marker_objects else ((), ())
    c_markers, c_objects = zip(*c.marker_objects) if c.marker_objects else ((), ())
    return Counter(q_markers) == Counter(c_markers) and Counter(q_objects) == Counter(c_objects)


def _entities_differ(q: Features, c: Features) -> bool:
    # Entities named in both must be the same; one side naming an entity the other lacks while
    # the other names a different one is a substitution ("Java" -> "Python"). Spellings of one
    # name (a shared prefix: "Python"/"Pythonic", a typo at the end) are the same entity.
    only_q, only_c = q.entities - c.entities, c.entities - q.entities
    if not (only_q and only_c):
        return False
    unmatched_q = {e for e in only_q if not any(_same_name(e, f) for f in only_c)}
    unmatched_c = {f for f in only_c if not any(_same_name(e, f) for e in only_q)}
    return bool(unmatched_q and unmatched_c)


def _same_name(a: str, b: str) -> bool:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= 5 and long.startswith(short[:max(5, len(short) - 1)])


def _word_substituted(q: Features, c: Features) -> bool:
    # A near-copy with one or two content words replaced and nothing else changed is another
    # question more often than a paraphrase ("sad"/"happy", "Lisbon"/"Facebook", "jump-stop"/
    # "jump-start"): whatever the words, unless they are spellings of one word.
    a, b = q.words, c.words
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    start = 0
    limit = min(len(a), len(b))
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[-1 - end] == b[-1 - end]:
        end += 1
    only_a, only_b = a[start:len(a) - end], b[start:len(b) - end]
    if not only_a or not only_b or len(only_a) > 2 or len(only_b) > 2:
        return False  # a pure insertion, or more than a word or two: not this check's
    joined_a, joined_b = "".join(only_a), "".join(only_b)
    if joined_a == joined_b or _same_spelling(joined_a, (joined_b,)):
        return False  # "log in" / "login", "set up" / "setup"
    # Either side naming something the other does not is enough: "buy this" / "buy Tesla".
    return _replaced(only_a, only_b) or _replaced(only_b, only_a)


def _replaced(words: tuple[str, ...], others: tuple[str, ...]) -> bool:
    """Does ``words`` hold a word that matters and is not a spelling of one of ``others``?

    Stop words and connectives do not matter; a number word matters unless the other side
    names the same value ("three" / "3"), a vague one ("one", "first") only against a word
    that is not a stop word."""
    for word in words:
        if word in _STOP or word in _CONNECTIVES:
            continue
        value = _number_value(word)
        if value is not None and any(_number_value(other) == value for other in others):
            continue
        if word in _VAGUE_NUMBER_WORDS and all(other in _STOP for other in others):
            continue  # "One can" / "You can"
        if not _same_spelling(word, others):
            return True
    return False


def _same_spelling(word: str, others: tuple[str, ...]) -> bool:
    """A plural, a typo or a British/American spelling of one of ``others``: one edit, not in
    the first letter, in words of five letters or more ("colour"/"color"; not "hire"/"fire",
    "weight"/"height")."""
    return any(_stem(word) == _stem(other) or (
        min(len(word), len(other)) >= 5 and word[0] == other[0] and _one_edit(word, other)) for other in others)


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance 1, or two neighbouring letters swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:] or (a[i + 2:] == b[i + 2:] and a[i:i + 2] == b[i:i + 2][::-1])
    return a[i:] == b[i + 1:]


CHECKS: tuple[tuple[str, Callable[[Features, Features], bool]], ...] = (
    ("number", _numbers_differ),
    ("negation", _negation_differs),
    ("antonym", _antonyms),
    ("direction", _direction_reversed),
    ("entity", _entities_differ),
    ("substitution", _word_substituted),
)


def verify(query: str, candidate: str) -> Optional[str]:
    """None when the candidate's answer fits the query, else the name of the rejecting check."""
    q, c = features(query), features(candidate)
    for name, differs in CHECKS:
        if differs(q, c):
            return name
    return None
