"""Redact personal data from free text: e-mail addresses, phone numbers, cards and IBANs.

Each kind of personal data is replaced by a placeholder (``[EMAIL]``, ``[PHONE]``,
``[CARD]``, ``[IBAN]``), so a redacted text still reads naturally and still says *that*
the customer gave a number. Used at ingest by connectors (case notes) and on questions in
interaction logs; it knows nothing about documents.

Detection favours precision on the numbers a support text is full of — dates, order and
case numbers, firmware versions, IP addresses, prices — without letting real personal
data through:

- **IBAN**: a country code, two check digits and the account part, with or without
  spaces; redacted only when the length matches the country's and the ISO 13616 mod-97
  checksum holds.
- **Card**: 13 to 19 digits, plain or in groups of 3 to 6 separated by spaces or dashes
  (``4111 1111 1111 1111``, ``3782-822463-10005``), that pass the Luhn check and start
  with 2 to 6 (the ISO/IEC 7812 ranges of payment cards). A 16-digit order number fails
  Luhn nine times in ten; one that starts with 1, 7, 8 or 9 is never a payment card.
- **Phone**: international numbers (``+33 6 12 34 56 78``, ``+1 (415) 555-0134``,
  ``0044 20 7946 0958``) with 8 to 15 digits; national numbers with a trunk ``0``
  (``06 12 34 56 78``, ``06.12.34.56.78``, ``020 7946 0958``) of 10 or 11 digits, one
  separator style throughout; North American numbers (``(415) 555-0134``,
  ``415-555-0134``, ``415.555.0134``) with valid area and exchange codes. A number glued
  to ``#``, ``/``, ``-`` or a word (``#0612345678``, ``NB-0612345678``) is an identifier,
  not a phone.
- **E-mail**: ``local@domain.tld``.

Not detected: names, postal addresses, obfuscated addresses (``jean at gmail dot com``),
phone numbers written without any separator in North American format (``4155550134``,
indistinguishable from an order number). Detectors run in the order e-mail, IBAN, card,
phone on the text left by the previous one; placeholders hold no digits, so one kind is
never matched twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

Kind = Literal["email", "iban", "card", "phone"]
KINDS: tuple[Kind, ...] = ("email", "iban", "card", "phone")
PLACEHOLDERS: dict[Kind, str] = {
    "email": "[EMAIL]",
    "iban": "[IBAN]",
    "card": "[CARD]",
    "phone": "[PHONE]",
}

__all__ = ["KINDS", "PLACEHOLDERS", "Kind", "redact", "redact_with_counts"]


def redact(text: str, *, kinds: Iterable[Kind] = KINDS) -> str:
    """Return ``text`` with every e-mail, phone, card number and IBAN replaced by a placeholder."""
    return redact_with_counts(text, kinds=kinds)[0]


def redact_with_counts(text: str, *, kinds: Iterable[Kind] = KINDS) -> tuple[str, Counter[Kind]]:
    """Like :func:`redact`, also counting what was replaced, for logs and ingest reports."""
    counts: Counter[Kind] = Counter()
    if not text:
        return text, counts
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of personal data: {sorted(unknown)}; known: {KINDS}")
    for kind in KINDS:  # a fixed order, whatever the caller's
        if kind in wanted and _MAY_CONTAIN[kind](text):
            text, n = _DETECTORS[kind](text)
            counts[kind] += n
    return text, +counts


# Separators people type inside numbers; French typography puts no-break spaces there.
_SP = " \u00a0\u202f"

# --- e-mail -----------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.%+'-])[\w.%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b"
)


def _redact_emails(text: str) -> tuple[str, int]:
    return _EMAIL.subn(PLACEHOLDERS["email"], text)


# --- IBAN -------------------------------------------------------------------------------

# Lengths from the SWIFT IBAN registry; a country missing here is not redacted as an IBAN.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
# A start (country code and check digits), then blocks of letters and digits.
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}")
_IBAN_BLOCK = re.compile(rf"[{_SP}-]?([A-Za-z0-9]+)")


def _iban_valid(candidate: str) -> bool:
    code = candidate[:2].upper()
    if _IBAN_LENGTHS.get(code) != len(candidate):
        return False
    rearranged = (candidate[4:] + candidate[:4]).upper()
    digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(digits) % 97 == 1


def _redact_ibans(text: str) -> tuple[str, int]:
    spans: list[tuple[int, int]] = []
    pos = 0
    while match := _IBAN_START.search(text, pos):
        start = match.start()
        length = _IBAN_LENGTHS.get(match.group().upper()[:2])
        found = None
        if length is not None:
            # Grow block by block up to the country's length: "FR76 3000 … 189 EUR" must not
            # swallow "EUR", and a block that overshoots the length ends the candidate.
            chars, end = match.group()[2:], match.end()
            while len(chars) + 2 < length and (block := _IBAN_BLOCK.match(text, end)):
                chars += block.group(1)
                end = block.end()
            candidate = match.group()[:2] + chars
            if len(candidate) == length and not _word_char_at(text, end) and _iban_valid(candidate):
                found = (start, end)
        if found:
            spans.append(found)
            pos = found[1]
        else:
            pos = match.start() + 1
    return _replace(text, spans, PLACEHOLDERS["iban"])


def _word_char_at(text: str, index: int) -> bool:
    return index < len(text) and (text[index].isalnum() or text[index] == "_")


# --- payment cards ----------------------------------------------------------------------

# Digit groups separated by one space or dash, not glued to a word or to the digits of a
# decimal number; a comma after is fine ("4970298446537001,12/27,123").
_DIGIT_RUN = re.compile(rf"(?<![\w+])(?<!\d[.,])\d+(?:[{_SP}-]\d+)*(?!\w)")
_DIGITS_GROUP = re.compile(r"\d+")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_like(groups: list[str]) -> bool:
    digits = "".join(groups)
    if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
        return False
    # Printed cards group 4-4-4-4, 4-6-5 or 4-6-4; a date next to a case number
    # ("2026-03-14 100482") does not look like that.
    if len(groups) > 1 and (len(groups[0]) != 4 or any(not 3 <= len(g) <= 6 for g in groups)):
        return False
    return _luhn_valid(digits)


def _redact_cards(text: str) -> tuple[str, int]:
    spans: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(text):
        if sum(c.isdigit() for c in run.group()) < 13:
            continue
        # The run may hold a card between other numbers ("ref 12 4111 1111 1111 1111"):
        # look for the longest card-like stretch of whole groups, left to right.
        groups = [(m.group(), m.start() + run.start()) for m in _DIGITS_GROUP.finditer(run.group())]
        i = 0
        while i < len(groups):
            # A card has at most 19 digits, so only a few groups past i can be part of it.
            last, size = i, 0
            while last < len(groups) and size + len(groups[last][0]) <= 19:
                size += len(groups[last][0])
                last += 1
            for j in range(last, i, -1):
                if _card_like([g for g, _ in groups[i:j]]):
                    spans.append((groups[i][1], groups[j - 1][1] + len(groups[j - 1][0])))
                    i = j - 1
                    break
            i += 1
    return _replace(text, spans, PLACEHOLDERS["card"])


# --- phone numbers ----------------------------------------------------------------------

# Not glued to a word, '#', '/', '-' or a number with a decimal point (a version, an IP).
_BEFORE = r"(?<![\w#/+-])(?<!\d[.,])"
_AFTER = r"(?![\w/]|[.,-]\d)"
# Digit groups need a separator between them, so a failed match backtracks little.
_INTERNATIONAL = re.compile(
    _BEFORE
    + rf"(?:\+|\b00)[1-9]\d{{0,2}}(?:[{_SP}.-]?\(0\))?[{_SP}.-]?\(?\d+\)?"
    + rf"(?:[{_SP}.-]\(?\d+\)?)*"
    + _AFTER
)
# 0 then 9 or 10 more digits, one separator style throughout: 06 12 34 56 78, 020 7946 0958.
_NATIONAL = re.compile(
    _BEFORE + rf"0[1-9]\d{{0,3}}(?P<sep>[{_SP}.-]?)\d{{2,8}}(?:(?P=sep)\d{{2,8}}){{0,3}}" + _AFTER
)
_NANP = re.compile(
    _BEFORE
    + rf"(?:1[{_SP}.-])?(?:\([2-9]\d{{2}}\)[{_SP}]?|[2-9]\d{{2}}(?P<sep>[{_SP}.-]))"
    + rf"[2-9]\d{{2}}(?(sep)(?P=sep)|[{_SP}.-])\d{{4}}"
    + _AFTER
)
_INTERNATIONAL_GROUP = re.compile(r"\(0\)|\d+")


def _international(match: re.Match[str]) -> tuple[int, int] | None:
    """The span of an international number: 8 to 15 digits (E.164), counting no "(0)".

    A number run on into a following one ("+33 6 12 34 56 78 2026-03-14") is cut where
    it would pass 15 digits, one group earlier if the separator changes there ("2026"
    goes with "-03-14"): better to hide part of a date than part of a phone.
    """
    text, base = match.group(), match.start()
    # The 00 prefix is not part of the number; without it a Salesforce-style case number
    # ("00123456") is too short to be a phone.
    skip = 2 if text.startswith("00") else 0
    kept: list[tuple[int, int, int]] = []  # (start, end, digits so far) of each group
    digits, overflow = 0, False
    for group in _INTERNATIONAL_GROUP.finditer(text):
        if group.group() == "(0)":
            continue
        size = len(group.group()) - (skip if group.start() == 0 else 0)
        if digits + size > 15:
            overflow = True
            break
        digits += size
        kept.append((group.start(), group.end(), digits))
    if overflow and len(kept) > 2:
        (_, before_end, _), (start, end, _) = kept[-2], kept[-1]
        after = text[end : end + 1]
        if text[before_end:start].strip("()") != after and kept[-2][2] >= 8:
            kept.pop()
    if not kept or kept[-1][2] < 8:
        return None
    end = kept[-1][1]
    if end < len(text) and text[end] == ")":  # "(415)": the parenthesis goes too
        end += 1
    return base, base + end


def _national(low: int, high: int) -> Callable[[re.Match[str]], tuple[int, int] | None]:
    def check(match: re.Match[str]) -> tuple[int, int] | None:
        digits = sum(c.isdigit() for c in match.group())
        return match.span() if low <= digits <= high else None

    return check


_PHONE_RULES: tuple[
    tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[int, int] | None]], ...
] = (
    (_INTERNATIONAL, _international),
    (_NATIONAL, _national(10, 11)),
    (_NANP, _national(10, 11)),
)


def _redact_phones(text: str) -> tuple[str, int]:
    total = 0
    for pattern, check in _PHONE_RULES:
        spans = [span for m in pattern.finditer(text) if (span := check(m))]
        text, n = _replace(text, spans, PLACEHOLDERS["phone"])
        total += n
    return text, total


# --- plumbing ---------------------------------------------------------------------------


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> tuple[str, int]:
    if not spans:
        return text, 0
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(placeholder)
        last = end
    out.append(text[last:])
    return "".join(out), len(spans)


_DIGITS = re.compile(r"\d")
# Cheap pre-checks: most texts hold no '@' and few digits, so most detectors never run.
_MAY_CONTAIN: dict[Kind, Callable[[str], bool]] = {
    "email": lambda t: "@" in t,
    "iban": lambda t: _IBAN_START.search(t) is not None,
    "card": lambda t: len(_DIGITS.findall(t)) >= 13,
    "phone": lambda t: len(_DIGITS.findall(t)) >= 8,
}
_DETECTORS: dict[Kind, Callable[[str], tuple[str, int]]] = {
    "email": _redact_emails,
    "iban": _redact_ibans,
    "card": _redact_cards,
    "phone": _redact_phones,
}
