"""What the catalog hands back: documents, their versions and passages as records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..documents import Document, JSONValue
from ..vocabulary import Audience, DraftStatus, utc_datetime


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
class DocumentView:
    """A document as one audience may see it (:meth:`KnowledgeBase.document`), the
    version it is and its language (the stated one, else detected as indexing detects it).

    For a customer, ``document`` holds the public sections only and the metadata a
    customer's search hit shows; for an agent, the whole document. Document and version
    come from one read, so they always belong together.
    """

    document: Document
    version: int
    language: str
    audience: Audience

    def to_json(self) -> dict[str, JSONValue]:
        """The view as JSON: ``text`` is the visible text whole, ``sections`` each visible
        section with its heading path (as a hit's ``section``), anchor, page and
        visibility (an internal document's sections are all internal)."""
        doc = self.document
        return {
            "document_id": doc.id,
            "version": self.version,
            "title": doc.title,
            "url": doc.url,
            "visibility": doc.visibility,
            "language": self.language,
            "updated_at": doc.updated_at,
            "source": doc.source,
            "metadata": dict(doc.metadata),
            "text": doc.full_text,
            "sections": [
                {
                    "section": " > ".join(s.heading),
                    "anchor": s.anchor,
                    "page": s.page,
                    "visibility": "internal"
                    if doc.visibility == "internal"
                    else s.visibility or doc.visibility,
                    "text": s.text,
                }
                for s in doc.sections
            ],
        }


@dataclass(frozen=True)
class DraftInfo:
    """A draft capture wrote, as the catalog lists it: its status, title and source cases,
    when it was created and when it was decided (approved, rejected or merged; None while
    open).

    Times are timezone-aware UTC datetimes (the catalog stores POSIX times; a number
    given is read as one); :meth:`to_json` writes ISO 8601.
    """

    id: str
    status: DraftStatus
    title: str
    cases: tuple[str, ...]
    created_at: dt.datetime
    decided_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple(self.cases))
        object.__setattr__(self, "created_at", utc_datetime(self.created_at))
        if self.decided_at is not None:
            object.__setattr__(self, "decided_at", utc_datetime(self.decided_at))

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "status": self.status,
            "title": self.title,
            "cases": list(self.cases),
            "created_at": self.created_at.isoformat(),
            "decided_at": None if self.decided_at is None else self.decided_at.isoformat(),
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
