"""The records that flow through srmkb: documents in, passages indexed, hits out.

All are frozen dataclasses: a value once built never changes under a caller's feet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

from .errors import InputError
from .vocabulary import Visibility

VISIBILITIES: tuple[str, ...] = ("public", "internal")

# JSON-compatible metadata values: what can be stored, filtered and returned unchanged.
JSONScalar = Union[str, int, float, bool, None]  # noqa: UP007 - a runtime alias
JSONValue = Union[JSONScalar, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007


@dataclass(frozen=True)
class Section:
    """One section of a document: its heading path, text and where it lives.

    Connectors that know a document's structure (HTML headings, PDF outline) hand it over
    as sections, so each passage can cite ``url#anchor`` or its page.
    """

    text: str
    heading: tuple[str, ...] = ()
    anchor: str = ""
    page: int | None = None
    visibility: Visibility | None = None  # None: inherit the document's

    def __post_init__(self) -> None:
        if self.visibility is not None:
            _check_visibility(self.visibility, what="section visibility")

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "text": self.text,
            "heading": list(self.heading),
            "anchor": self.anchor,
            "page": self.page,
            "visibility": self.visibility,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue], *, where: str = "section") -> Section:
        """Build a section from a JSON object; :class:`InputError` names ``where`` and the
        field when one has the wrong type (``document 'a': sections[2].page must be...``)."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where} must be an object, got {type(data).__name__}")
        raw = data.get("heading")
        if raw is None or isinstance(raw, str):
            heading: tuple[str, ...] = (raw,) if raw else ()
        elif isinstance(raw, list) and all(isinstance(h, str) for h in raw):
            heading = tuple(raw)  # type: ignore[arg-type]  # checked just above
        else:
            raise InputError(f"{where}.heading must be a string or a list of strings")
        page = data.get("page")
        if isinstance(page, str) and page.strip():
            try:
                page = int(page)  # "12": a page written as text
            except ValueError:
                raise InputError(f"{where}.page must be an integer, got {page!r}") from None
        elif isinstance(page, float) and page.is_integer():
            page = int(page)
        elif page == "":
            page = None
        if page is not None and (not isinstance(page, int) or isinstance(page, bool)):
            raise InputError(f"{where}.page must be an integer, got {page!r}")
        vis = data.get("visibility")
        if vis is not None and not _is_visibility(vis):
            raise InputError(f"{where}.visibility must be 'public' or 'internal', got {vis!r}")
        return cls(
            text=_str_field(data, "text", f"{where}."),
            heading=heading,
            anchor=_str_field(data, "anchor", f"{where}."),
            page=page,
            visibility=vis,  # type: ignore[arg-type]  # checked just above
        )


