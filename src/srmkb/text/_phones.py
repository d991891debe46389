"""Phone numbers for redaction: digit groups that ``phonenumbers`` validates, written the
way numbers are printed.

Any country after ``+``, ``00`` or ``011``; FR, BE, CH, GB and DE numbers with their trunk
``0``; without it, in the groups these regions and North America print (``6 12 34 56 78``,
``(415) 555-0134``). A number is kept if valid, or possible and grouped as phonenumbers
prints it.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import phonenumbers
else:
    from ._lazy import LazyModule

    phonenumbers = LazyModule("phonenumbers")

from ._phone_formats import (
    TRUNK_REGIONS,
    Region,
    format_cuts,
    is_valid,
    region_for,
    shape_starts,
    shapes,
)
from ._scan import Run, Scan, Span

# A group that may start a number after a trunk or international prefix: 06…, 0 800…, 00…
_TRUNK_HINT = re.compile(r"(?<![0-9])0(?:[0-9]|[ \t./()-]{1,6}[0-9]{2})")


class _Reading(NamedTuple):
    number: phonenumbers.PhoneNumber
    lead: tuple[int, ...]  # digit counts where the parts before the number end (00, 33, 0)
    cuts: tuple[int, ...]  # where phonenumbers groups the national number, from its start
    loose: bool  # written with a prefix (+, 00, 011, trunk 0): may be run together
    plus: bool = False  # written after a +, which only phone numbers are


def _reading(
    window: _Window, region: Region | None, lead: tuple[int, ...], loose: bool, plus: bool = False
) -> _Reading | None:
    """``window`` read as a number of ``region`` written after ``lead``, if its length fits
    and it may be grouped so (None: :func:`_fit` would say 0)."""
    if region is None:
        return None
    digits, start = window.digits, lead[-1]
    size = len(digits) - start
    if size not in region.lengths or digits[start] == "0":  # (Italy's 0s are not read here)
        return None
    # What _fit would reject whatever the digits, told before phonenumbers is asked: untidy,
    # or grouped where none of the region's formats groups (Region.places), not leniently.
    if not window.tidy:
        return None
    if not (loose and window.lenient and not _thousands(window, lead)):
        if region.places is not None and not window.cuts_after(lead) <= region.places[size]:
            return None
    nsn = digits[start:]
    number = phonenumbers.PhoneNumber(country_code=region.code, national_number=int(nsn))
    return _Reading(number, lead, format_cuts(region, nsn), loose, plus)


def _international(window: _Window, idd: int) -> Iterator[_Reading | None]:
    """``window`` after an international prefix of ``idd`` digits (+, 00 or 011)."""
    digits = window.digits
    if digits.startswith("0", idd):
        return
    for size in (1, 2, 3):  # calling codes are prefix-free
        code = int(digits[idd : idd + size] or 0)
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            region, start, plus = region_for(code), idd + size, idd == 0
            if region and not region.trunk and digits.startswith("0", start):
                yield _parsed(digits, idd)  # Italy's numbers keep their 0
                return
            yield _reading(window, region, (idd, start), True, plus)
            if region and region.trunk and digits.startswith(region.trunk, start):
                # "+33 06 12 34 56 78": the trunk prefix, written in error
                yield _reading(window, region, (idd, start, start + len(region.trunk)), True, plus)
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
    cuts = window.cuts
    if not window.tidy:
        return 0
    strict = window.cuts_after(reading.lead).issubset(reading.cuts)
    lenient = reading.loose and not strict and not _thousands(window, reading.lead)
    lenient = lenient and window.lenient
    if not (strict or lenient):
        return 0
    number = reading.number
    if is_valid(number.country_code, number.national_number, number.italian_leading_zero):
        return 2 if strict and (reading.loose or len(cuts) >= 2) else int(lenient)
    # Unallocated ranges (07700 900123, the UK's drama numbers) may be allocated tomorrow.
    spaced = len(cuts) >= 2 or (reading.loose and len(cuts) == 1) or reading.plus
    return 2 if strict and spaced and phonenumbers.is_possible_number(number) else 0


def _thousands(window: _Window, lead: tuple[int, ...]) -> bool:
    """Grouped by thousands past a trunk prefix (0123.456.789): a Belgian company number, an
    amount; a phone number only after a country code (+33 612 345 678)."""
    return len(lead) == 1 and window.by_thousands


def find_phones(scan: Scan) -> list[Span]:
    spans: list[Span] = []
    text = scan.text
    for run in scan.runs:
        before, after = run.before[-1:], run.after
        plus = before == "+"
        # Where a number may start: after a prefix (+, 0, 00, 011), or in a shape of its own;
        # the regex engine finds them, so a long run of other numbers costs little.
        shaped = [m.start() for m in shape_starts().finditer(text, run.start, run.stop)]
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
        kinds = set(seps)  # a long run has few kinds of separator: each is read once
        opening = {sep: _spaced(sep, "(") for sep in kinds}
        closing = {sep: _spaced(sep, ")") for sep in kinds}
        opens = [not glued] + [opening[sep] for sep in seps]
        closes = [closing[sep] for sep in seps] + [not (after.isalnum() or after == "_")]
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


@lru_cache(maxsize=1024)  # a few kinds of separator, read again and again
def _sep_kind(sep: str) -> str:
    """A separator as a space (brackets and line breaks count as spaces) or a mark."""
    return sep.strip(" \t\r\n()") or " "


def _phone_at(run: Run, i: int, plus: bool, closes: list[bool]) -> int | None:
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
    for meta in _readers(idd >= 0, trunk):
        for j, total in ends:
            if meta and (total < 9 or total - 1 not in meta.lengths):
                continue
            if meta and j == i + 1 and total > 11:
                continue  # run together and that long, an order number more likely than a phone
            window = windows.get(j)
            if window is None:
                window = windows[j] = _Window(run, i, j)
            if meta:
                readings: Iterable[_Reading | None] = [_reading(window, meta, (1,), True)]
            else:
                readings = _international(window, idd)
            for reading in readings:
                fit = _fit(reading, window) if reading else 0
                if fit == 2:
                    return j
                if fit > best_fit:
                    best, best_fit = j, fit
    return best


@cache
def _readers(international: bool, trunk: bool) -> tuple[Region | None, ...]:
    """How a number is read, in turn: after an international prefix (None), in each region
    that writes a trunk prefix."""
    regions = tuple(region_for(region) for region in TRUNK_REGIONS) if trunk else ()
    return ((None,) if international else ()) + regions


def _shaped_phone_at(run: Run, i: int, closes: list[bool]) -> int | None:
    groups = run.groups
    for shape, region, prefix in shapes():
        j = i + len(shape)
        if j > len(groups) or not closes[j - 1] or groups[i] != (prefix or groups[i]):
            continue
        if tuple(map(len, groups[i:j])) == shape:
            window = _Window(run, i, j)
            reading = _reading(window, region_for(region), (len(prefix),), False)
            if reading and _fit(reading, window) == 2:
                return j
    return None


class _Window:
    """Groups ``i`` to ``end`` of a run, read as one phone number: what its readings share,
    worked out once."""

    __slots__ = ("_cuts_after", "by_thousands", "cuts", "digits", "lenient", "tidy")

    def __init__(self, run: Run, i: int, end: int) -> None:
        groups, seps = run.groups[i:end], run.seps[i : end - 1]
        if "(" in "".join(seps):
            groups, seps = _drop_trunk_in_brackets(groups, seps)
        self.digits = "".join(groups)
        self.cuts = list(accumulate(map(len, groups[:-1])))
        self._cuts_after: dict[tuple[int, ...], frozenset[int]] = {}
        kinds = [_sep_kind(sep) for sep in seps]
        # Past the first separator, spaces then one punctuation mark at most, as in
        # +1 415 555-0134; not 01/02/2026 03 (a date, then a number).
        self.tidy = _tidy(kinds[1:])
        # May be spaced its own way (0207 946 0958): 9 digits or more, and a clear end, not
        # a space before more digits (which may be the number's own).
        after = run.seps[end - 1] if end <= len(run.seps) else "\n"
        self.lenient = len(self.digits) >= 9 and ("\n" in after or _sep_kind(after) not in kinds)
        # Two cuts or more, each group past the first of three digits.
        self.by_thousands = len(groups) >= 3 and all(len(g) == 3 for g in groups[1:])

    def cuts_after(self, lead: tuple[int, ...]) -> frozenset[int]:
        """The cuts past ``lead``, counted from where the number starts (after ``lead``)."""
        found = self._cuts_after.get(lead)
        if found is None:
            start = lead[-1]
            found = frozenset(c - start for c in self.cuts if c not in lead)
            self._cuts_after[lead] = found
        return found


def _tidy(kinds: list[str]) -> bool:
    """Separators (as :func:`_sep_kind` says) of spaces then one punctuation mark at most."""
    mark = ""
    for kind in kinds:
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
