import time

import pytest

from tokentrace._pii import _SECRET_KEY_NAMES, ALL_KINDS, NO_SCRUB, PIIScrubber, _luhn_ok

SCRUB = PIIScrubber()

EMAIL = "[REDACTED_EMAIL]"
PHONE = "[REDACTED_PHONE]"
CARD = "[REDACTED_CARD]"
API_KEY = "[REDACTED_API_KEY]"
TOKEN = "[REDACTED_TOKEN]"
IP = "[REDACTED_IP]"

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvZSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail jane.doe@example.com now", f"mail {EMAIL} now"),
        ("<john.o'hara+tag@mail.example.co.uk>", f"<john.o'{EMAIL}>"),
        ("a@b.io,c_d@e-f.org", f"{EMAIL},{EMAIL}"),
        ("Émile: émile@exämple.fr", f"Émile: {EMAIL}"),
        ("mailto:ops@corp.internal.", f"mailto:{EMAIL}."),
    ],
)
def test_emails_are_redacted(text, expected):
    assert SCRUB.scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "@dataclass",
        "ping @alice about it",
        "user@localhost",
        "the price is 5@3.50",
        "git@github",
    ],
)
def test_email_lookalikes_are_kept(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415 555 0100",
        "+1 (415) 555-0100",
        "+14155550100",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+49 30 12345678",
        "+33 1 23 45 67 89",
        "(415) 555-0100",
        "415-555-0100",
        "415.555.0100",
        "415 555 0100",
        "1 415 555 0100",
        "020 7946 0958",
        "07700 900123",
        "01 23 45 67 89",
        "(030) 1234-5678",
        "030/12345678",
    ],
)
def test_phone_numbers_are_redacted(phone):
    assert SCRUB.scrub(f"call {phone}, thanks") == f"call {PHONE}, thanks"


@pytest.mark.parametrize(
    "text",
    [
        "released on 2024-08-06 at 10:30",
        "in 2024 and 2025",
        "total $1,234,567.89 or €1.234.567,89",
        "upgrade to v10.15.7 or 3.11.4",
        "order 10 20 30 40 50 units",
        "on 01.02.2024 10.30 sharp",
        "ISBN 978-3-16-148410-0",
        "id 4155550100 has no separators",
        "timestamp 1722945600000",
        "555-0100 is too short",
        "+1 555 0100 is too short too",
        "pi is 3.14159265358979",
        "range 100-200-300-400",
        "version 2024.08.06.1",
        "+12 rows",
    ],
)
def test_ordinary_numbers_are_not_phones(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize(
    "card",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        "5555 5555 5555 4444",
        "378282246310005",
        "3782 822463 10005",
        "6011111111111117",
        "4222222222222",
    ],
)
def test_luhn_valid_card_numbers_are_redacted(card):
    assert SCRUB.scrub(f"card: {card}.") == f"card: {CARD}."


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "card 4111111111111112",
        "order 41111111111111111111111",  # too long
        "id 4111 1111 1111 1111 1111 1",
    ],
)
def test_luhn_failing_and_overlong_numbers_are_kept(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize("timestamp", ["1722945600003", "1722945600000000003"])
def test_luhn_valid_timestamps_are_kept(timestamp):
    # Millisecond and nanosecond timestamps start with 1, which no card network issues.
    assert _luhn_ok(timestamp)
    assert SCRUB.scrub(f"t={timestamp}") == f"t={timestamp}"


@pytest.mark.parametrize(
    "key",
    [
        "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z_-AbCdEf",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-AbCdEf",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "AKIAIOSFODNN7EXAMPLE",
        "ASIAIOSFODNN7EXAMPLE",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234-5678-abcdefghij",
        "AIzaSyD-1234567890abcdefghijklmnopqrstu",
    ],
)
def test_vendor_api_keys_are_redacted(key):
    assert SCRUB.scrub(f"use {key} here") == f"use {API_KEY} here"


@pytest.mark.parametrize(
    "text",
    [
        "pip install scikit-learn; sk-learn-compatible-estimator-interface",
        "task-list-item-with-a-very-long-name-1234567890",
        "risk-free and ask-me-anything",
        "AKIA is short",
        "ghp_tooShort1",
        "the ASIA-pacific region",
    ],
)
def test_vendor_key_lookalikes_are_kept(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_key=abc123secret&x=1", f"api_key={API_KEY}&x=1"),
        ("OPENAI_API_KEY=sk-xyz", f"OPENAI_API_KEY={API_KEY}"),
        ('{"password": "hunter2", "user": "bob"}', f'{{"password": "{API_KEY}", "user": "bob"}}'),
        ("password = 'correct horse battery'", f"password = '{API_KEY}'"),
        ('"Password":"a\\"b c"', f'"Password":"{API_KEY}"'),
        ('{\\"client_secret\\": \\"s3cr3t\\"}', f'{{\\"client_secret\\": \\"{API_KEY}\\"}}'),
        ("x-api-key: q1w2e3r4", f"x-api-key: {API_KEY}"),
        ("DB_PASSWD=p@ss;", f"DB_PASSWD={API_KEY};"),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG", f"aws_secret_access_key = {API_KEY}"),
        ("refresh-token: r1.abc", f"refresh-token: {API_KEY}"),
        ("password=a=b=c rest", f"password={API_KEY} rest"),
    ],
)
def test_secret_assignments_keep_the_key_and_redact_the_value(text, expected):
    assert SCRUB.scrub(text) == expected


