"""The words srmkb's API is spoken in, defined once: search modes, audiences, channels,
outcomes, visibilities and draft states, and the one way a time is read.

The Python API's type hints, the CLI's ``choices=`` and the HTTP service's request
models all derive from these, so a new channel is added here and nowhere else.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal, get_args

from .errors import InputError

Mode = Literal["hybrid", "bm25", "dense"]
Audience = Literal["customer", "agent"]
Channel = Literal["chat", "email", "voice", "web", "agent"]
Outcome = Literal["resolved", "escalated", "not_helpful"]
Visibility = Literal["public", "internal"]
DraftStatus = Literal["draft", "approved", "rejected"]

MODES: tuple[str, ...] = get_args(Mode)
AUDIENCES: tuple[str, ...] = get_args(Audience)
CHANNELS: tuple[str, ...] = get_args(Channel)
OUTCOMES: tuple[str, ...] = get_args(Outcome)
VISIBILITIES: tuple[str, ...] = get_args(Visibility)
DRAFT_STATUSES: tuple[str, ...] = get_args(DraftStatus)

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
