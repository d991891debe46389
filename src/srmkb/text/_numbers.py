"""Bank and identity numbers for redaction: IBANs, French RIBs, French social security
numbers (NIR) and payment cards, each found in its usual print layouts and kept only if its
checksum holds (``python-stdnum`` for IBANs, NIRs and the Luhn check; the RIB key here)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stdnum import iban as stdnum_iban
    from stdnum import luhn, numdb
    from stdnum.fr import nir as stdnum_nir
else:
    from ._lazy import LazyModule

    stdnum_iban = LazyModule("stdnum.iban")
    luhn = LazyModule("stdnum.luhn")
    numdb = LazyModule("stdnum.numdb")
    stdnum_nir = LazyModule("stdnum.fr.nir")

from ._scan import Scan, Span

# --- IBAN and RIB -----------------------------------------------------------------------

# A country code, maybe a space, the check digits; the account part follows in blocks
# separated by spaces, dots, dashes or a line break. Letters may be glued before
# ("IBANFR76…"): the checksum decides.
IBAN_START = re.compile(r"(?<![0-9])([A-Za-z]{2})[ \t]?[0-9]{2}")


@cache
def _iban_body(country: str) -> re.Pattern[str] | None:
    """The account part of ``country``'s IBANs, by the length in the SWIFT registry."""
    structure = numdb.get("iban").info(country)[0][1].get("bban")
    if not structure:
        return None
    length = sum(int(n) for n in re.findall(r"(\d+)!", structure))
    # Letters may follow ("…189BIC"), the checksum decides; digits may not.
    return re.compile(rf"(?:[ \t\r\n.\-]{{0,4}}[A-Za-z0-9]){{{length}}}(?![0-9])")


def find_ibans(scan: Scan) -> list[Span]:
    spans: list[Span] = []
    text = scan.text
    pos = 0
    while match := IBAN_START.search(text, pos):
        body = _iban_body(match.group(1).upper())
        account = body.match(text, match.end()) if body else None
        if account and _iban_valid(match.group() + account.group()):
            spans.append((match.start(), account.end()))
            pos = account.end()
        else:
            pos = match.start() + 1
    return spans


def _iban_valid(written: str) -> bool:
    blocks = re.split(r"[ \t\r\n.-]+", written)
    # A block of letters alone is a bank code ("NWBK"), not a word of the sentence.
    if any(b.isalpha() and len(b) > 4 for b in blocks[1:]):
        return False
    # Country checks left out: Belgium's looks the bank up in a list, which lags banks.
    return stdnum_iban.is_valid("".join(blocks), check_country=False)


_SEP = r"[ \t\r\n.\-]{0,3}"
# Bank, branch, account (letters allowed), key: 30006 00001 12345678901 89.
_RIB = re.compile(
    rf"(?<!\w)([0-9]{{5}}){_SEP}([0-9]{{5}}){_SEP}([0-9A-Za-z]{{11}}){_SEP}([0-9]{{2}})(?!\w)"
)
# Letters in an account number count as digits: A and J as 1, B K S as 2, and so on.
_RIB_LETTERS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "12345678912345678923456789")


def find_ribs(scan: Scan) -> list[Span]:
    return [m.span() for m in _RIB.finditer(scan.text) if _rib_valid("".join(m.groups()))]


def _rib_valid(rib: str) -> bool:
    """The RIB key: bank, branch, account and key read as one number are 0 modulo 97.

    python-stdnum has no French RIB module; this is the same ISO 7064 arithmetic that it
    applies to the IBAN that wraps a RIB.
    """
    digits = rib.upper().translate(_RIB_LETTERS)
    return digits.isascii() and digits.isdigit() and int(digits) % 97 == 0


# --- NIR (French social security number) ------------------------------------------------

# Sex, year, month, department (2A/2B in Corsica), commune, serial, key: 1 85 05 78 006 084 91.
_NIR = re.compile(
    rf"(?<!\w)[1-478]({_SEP})[0-9]{{2}}({_SEP})[0-9]{{2}}({_SEP})(?:[0-9]{{2}}|2[ABab])({_SEP})"
    rf"[0-9]{{3}}({_SEP})[0-9]{{3}}({_SEP})[0-9]{{2}}(?!\w)"
)


def find_nirs(scan: Scan) -> list[Span]:
    spans = []
    for match in _NIR.finditer(scan.text):
        # Written run together, in its seven groups, or with the key apart; another
        # grouping (18505 78006 08491) is some other number.
        spaced = [bool(match[k]) for k in range(1, 7)]
        if any(spaced[:-1]) and not all(spaced):
            continue
        number = re.sub(r"[^0-9ABab]", "", match.group())
        month = int(number[3:5])
        # INSEE months: 01-12, 20 and 30-42 (unknown), 50 and over (foreign-born).
        if (1 <= month <= 12 or month == 20 or 30 <= month <= 42 or month >= 50) and (
            stdnum_nir.is_valid(number)
        ):
            spans.append(match.span())
    return spans


# --- payment cards ----------------------------------------------------------------------

