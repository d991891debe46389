"""Which columns of a case export hold which case field: synonyms, numbered columns and
the caller's own mapping. Part of the CRM connector (:mod:`srmkb.connectors.crm`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ._crm_values import fold

FIELDS = (
    "case_id", "subject", "customer_messages", "notes", "resolution", "status", "product",
    "opened_at", "closed_at", "channel", "category", "priority", "language",
)  # fmt: skip
# Column names as column_key writes them, in order of preference.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "case_id": (
        "case_id", "case_number", "case_no", "case_num", "ticket_id", "ticket_number",
        "ticket_no", "incident_id", "incident_number", "id", "case", "ticket", "number",
        "reference", "numero_ticket", "numero_dossier",
    ),
    "subject": ("subject", "title", "summary", "short_description", "topic", "objet", "sujet"),
    "customer_messages": (
        "customer_messages", "customer_message", "description", "messages", "message",
        "customer_comments", "customer_comment", "request", "problem", "issue", "demande",
    ),
    "notes": (
        "internal_notes", "internal_note", "agent_notes", "agent_note", "notes", "note",
        "work_notes", "private_notes", "internal_comments", "notes_internes",
    ),
    "resolution": (
        "resolution", "solution", "resolution_notes", "resolution_note",
        "resolution_details", "close_notes", "fix",
    ),
    "status": ("status", "state", "case_status", "ticket_status", "statut", "etat"),
    "product": ("product", "product_name", "product_line", "device", "model", "produit"),
    "opened_at": (
        "opened_at", "opened", "open_date", "date_opened", "created_at", "created",
        "created_date", "creation_date", "date_created", "submitted_at", "date_creation",
        "date",
    ),
    "closed_at": (
        "closed_at", "closed", "close_date", "date_closed", "closed_date", "resolved_at",
        "resolved", "resolved_date", "date_resolved", "solved_at", "resolution_date",
        "date_cloture",
    ),
    "channel": ("channel", "origin", "case_origin", "source", "via", "canal"),
    "category": ("category", "type", "case_type", "ticket_type", "reason", "categorie", "motif"),
    "priority": ("priority", "severity", "priorite"),
    "language": ("language", "lang", "locale", "langue"),
}  # fmt: skip
# Fields that may span several columns or list items, joined in order.
MULTI = ("customer_messages", "notes", "resolution")


def column_key(name: str) -> str:
    """A column name as the synonyms are written: "Ticket #" -> "ticket_number"."""
    name = fold(name).replace("#", " number ").replace("n°", " numero ")
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


class ColumnFinder:
    """Field -> positions of its columns in a header or a record's keys: the explicit
    mapping first, then synonyms. Results are cached per header (JSON Lines records
    repeat the same keys)."""

    def __init__(self, mapping: Mapping[str, str | Sequence[str]] | None = None) -> None:
        self.explicit: dict[str, list[str]] = {}
        for key, columns in (mapping or {}).items():
            if key not in FIELDS:
                raise ValueError(f"unknown CRM field {key!r} in mapping; known: {FIELDS}")
            names = [columns] if isinstance(columns, str) else list(columns)
            self.explicit[key] = [column_key(c) for c in names]
        self._cache: dict[tuple[str, ...], dict[str, list[int]]] = {}

    def __call__(self, names: Sequence[str]) -> dict[str, list[int]]:
        key = tuple(names)
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = self._find(names)
        return self._cache[key]

    def _find(self, names: Sequence[str]) -> dict[str, list[int]]:
        normalized = [column_key(n) if isinstance(n, str) else "" for n in names]
        found: dict[str, list[int]] = {}
        taken: set[int] = set()
        for key, wanted in self.explicit.items():
            ix = [i for w in wanted for i, n in enumerate(normalized) if n == w]
            if ix:
                found[key] = ix
                taken.update(ix)
        for key, synonyms in SYNONYMS.items():
            if key in self.explicit:
                continue
            if key in MULTI:  # every matching column, numbered ones too: "Message 2"
                ix = [
                    i for i, n in enumerate(normalized)
                    if i not in taken and re.sub(r"_?\d+$", "", n) in synonyms
                ]  # fmt: skip
            else:
                ix = next(
                    (
                        [i]
                        for s in synonyms
                        for i, n in enumerate(normalized)
                        if n == s and i not in taken
                    ),
                    [],
                )
            if ix:
                found[key] = ix
                taken.update(ix)
        return found
