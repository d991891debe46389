"""Search filters: one small language, defined and documented here once.

A filter is a mapping from a field to a condition; all conditions must hold::

    {"product": "router"}                         equality
    {"category": ["billing", "refunds"]}          membership (any of)
    {"updated_at": {"gte": "2024-01-01"}}         range: gt, gte, lt, lte
    {"product": {"ne": "legacy"}}                 not equal
    {"tags": {"in": ["a", "b"]}}                  membership, spelled out

Fields are the document's ``metadata`` keys plus ``id``, ``language``, ``visibility``,
``updated_at``, ``source`` and ``url``. A field holding a list matches when any element
matches. Ranges compare ISO dates as dates and numbers as numbers; a value of another
type never matches. Filters select documents; the knowledge base turns them into a row
mask applied inside both retrievers before the top k is taken. A field that no document
in the base has is a :class:`FilterError` naming the known fields (:func:`check_fields`):
a misspelt key would otherwise match nothing, in silence. Under ``ne`` alone it is not:
no document has the field, so every document passes, as the filter says.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from ..documents import JSONValue
from ..errors import FilterError
from ..storage.records import DOCUMENT_FIELDS
from ..vocabulary import parse_iso

Filters = Mapping[str, JSONValue]
_RANGE_OPS = {"gt", "gte", "lt", "lte"}
_OPS = _RANGE_OPS | {"eq", "ne", "in"}


def validate(filters: Filters) -> None:
    """Raise :class:`FilterError` for a filter that cannot be evaluated."""
    if not isinstance(filters, Mapping):
        raise FilterError("filters must be a mapping of field to condition")
    for field, cond in filters.items():
        if not isinstance(field, str) or not field:
            raise FilterError(f"filter field must be a non-empty string, got {field!r}")
        if isinstance(cond, Mapping):
            if not cond:
                raise FilterError(f"filter on {field!r} has an empty condition")
            unknown = set(cond) - _OPS
            if unknown:
                raise FilterError(
                    f"filter on {field!r}: unknown operator(s) {sorted(unknown)};"
                    f" use {sorted(_OPS)}"
                )
            if "in" in cond and not isinstance(cond["in"], list):
                raise FilterError(f"filter on {field!r}: 'in' takes a list")


def unknown_fields(filters: Filters, known: Collection[str]) -> list[str]:
    """The fields of ``filters`` that are neither a document field nor in ``known``
    (the metadata keys of the base's documents), except those whose only condition is
    ``ne``: a document without the field is not equal, so such a filter keeps every
    document, as it says (the knowledge loop leaves CRM cases out with
    ``{"source_type": {"ne": "crm"}}`` in bases that may hold none)."""
    return [
        f
        for f, cond in filters.items()
        if f not in DOCUMENT_FIELDS and f not in known and not _only_ne(cond)
    ]


def _only_ne(cond: JSONValue) -> bool:
    return isinstance(cond, Mapping) and set(cond) == {"ne"}


def check_fields(filters: Filters, known: Collection[str]) -> None:
    """Raise :class:`FilterError` for a filter on a field no document has, naming it,
    the closest known field and every known one; ``known`` holds the base's metadata
    keys (the document fields ``id``, ``language``... are always known)."""
    unknown = unknown_fields(filters, known)
    if not unknown:
        return
    fields = sorted({*DOCUMENT_FIELDS, *known})
    field = unknown[0]
    close = difflib.get_close_matches(field, fields, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    shown = ", ".join(fields[:_SHOWN]) + (
        f" and {len(fields) - _SHOWN} more" if len(fields) > _SHOWN else ""
    )
    raise FilterError(
        f"filter on {field!r}: no document in the base has this field{hint}; known fields: {shown}"
    )


# Known fields listed in a FilterError at most (a CRM export can bring dozens of columns).
_SHOWN = 40


class KnownFields:
    """The metadata keys of a base's documents, to refuse filters on others.

    ``read`` gives every document's filterable fields (one pass over the catalog); it
    runs only when a filter names a key not seen before, and then once per generation,
    so a search with a valid filter pays a set lookup.
    """

    def __init__(self, read: Callable[[], Iterable[tuple[str, Mapping[str, object]]]]) -> None:
        self._read = read
        self._seen: tuple[int, frozenset[str]] = (-1, frozenset())

    def check(
        self,
        filters: Filters | None,
        generation: int,
        past: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        """Raise :class:`FilterError` for a malformed filter or one on a field that no
        document of ``generation`` has, nor any earlier version in ``past`` (the fields
        of the versions a search ``as_of`` sees)."""
        if not filters:
            return
        validate(filters)
        seen_at, known = self._seen
        if not unknown_fields(filters, known):
            return
        if seen_at != generation:
            known = frozenset(key for _, fields in self._read() for key in fields)
            self._seen = (generation, known)
        earlier = {key for fields in (past or {}).values() for key in fields}
        check_fields(filters, known | earlier)


def matches(fields: Mapping[str, object], filters: Filters) -> bool:
    """Whether a document's fields satisfy every condition."""
    for field, cond in filters.items():
        value = fields.get(field)
        values = value if isinstance(value, list) else [value]
        if not any(_match_one(v, cond) for v in values):
            return False
    return True


def _match_one(value: object, cond: JSONValue) -> bool:
    if isinstance(cond, list):
        return any(_equal(value, c) for c in cond)
    if not isinstance(cond, Mapping):
        return _equal(value, cond)
    for op, bound in cond.items():
        if op == "eq" and not _equal(value, bound):
            return False
        if op == "ne" and _equal(value, bound):
            return False
        if op == "in" and not any(_equal(value, c) for c in bound):  # type: ignore[union-attr]
            return False
        if op in _RANGE_OPS:
            pair = _comparable(value, bound)
            if pair is None:
                return False
            left, right = pair
            ok = {
                "gt": left > right,
                "gte": left >= right,
                "lt": left < right,
                "lte": left <= right,
            }[op]
            if not ok:
                return False
    return True


def _equal(value: object, expected: object) -> bool:
    if isinstance(value, bool) or isinstance(expected, bool):
        return value is expected
    if isinstance(value, (int, float)) and isinstance(expected, (int, float)):
        return value == expected
    return value == expected


def _comparable(value: object, bound: object) -> tuple[Any, Any] | None:
    num = (int, float)
    if isinstance(value, num) and isinstance(bound, num):
        if isinstance(value, bool) or isinstance(bound, bool):
            return None
        return value, bound
    if isinstance(value, str) and isinstance(bound, str):
        left, right = parse_iso(value), parse_iso(bound)
        if left is not None and right is not None:
            return left, right
        return value, bound
    return None


def cache_key(filters: Filters) -> str:
    return json.dumps(filters, sort_keys=True, default=str)


def parse_cli(pairs: Sequence[str]) -> dict[str, JSONValue]:
    """Parse ``key=value`` pairs from the command line; repeated keys mean any-of.

    ``key>=value``, ``key<=value``, ``key>value`` and ``key<value`` give ranges. A value
    that parses as JSON (a number, ``true``) is taken as such.
    """
    out: dict[str, JSONValue] = {}
    for pair in pairs:
        for op, name in ((">=", "gte"), ("<=", "lte"), (">", "gt"), ("<", "lt"), ("=", None)):
            if op in pair:
                key, _, raw = pair.partition(op)
                key = key.strip()
                if not key:
                    raise FilterError(f"filter {pair!r} has no field name")
                value = _parse_value(raw.strip())
                if name is None:
                    if key in out:
                        prev = out[key]
                        merged: list[JSONValue] = list(prev) if isinstance(prev, list) else [prev]
                        out[key] = [*merged, value]
                    else:
                        out[key] = value
                else:
                    existing = out.get(key)
                    cond = dict(existing) if isinstance(existing, Mapping) else {}
                    cond[name] = value
                    out[key] = cond
                break
        else:
            raise FilterError(f"filter {pair!r} must look like key=value")
    return out


def _parse_value(raw: str) -> JSONValue:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return raw
    return value if isinstance(value, (int, float, bool)) else raw
