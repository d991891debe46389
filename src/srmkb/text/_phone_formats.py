"""What the phone detector takes from phonenumbers' metadata: each region's number lengths
and formats (where it prints spaces), the group shapes of numbers written without a prefix,
and whether a number is valid."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import phonenumbers
else:
    from ._lazy import LazyModule

    phonenumbers = LazyModule("phonenumbers")

from ._scan import RUN_SEP

# Regions whose numbers are read in national form, trunk prefix 0 first.
TRUNK_REGIONS = ("FR", "BE", "CH", "GB", "DE")
NANP = "US"  # North America: no trunk prefix, or a 1 written apart (1-800-555-0199)


class Region(NamedTuple):
    """What the detector needs of a country's phonenumbers metadata."""

    code: int  # country calling code
    trunk: str  # national (trunk) prefix: "0", "1" or ""
    lengths: frozenset[int]  # lengths of its national significant numbers
    formats: tuple[tuple[re.Pattern[str] | None, re.Pattern[str]], ...]
    # By length, where any of its formats may put a space (see _cut_places); None: anywhere.
    places: dict[int, frozenset[int]] | None


@cache
def region_for(region: str | int) -> Region | None:
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
    places = _cut_places([pattern for _, pattern in formats], lengths)
    return Region(meta.country_code, meta.national_prefix or "", lengths, formats, places)


# A format's pattern is groups of digits: (\d{3})(\d{2}), ([89]\d{2})(\d{4,5})…
_FORMAT_GROUP = re.compile(r"\(([^()]*)\)")
_FORMAT_ATOM = re.compile(r"(?:\\d|\[[0-9-]+\])(?:\{([0-9]+)(?:,([0-9]+))?\})?")


def _cut_places(
    patterns: list[re.Pattern[str]], lengths: frozenset[int]
) -> dict[int, frozenset[int]] | None:
    """Where any of ``patterns`` may cut a national number of each length, read from the
    widths of their groups: :func:`format_cuts` can only cut there, so a window grouped
    otherwise is rejected without asking phonenumbers. None if a pattern is not plain groups
    of digits."""
    places: dict[int, set[int]] = {length: set() for length in lengths}
    for pattern in patterns:
        groups = _FORMAT_GROUP.findall(pattern.pattern)
        if "".join(f"({g})" for g in groups) != pattern.pattern:
            return None
        widths = []  # (fewest, most) digits of each group
        for group in groups:
            atoms = list(_FORMAT_ATOM.finditer(group))
            if "".join(a[0] for a in atoms) != group:
                return None
            low = sum(int(a[1] or 1) for a in atoms)
            widths.append((low, sum(int(a[2] or a[1] or 1) for a in atoms)))
        lows = list(accumulate(low for low, _ in widths))
        highs = list(accumulate(high for _, high in widths))
        for length, found in places.items():
            if not lows[-1] <= length <= highs[-1]:
                continue
            for g in range(len(widths) - 1):  # a cut after group g, before the rest
                first = max(lows[g], length - (highs[-1] - highs[g]))
                found.update(range(first, min(highs[g], length - (lows[-1] - lows[g])) + 1))
    return {length: frozenset(found) for length, found in places.items()}


def format_cuts(region: Region, nsn: str) -> tuple[int, ...]:
    """Where phonenumbers puts spaces in ``nsn`` when it formats it: the groups of the first
    format in its metadata whose leading digits and pattern match, as ``format_number`` picks."""
    for leading, pattern in region.formats:
        if (leading is None or leading.match(nsn)) and (m := pattern.fullmatch(nsn)):
            return tuple(m.end(g) for g in range(1, pattern.groups))
    return ()


@lru_cache(maxsize=4096)  # a support line or a signature comes back in case after case
def is_valid(code: int | None, nsn: int | None, leading_zero: bool | None) -> bool:
    number = phonenumbers.PhoneNumber(code, nsn, italian_leading_zero=leading_zero)
    return phonenumbers.is_valid_number(number)


@cache
def shapes() -> tuple[tuple[tuple[int, ...], str, str], ...]:
    """Group sizes of numbers written with no prefix at all (6 12 34 56 78, 415 555 0134),
    or for North America with a 1 (1 800 555 0199), with their region and prefix.

    Taken from how phonenumbers formats each region's example numbers; only shapes of three
    groups and 9 digits or more: fewer would be read in quantities and dates.
    """
    found: list[tuple[tuple[int, ...], str, str]] = []
    for region in (*TRUNK_REGIONS, NANP):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            fmt = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            shape = tuple(len(g) for g in re.findall("[0-9]+", fmt)[1:])
            if len(shape) >= 3 and sum(shape) >= 9:
                found += [(shape, region, "")] + [((1, *shape), region, "1")] * (region == NANP)
    return tuple(dict.fromkeys(found))


@cache
def shape_starts() -> re.Pattern[str]:
    """Where a number of one of :func:`shapes` may start: found by the regex engine, so a
    long run of digit groups costs no Python work per group."""
    alternatives = set()
    for shape, _, prefix in shapes():
        groups = [prefix or f"[0-9]{{{size}}}" for size in shape[:1]]
        groups += [f"[0-9]{{{size}}}" for size in shape[1:]]
        alternatives.add(RUN_SEP.join(groups))
    return re.compile(f"(?<![0-9])(?=(?:{'|'.join(sorted(alternatives))})(?![0-9]))")
