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

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import cache, cached_property, lru_cache
from itertools import accumulate
from typing import Literal, NamedTuple

import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import luhn, numdb
from stdnum.fr import nir as stdnum_nir

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

Span = tuple[int, int]


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
        folded, origin = _fold(text)
        digits = sum(map(folded.count, "0123456789"))
        scan = _Scan(folded)
        found: list[tuple[int, int, Kind]] = []
        for kind in KINDS:  # a fixed order, whatever the caller's
            if kind in wanted and _MAY_CONTAIN[kind](scan.text, digits):
                spans = _DETECTORS[kind](scan)
                if spans:
                    found += [(start, end, kind) for start, end in spans]
                    scan = _Scan(_mask(scan.text, spans))
        if found:
            text = _replace(text, found, origin)
            counts.update(kind for _, _, kind in found)
    if redactor is not None:
        text = redactor(text)
    return text, counts


# --- folding: what the detectors read ---------------------------------------------------

_INVISIBLE = frozenset("\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", char):
        if ch.isascii():
            out.append(ch)
        elif ch in _INVISIBLE:
            continue
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            out.append(str(digit))  # Arabic-Indic, Devanagari… (NFKC keeps them)
        elif unicodedata.category(ch) == "Pd" or ch == "\u2212":
            out.append("-")
        elif ch in "\u0085\u2028\u2029":
            out.append("\n")
        elif ch.isspace():
            out.append(" ")
        elif ch in "\u00b7\u2027\u2219":  # middle dots, as between digit groups
            out.append(".")
        elif ch in "\u2044\u2215":
            out.append("/")
        else:
            out.append(ch)
    return "".join(out)


def _fold(text: str) -> tuple[str, _Origin | None]:
    """The folded text, and where its characters come from in ``text`` (None when each
    character folds to one: positions agree)."""
    if text.isascii():
        return text, None
    table = {c: f for c in set(text) if not c.isascii() and (f := _fold_char(c)) != c}
    if not table:
        return text, None
    changing = re.compile(f"[{re.escape(''.join(table))}]")
    if all(len(f) == 1 for f in table.values()):
        return changing.sub(lambda m: table[m[0]], text), None
    pieces: list[str] = []
    origin = _Origin()
    last = 0
    for match in changing.finditer(text):
        start, folded = match.start(), table[match[0]]
        origin.add(text[last:start], last, True)
        origin.add(folded, start, len(folded) == 1)
        pieces += [text[last:start], folded]
        last = start + 1
    origin.add(text[last:], last, True)
    pieces.append(text[last:])
    return "".join(pieces), origin