@pytest.mark.parametrize("name", _SECRET_KEY_NAMES)
def test_every_secret_key_name_is_recognised_in_each_spelling(name):
    for spelling in (name, name.replace("_", "-"), name.replace("_", "").upper()):
        text = f"{spelling}=v4lue and {spelling}: 'v4lue'"
        assert SCRUB.scrub(text) == f"{spelling}={API_KEY} and {spelling}: '{API_KEY}'"
        assert SCRUB.scrub_value({spelling: "v4lue"}) == {spelling: API_KEY}


@pytest.mark.parametrize(
    "text",
    [
        "def connect(password: str, api_key: Optional[str] = None):",
        '{"password": ""}',
        '{"password": null}',
        "max_tokens=100, input_tokens: 42",
        "password_hint=birthday",
        "the secret of success",
        "reset your password via the link",
    ],
)
def test_secret_assignment_lookalikes_are_kept(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123_XYZ", f"Authorization: Bearer {TOKEN}"),
        ("authorization: Basic dXNlcjpwYXNz", f"authorization: Basic {TOKEN}"),
        ('"Proxy-Authorization": "Basic Zm9vOmJhcg=="', f'"Proxy-Authorization": "Basic {TOKEN}"'),
        ("Authorization: a1b2c3d4e5f6", f"Authorization: {TOKEN}"),
        ("curl -H 'bearer ya29.A0ARrdaM-1234567'", f"curl -H 'bearer {TOKEN}'"),
        (f"jwt={JWT};", f"jwt={TOKEN};"),
        (f"token {JWT} end", f"token {TOKEN} end"),
    ],
)
def test_bearer_tokens_authorization_values_and_jwts_are_redacted(text, expected):
    assert SCRUB.scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: authenticated users only",
        "use a Bearer token in the header",
        "the bearer of bad news",
        "eyJust kidding.not a token",
    ],
)
def test_token_lookalikes_are_kept(text):
    assert SCRUB.scrub(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host 192.168.1.1:8080 up", f"host {IP}:8080 up"),
        ("from 10.0.0.1.", f"from {IP}."),
        ("v6 2001:db8::8a2e:370:7334 ok", f"v6 {IP} ok"),
        ("full 2001:0db8:85a3:0000:0000:8a2e:0370:7334", f"full {IP}"),
        ("link fe80::1 up", f"link {IP} up"),
        ("mapped ::ffff:192.168.1.1 too", f"mapped {IP} too"),
        ("[2001:db8::1]:443", f"[{IP}]:443"),
    ],
)
def test_ip_addresses_are_redacted(text, expected):
    assert SCRUB.scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bad 192.168.1.300",
        "bad 256.1.1.1",
        "version 1.2.3.4.5",
        "leading 010.1.1.1",
        "time 12:30:45",
        "slice a[1::2] and b[::3]",
        "std::vector<int>",
        "mac 00:1a:2b:3c:4d:5e",
        "loopback ::1 is not personal",
    ],
)
def test_ip_lookalikes_are_kept(text):
    assert SCRUB.scrub(text) == text


def test_mixed_text_redacts_every_kind_and_keeps_the_rest():
    text = (
        "On 2024-08-06 Jane (jane@example.com, +1 415 555 0100) paid $42.50 with "
        "4111 1111 1111 1111 from 203.0.113.7 using key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t."
    )
    assert SCRUB.scrub(text) == (
        f"On 2024-08-06 Jane ({EMAIL}, {PHONE}) paid $42.50 with "
        f"{CARD} from {IP} using key {API_KEY}."
    )


def test_scrub_is_idempotent():
    once = SCRUB.scrub("password=x1 a@b.io Bearer abcdef123456 4111111111111111 10.0.0.1")
    assert SCRUB.scrub(once) == once


def test_kinds_limit_what_is_redacted():
    text = "a@b.io 4111 1111 1111 1111 password=x Bearer abcdef123456 10.0.0.1"
    assert PIIScrubber(kinds={"email"}).scrub(text) == (
        f"{EMAIL} 4111 1111 1111 1111 password=x Bearer abcdef123456 10.0.0.1"
    )
    assert PIIScrubber(kinds={"token", "ip"}).scrub(text) == (
        f"a@b.io 4111 1111 1111 1111 password=x Bearer {TOKEN} {IP}"
    )
    assert PIIScrubber(kinds={"card", "api_key"}).scrub(text) == (
        f"a@b.io {CARD} password={API_KEY} Bearer abcdef123456 10.0.0.1"
    )