# Issuer ranges (ISO/IEC 7812 IINs) in use and their card lengths.
_LONG = (16, 17, 18, 19)
_CARD_ISSUERS: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),  # Visa, and French Carte Bancaire co-badged cards
    ("51", "55", (16,)),  # Mastercard
    ("2221", "2720", (16,)),
    ("2200", "2204", _LONG),  # Mir
    ("34", "34", (15,)),  # American Express
    ("37", "37", (15,)),
    # Diners Club, not its old 14-digit cards: French SIRET numbers pass Luhn too.
    ("300", "305", _LONG),
    ("36", "36", _LONG),
    ("38", "39", _LONG),
    ("3528", "3589", _LONG),  # JCB
    ("6011", "6011", _LONG),  # Discover
    ("644", "649", _LONG),
    ("65", "65", _LONG),
    ("62", "62", _LONG),  # UnionPay
    ("50", "50", _LONG),  # Maestro (its rare shorter cards look like EAN-13 barcodes)
    ("56", "69", _LONG),
)
_EXPIRY_LABEL = (
    r"(?:exp(?:iry|iration|ires?|\.)?(?:[ \t]*date)?|valid(?:[ \t]+(?:thru|through|until|to))?"
    r"|good[ \t]+thru|date[ \t]+d['’]?\s?expiration|expire(?:[ \t]+(?:le|fin))?"
    r"|fin(?:[ \t]+de[ \t]+validit[ée])?|validit[ée]|val\.?)"
)
_CODE_LABEL = (
    r"(?:cvv2?|cvc2?|csc|cid|cvn|security[ \t]+code|code[ \t]+de[ \t]+s[ée]curit[ée]"
    r"|cryptogramme(?:[ \t]+visuel)?|crypto|code)"
)
_FIELD_GAP = r"[ \t]{0,3}(?:[,;|/:-][ \t]{0,3})?"
_LABEL_GAP = r"[ \t]{0,2}[.:=]?[ \t]{0,3}"
# MM/YY is an expiry date unless a date goes on (12/27/26, 12/27/2026); 12/27/123 is a code.
_DATE_ON = r"[/.-](?:[0-9]{2}|[0-9]{4})(?![0-9])"
_EXPIRY = re.compile(
    rf"{_FIELD_GAP}(?:{_EXPIRY_LABEL}{_LABEL_GAP})?"
    rf"(?:0?[1-9]|1[0-2])[ \t]?[/.-][ \t]?(?:20)?[0-9]{{2}}(?![0-9]|{_DATE_ON})",
    re.IGNORECASE,
)
_CODE = re.compile(rf"{_FIELD_GAP}{_CODE_LABEL}{_LABEL_GAP}[0-9]{{3,4}}(?![0-9])", re.IGNORECASE)
_BARE_CODE = re.compile(rf"{_FIELD_GAP}[0-9]{{3,4}}(?![0-9/.,-]?[0-9])")


# A group that may start a card: 2 to 6, then two more digits or a line break.
_CARD_HINT = re.compile(r"(?<![0-9])[2-6](?:[0-9]{2}|[0-9]?[ \t]*[\r\n])")


@cache
def _issuers() -> dict[str, tuple[int, ...]]:
    """Card lengths by issuer prefix ("4", "51", "2221"…), the ranges written out."""
    return {
        str(prefix): lengths
        for low, high, lengths in _CARD_ISSUERS
        for prefix in range(int(low), int(high) + 1)
    }


@cache
def _card_lengths(head: str) -> frozenset[int]:
    """The lengths of the cards whose number starts with ``head`` (its first four digits)."""
    issuers = _issuers()
    return frozenset(n for size in (1, 2, 3, 4) for n in issuers.get(head[:size], ()))


def _card_tail(text: str, pos: int) -> int:
    """Where the expiry date and security code written right after a card number end."""
    after_expiry = False
    for _ in range(2):
        for pattern in (_EXPIRY, _CODE, _BARE_CODE):
            if pattern is _BARE_CODE and not after_expiry:
                continue
            if match := pattern.match(text, pos):
                after_expiry, pos = pattern is _EXPIRY, match.end()
                break
        else:
            break
    return pos


def find_cards(scan: Scan) -> list[Span]:
    spans: list[Span] = []
    text = scan.text
    for run in scan.runs:
        if run.stop - run.start < 13 or not run.has(_CARD_HINT):
            continue
        groups, seps, n = run.groups, run.seps, len(run.groups)
        # Printed cards group digits by 4 to 8; a shorter group is a date or a quantity,
        # unless a line break cut the number there.
        fits = [len(g) >= 3 for g in groups]
        for k, sep in enumerate(seps):
            if "\n" in sep:
                fits[k] = fits[k + 1] = True
        free = 0
        for i in [k for k, g in enumerate(groups) if g[0] in "23456" and fits[k]]:
            if i < free:
                continue
            # An issuer's, by the first digits, or no card starts here.
            lengths = _card_lengths("".join(groups[i : i + 4])[:4])
            if not lengths:
                continue
            ends: list[int] = []
            total, j = 0, i
            while j < n and fits[j] and total + len(groups[j]) <= 19:
                total += len(groups[j])
                j += 1
                if total in lengths:
                    ends.insert(0, j)
            for j in ends:  # the longest first
                if luhn.is_valid("".join(groups[i:j])):
                    spans.append((run.starts[i], _card_tail(text, run.end(j - 1))))
                    free = j
                    break
    return spans