class _Origin:
    """Positions in the folded text mapped back to the original, piece by piece: a piece
    of characters that fold one to one, or what one character expanded to ("ﬁ": "fi")."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # where each piece starts in the folded text
        self._origins: list[int] = []  # and in the original
        self._even: list[bool] = []
        self._length = 0

    def add(self, folded: str, origin: int, even: bool) -> None:
        if folded:
            self._starts.append(self._length)
            self._origins.append(origin)
            self._even.append(even)
            self._length += len(folded)

    def __call__(self, pos: int) -> int:
        """The original character that folded character ``pos`` comes from."""
        k = bisect_right(self._starts, pos) - 1
        return self._origins[k] + (pos - self._starts[k] if self._even[k] else 0)


def _mask(folded: str, spans: list[Span]) -> str:
    """``folded`` with ``spans`` blanked out, so later detectors neither see nor join them."""
    out, last = [], 0
    for start, end in sorted(spans):
        out += [folded[last:start], "\0" * (end - start)]
        last = end
    out.append(folded[last:])
    return "".join(out)


def _replace(text: str, found: list[tuple[int, int, Kind]], origin: _Origin | None) -> str:
    out, last = [], 0
    for start, end, kind in sorted(found):
        if origin is not None:
            start, end = origin(start), origin(end - 1) + 1
        out += [text[last:start], PLACEHOLDERS[kind]]
        last = end
    out.append(text[last:])
    return "".join(out)


# --- e-mail -----------------------------------------------------------------------------

# Unquoted, the characters addresses use in practice (RFC 5322 allows more, which URLs use).
_LOCAL = r"[\w.+'%&-]"
_LOCAL_START = r"[\w+'%&-]"  # not a dot
# A local part starts where a run of its characters starts (or after a dot), so a long run
# without '@' is read once; it has at most 64 characters (RFC 5321). Domain labels are
# letters, digits and hyphens in any script (IDN), the last one letters (or punycode).
_EMAIL = re.compile(
    rf"(?:(?<!{_LOCAL_START}){_LOCAL_START}{_LOCAL}{{0,63}}|\"[^\"\r\n]{{1,64}}\")"
    r"[ \t]{0,2}@[ \t]{0,2}"
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})(?![\w-])",
    re.IGNORECASE,
)
_AT = re.compile("@")


def _find_emails(scan: _Scan) -> list[Span]:
    text = scan.text
    if text.count("@") * 256 > len(text):  # '@' everywhere: one pass over the whole text
        return [m.span() for m in _EMAIL.finditer(text)]
    # Few '@': read only around each, as far as an address reaches (64 + 2 + 255 + 2).
    spans: list[Span] = []
    end = 0
    for at in _AT.finditer(text):
        for match in _EMAIL.finditer(text, max(end, at.start() - 66), at.start() + 258):
            if match.end() > at.start():
                if match.start() <= at.start():
                    spans.append(match.span())
                    end = match.end()
                break
    return spans


# --- IBAN and RIB -----------------------------------------------------------------------

# A country code, maybe a space, the check digits; the account part follows in blocks
# separated by spaces, dots, dashes or a line break. Letters may be glued before
# ("IBANFR76…"): the checksum decides.
_IBAN_START = re.compile(r"(?<![0-9])([A-Za-z]{2})[ \t]?[0-9]{2}")


@cache
def _iban_body(country: str) -> re.Pattern[str] | None:
    """The account part of ``country``'s IBANs, by the length in the SWIFT registry."""
    structure = numdb.get("iban").info(country)[0][1].get("bban")
    if not structure:
        return None
    length = sum(int(n) for n in re.findall(r"(\d+)!", structure))
    # Letters may follow ("…189BIC"), the checksum decides; digits may not.
    return re.compile(rf"(?:[ \t\r\n.\-]{{0,4}}[A-Za-z0-9]){{{length}}}(?![0-9])")


def _find_ibans(scan: _Scan) -> list[Span]:
    spans: list[Span] = []
    text = scan.text
    pos = 0
    while match := _IBAN_START.search(text, pos):
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


def _find_ribs(scan: _Scan) -> list[Span]:
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


def _find_nirs(scan: _Scan) -> list[Span]:
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


# --- digit runs: cards and phones -------------------------------------------------------

# Digit groups and what people put between them; the two classes never overlap, so a
# run is read once whatever follows it.
_RUN_SEP = r"[ \t\r\n./()\-]{1,6}"
_RUN = re.compile(rf"[0-9]+(?:{_RUN_SEP}[0-9]+)*")
_BETWEEN = re.compile(r"([^0-9]+)")


class _Run:
    """A run of digit groups in the folded text, split when a detector looks inside."""

    def __init__(self, text: str, start: int, stop: int) -> None:
        self.text, self.start, self.stop = text, start, stop
        self.before = text[max(0, start - 2) : start]  # the two characters before the run
        self.after = text[stop : stop + 1]  # the character after it

    def has(self, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.text, self.start, self.stop) is not None

    @cached_property
    def groups(self) -> list[str]:
        return self._parts[0::2]

    @cached_property
    def seps(self) -> list[str]:
        """``seps[k]`` is between ``groups[k]`` and ``groups[k + 1]``."""
        return self._parts[1::2]

    @cached_property
    def starts(self) -> list[int]:
        """Where each group starts in the text."""
        return list(accumulate(map(len, self._parts), initial=self.start))[0::2]

    def end(self, k: int) -> int:
        return self.starts[k] + len(self.groups[k])

    @cached_property
    def _parts(self) -> list[str]:
        return _BETWEEN.split(self.text[self.start : self.stop])


