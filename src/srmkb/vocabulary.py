"""The words srmkb's API is spoken in, defined once: search modes, audiences, channels,
outcomes, visibilities and draft states, and the one way a time is read (from code:
:func:`timestamp`; typed by a person, relative dates too: :func:`read_when`).

The Python API's type hints, the CLI's ``choices=`` and the HTTP service's request
models all derive from these, so a new channel is added here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Literal, get_args

from .errors import InputError

Mode = Literal["hybrid", "bm25", "dense"]
Audience = Literal["customer", "agent"]
Channel = Literal["chat", "email", "voice", "web", "agent"]
Outcome = Literal["resolved", "escalated", "not_helpful"]
Visibility = Literal["public", "internal"]
DraftStatus = Literal["draft", "approved", "rejected", "merged"]
Collapse = Literal["document"]  # search: one hit per document

MODES: tuple[str, ...] = get_args(Mode)
AUDIENCES: tuple[str, ...] = get_args(Audience)
CHANNELS: tuple[str, ...] = get_args(Channel)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
DRAFT_STATUSES: tuple[str, ...] = get_args(DraftStatus)
COLLAPSES: tuple[str, ...] = get_args(Collapse)

When = dt.datetime | dt.date | str | float


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise :class:`InputError` unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"{name} must be one of {choices}, got {value!r}")


def timestamp(when: When, name: str = "as_of") -> float:
    """A POSIX time from a datetime (naive ones are taken as UTC), a date (its end, UTC),
    an ISO 8601 string (``Z`` accepted) or a finite number."""
    if isinstance(when, bool):
        raise InputError(f"{name} must be a time, got {when!r}")
    if isinstance(when, (int, float)):
        if not math.isfinite(when):
            raise InputError(f"{name} must be a finite time, got {when!r}")
        return float(when)
    if isinstance(when, str):
        parsed = parse_iso(when)
        if parsed is None:
            raise InputError(f"{name} {when!r} is not an ISO 8601 date or time")
        when = parsed
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return when.timestamp()
    if isinstance(when, dt.date):
        end = dt.datetime.combine(when, dt.time.max, tzinfo=dt.timezone.utc)
        return end.timestamp()
    raise InputError(f"{name} must be a datetime, an ISO 8601 string or a POSIX time, got {when!r}")


def parse_iso(text: str) -> dt.datetime | None:
    """An ISO 8601 date or time (``Z`` accepted; naive ones are taken as UTC), or None
    when it is not one."""
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def utc_datetime(when: dt.datetime | float) -> dt.datetime:
    """``when`` as a timezone-aware UTC datetime: a POSIX time converted, a naive
    datetime taken as UTC, an aware one moved to UTC."""
    if isinstance(when, dt.datetime):
        aware = when if when.tzinfo is not None else when.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(dt.timezone.utc)
    return dt.datetime.fromtimestamp(float(when), dt.timezone.utc)


def read_when(text: str, option: str, *, now: dt.datetime | None = None) -> dt.datetime | dt.date:
    """A date or time as a person types it: ISO 8601 (``2026-03-01`` gives that date,
    ``2026-03-01T09:30Z`` that time), or relative to ``now`` (default: the present) in
    English or French: ``yesterday``, ``3 days ago``, ``last week``, ``il y a 2 jours``.

    A relative date counted in days or longer gives its day (UTC), as an ISO date
    would, so ``--since yesterday`` starts at midnight; one counted in hours or minutes
    gives a time. Anything else raises :class:`InputError` naming ``option``, the
    command-line option or field the text came from.
    """
    stripped = text.strip()
    if _ISO_DAY.fullmatch(stripped):
        try:
            return dt.date.fromisoformat(stripped)
        except ValueError:
            pass  # 2026-02-30: not a day; said below
    else:
        parsed = parse_iso(stripped)
        if parsed is not None:
            return parsed
    found = _relative(stripped, now) if stripped else None
    if found is None:
        raise InputError(
            f"{option}: cannot read {text!r} as a date (give an ISO 8601 date or time such"
            " as 2026-03-01 or 2026-03-01T09:30Z, or a relative one such as 'yesterday',"
            " '3 days ago' or 'last week')"
        )
    return found


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def _relative(text: str, now: dt.datetime | None) -> dt.datetime | dt.date | None:
    """``text`` read by dateparser as a time relative to ``now``, or None.

    Only dateparser's relative-time parser runs: "3" or "a" read as absolute dates
    (March 3rd, January) would be guesses. dateparser is imported here, when a date is
    not ISO 8601: it takes a quarter of a second to import.
    """
    from dateparser.date import DateDataParser

    base = utc_datetime(now or dt.datetime.now(dt.timezone.utc)).replace(tzinfo=None)
    parser = DateDataParser(
        languages=["en", "fr"],
        settings={
            "PARSERS": ["relative-time"],
            "RELATIVE_BASE": base,
            "TIMEZONE": "UTC",
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    data = parser.get_date_data(text)
    if data.date_obj is None:
        return None
    when = utc_datetime(data.date_obj)
    return when if data.period == "time" else when.date()
