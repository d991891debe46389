"""What the catalog hands back: documents, their versions and passages as records."""

from __future__ import annotations

from dataclasses import dataclass

from ..documents import Document


@dataclass(frozen=True)
class StoredDocument:
    """What the catalog knows of a document; ``document`` rebuilds the original."""

    id: str
    content_hash: str
    version: int
    document: Document


@dataclass(frozen=True)
class VersionInfo:
    """One version of a document and when it was the current one (``valid_to`` None: it
    still is)."""

    version: int
    valid_from: float
    valid_to: float | None
    content_hash: str
    deleted: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
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
