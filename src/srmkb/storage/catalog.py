"""The catalog: documents, passages and live segments in one SQLite file.

SQLite is the commit point of a base. A writer first records the segment it is about to
write as *pending*, writes its files under that fresh name, then one transaction records
the documents, their passages, the segment (with its files' checksums) and the rows it
deletes elsewhere. A crash before that transaction leaves a pending segment; a merge
records the segments it replaced as *retired*. Garbage collection (by the next writer)
removes only those: files the catalog does not name are never deleted, so a missing or
damaged catalog cannot wipe a base. ``kill -9`` at any moment leaves the last committed
state loadable and whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..documents import Document
from ..vocabulary import utc_datetime
from .connection import CatalogConnection
from .records import DraftInfo, PassageRecord, StoredDocument, VersionInfo, filter_fields


class Catalog(CatalogConnection):
    """Thread-safe access to ``catalog.sqlite``; writes go through :meth:`transaction`.

    Opening (``create=False``: an existing base's file as it is, never a new empty one),
    connections and transactions are :class:`CatalogConnection`'s; the writes made in a
    transaction are the functions of :mod:`.writes`. The reads are here.
    """

    # -- reads -------------------------------------------------------------------------

    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM state WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    def stored_versions(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """Content hash and version number of each of ``ids`` already in the base."""
        out: dict[str, tuple[str, int]] = {}
        conn = self._conn()
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for doc_id, digest, version in conn.execute(
                f"SELECT id, content_hash, version FROM documents WHERE id IN ({marks})", chunk
            ):
                out[doc_id] = (digest, version)
        return out

    def document_ids(self, *, source_prefixes: Sequence[str] | None = None) -> list[str]:
        conn = self._conn()
        if source_prefixes is None:
            return [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
        ids: set[str] = set()
        for prefix in source_prefixes:
            rows = conn.execute(
                "SELECT id FROM documents WHERE source = ? OR substr(source, 1, ?) = ?",
                (prefix, len(prefix) + 1, prefix.rstrip("/") + "/"),
            )
            ids.update(r[0] for r in rows)
        return sorted(ids)

    def get_document(self, doc_id: str) -> StoredDocument | None:
        row = (
            self._conn()
            .execute(
                "SELECT id, content_hash, version, body FROM documents WHERE id = ?", (doc_id,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return StoredDocument(row[0], row[1], row[2], Document.from_json(json.loads(row[3])))

    def versions(self, doc_id: str) -> list[VersionInfo]:
        """Every version of a document still known, oldest first."""
        conn = self._conn()
        out = [
            VersionInfo(v, start, end, digest, bool(gone))
            for v, start, end, digest, gone in conn.execute(
                "SELECT version, valid_from, valid_to, content_hash, deleted"
                " FROM document_history WHERE id = ? ORDER BY version",
                (doc_id,),
            )
        ]
        row = conn.execute(
            "SELECT version, indexed_at, content_hash FROM documents WHERE id = ?", (doc_id,)
        ).fetchone()
        if row is not None:
            out.append(VersionInfo(row[0], row[1], None, row[2]))
        return out

    def valid_at(self, when: float) -> dict[str, tuple[int, bool]]:
        """The version of each document that was current at ``when``: id -> (version,
        whether it is still the current one)."""
        conn = self._conn()
        out = {
            doc_id: (version, True)
            for doc_id, version in conn.execute(
                "SELECT id, version FROM documents WHERE indexed_at <= ?", (when,)
            )
        }
        for doc_id, version in conn.execute(
            "SELECT id, version FROM document_history WHERE valid_from <= ? AND ? < valid_to",
            (when, when),
        ):
            out[doc_id] = (version, False)
        return out

    def historical(
        self, keys: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[Document, str]]:
        """Earlier versions by (id, version): the document and its language."""
        out: dict[tuple[str, int], tuple[Document, str]] = {}
        conn = self._conn()
        for doc_id, version in keys:
            row = conn.execute(
                "SELECT body, language FROM document_history WHERE id = ? AND version = ?",
                (doc_id, version),
            ).fetchone()
            if row is not None:
                out[(doc_id, version)] = (Document.from_json(json.loads(row[0])), row[1])
        return out

    def document_version(self, doc_id: str, version: int) -> Document | None:
        """One version of a document, current or earlier."""
        current = self.get_document(doc_id)
        if current is not None and current.version == version:
            return current.document
        found = self.historical([(doc_id, version)])
        return found[(doc_id, version)][0] if found else None

    def document_summaries(self) -> list[dict[str, Any]]:
        """Id, title, source, visibility, dates and metadata of every current document:
        ``updated_at`` as the document states it, ``indexed_at`` (when this version was
        committed) a timezone-aware UTC datetime."""
        rows = self._conn().execute(
            "SELECT id, title, source, visibility, updated_at, indexed_at, metadata, language"
            " FROM documents ORDER BY id"
        )
        return [
            {
                "id": r[0],
                "title": r[1],
                "source": r[2],
                "visibility": r[3],
                "updated_at": r[4],
                "indexed_at": utc_datetime(r[5]),
                "metadata": json.loads(r[6]),
                "language": r[7],
            }
            for r in rows
        ]

    def drafts(self, status: str | None = None) -> list[DraftInfo]:
        """Captured drafts, newest first: id, status, title, source cases, times."""
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._conn().execute(
            "SELECT id, status, title, cases, created_at, decided_at FROM drafts"
            f" {where} ORDER BY created_at DESC, id",
            params,
        )
        return [DraftInfo(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def captured_cases(self) -> dict[str, str]:
        """Case ids capture has handled: case id -> the linked document or the draft (a
        merged draft's cases are in the draft it was merged into)."""
        conn = self._conn()
        out = dict(conn.execute("SELECT case_id, document_id FROM case_links").fetchall())
        for draft_id, cases in conn.execute(
            "SELECT id, cases FROM drafts WHERE status != 'merged'"
        ):
            out.update((case, draft_id) for case in json.loads(cases))
        return out

    def reuse_counts(self) -> dict[str, int]:
        """Resolved cases capture linked to each document (the base already answered them)."""
        rows = self._conn().execute(
            "SELECT document_id, count(*) FROM case_links GROUP BY document_id"
        )
        return {doc_id: n for doc_id, n in rows}

    def save_drafts(
        self,
        drafts: Sequence[tuple[str, str, list[str], float]],
        links: Sequence[tuple[str, str, float]],
    ) -> None:
        """Record capture's work in one transaction: drafts (id, title, source cases,
        creation time; an existing draft's cases and title are updated) and links of
        cases to the documents that answer them (case id, document id, confidence)."""
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO drafts(id, status, title, cases, created_at) VALUES(?, 'draft', ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET cases = excluded.cases, title = excluded.title",
                [(i, title, json.dumps(cases), at) for i, title, cases, at in drafts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO case_links VALUES(?, ?, ?, ?)",
                [(case, doc, round(conf, 6), now) for case, doc, conf in links],
            )

    def decide_draft(self, draft_id: str, status: str) -> None:
        """Mark a draft approved, rejected or merged, now."""
        with self.transaction() as db:
            db.execute(
                "UPDATE drafts SET status = ?, decided_at = ? WHERE id = ?",
                (status, time.time(), draft_id),
            )

    def documents_for_filter(self) -> list[tuple[str, dict[str, object]]]:
        """Every document's id and filterable fields (metadata plus top-level fields)."""
        rows = self._conn().execute(
            "SELECT id, metadata, language, visibility, updated_at, source, url FROM documents"
        )
        return [
            (doc_id, filter_fields(doc_id, json.loads(meta), lang, vis, updated, source, url))
            for doc_id, meta, lang, vis, updated, source, url in rows
        ]

    def passages_at(
        self, locations: Sequence[tuple[str, int]]
    ) -> dict[tuple[str, int], PassageRecord]:
        """Passage records by (segment, row): only passages still in that segment row.

        A row's text never changes, and its document's row is the version that wrote it
        for as long as the passage is there (an update deletes the passages), so what
        comes back is exactly the version a snapshot holding that segment ranked.
        """
        out: dict[tuple[str, int], PassageRecord] = {}
        by_segment: dict[str, list[int]] = {}
        for seg, row in locations:
            by_segment.setdefault(seg, []).append(row)
        for seg, rows in by_segment.items():
            for chunk in _chunks(rows, 500):
                marks = ",".join("?" * len(chunk))
                where = f"p.segment = ? AND p.row IN ({marks})"
                for record in self._passage_records(where, [seg, *chunk]):
                    out[(record.segment, record.row)] = record
        return out

    def passages(self, ids: Sequence[str]) -> dict[str, PassageRecord]:
        out: dict[str, PassageRecord] = {}
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            for record in self._passage_records(f"p.id IN ({marks})", chunk):
                out[record.id] = record
        return out

    def document_passages(self, doc_id: str) -> list[PassageRecord]:
        """All passages of a document, in reading order."""
        return self._passage_records("p.document_id = ? ORDER BY p.position", [doc_id])

    def _passage_records(self, where: str, params: Sequence[object]) -> list[PassageRecord]:
        rows = self._conn().execute(
            "SELECT p.id, p.document_id, p.text, p.section, p.url, p.page, p.visibility,"
            " p.language, d.title, d.metadata, d.version, p.segment, p.row FROM passages p"
            f" JOIN documents d ON d.id = p.document_id WHERE {where}",
            list(params),
        )
        return [
            PassageRecord(
                id=r[0],
                document_id=r[1],
                text=r[2],
                section=r[3],
                url=r[4],
                page=r[5],
                visibility=r[6],
                language=r[7],
                title=r[8],
                metadata=json.loads(r[9]),
                version=r[10],
                segment=r[11],
                row=r[12],
            )
            for r in rows
        ]

    def state(self) -> tuple[int, list[tuple[str, int, np.ndarray]]]:
        """The generation and the live segments of one committed state."""
        with self.read():
            return self.generation(), self.segments()

    def segment_files(self) -> dict[str, str]:
        """Segment folders marked for garbage collection: id -> 'pending' or 'retired'."""
        return dict(self._conn().execute("SELECT id, state FROM segment_files").fetchall())

    def checksums(self, seg_id: str) -> dict[str, tuple[int, str]]:
        """The recorded size and SHA-256 of each file of a segment (empty for segments
        written before checksums were kept)."""
        rows = self._conn().execute(
            "SELECT file, size, sha256 FROM segment_checksums WHERE segment = ?", (seg_id,)
        )
        return {name: (size, digest) for name, size, digest in rows}

    def segments(self) -> list[tuple[str, int, np.ndarray]]:
        """Live segments in creation order: (id, passages, deleted-row mask)."""
        out = []
        for seg_id, n, blob in self._conn().execute(
            "SELECT id, n_passages, deleted FROM segments ORDER BY created_at, id"
        ):
            bits = np.frombuffer(blob, dtype=np.uint8)
            deleted = np.unpackbits(bits, count=n, bitorder="little").astype(bool)
            out.append((seg_id, int(n), deleted))
        return out

    def counts(self) -> dict[str, int]:
        conn = self._conn()
        return {
            "documents": conn.execute("SELECT count(*) FROM documents").fetchone()[0],
            "passages": conn.execute("SELECT count(*) FROM passages").fetchone()[0],
            "internal_documents": conn.execute(
                "SELECT count(*) FROM documents WHERE visibility='internal'"
            ).fetchone()[0],
        }

    def languages(self) -> dict[str, int]:
        rows = self._conn().execute(
            "SELECT language, count(*) FROM documents GROUP BY language ORDER BY 2 DESC"
        )
        return {lang: n for lang, n in rows}


def _chunks(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield items[start : start + size]