class _Scan:
    """The folded text and the digit runs in it, found once for every detector that needs
    them while the text is unchanged."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def runs(self) -> list[_Run]:
        return [_Run(self.text, *m.span()) for m in _RUN.finditer(self.text) if len(m[0]) >= 8]


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


def _card_number(digits: str) -> bool:
    issuers = _issuers()
    return any(
        len(digits) in issuers.get(digits[:size], ()) for size in (1, 2, 3, 4)
    ) and luhn.is_valid(digits)


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


def _find_cards(scan: _Scan) -> list[Span]:
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
            ends: list[int] = []
            total, j = 0, i
            while j < n and fits[j] and total + len(groups[j]) <= 19:
                total += len(groups[j])
                j += 1
                if total >= 13:
                    ends.insert(0, j)
            for j in ends:  # the longest first
                if _card_number("".join(groups[i:j])):
                    spans.append((run.starts[i], _card_tail(text, run.end(j - 1))))
                    free = j
                    break
    return spans


# --- phone numbers ----------------------------------------------------------------------

# Regions whose numbers are read in national form, trunk prefix 0 first.
_TRUNK_REGIONS = ("FR", "BE", "CH", "GB", "DE")
_NANP = "US"  # North America: no trunk prefix, or a 1 written apart (1-800-555-0199)
# A group that may start a number after a trunk or international prefix: 06…, 0 800…, 00…
_TRUNK_HINT = re.compile(r"(?<![0-9])0(?:[0-9]|[ \t./()-]{1,6}[0-9]{2})")


class _Region(NamedTuple):
    """What the detector needs of a country's phonenumbers metadata."""

    code: int  # country calling code
    trunk: str  # national (trunk) prefix: "0", "1" or ""
    lengths: frozenset[int]  # lengths of its national significant numbers
    formats: tuple[tuple[re.Pattern[str] | None, re.Pattern[str]], ...]


@cache
def _region(region: str | int) -> _Region | None:
    """A region by its code ("FR") or a country calling code (33: its main region)."""
    if isinstance(region, int):
        code, region = region, phonenumbers.region_code_for_country_code(region)
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    else:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None or meta.country_code is None:
        return None
    formats = tuple(
        (re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None,
         re.compile(f.pattern))
        for f in (meta.intl_number_format or meta.number_format)
        if f.pattern and f.format != "NA"
    )  # fmt: skip
    lengths = frozenset(meta.general_desc.possible_length)
    return _Region(meta.country_code, meta.national_prefix or "", lengths, formats)


def _format_cuts(region: _Region, nsn: str) -> tuple[int, ...]:
    """Where phonenumbers puts spaces in ``nsn`` when it formats it: the groups of the first
    format in its metadata whose leading digits and pattern match, as ``format_number`` picks."""
    for leading, pattern in region.formats:
        if (leading is None or leading.match(nsn)) and (m := pattern.fullmatch(nsn)):
            return tuple(m.end(g) for g in range(1, pattern.groups))
    return ()


class _Reading(NamedTuple):
    number: phonenumbers.PhoneNumber
    lead: tuple[int, ...]  # digit counts where the parts before the number end (00, 33, 0)
    cuts: tuple[int, ...]  # where phonenumbers groups the national number, from its start
    loose: bool  # written with a prefix (+, 00, 011, trunk 0): may be run together
    plus: bool = False  # written after a +, which only phone numbers are


def _reading(
    digits: str, region: _Region | None, lead: tuple[int, ...], loose: bool, plus: bool = False
) -> _Reading | None:
    """``digits`` read as a number of ``region`` written after ``lead``, if its length fits."""
    if region is None:
        return None
    nsn = digits[lead[-1] :]
    if len(nsn) not in region.lengths or nsn[0] == "0":  # (Italy's 0s are not read here)
        return None
    number = phonenumbers.PhoneNumber(country_code=region.code, national_number=int(nsn))
    return _Reading(number, lead, _format_cuts(region, nsn), loose, plus)


