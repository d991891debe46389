"""The values of a case export as text: folded for comparison, statuses, cells, dates and
languages. Part of the CRM connector (:mod:`srmkb.connectors.crm`)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

_TEXT_KEYS = ("text", "body", "message", "content", "value", "note")


def fold(text: str) -> str:
    """Lower case without accents or repeated spaces, for comparisons."""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def status_key(status: str) -> str:
    """ "Closed - Resolved", "closed_resolved" -> "closed resolved"."""
    return " ".join(re.sub(r"[-_/]+", " ", fold(status)).split())


def texts(values: Iterable[object]) -> list[str]:
    """Non-empty strings from cell or JSON values: strings, numbers, lists, message objects."""
    out: list[str] = []
    for value in values:
        if isinstance(value, str):
            text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
            if text:
                out.append(text)
        elif isinstance(value, bool):
            out.append(str(value).lower())
        elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            out.append(str(int(value)))
        elif isinstance(value, float):
            out.append(repr(value))
        elif isinstance(value, list):
            out.extend(texts(value))
        elif isinstance(value, dict):
            out.extend(texts([next((value[k] for k in _TEXT_KEYS if k in value), None)]))
    return out


_DMY = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def iso_date(value: str, dayfirst: bool) -> str | None:
    """An export's date as ISO 8601 (date only when it has no time), or None."""
    text = value.strip().replace("/", "-") if re.match(r"\d{4}/", value) else value.strip()
    if text[-1:] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text).isoformat(timespec="seconds")
    except ValueError:
        pass
    match = _DMY.fullmatch(text)
    if not match:
        return None
    a, b, year, hour, minute, second = match.groups()
    day, month = (int(a), int(b)) if dayfirst else (int(b), int(a))
    if month > 12 and day <= 12:  # 03/14/2026 is March 14 whatever the default
        day, month = month, day
    try:
        if hour is None:
            return dt.date(int(year), month, day).isoformat()
        moment = dt.datetime(int(year), month, day, int(hour), int(minute), int(second or 0))
        return moment.isoformat(timespec="seconds")
    except ValueError:
        return None


_LANGUAGES = {"english": "en", "anglais": "en", "french": "fr", "francais": "fr"}


def case_language(value: str) -> str | None:
    """``fr``, ``fr-FR``, ``fr_FR`` or ``French`` -> ``fr``; None when absent or unknown."""
    folded = fold(value)
    if folded in _LANGUAGES:
        return _LANGUAGES[folded]
    match = re.fullmatch(r"([a-z]{2})(?:[-_][a-z]{2,4})?", folded)
    return match.group(1) if match else None