@dataclass(frozen=True)
class Document:
    """A unit of knowledge as a connector or a caller hands it in.

    ``id`` is the caller's stable identifier; re-adding a document with the same id and
    content is a no-op, with other content an update. ``visibility="internal"`` keeps the
    document away from customers. ``sections`` is optional: without it ``text`` is split
    at Markdown-style headings and paragraphs.
    """

    id: str
    text: str = ""
    title: str = ""
    url: str = ""
    visibility: Visibility = "public"
    language: str | None = None
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    updated_at: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError(f"document id must be a non-empty string, got {self.id!r}")
        _check_storable(self)
        if not (
            self.text.strip() or self.title.strip() or any(s.text.strip() for s in self.sections)
        ):
            raise InputError(f"document {self.id!r} has no text and no title")
        _check_visibility(self.visibility, self.id)

    @property
    def full_text(self) -> str:
        """The document's text, from its sections when it has them."""
        if self.sections:
            return "\n\n".join(s.text for s in self.sections)
        return self.text

    def content_hash(self) -> str:
        """A digest of everything that is indexed or returned; equal hashes skip re-indexing.

        ``source`` (where the document was read from) is left out: moving a file is not
        a change of content.
        """
        return encode_document(self)[1]

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "url": self.url,
            "visibility": self.visibility,
            "language": self.language,
            "metadata": dict(self.metadata),
            "sections": [s.to_json() for s in self.sections],
            "updated_at": self.updated_at,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSONValue]) -> Document:
        """Build a document from a JSON object (the JSONL ingest format)."""
        if not isinstance(data, Mapping):
            raise InputError("a document must be a JSON object")
        doc_id = data.get("id", data.get("_id"))
        if isinstance(doc_id, (int, float)) and not isinstance(doc_id, bool):
            doc_id = str(doc_id)
        if not isinstance(doc_id, str):
            raise InputError("document has no 'id' (or '_id') string")
        metadata = data.get("metadata")
        metadata = {} if metadata is None else metadata
        if not isinstance(metadata, Mapping):
            raise InputError(f"document {doc_id!r}: 'metadata' must be an object")
        who = f"document {doc_id!r}: "
        sections = data.get("sections")
        sections = [] if sections is None else sections
        if not isinstance(sections, list):
            raise InputError(f"document {doc_id!r}: 'sections' must be a list")
        return cls(
            id=doc_id,
            text=_str_field(data, "text", who),
            title=_str_field(data, "title", who),
            url=_str_field(data, "url", who),
            # Absent means public; any other value than "public" or "internal" (null, "",
            # false, 0) is refused rather than read as public.
            visibility=_check_visibility(data.get("visibility", "public"), doc_id),
            language=(str(data["language"]) if data.get("language") else None),
            metadata=dict(metadata),
            sections=tuple(
                Section.from_json(s, where=f"{who}sections[{i}]")  # type: ignore[arg-type]
                for i, s in enumerate(sections)
            ),
            updated_at=(str(data["updated_at"]) if data.get("updated_at") else None),
            source=_str_field(data, "source", who),
        )


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of a document: what the indexes hold and hits point to."""

    id: str
    document_id: str
    text: str
    title: str = ""
    section: str = ""
    url: str = ""
    page: int | None = None
    visibility: Visibility = "public"
    language: str = "en"
    position: int = 0

    @property
    def indexed_text(self) -> str:
        """The text the retrievers see: title and section heading give the passage context."""
        head = " — ".join(p for p in (self.title, self.section) if p)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True)
class Hit:
    """One search result: a passage, its document and how it scored.

    ``score`` is the fused score used for ranking (higher is better); ``scores`` holds each
    retriever's own score (``bm25``, ``dense``) where it saw the passage. ``text`` is the
    whole passage, ``snippet`` its first few lines, both from the version that ranked it.
    """

    document_id: str
    passage_id: str
    title: str
    section: str
    url: str
    score: float
    snippet: str
    scores: Mapping[str, float]
    page: int | None = None
    visibility: Visibility = "public"
    language: str = "en"
    metadata: Mapping[str, JSONValue] = field(default_factory=dict)
    version: int | None = None  # the document version the passage belongs to
    text: str = ""

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "document_id": self.document_id,
            "version": self.version,
            "passage_id": self.passage_id,
            "title": self.title,
            "section": self.section,
            "url": self.url,
            "page": self.page,
            "score": round(float(self.score), 6),
            "scores": {k: round(float(v), 6) for k, v in self.scores.items()},
            "snippet": self.snippet,
            "visibility": self.visibility,
            "language": self.language,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class IngestError:
    """A file, line or document that could not be ingested, and why."""

    path: str
    error: str
    line: int | None = None

    def to_json(self) -> dict[str, JSONValue]:
        out: dict[str, JSONValue] = {"path": self.path, "error": self.error}
        if self.line is not None:
            out["line"] = self.line
        return out


def tracked(
    documents: Iterable[Document | IngestError],
    seen: Callable[[str], object],
    unread: list[str],
) -> Iterator[Document | IngestError]:
    """``documents`` as they pass, for a sync: ``seen(id)`` of each document, and the
    resolved path of each file that could not be read (whose documents a sync keeps)
    appended to ``unread``."""
    for doc in documents:
        if isinstance(doc, IngestError):
            unread.append(str(Path(doc.path).resolve()))
        else:
            seen(doc.id)
        yield doc


@dataclass(frozen=True)
class SyncReport:
    """What an ingest changed: document ids per outcome and the errors met."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    errors: tuple[IngestError, ...] = ()
    skipped: int = 0  # source records left out on purpose (e.g. unresolved CRM cases)

    def __add__(self, other: SyncReport) -> SyncReport:
        return SyncReport(
            self.added + other.added,
            self.updated + other.updated,
            self.deleted + other.deleted,
            self.unchanged + other.unchanged,
            self.errors + other.errors,
            self.skipped + other.skipped,
        )

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "deleted": len(self.deleted),
            "unchanged": len(self.unchanged),
            "skipped": self.skipped,
            "errors": [e.to_json() for e in self.errors],
        }


def _is_visibility(value: object) -> bool:
    return isinstance(value, str) and value in VISIBILITIES


def _check_visibility(
    value: object, doc_id: str | None = None, *, what: str = "visibility"
) -> Visibility:
    """``value`` if it is exactly "public" or "internal"; anything else, falsy values
    included, raises :class:`InputError`: a visibility is never guessed."""
    if not _is_visibility(value):
        who = f"document {doc_id!r}: " if doc_id else ""
        raise InputError(f"{who}{what} must be 'public' or 'internal', got {value!r}")
    return value  # type: ignore[return-value]


def _str_field(data: Mapping[str, JSONValue], key: str, who: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(f"{who}{key} must be a string")
    return value


# What json.dumps(..., sort_keys=True, ensure_ascii=False) and json.dumps(...,
# ensure_ascii=False) write, without a new encoder per call (a tenth of a lexical build).
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False)
_PLAIN = json.JSONEncoder(ensure_ascii=False)
_quote: Callable[[str], str] = json.encoder.encode_basestring