def test_unknown_kind_and_negative_length_are_rejected():
    with pytest.raises(ValueError, match="unknown PII kinds"):
        PIIScrubber(kinds={"email", "ssn"})
    with pytest.raises(ValueError, match="max_length"):
        PIIScrubber(max_length=-1)


def test_all_kinds_is_the_default():
    assert PIIScrubber().kinds == ALL_KINDS


def test_text_that_lower_cases_to_a_different_length_keeps_offsets_aligned():
    # "İ".lower() is two characters; a secret after it must still be cut at the right place.
    assert SCRUB.scrub("İİ API_KEY=Secret123 ok") == f"İİ API_KEY={API_KEY} ok"


def test_length_cap_truncates_and_says_how_much():
    scrubber = PIIScrubber(max_length=10)
    assert scrubber.scrub("x" * 25) == "x" * 10 + "…[truncated 15 chars]"
    assert scrubber.scrub("x" * 10) == "x" * 10


def test_length_cap_applies_to_the_scrubbed_text():
    text = "mail jane.doe.long@example.com"  # 30 characters, 21 once redacted
    assert PIIScrubber(max_length=25).scrub(text) == f"mail {EMAIL}"
    assert PIIScrubber(max_length=20).scrub(text) == f"mail {EMAIL}"[:20] + "…[truncated 1 chars]"


def test_secret_straddling_the_cap_is_redacted_before_truncation():
    key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
    out = PIIScrubber(max_length=20).scrub("x" * 15 + " " + key + " tail " * 100)
    assert out.startswith("x" * 15 + " [RED")
    assert "sk-" not in out
    assert out.endswith("chars]")


def test_cap_on_long_text_counts_every_dropped_character():
    text = "a" * 50 + " " + "jane@example.com " * 20_000
    out = PIIScrubber(max_length=60).scrub(text)
    assert out == "a" * 50 + " " + EMAIL[:9] + f"…[truncated {len(text) - 60} chars]"


def test_disabled_scrubber_returns_input_unchanged():
    text = "jane@example.com 4111 1111 1111 1111 password=x"
    assert PIIScrubber(enabled=False).scrub(text) is text
    assert NO_SCRUB.scrub(text) is text
    payload = {"password": "x", "items": [text]}
    assert NO_SCRUB.scrub_value(payload) is payload


def test_disabled_scrubber_still_caps_length():
    scrubber = PIIScrubber(enabled=False, max_length=5)
    assert scrubber.scrub("jane@example.com") == "jane@…[truncated 11 chars]"
    assert scrubber.scrub_value({"a": ["jane@example.com"]}) == {"a": ["jane@…[truncated 11 chars]"]}


def test_scrub_value_walks_nested_structures():
    value = {
        "role": "user",
        "parts": [
            {"type": "text", "content": "mail jane@example.com"},
            {
                "type": "tool_call",
                "arguments": {"card": "4111 1111 1111 1111", "ids": [1, 2.5, None, True]},
            },
        ],
        "meta": ("from 10.0.0.1",),
    }
    assert SCRUB.scrub_value(value) == {
        "role": "user",
        "parts": [
            {"type": "text", "content": f"mail {EMAIL}"},
            {"type": "tool_call", "arguments": {"card": CARD, "ids": [1, 2.5, None, True]}},
        ],
        "meta": [f"from {IP}"],
    }
    assert value["parts"][0]["content"] == "mail jane@example.com"  # input untouched


def test_scrub_value_redacts_whole_values_under_secret_keys():
    value = {
        "password": "hunter2",
        "OPENAI_API_KEY": "anything at all",
        "Authorization": "Bearer abc",
        "authorization": "opaque",
        "api_key": 12345,
        "passwords_reset": "no",
        "tokens": "many",
    }
    assert SCRUB.scrub_value(value) == {
        "password": API_KEY,
        "OPENAI_API_KEY": API_KEY,
        "Authorization": f"Bearer {TOKEN}",
        "authorization": TOKEN,
        "api_key": 12345,
        "passwords_reset": "no",
        "tokens": "many",
    }


@pytest.mark.parametrize(
    "text",
    [
        "1" * 100_000,
        "1 " * 50_000,
        "1-" * 50_000,
        "+1 " * 30_000,
        "a@" * 50_000,
        "a@b." * 25_000,
        "a." * 50_000 + "@x.com",
        "::" * 50_000,
        "ab:" * 30_000,
        "password=" * 10_000,
        "password: x " * 10_000,
        'password: "' * 10_000,
        "bearer " * 15_000,
        "sk-" + "a" * 100_000,
        "4111 " * 20_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_pathological_inputs_stay_linear(text):
    start = time.perf_counter()
    SCRUB.scrub(text)
    assert time.perf_counter() - start < 1.0
