"""Scrubbing of personal data and secrets from captured prompt and response content.

Runs on every captured message when content capture is on, so one combined regular expression
does all the scanning; the few kinds that regexes cannot decide alone (Luhn for card numbers,
address validity for IPv6, digit counts for phone numbers) are checked on the candidates only.
Precision matters as much as recall: LLM traffic is full of dates, prices, versions, ids,
timestamps and code, and over-redaction makes traces useless.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterable, Mapping, Optional

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

# Characters of base64/base64url/hex credentials.
_CRED = r"[A-Za-z0-9._~+/=-]"
# A credential after "Bearer" or a bare "Authorization:" must look random (a digit, or long),
# so prose such as "Authorization: authenticated users" survives.
_RANDOM_CRED = rf"(?={_CRED}*[0-9]|{_CRED}{{20}}){_CRED}{{8,}}"
_AUTH_SCHEMES = r"(?i:basic|bearer|token|digest|negotiate|bot|apikey|dsn)"
_AUTH_PREFIX = r"(?<![\w-])(?i:(?:proxy-)?authorization)\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?"
# Unquoted values that are code, not secrets: "def f(password: str)", "api_key=None".
_NOT_A_SECRET = r"(?:str|int|bool|bytes|None|null|true|false|undefined|string|number|Optional|SecretStr)\b"

# Key names whose values are secrets, with any prefix segments ("x-api-key", "db_password").
_SECRET_KEY_NAME = (
    r"(?i:(?:[a-z0-9]+[_.-])*"
    r"(?:api[_-]?key|apikey|api[_-]?secret|secret(?:[_-]?key)?|client[_-]?secret"
    r"|passw(?:or)?d|pwd|passphrase|private[_-]?key|secret[_-]?access[_-]?key"
    r"|access[_-]?key(?:[_-]?id)?|(?:access|auth|refresh|session|id|api|bearer)[_-]?token))"
)
_SECRET_KEY_RE = re.compile(_SECRET_KEY_NAME)
_AUTH_KEY_RE = re.compile(r"(?i:(?:proxy-)?authorization)")

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PHONE_SEP = r"[ .-]"
_PHONE = (
    r"(?<![\w+])(?:"
    # International: +CC and digit groups split by one separator or a parenthesised group
    # ("+44 (0)20 7946 0958"); no optional separators, so there is one way to split.
    rf"\+[1-9][0-9]*(?:(?:{_PHONE_SEP}|{_PHONE_SEP}?\([0-9]{{1,4}}\){_PHONE_SEP}?)[0-9]+)*"
    # North American: (415) 555-0100, 415-555-0100, 1 415.555.0100.
    rf"|(?:1{_PHONE_SEP})?(?:\([0-9]{{3}}\) ?|[0-9]{{3}}{_PHONE_SEP})[0-9]{{3}}{_PHONE_SEP}[0-9]{{4}}"
    # Trunk-prefix national: 020 7946 0958, 07700 900123, 01 23 45 67 89, (030) 1234-5678.
    rf"|\(?0[0-9]{{1,4}}(?:\) ?|{_PHONE_SEP}|/)[0-9]{{2,8}}(?:{_PHONE_SEP}[0-9]{{2,4}}){{0,4}}"
    r")(?!\w|[.-]?[0-9])"
)
_PHONE_RE = re.compile(_PHONE)

# Branch order decides between kinds that can start at the same position.
_BRANCHES: tuple[tuple[str, str, str], ...] = (
    (
        TOKEN,
        "auth",
        rf"(?P<auth_key>{_AUTH_PREFIX}{_AUTH_SCHEMES}[ \t]+)(?P<auth_val>{_CRED}{{6,}})",
    ),
    (TOKEN, "auth_bare", rf"(?P<auth_bare_key>{_AUTH_PREFIX})(?P<auth_bare_val>{_RANDOM_CRED})"),
    (TOKEN, "bearer", rf"(?P<bearer_key>(?<![\w-])(?i:bearer)[ \t]+)(?P<bearer_val>{_RANDOM_CRED})"),
    (TOKEN, "jwt", r"(?<![\w-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"),
    (
        API_KEY,
        "assign",
        rf"(?P<assign_key>(?<![\w-]){_SECRET_KEY_NAME}(?![\w-])\\?[\"']?[ \t]*[:=][ \t]*)"
        r"(?P<assign_val>\\\"[^\"\n]*?\\\"|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'"
        rf"|(?!{_NOT_A_SECRET})[^\s\"',;&{{}}\[\]()<>]+)",
    ),
    (
        API_KEY,
        "vendor_key",
        r"(?<![\w-])(?:"
        # OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-): random, so with a digit.
        r"sk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"
        r"|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"
        r"|(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"
        r"|gh[pousr]_[A-Za-z0-9]{30,}"
        r"|github_pat_[A-Za-z0-9_]{22,}"
        r"|xox[abeoprs]-[A-Za-z0-9-]{10,}"
        r"|AIza[0-9A-Za-z_-]{35}(?![\w-])"
        r")",
    ),
    (
        EMAIL,
        "email",
        # The lookbehind makes each run of local-part characters start one attempt, not one
        # per character, which keeps long words without "@" linear.
        r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    ),
    (IP, "ipv4", rf"(?<![\w.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\w|\.[0-9])"),
    (
        IP,
        "ipv6",
        r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}"
        rf"(?:(?:{_OCTET}\.){{3}}{_OCTET}|[0-9A-Fa-f]{{1,4}})?(?![\w:]|\.[0-9])",
    ),
    (
        CARD,
        "card",
        # Issuer digits 2-6 (Mastercard, Amex, Diners, JCB, Visa, Discover, UnionPay) keep
        # 1... millisecond/nanosecond timestamps and 9... ISBNs out.
        r"(?<![\w.+-])[2-6](?:[0-9]{12,18}|[0-9]{3}(?:[ -][0-9]{3,6}){2,4})(?!\w|[.-][0-9])",
    ),
    (PHONE, "phone", _PHONE),
)

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
    separators = set(_NON_SEPARATORS.sub("", national))
    return len(separators) <= 1


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


class PIIScrubber:
    """Redacts personal data and secrets from text and caps its length.

    ``kinds`` selects what is redacted, from :data:`ALL_KINDS`: ``"email"``, ``"phone"``,
    ``"card"`` (Luhn-valid numbers only), ``"api_key"`` (vendor keys and ``password=...``-style
    assignments), ``"token"`` (bearer tokens, ``Authorization`` values and JWTs) and ``"ip"``.
    Each finding becomes a placeholder such as ``[REDACTED_EMAIL]``. With ``enabled=False``
    nothing is redacted and only the length cap applies. ``max_length`` caps each scrubbed
    text at that many characters and appends ``…[truncated N chars]``.
    """

    __slots__ = ("enabled", "max_length", "kinds", "_pattern", "_handlers")

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
        self.kinds = kinds
        branches = [(name, regex) for kind, name, regex in _BRANCHES if kind in kinds]
        self._pattern = (
            re.compile("|".join(f"(?P<{name}>{regex})" for name, regex in branches))
            if self.enabled
            else None
        )
        self._handlers: dict[str, Callable[[re.Match[str]], str]] = {
            "auth": self._keep_prefix("auth_key", TOKEN),
            "auth_bare": self._keep_prefix("auth_bare_key", TOKEN),
            "bearer": self._keep_prefix("bearer_key", TOKEN),
            "jwt": lambda match: _PLACEHOLDER[TOKEN],
            "assign": self._assignment,
            "vendor_key": lambda match: _PLACEHOLDER[API_KEY],
            "email": lambda match: _PLACEHOLDER[EMAIL],
            "ipv4": lambda match: _PLACEHOLDER[IP],
            "ipv6": self._ipv6,
            "card": self._card,
            "phone": self._phone,
        }

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
        ``api_key``, ``authorization``...) is redacted whole.
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
        if self.enabled and isinstance(value, str) and value and isinstance(key, str):
            if API_KEY in self.kinds and _SECRET_KEY_RE.fullmatch(key):
                return _PLACEHOLDER[API_KEY]
            if TOKEN in self.kinds and _AUTH_KEY_RE.fullmatch(key):
                return self._cap(self._authorization_value(value), 0)
        return self._scrub_value(value)

    def _redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        return self._handlers[match.lastgroup or ""](match)

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

    @staticmethod
    def _keep_prefix(group: str, kind: str) -> Callable[[re.Match[str]], str]:
        placeholder = _PLACEHOLDER[kind]
        return lambda match: match.group(group) + placeholder

    @staticmethod
    def _assignment(match: re.Match[str]) -> str:
        value = match.group("assign_val")
        quote = ""
        for candidate in ('\\"', '"', "'"):
            if value.startswith(candidate) and len(value) >= 2 * len(candidate):
                quote = candidate
                break
        if quote and len(value) == 2 * len(quote):
            return match.group(0)  # an empty value hides nothing
        return f"{match.group('assign_key')}{quote}{_PLACEHOLDER[API_KEY]}{quote}"

    def _authorization_value(self, value: str) -> str:
        scheme = re.match(rf"{_AUTH_SCHEMES}[ \t]+", value)
        return (scheme.group(0) if scheme else "") + _PLACEHOLDER[TOKEN]

    @staticmethod
    def _ipv6(match: re.Match[str]) -> str:
        text = match.group(0)
        return _PLACEHOLDER[IP] if _plausible_ipv6(text) else text

    def _card(self, match: re.Match[str]) -> str:
        text = match.group(0)
        digits = "".join(_DIGITS.findall(text))
        if 13 <= len(digits) <= 19 and _luhn_ok(digits):
            return _PLACEHOLDER[CARD]
        if PHONE in self.kinds and _PHONE_RE.fullmatch(text) and _plausible_phone(text):
            return _PLACEHOLDER[PHONE]
        return text

    @staticmethod
    def _phone(match: re.Match[str]) -> str:
        text = match.group(0)
        return _PLACEHOLDER[PHONE] if _plausible_phone(text) else text


NO_SCRUB = PIIScrubber(enabled=False)
"""Identity scrubber: redacts nothing, caps nothing."""