def _international(digits: str, idd: int) -> Iterator[_Reading | None]:
    """``digits`` after an international prefix of ``idd`` digits (+, 00 or 011)."""
    if digits.startswith("0", idd):
        return
    for size in (1, 2, 3):  # calling codes are prefix-free
        code = int(digits[idd : idd + size] or 0)
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            region, start, plus = _region(code), idd + size, idd == 0
            if region and not region.trunk and digits.startswith("0", start):
                yield _parsed(digits, idd)  # Italy's numbers keep their 0
                return
            yield _reading(digits, region, (idd, start), True, plus)
            if region and region.trunk and digits.startswith(region.trunk, start):
                # "+33 06 12 34 56 78": the trunk prefix, written in error
                yield _reading(digits, region, (idd, start, start + len(region.trunk)), True, plus)
            return


def _parsed(digits: str, idd: int) -> _Reading | None:
    """``digits`` after an international prefix, as phonenumbers parses them."""
    try:
        number = phonenumbers.parse("+" + digits[idd:], None)
    except phonenumbers.NumberParseException:
        return None
    nsn = phonenumbers.national_significant_number(number)
    if not digits.endswith(nsn):
        return None
    fmt = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    cuts = tuple(accumulate(map(len, re.findall("[0-9]+", fmt)[1:-1])))
    code = len(str(number.country_code))
    return _Reading(number, (idd, idd + code, len(digits) - len(nsn)), cuts, True, idd == 0)


def _fit(reading: _Reading, window: _Window) -> int:
    """2: a valid number (or a possible one, spaced) grouped as phonenumbers groups it;
    1: a valid number written with a prefix and grouped some other consistent way;
    0: not a phone number."""
    cuts, start = window.cuts, reading.lead[-1]
    if not window.tidy:
        return 0
    strict = all(c in reading.lead or c - start in reading.cuts for c in cuts)
    # Grouped by thousands past a trunk prefix (0123.456.789): a Belgian company number, an
    # amount; a phone number only after a country code (+33 612 345 678).
    thousands = len(cuts) >= 2 and len(reading.lead) == 1 and window.by_thousands
    lenient = reading.loose and not strict and not thousands and window.lenient
    if not (strict or lenient):
        return 0
    number = reading.number
    if _valid(number.country_code, number.national_number, number.italian_leading_zero):
        return 2 if strict and (reading.loose or len(cuts) >= 2) else int(lenient)
    # Unallocated ranges (07700 900123, the UK's drama numbers) may be allocated tomorrow.
    spaced = len(cuts) >= 2 or (reading.loose and len(cuts) == 1) or reading.plus
    return 2 if strict and spaced and phonenumbers.is_possible_number(number) else 0


@lru_cache(maxsize=4096)  # a support line or a signature comes back in case after case
def _valid(code: int | None, nsn: int | None, leading_zero: bool | None) -> bool:
    number = phonenumbers.PhoneNumber(code, nsn, italian_leading_zero=leading_zero)
    return phonenumbers.is_valid_number(number)


@cache
def _shapes() -> tuple[tuple[tuple[int, ...], str, str], ...]:
    """Group sizes of numbers written with no prefix at all (6 12 34 56 78, 415 555 0134),
    or for North America with a 1 (1 800 555 0199), with their region and prefix.

    Taken from how phonenumbers formats each region's example numbers; only shapes of three
    groups and 9 digits or more: fewer would be read in quantities and dates.
    """
    found: list[tuple[tuple[int, ...], str, str]] = []
    for region in (*_TRUNK_REGIONS, _NANP):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            fmt = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            shape = tuple(len(g) for g in re.findall("[0-9]+", fmt)[1:])
            if len(shape) >= 3 and sum(shape) >= 9:
                found += [(shape, region, "")] + [((1, *shape), region, "1")] * (region == _NANP)
    return tuple(dict.fromkeys(found))


