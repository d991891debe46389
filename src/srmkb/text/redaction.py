"""Redact personal data from free text: e-mail addresses, phone numbers, payment cards,
IBANs, French RIBs and French social security numbers (NIR).

Each is replaced by a placeholder (``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``,
``[RIB]``, ``[NIR]``), so a redacted text still says *that* the customer gave one. Used at
ingest by connectors (case notes) and on questions in interaction logs.

The detectors read a folded copy of the text (Unicode NFKC, digits of every script as ASCII,
every dash as ``-``, every space as a space, zero-width characters and soft hyphens dropped),
find digits in groups separated the ways people type them (spaces, dots, dashes, slashes,
brackets, a line break) and keep what a maintained library validates: ``phonenumbers`` for
phones (valid, or possible and grouped as it prints them), ``python-stdnum`` for IBANs, NIRs
and the Luhn check of cards, whose first digits must also be an issuer's; the RIB key is
checked here (stdnum has no RIB). Positions are mapped back, so only the personal data
changes in the original text. A card's expiry date and security code right after it go too.
Phones: any country after ``+``, ``00`` or ``011``; FR, BE, CH, GB and DE numbers with their
trunk ``0``; without it, in the groups these regions and North America print
(``6 12 34 56 78``, ``(415) 555-0134``).

Not detected: names and postal addresses (nothing offline finds them reliably: pass your own
``redactor``); e-mail addresses written out (``jean at gmail dot com``); a phone number glued
to a word or an identifier (``NB-0612345678``), run together past 11 digits or without a
prefix (``4155550134``: an order number as much as a phone), other countries' numbers without
their country code, digits spelled one by one; a RIB laid out in a labelled table; 14-digit
Diners Club and short Maestro cards (SIRET numbers and barcodes pass Luhn too); numbers with
a typo (they fail their checksum). Dates, times, versions, IP and MAC addresses, prices,
order, case and tracking numbers fail these checks and stay.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Literal

from ._emails import find_emails
from ._folding import Origin, fold
from ._numbers import IBAN_START, find_cards, find_ibans, find_nirs, find_ribs
from ._phones import find_phones
from ._scan import Scan, Span

Kind = Literal["email", "iban", "rib", "nir", "card", "phone"]
# Also the order detectors run in: an e-mail may hold digits, an IBAN holds a RIB.
KINDS: tuple[Kind, ...] = ("email", "iban", "rib", "nir", "card", "phone")
PLACEHOLDERS: dict[Kind, str] = {
    "email": "[EMAIL]",
    "iban": "[IBAN]",
    "rib": "[RIB]",
    "nir": "[NIR]",
    "card": "[CARD]",
    "phone": "[PHONE]",
}
Redactor = Callable[[str], str]
"""The caller's own recogniser (names, addresses): takes a text, returns it redacted."""

__all__ = ["KINDS", "PLACEHOLDERS", "Kind", "Redactor", "redact", "redact_with_counts"]


def redact(text: str, *, kinds: Iterable[Kind] = KINDS, redactor: Redactor | None = None) -> str:
    """Return ``text`` with its personal data replaced by placeholders.

    ``redactor`` runs after the built-in detectors, on their output.
    """
    return redact_with_counts(text, kinds=kinds, redactor=redactor)[0]


def redact_with_counts(
    text: str, *, kinds: Iterable[Kind] = KINDS, redactor: Redactor | None = None
) -> tuple[str, Counter[Kind]]:
    """Like :func:`redact`, also counting what the built-in detectors replaced."""
    wanted = set(kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of personal data: {sorted(unknown)}; known: {KINDS}")
    counts: Counter[Kind] = Counter()
    if text:
        folded, origin = fold(text)
        digits = sum(map(folded.count, "0123456789"))
        scan = Scan(folded)
        found: list[tuple[int, int, Kind]] = []
        for kind in KINDS:  # a fixed order, whatever the caller's
            if kind in wanted and _MAY_CONTAIN[kind](scan.text, digits):
                spans = _DETECTORS[kind](scan)
                if spans:
                    found += [(start, end, kind) for start, end in spans]
                    scan = Scan(_mask(scan.text, spans))
        if found:
            text = _replace(text, found, origin)
            counts.update(kind for _, _, kind in found)
    if redactor is not None:
        text = redactor(text)
    return text, counts


def _mask(folded: str, spans: list[Span]) -> str:
    """``folded`` with ``spans`` blanked out, so later detectors neither see nor join them."""
    out, last = [], 0
    for start, end in sorted(spans):
        out += [folded[last:start], "\0" * (end - start)]
        last = end
    out.append(folded[last:])
    return "".join(out)


def _replace(text: str, found: list[tuple[int, int, Kind]], origin: Origin | None) -> str:
    out, last = [], 0
    for start, end, kind in sorted(found):
        if origin is not None:
            start, end = origin(start), origin(end - 1) + 1
        out += [text[last:start], PLACEHOLDERS[kind]]
        last = end
    out.append(text[last:])
    return "".join(out)


_MAY_CONTAIN: dict[Kind, Callable[[str, int], bool]] = {
    "email": lambda text, digits: "@" in text,
    "iban": lambda text, digits: digits >= 10 and IBAN_START.search(text) is not None,
    "rib": lambda text, digits: digits >= 12,
    "nir": lambda text, digits: digits >= 13,
    "card": lambda text, digits: digits >= 13,
    "phone": lambda text, digits: digits >= 8,
}
_DETECTORS: dict[Kind, Callable[[Scan], list[Span]]] = {
    "email": find_emails,
    "iban": find_ibans,
    "rib": find_ribs,
    "nir": find_nirs,
    "card": find_cards,
    "phone": find_phones,
}
