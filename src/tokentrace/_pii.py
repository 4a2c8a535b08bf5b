"""Scrubbing of personal data and secrets from captured prompt and response content.

This runs on every captured message, so it is built around what is fast in CPython: ``str``
searches for single characters (a memchr) and regular expressions whose first item is a
literal or a character class, which the engine scans for in C. A leading lookbehind or
``IGNORECASE`` makes ``re`` try every position instead, 5-10x slower. So each kind has its own
pass, skipped by a cheap ``in`` check when it cannot match: secrets named by a key are found
from the ":" and "=" backwards, e-mail addresses from the "@", IPv6 addresses from the ":",
numbers from runs of digits; and the checks a regex cannot make (Luhn for cards, address
validity for IPs, digit counts for phones) run on the rare candidates only.

Precision matters as much as recall: LLM traffic is full of dates, prices, versions, ids,
timestamps and code, and over-redaction makes traces useless.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterable, Mapping, Optional

__all__ = ["ALL_KINDS", "NO_SCRUB", "PIIScrubber"]

EMAIL = "email"
PHONE = "phone"
CARD = "card"
API_KEY = "api_key"
TOKEN = "token"
IP = "ip"
ALL_KINDS: frozenset[str] = frozenset({EMAIL, PHONE, CARD, API_KEY, TOKEN, IP})
"""Every kind :class:`PIIScrubber` knows; its default."""

_PLACEHOLDER = {kind: f"[REDACTED_{kind.upper()}]" for kind in ALL_KINDS}

# --- secrets named by a key: "password=...", "Authorization: ...", "Bearer ..." ---------------

# Key names ending right before a ":" or "="; "_" stands for "_", "-" or nothing. Any prefix
# ("openai_api_key", "x-api-key") is allowed and left as it is.
_SECRET_KEY_NAMES = (
    "api_key", "api_secret", "api_token", "access_key", "access_key_id", "access_token",
    "auth_token", "secret", "secret_key", "secret_access_key", "session_token", "password",
    "passwd", "pwd", "passphrase", "private_key", "client_secret", "refresh_token", "id_token",
    "bearer_token",
)
_AUTH_KEY = "authorization"  # also matches "Proxy-Authorization"
# One of these is in every key name above.
_KEY_WORDS = {API_KEY: ("key", "secret", "token", "pass", "pwd"), TOKEN: (_AUTH_KEY,)}


def _key_regex(name: str) -> str:
    return "[_-]?".join(re.escape(part) for part in name.split("_"))


# Whole-key forms, for dict keys in scrub_value().
_SECRET_KEY_RE = re.compile(
    rf"(?:[a-z0-9]+[_.-])*(?:{'|'.join(map(_key_regex, _SECRET_KEY_NAMES))})", re.IGNORECASE
)
_AUTH_KEY_RE = re.compile(r"(?:proxy-)?authorization", re.IGNORECASE)

# Characters of base64/base64url/hex credentials.
_CRED = r"[A-Za-z0-9._~+/=-]"
# A credential after "Bearer" or a bare "Authorization:" must look random (a digit, or long),
# so prose such as "Authorization: authenticated users" survives.
_RANDOM_CRED = rf"(?={_CRED}*[0-9]|{_CRED}{{20}}){_CRED}{{8,}}"
_AUTH_SCHEMES = r"(?i:basic|bearer|token|digest|negotiate|bot|apikey|dsn)"
_AUTH_SCHEME_RE = re.compile(rf"{_AUTH_SCHEMES}[ \t]+")
# Unquoted values that are code, not secrets: "def f(password: str)", "api_key=None".
_NOT_A_SECRET = (
    r"(?i:str|int|bool|bytes|none|null|true|false|undefined|string|number|optional|secretstr)\b"
)
# Values, matched from just after the ":" or "=".
_ASSIGNED_VALUE_RE = re.compile(
    r"[ \t]*(\\\"[^\"\n]*?\\\"|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'"
    rf"|(?!{_NOT_A_SECRET})[^\s\"',;&{{}}\[\]()<>]+)"
)
_AUTH_VALUE_RE = re.compile(
    rf"[ \t]*\\?[\"']?(?:{_AUTH_SCHEMES}[ \t]+({_CRED}{{6,}})|({_RANDOM_CRED}))"
)
_BEARER_VALUE_RE = re.compile(rf"[ \t]+({_RANDOM_CRED})")
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _key_before_separator_regex(kinds: frozenset[str]) -> Optional[re.Pattern[str]]:
    """Finds, in the reversed lower-cased text, a ":" or "=" and the key name before it.

    Searching forwards for key names would stop at every "a", "p", "s"...; the reversed
    pattern starts with the separator class, so the engine stops only at ":" and "=".
    """
    names = []
    if TOKEN in kinds:
        names.append(f"(?P<auth>{_key_regex(_AUTH_KEY[::-1])})")
    if API_KEY in kinds:
        # Grouped by last letter, so that each separator tries five letters, not 20 names.
        by_last: dict[str, list[str]] = {}
        for name in _SECRET_KEY_NAMES:
            by_last.setdefault(name[-1], []).append(_key_regex(name[::-1])[1:])
        names += (f"{last}(?:{'|'.join(rests)})" for last, rests in sorted(by_last.items()))
    if not names:
        return None
    # Reversed: the separator, spaces, an optional quote (and its JSON-escaping backslash),
    # then the name.
    return re.compile(rf"[:=][ \t]*(?:[\"']\\?)?(?:{'|'.join(names)})")


# --- secrets recognisable by their own shape ---------------------------------------------------

# Every alternative starts with a literal (the boundary lookbehind comes after it) so that the
# engine only stops at those letters; a leading lookbehind would make it try every position.
_VENDOR_KEYS = (
    # OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-): random, so with a digit.
    r"sk-(?<![\w-]sk-)(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}",
    r"sk_(?<![\w-]sk_)(?:live|test)_[A-Za-z0-9]{16,}",
    r"rk_(?<![\w-]rk_)(?:live|test)_[A-Za-z0-9]{16,}",
    r"AKIA(?<![\w-]AKIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    r"ASIA(?<![\w-]ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
    r"gh(?<![\w-]gh)[pousr]_[A-Za-z0-9]{30,}",
    r"github_pat_(?<![\w-]github_pat_)[A-Za-z0-9_]{22,}",
    r"xox(?<![\w-]xox)[abeoprs]-[A-Za-z0-9-]{10,}",
    r"AIza(?<![\w-]AIza)[0-9A-Za-z_-]{35}(?![\w-])",
)
_JWT = r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"


_GITHUB_PREFIX_RE = re.compile(r"gh[pousr]_|github_pat_")


def _may_hold_shaped_secret(text: str) -> bool:
    # Single-character "in" is a memchr; multi-character ones cost ~1 µs per 2 KB each, so
    # they are only asked once the separator they need is present.
    if "-" in text and ("sk-" in text or "xox" in text):
        return True
    if "_" in text and ("k_live_" in text or "k_test_" in text or _GITHUB_PREFIX_RE.search(text)):
        return True
    if "A" in text and ("AKIA" in text or "ASIA" in text or "AIza" in text):
        return True
    return "J" in text and "eyJ" in text


# --- e-mail and IPv6, found from their "@" and ":" and extended leftwards -----------------------

_EMAIL_DOMAIN_RE = re.compile(r"@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_EMAIL_LOCAL_MAX = 128
_IPV6_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV6_FROM_FIRST_COLON_RE = re.compile(
    rf":(?:[0-9A-Fa-f]{{0,4}}:){{1,6}}(?:(?:{_IPV6_OCTET}\.){{3}}{_IPV6_OCTET}|[0-9A-Fa-f]{{1,4}})?"
    r"(?![\w:]|\.[0-9])"
)
_HEX = frozenset("0123456789abcdefABCDEF")

# --- numbers: IPv4, cards, phones ---------------------------------------------------------------

# The pattern consumes the first character as a class (fast scan), then each branch checks that
# character with a one-character lookbehind and continues after it.
_D = "[0-9]"
_PS = "[ .-]"  # phone group separator
_PHONE_END = r"(?!\w|[.-]?[0-9])"
_PHONE_TAIL = (
    # International: +CC and digit groups split by one separator or a parenthesised group
    # ("+44 (0)20 7946 0958"); no optional separators, so a number splits only one way.
    rf"(?<=\+)[1-9]{_D}*(?:(?:{_PS}|{_PS}?\({_D}{{1,4}}\){_PS}?){_D}+)*{_PHONE_END}"
    # North American: 1 415.555.0100, (415) 555-0100, 415-555-0100.
    rf"|(?<=1){_PS}(?:\({_D}{{3}}\) ?|{_D}{{3}}{_PS}){_D}{{3}}{_PS}{_D}{{4}}{_PHONE_END}"
    rf"|(?<=\(){_D}{{3}}\) ?{_D}{{3}}{_PS}{_D}{{4}}{_PHONE_END}"
    rf"|(?<=[0-9]){_D}{{2}}{_PS}{_D}{{3}}{_PS}{_D}{{4}}{_PHONE_END}"
    # Trunk-prefix national: (030) 1234-5678, 020 7946 0958, 07700 900123, 01 23 45 67 89.
    rf"|(?<=\()0{_D}{{1,4}}\) ?{_D}{{2,8}}(?:{_PS}{_D}{{2,4}}){{0,4}}{_PHONE_END}"
    rf"|(?<=0){_D}{{1,4}}(?:{_PS}|/){_D}{{2,8}}(?:{_PS}{_D}{{2,4}}){{0,4}}{_PHONE_END}"
)
_NUMBER_START = r"[0-9+(](?<![\w.][0-9+(])"
_NUMBER_BRANCHES = {
    IP: rf"(?P<ipv4>(?<=[0-9]){_D}{{0,2}}(?:\.{_D}{{1,3}}){{3}}(?!\w|\.[0-9]))",
    # Issuer digits 2-6 (Mastercard, Amex, Diners, JCB, Visa, Discover, UnionPay) keep
    # 1... millisecond/nanosecond timestamps and 9... ISBNs out.
    CARD: (
        rf"(?P<card>(?<=[2-6])(?<![+-][2-6])"
        rf"(?:{_D}{{12,18}}|{_D}{{3}}(?:[ -]{_D}{{3,6}}){{2,4}})(?!\w|[.-][0-9]))"
    ),
    PHONE: rf"(?P<phone>{_PHONE_TAIL})",
}
_PHONE_RE = re.compile(rf"[0-9+(](?:{_PHONE_TAIL})")
# Every number the branches match lies in such a run (7+ characters, ending in a digit); the
# cheap run scan keeps the costlier branches off the short numbers prose is full of.
_NUMBER_RUN_RE = re.compile(r"[0-9+(][0-9 ()./+-]{5,}[0-9]")
_NON_DIGITS = str.maketrans("", "", " ()./+-")

_TRUNCATION_MARKER = "…[truncated {} chars]"
# Scrub this far past the cap so that a secret straddling it is still recognised whole.
_CAP_MARGIN = 256
_WHITESPACE = re.compile(r"\s")
_DIGITS = re.compile(r"[0-9]")
_NANP_COUNTRY = re.compile(r"^1[ .-]")
_NON_SEPARATORS = re.compile(r"[0-9()]")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _plausible_phone(text: str) -> bool:
    digits = len(_DIGITS.findall(text))
    if not 10 <= digits <= 15:
        return False
    if text.startswith("+"):
        return True
    # National numbers use one separator style; "01.02.2024 10.30" mixes two.
    national = _NANP_COUNTRY.sub("", text).replace(") ", ")")
    return len(set(_NON_SEPARATORS.sub("", national))) <= 1


def _valid_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _plausible_ipv6(text: str) -> bool:
    groups = [group for group in text.split(":") if group]
    # Slices and scopes in code ("a[1::2]", "std::x") are valid addresses too; a real address
    # has either several groups or a full-width one ("fe80::1").
    if len(groups) < 2 or (len(groups) < 3 and max(len(g) for g in groups) < 3):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_email_local_char(char: str) -> bool:
    return char.isalnum() or char in "._%+-"


def _replace_spans(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; spans ascend, never overlap."""
    pieces: list[str] = []
    last = 0
    for start, end, replacement in spans:
        pieces.append(text[last:start])
        pieces.append(replacement)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _value_span(text: str, start: int, authorization: bool) -> Optional[tuple[int, int, str]]:
    if authorization:
        match = _AUTH_VALUE_RE.match(text, start)
        if match is None:
            return None
        group = 1 if match.start(1) >= 0 else 2
        return match.start(group), match.end(group), _PLACEHOLDER[TOKEN]
    match = _ASSIGNED_VALUE_RE.match(text, start)
    if match is None:
        return None
    value_start, value_end = match.span(1)
    value = match.group(1)
    for quote in ('\\"', '"', "'"):
        if value.startswith(quote) and len(value) >= 2 * len(quote):
            if len(value) == 2 * len(quote):
                return None  # an empty value hides nothing
            return value_start + len(quote), value_end - len(quote), _PLACEHOLDER[API_KEY]
    return value_start, value_end, _PLACEHOLDER[API_KEY]