@cache
def _shape_starts() -> re.Pattern[str]:
    """Where a number of one of :func:`_shapes` may start: found by the regex engine, so a
    long run of digit groups costs no Python work per group."""
    alternatives = set()
    for shape, _, prefix in _shapes():
        groups = [prefix or f"[0-9]{{{size}}}" for size in shape[:1]]
        groups += [f"[0-9]{{{size}}}" for size in shape[1:]]
        alternatives.add(_RUN_SEP.join(groups))
    return re.compile(f"(?<![0-9])(?=(?:{'|'.join(sorted(alternatives))})(?![0-9]))")


def _find_phones(scan: _Scan) -> list[Span]:
    spans: list[Span] = []
    text = scan.text
    for run in scan.runs:
        before, after = run.before[-1:], run.after
        plus = before == "+"
        # Where a number may start: after a prefix (+, 0, 00, 011), or in a shape of its own;
        # the regex engine finds them, so a long run of other numbers costs little.
        shaped = [m.start() for m in _shape_starts().finditer(text, run.start, run.stop)]
        if not (plus or shaped or run.has(_TRUNK_HINT)):
            continue
        groups, seps, starts = run.groups, run.seps, run.starts
        candidates = {bisect_left(starts, start) for start in shaped}
        if plus:
            candidates.add(0)
        if run.has(_TRUNK_HINT):
            following = [*groups[1:], ""]
            candidates.update(
                k
                for k, (g, f) in enumerate(zip(groups, following))
                if g[0] == "0" and (len(g) > 1 or len(f) > 1)
            )
        # A number starts after a space, or at the start of the run if not glued to a word
        # or an identifier ("NB-0612345678", "#0612345678"), and ends before a space.
        glued = before.isalnum() or before in ("_", "#")
        glued = glued or (before in "-/" and run.before[:1].isalnum())
        opens = [not glued] + [_spaced(sep, "(") for sep in seps]
        closes = [_spaced(sep, ")") for sep in seps] + [not (after.isalnum() or after == "_")]
        free = 0
        for i in sorted(candidates):
            if i < free or not opens[i]:
                continue
            j = _phone_at(run, i, plus and i == 0, closes)
            if j is None:
                continue
            start, end = starts[i] - (plus and i == 0), run.end(j - 1)
            # "(415) 555-0134": the bracket that the number opens or closes goes with it.
            written = text[start:end]
            if written.count(")") > written.count("(") and text[start - 1 : start] == "(":
                start -= 1
            elif written.count("(") > written.count(")") and text[end : end + 1] == ")":
                end += 1
            spans.append((start, end))
            free = j
    return spans


def _spaced(sep: str, bracket: str) -> bool:
    return bracket in sep or " " in sep or "\t" in sep or "\n" in sep or "\r" in sep


def _sep_kind(sep: str) -> str:
    """A separator as a space (brackets and line breaks count as spaces) or a mark."""
    return sep.strip(" \t\r\n()") or " "


def _phone_at(run: _Run, i: int, plus: bool, closes: list[bool]) -> int | None:
    """Where the phone number that starts at group ``i`` ends (a group index), if one does."""
    groups, n = run.groups, len(run.groups)
    first = groups[i]
    idd = 0 if plus else 2 if first.startswith("00") else 3 if first.startswith("011") else -1
    trunk = not plus and first[0] == "0" and first[1:2] != "0"
    if idd < 0 and not trunk:
        return _shaped_phone_at(run, i, closes)
    ends: list[tuple[int, int]] = []  # (end group, digits), the longest first
    total, j = 0, i
    while j < n and total + len(groups[j]) <= 18:
        # Past a country code, groups have two digits or more ("(0)" apart).
        if len(groups[j]) == 1 and j - i > (2 if idd >= 0 else 0) and groups[j] != "0":
            break
        total += len(groups[j])
        j += 1
        if total >= 8 and closes[j - 1]:
            ends.insert(0, (j, total))
    windows: dict[int, _Window] = {}
    best, best_fit = None, 0
    # International first, then each region in turn: the first reading grouped as
    # phonenumbers groups it wins, even over a longer one grouped some other way.
    for region in ([None] if idd >= 0 else []) + (list(_TRUNK_REGIONS) if trunk else []):
        meta = _region(region) if region else None
        for j, total in ends:
            if meta and (total < 9 or total - 1 not in meta.lengths):
                continue
            if meta and j == i + 1 and total > 11:
                continue  # run together and that long, an order number more likely than a phone
            if j not in windows:
                windows[j] = _Window(run, i, j)
            window = windows[j]
            if meta:
                readings: Iterable[_Reading | None] = [_reading(window.digits, meta, (1,), True)]
            else:
                readings = _international(window.digits, idd)
            for reading in readings:
                fit = _fit(reading, window) if reading else 0
                if fit == 2:
                    return j
                if fit > best_fit:
                    best, best_fit = j, fit
    return best


