"""What the catalog hands back: documents, their versions and passages as records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..documents import Document
from ..vocabulary import utc_datetime


@dataclass(frozen=True)
class StoredDocument:
    """What the catalog knows of a document; ``document`` rebuilds the original."""

    id: str
    content_hash: str
    version: int
    document: Document


@dataclass(frozen=True)
class VersionInfo:
    """One version of a document and when it was the current one: from ``valid_from``
    until ``valid_to`` (None: it still is), both timezone-aware UTC datetimes.

    The catalog stores POSIX times; a number given for either is read as one, so the
    record a caller sees always holds datetimes. :meth:`to_json` writes ISO 8601.
    """

    version: int
    valid_from: dt.datetime
    valid_to: dt.datetime | None
    content_hash: str
    deleted: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "valid_from", utc_datetime(self.valid_from))
        if self.valid_to is not None:
            object.__setattr__(self, "valid_to", utc_datetime(self.valid_to))

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": None if self.valid_to is None else self.valid_to.isoformat(),
            "current": self.valid_to is None,
            "deleted": self.deleted,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class PassageRecord:
    id: str
    document_id: str
    text: str
    section: str
    url: str
    page: int | None
    visibility: str
    language: str
    title: str
    metadata: dict[str, object]
    version: int
    # Where the passage lives: the segment and row that ranked it.
    segment: str = ""
    row: int = -1


# The fields every document has for a filter, besides its metadata keys.
DOCUMENT_FIELDS: tuple[str, ...] = ("id", "language", "visibility", "updated_at", "source", "url")


def filter_fields(
    doc_id: str,
    metadata: dict[str, object],
    language: str,
    visibility: str,
    updated_at: str | None,
    source: str,
    url: str,
) -> dict[str, object]:
    """What a filter sees of a document: its metadata plus its top-level fields."""
    fields = dict(metadata)
    fields.update(
        {
            "id": doc_id,
            "language": language,
            "visibility": visibility,
            "updated_at": updated_at,
            "source": source,
            "url": url,
        }
    )
    return fields