def encode_document(doc: Document) -> tuple[str, str]:
    """``doc`` as the JSON a base stores (``json.dumps(doc.to_json(),
    ensure_ascii=False)``) and its :meth:`~Document.content_hash` (of the same fields
    without ``source``, keys sorted), each field encoded once for both: two whole
    encodings of every document were a tenth of a large ingest."""
    idq, title, text, url = _quote(doc.id), _quote(doc.title), _quote(doc.text), _quote(doc.url)
    visibility, language = _quote(doc.visibility), _nullable(doc.language)
    updated_at = _nullable(doc.updated_at)
    metadata = canonical_metadata = "{}"
    if doc.metadata:
        metadata = _PLAIN.encode(dict(doc.metadata))
        canonical_metadata = _CANONICAL.encode(dict(doc.metadata))
    sections = canonical_sections = "[]"
    if doc.sections:
        listed = [s.to_json() for s in doc.sections]
        sections, canonical_sections = _PLAIN.encode(listed), _CANONICAL.encode(listed)
    body = (
        f'{{"id": {idq}, "title": {title}, "text": {text}, "url": {url}, '
        f'"visibility": {visibility}, "language": {language}, "metadata": {metadata}, '
        f'"sections": {sections}, "updated_at": {updated_at}, "source": {_quote(doc.source)}}}'
    )
    canonical = (
        f'{{"id": {idq}, "language": {language}, "metadata": {canonical_metadata}, '
        f'"sections": {canonical_sections}, "text": {text}, "title": {title}, '
        f'"updated_at": {updated_at}, "url": {url}, "visibility": {visibility}}}'
    )
    return body, hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _nullable(value: str | None) -> str:
    return "null" if value is None else _quote(value)


# SQLite stores integers in 64 bits: a larger page number cannot be stored.
_MAX_PAGE = 2**63 - 1


def _check_storable(doc: Document) -> None:
    """Raise :class:`InputError` unless the base can hash, store and return ``doc``.

    Checked here, when the document is built, so a connector reports the one bad record
    instead of the base failing on the whole batch: every string must be encodable as
    UTF-8 (JSON's ``"\\ud83d"`` escape decodes to a lone surrogate, which is not),
    metadata must be JSON data, and a page a positive 64-bit integer.
    """
    if doc.metadata == {} and not doc.sections and _ascii(doc.text) and _ascii(doc.title):
        # Most records of a large ingest: ASCII strings only, checked in a few C calls.
        if _ascii(doc.id) and _ascii(doc.url) and _ascii(doc.source):
            if _ascii_or_none(doc.language) and _ascii_or_none(doc.updated_at):
                return
    who = f"document {doc.id!r}: "
    fields: list[tuple[str, object]] = [
        ("id", doc.id),
        ("text", doc.text),
        ("title", doc.title),
        ("url", doc.url),
        ("language", doc.language),
        ("updated_at", doc.updated_at),
        ("source", doc.source),
    ]
    for i, section in enumerate(doc.sections):
        where = f"sections[{i}]"
        if not isinstance(section, Section):
            raise InputError(f"{who}{where} must be a Section, got {type(section).__name__}")
        fields += [(f"{where}.text", section.text), (f"{where}.anchor", section.anchor)]
        fields += [(f"{where}.heading[{j}]", h) for j, h in enumerate(section.heading)]
        page = section.page
        if page is not None and (
            not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= _MAX_PAGE
        ):
            raise InputError(
                f"{who}{where}.page must be a positive integer below 2**63, got {page!r}"
            )
    for name, value in fields:
        if value is None and name in ("language", "updated_at"):
            continue
        if not isinstance(value, str):
            raise InputError(f"{who}{name} must be a string, got {type(value).__name__}")
        if not value.isascii():  # isascii() is O(1): plain ASCII costs nothing here
            _check_utf8(value, f"{who}{name}")
    if not isinstance(doc.metadata, Mapping):
        raise InputError(f"{who}metadata must be an object")
    if not doc.metadata:
        return
    try:
        payload = _PLAIN.encode(dict(doc.metadata))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"{who}metadata must be JSON data: {exc}") from None
    if not payload.isascii():
        _check_utf8(payload, f"{who}metadata")


def _ascii(value: object) -> bool:
    return type(value) is str and value.isascii()


def _ascii_or_none(value: object) -> bool:
    return value is None or (type(value) is str and value.isascii())


def _check_utf8(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{what} is not valid Unicode: it holds a lone surrogate"
            f" {value[exc.start]!r} (half of a character cut in two)"
        ) from None


class SearchResults(list[Hit]):
    """The hits of a search, best first, and the id of the interaction that logged it
    (pass it to :meth:`KnowledgeBase.feedback`)."""

    interaction_id: str | None = None