def _shaped_phone_at(run: _Run, i: int, closes: list[bool]) -> int | None:
    groups = run.groups
    for shape, region, prefix in _shapes():
        j = i + len(shape)
        if j > len(groups) or not closes[j - 1] or groups[i] != (prefix or groups[i]):
            continue
        if tuple(map(len, groups[i:j])) == shape:
            window = _Window(run, i, j)
            reading = _reading(window.digits, _region(region), (len(prefix),), False)
            if reading and _fit(reading, window) == 2:
                return j
    return None


class _Window:
    """Groups ``i`` to ``end`` of a run, read as one phone number."""

    def __init__(self, run: _Run, i: int, end: int) -> None:
        groups, seps = run.groups[i:end], run.seps[i : end - 1]
        if "(" in "".join(seps):
            groups, seps = _drop_trunk_in_brackets(groups, seps)
        self.end = end
        self.digits = "".join(groups)
        self.cuts = list(accumulate(map(len, groups[:-1])))
        self._run, self._seps = run, seps

    @cached_property
    def lenient(self) -> bool:
        """May be spaced its own way (0207 946 0958): 9 digits or more, and a clear end, not
        a space before more digits (which may be the number's own)."""
        inside = [_sep_kind(s) for s in self._seps]
        seps, end = self._run.seps, self.end
        ending = end > len(seps) or "\n" in seps[end - 1] or _sep_kind(seps[end - 1]) not in inside
        return len(self.digits) >= 9 and ending

    @property
    def by_thousands(self) -> bool:
        sizes = [b - a for a, b in zip(self.cuts, [*self.cuts[1:], len(self.digits)])]
        return all(size == 3 for size in sizes)

    @cached_property
    def tidy(self) -> bool:
        """Past the first separator, spaces then one punctuation mark at most, as in
        +1 415 555-0134; not 01/02/2026 03 (a date, then a number)."""
        mark = ""
        for sep in self._seps[1:]:
            kind = _sep_kind(sep)
            if (kind == " " and mark) or (kind != " " and mark not in ("", kind)):
                return False
            mark = "" if kind == " " else kind
        return True


def _drop_trunk_in_brackets(groups: list[str], seps: list[str]) -> tuple[list[str], list[str]]:
    """``+33 (0)6 12 34 56 78``: the ``(0)`` is not dialled from abroad."""
    for k in range(1, len(groups) - 1):
        if groups[k] == "0" and seps[k - 1].endswith("(") and seps[k].startswith(")"):
            merged = seps[k - 1] + seps[k]
            return groups[:k] + groups[k + 1 :], [*seps[: k - 1], merged, *seps[k + 1 :]]
    return groups, seps


# --- plumbing ---------------------------------------------------------------------------

_MAY_CONTAIN: dict[Kind, Callable[[str, int], bool]] = {
    "email": lambda text, digits: "@" in text,
    "iban": lambda text, digits: digits >= 10 and _IBAN_START.search(text) is not None,
    "rib": lambda text, digits: digits >= 12,
    "nir": lambda text, digits: digits >= 13,
    "card": lambda text, digits: digits >= 13,
    "phone": lambda text, digits: digits >= 8,
}
_DETECTORS: dict[Kind, Callable[[_Scan], list[Span]]] = {
    "email": _find_emails,
    "iban": _find_ibans,
    "rib": _find_ribs,
    "nir": _find_nirs,
    "card": _find_cards,
    "phone": _find_phones,
}