def _without_overlaps(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for span in sorted(spans):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


class PIIScrubber:
    """Redacts personal data and secrets from text and caps its length.

    ``kinds`` selects what is redacted, from :data:`ALL_KINDS`: ``"email"``, ``"phone"``,
    ``"card"`` (Luhn-valid numbers only), ``"api_key"`` (vendor keys and ``password=...``-style
    assignments), ``"token"`` (bearer tokens, ``Authorization`` values and JWTs) and ``"ip"``.
    Each finding becomes a placeholder such as ``[REDACTED_EMAIL]``. With ``enabled=False``
    nothing is redacted and only the length cap applies. ``max_length`` caps each scrubbed
    text at that many characters and appends ``…[truncated N chars]``.
    """

    __slots__ = (
        "enabled", "max_length", "kinds", "_key_before_separator", "_key_words", "_shaped",
        "_numbers",
    )

    def __init__(
        self,
        enabled: bool = True,
        max_length: Optional[int] = None,
        kinds: Iterable[str] = ALL_KINDS,
    ) -> None:
        kinds = frozenset(kinds)
        unknown = kinds - ALL_KINDS
        if unknown:
            raise ValueError(f"unknown PII kinds {sorted(unknown)}; known: {sorted(ALL_KINDS)}")
        if max_length is not None and max_length < 0:
            raise ValueError("max_length must be a non-negative number of characters or None")
        self.enabled = enabled and bool(kinds)
        self.max_length = max_length
        self.kinds = kinds if self.enabled else frozenset()
        self._key_before_separator = _key_before_separator_regex(self.kinds)
        self._key_words = tuple(
            word for kind, words in _KEY_WORDS.items() if kind in self.kinds for word in words
        )
        self._shaped = self._compile_shaped(self.kinds)
        branches = [regex for kind, regex in _NUMBER_BRANCHES.items() if kind in self.kinds]
        self._numbers = (
            re.compile(f"{_NUMBER_START}(?:{'|'.join(branches)})") if branches else None
        )

    @staticmethod
    def _compile_shaped(kinds: frozenset[str]) -> Optional[re.Pattern[str]]:
        branches: list[str] = []
        if TOKEN in kinds:
            branches.append(_JWT)
        if API_KEY in kinds:
            branches += _VENDOR_KEYS
        return re.compile("|".join(branches)) if branches else None

    def __repr__(self) -> str:
        kinds = ",".join(sorted(self.kinds)) if self.enabled else "none"
        return f"PIIScrubber(kinds={kinds}, max_length={self.max_length})"

    def scrub(self, text: str) -> str:
        """``text`` with every finding replaced by its placeholder, then length-capped."""
        if not text:
            return text
        limit = self.max_length
        if limit is None or len(text) <= limit:
            return self._cap(self._redact(text), 0)
        end = self._window_end(text, limit)
        out = self._redact(text[:end])
        tail = len(text) - end
        if tail and len(out) + tail <= limit:
            # Placeholders shrank the head enough that the rest fits after all.
            out, tail = self._redact(text), 0
        return self._cap(out, tail)

    def scrub_value(self, obj: Any) -> Any:
        """Scrub every string in a JSON-like structure, returning a new structure.

        Dict keys are kept as they are; a string under a secret-looking key (``password``,
        ``api_key``, ``authorization``...) is redacted whole. Tuples become lists.
        """
        if not self.enabled and self.max_length is None:
            return obj
        return self._scrub_value(obj)

    def _scrub_value(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.scrub(obj)
        if isinstance(obj, Mapping):
            return {key: self._scrub_item(key, value) for key, value in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self._scrub_value(item) for item in obj]
        return obj

    def _scrub_item(self, key: Any, value: Any) -> Any:
        if isinstance(value, str) and value and isinstance(key, str):
            if API_KEY in self.kinds and _SECRET_KEY_RE.fullmatch(key):
                return _PLACEHOLDER[API_KEY]
            if TOKEN in self.kinds and _AUTH_KEY_RE.fullmatch(key):
                scheme = _AUTH_SCHEME_RE.match(value)
                return (scheme.group(0) if scheme else "") + _PLACEHOLDER[TOKEN]
        return self._scrub_value(value)

    # Passes run in this order; each later pass sees the placeholders of the earlier ones,
    # which contain nothing any pass matches.
    def _redact(self, text: str) -> str:
        if not self.enabled:
            return text
        if self._key_before_separator is not None or TOKEN in self.kinds:
            text = _replace_spans(text, self._keyed_spans(text))
        if self._shaped is not None and _may_hold_shaped_secret(text):
            text = self._shaped.sub(self._shaped_placeholder, text)
        if EMAIL in self.kinds and "@" in text:
            text = _replace_spans(text, self._email_spans(text))
        # Every IPv6 address has "::" or seven colons.
        if IP in self.kinds and ("::" in text or text.count(":") >= 7):
            text = _replace_spans(text, self._ipv6_spans(text))
        if self._numbers is not None:
            text = _replace_spans(text, self._number_spans(text))
        return text

    def _keyed_spans(self, text: str) -> list[tuple[int, int, str]]:
        lower = text.lower()
        if len(lower) != len(text):
            # A few characters ("İ") lower-case to two; offsets must stay aligned.
            lower = text.translate(_ASCII_LOWER)
        spans: list[tuple[int, int, str]] = []
        key_before = self._key_before_separator
        if (
            key_before is not None
            and (":" in text or "=" in text)
            # A regex scan costs ~10 ns a character, a substring check a tenth of that.
            and any(word in lower for word in self._key_words)
        ):
            last = len(text) - 1
            keyed = sorted(
                (last - key.start(), key.lastgroup == "auth")
                for key in key_before.finditer(lower[::-1])
            )
            resume = 0
            for at, authorization in keyed:
                if at < resume:
                    continue  # inside a value already redacted ("a=b=c" is one value)
                span = _value_span(text, at + 1, authorization)
                if span is not None:
                    spans.append(span)
                    resume = span[1]
        if TOKEN in self.kinds:
            at = lower.find("bearer")
            while at >= 0:
                before = text[at - 1] if at else ""
                value = _BEARER_VALUE_RE.match(text, at + 6)
                if value is not None and not (before.isalnum() or before in "_-"):
                    spans.append((value.start(1), value.end(1), _PLACEHOLDER[TOKEN]))
                at = lower.find("bearer", at + 6)
        return _without_overlaps(spans)

    @staticmethod
    def _shaped_placeholder(match: re.Match[str]) -> str:
        return _PLACEHOLDER[TOKEN if match.group(0).startswith("eyJ") else API_KEY]

    @staticmethod
    def _email_spans(text: str) -> Iterable[tuple[int, int, str]]:
        last = 0
        for match in _EMAIL_DOMAIN_RE.finditer(text):
            at = start = match.start()
            floor = max(last, at - _EMAIL_LOCAL_MAX)
            while start > floor and _is_email_local_char(text[start - 1]):
                start -= 1
            if start < at:
                last = match.end()
                yield start, last, _PLACEHOLDER[EMAIL]

    @staticmethod
    def _ipv6_spans(text: str) -> Iterable[tuple[int, int, str]]:
        last = 0
        for match in _IPV6_FROM_FIRST_COLON_RE.finditer(text):
            start = match.start()
            floor = max(last, start - 4)
            while start > floor and text[start - 1] in _HEX:
                start -= 1
            before = text[start - 1] if start else ""
            if before and (before.isalnum() or before in "_:."):
                continue
            if _plausible_ipv6(text[start : match.end()]):
                last = match.end()
                yield start, last, _PLACEHOLDER[IP]

    def _number_spans(self, text: str) -> Iterable[tuple[int, int, str]]:
        numbers = self._numbers
        assert numbers is not None
        for run in _NUMBER_RUN_RE.finditer(text):
            chars = run.group()
            # Phones and cards have 10+ digits and IPv4 addresses three dots: dates, times,
            # prices and versions stop here.
            if len(chars.translate(_NON_DIGITS)) < 10 and chars.count(".") < 3:
                continue
            # One character past the run is all the trailing lookaheads need to see.
            for match in numbers.finditer(text, run.start(), run.end() + 1):
                replacement = self._number(match)
                if replacement is not None:
                    yield match.start(), match.end(), replacement

    def _number(self, match: re.Match[str]) -> Optional[str]:
        text = match.group(0)
        kind = match.lastgroup
        if kind == "ipv4":
            return _PLACEHOLDER[IP] if _valid_ipv4(text) else None
        if kind == "card":
            digits = "".join(_DIGITS.findall(text))
            if 13 <= len(digits) <= 19 and _luhn_ok(digits):
                return _PLACEHOLDER[CARD]
            if PHONE in self.kinds and _PHONE_RE.fullmatch(text) and _plausible_phone(text):
                return _PLACEHOLDER[PHONE]
            return None
        return _PLACEHOLDER[PHONE] if _plausible_phone(text) else None

    def _cap(self, text: str, dropped: int) -> str:
        limit = self.max_length
        if limit is None or len(text) + dropped <= limit:
            return text
        return text[:limit] + _TRUNCATION_MARKER.format(len(text) - limit + dropped)

    @staticmethod
    def _window_end(text: str, limit: int) -> int:
        end = limit + _CAP_MARGIN
        if end >= len(text):
            return len(text)
        space = _WHITESPACE.search(text, end)
        return space.start() if space else len(text)


NO_SCRUB = PIIScrubber(enabled=False)
"""Identity scrubber: redacts nothing, caps nothing."""
