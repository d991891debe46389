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
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .documents import Document, Passage
from .errors import StorageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    visibility TEXT NOT NULL,
    language TEXT NOT NULL,
    updated_at TEXT,
    source TEXT NOT NULL,
    metadata TEXT NOT NULL,
    body TEXT NOT NULL,
    version INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS passages (
    id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    segment TEXT NOT NULL,
    row INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT NOT NULL,
    url TEXT NOT NULL,
    page INTEGER,
    visibility TEXT NOT NULL,
    language TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_document ON passages(document_id);
CREATE INDEX IF NOT EXISTS passages_segment ON passages(segment, row);
CREATE TABLE IF NOT EXISTS segments (
    id TEXT PRIMARY KEY,
    n_passages INTEGER NOT NULL,
    deleted BLOB NOT NULL,
    created_at REAL NOT NULL
);
-- Earlier versions of documents, with the time each was the current one: updating or
-- deleting a document moves its row here (valid_to = the time it was replaced), so the
-- base can answer as it stood at any past time. Only purge removes them.
CREATE TABLE IF NOT EXISTS document_history (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    language TEXT NOT NULL,
    body TEXT NOT NULL,
    valid_from REAL NOT NULL,
    valid_to REAL NOT NULL,
    deleted INTEGER NOT NULL,      -- 1 when this version ended by deletion, not an update
    PRIMARY KEY (id, version)
);
CREATE INDEX IF NOT EXISTS document_history_time ON document_history(valid_from, valid_to);
-- Capture: drafts written from resolved cases, and cases linked to the document that
-- already answered them (reuse). A draft's text is an internal document of the base.
CREATE TABLE IF NOT EXISTS drafts (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,          -- 'draft', 'approved' or 'rejected'
    title TEXT NOT NULL,
    cases TEXT NOT NULL,           -- JSON list of source case ids
    created_at REAL NOT NULL,
    decided_at REAL
);
CREATE TABLE IF NOT EXISTS case_links (
    case_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    confidence REAL NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Segment folders garbage collection may remove: 'pending' (a write that never
-- committed) and 'retired' (replaced by a merge). Nothing else is ever deleted.
CREATE TABLE IF NOT EXISTS segment_files (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    time REAL NOT NULL
);
-- Size and SHA-256 of each file of a committed segment, for srmkb check.
CREATE TABLE IF NOT EXISTS segment_checksums (
    segment TEXT NOT NULL,
    file TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (segment, file)
);
"""
# The tables every base has had since format 1; the others are added on first open.
CORE_TABLES = frozenset({"documents", "passages", "segments", "state"})


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


class Catalog:
    """Thread-safe access to ``catalog.sqlite``; writes go through :meth:`transaction`.

    ``create=False`` (an existing base) opens the file as it is: a missing, empty or
    unreadable catalog is a :class:`StorageError` naming it, never a new empty catalog.
    """

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        self._create = create
        self._local = threading.local()
        if not create and not path.is_file():
            raise StorageError(
                f"{path} is missing: the base is damaged (its segments are left as they are;"
                " restore the file from a backup or re-ingest into a new base)"
            )
        if not create:
            with open(path, "rb") as handle:
                header = handle.read(16)
            if header != b"SQLite format 3\x00":
                what = "empty" if not header else "not an SQLite database"
                raise StorageError(f"{path} is {what}: the base is damaged")
        try:
            tables = self.tables()
            if create:
                self._conn().executescript(SCHEMA)  # idempotent; commits by itself
            elif not CORE_TABLES <= tables:
                missing = ", ".join(sorted(CORE_TABLES - tables))
                raise StorageError(
                    f"{path} is not an srmkb catalog (no table {missing}): the base is damaged"
                )
            elif not _ALL_TABLES <= tables:
                # A base written by an earlier srmkb: add the tables it lacks.
                self._conn().executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StorageError(f"{path} is unreadable ({exc}): the base is damaged") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # mode=rw: an existing base's catalog is opened, never created.
            mode = "rwc" if self._create else "rw"
            uri = f"file:{urllib.parse.quote(str(self.path.absolute()))}?mode={mode}"
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"{self.path} is unreadable ({exc})") from exc
            self._local.conn = conn
        return conn

    def tables(self) -> set[str]:
        rows = self._conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    @contextmanager
    def read(self) -> Iterator[Catalog]:
        """Several reads that see one committed state (a read transaction)."""
        conn = self._conn()
        if conn.in_transaction:  # nested: the outer read already pins the state
            yield self
            return
        conn.execute("BEGIN")
        try:
            yield self
        finally:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLite ends it by itself on some errors (a full disk)
                conn.execute("ROLLBACK")
            raise

    transaction = _write

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
        """Id, title, source, visibility, dates and metadata of every current document."""
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
                "indexed_at": r[5],
                "metadata": json.loads(r[6]),
                "language": r[7],
            }
            for r in rows
        ]

    def drafts(self, status: str | None = None) -> list[dict[str, Any]]:
        """Captured drafts, newest first: id, status, title, source cases, times."""
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._conn().execute(
            "SELECT id, status, title, cases, created_at, decided_at FROM drafts"
            f" {where} ORDER BY created_at DESC, id",
            params,
        )
        return [
            {
                "id": r[0],
                "status": r[1],
                "title": r[2],
                "cases": json.loads(r[3]),
                "created_at": r[4],
                "decided_at": r[5],
            }
            for r in rows
        ]

    def captured_cases(self) -> dict[str, str]:
        """Case ids capture has handled: case id -> the linked document or the draft."""
        conn = self._conn()
        out = dict(conn.execute("SELECT case_id, document_id FROM case_links").fetchall())
        for draft_id, cases in conn.execute("SELECT id, cases FROM drafts"):
            out.update((case, draft_id) for case in json.loads(cases))
        return out

    def reuse_counts(self) -> dict[str, int]:
        """Resolved cases capture linked to each document (the base already answered them)."""
        rows = self._conn().execute(
            "SELECT document_id, count(*) FROM case_links GROUP BY document_id"
        )
        return {doc_id: n for doc_id, n in rows}

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


# -- writes (inside a transaction) -------------------------------------------------------


def bump_generation(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT INTO state(key, value) VALUES('generation', '1') ON CONFLICT(key)"
        " DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def insert_segment(
    db: sqlite3.Connection,
    seg_id: str,
    n_passages: int,
    checksums: dict[str, tuple[int, str]] | None = None,
) -> None:
    """Record a written segment as live (it is no longer pending), with its checksums."""
    empty = np.packbits(np.zeros(n_passages, dtype=bool), bitorder="little").tobytes()
    db.execute(
        "INSERT INTO segments(id, n_passages, deleted, created_at) VALUES(?, ?, ?, ?)",
        (seg_id, n_passages, empty, time.time()),
    )
    db.execute("DELETE FROM segment_files WHERE id = ?", (seg_id,))
    db.executemany(
        "INSERT OR REPLACE INTO segment_checksums VALUES(?, ?, ?, ?)",
        [(seg_id, name, size, digest) for name, (size, digest) in (checksums or {}).items()],
    )


def mark_segments(db: sqlite3.Connection, seg_ids: Iterable[str], state: str) -> None:
    """Mark segment folders for garbage collection: 'pending' before a write, 'retired'
    when a merge replaces them (in the merge's transaction)."""
    now = time.time()
    db.executemany(
        "INSERT OR REPLACE INTO segment_files(id, state, time) VALUES(?, ?, ?)",
        [(s, state, now) for s in seg_ids],
    )
    if state == "retired":
        db.executemany("DELETE FROM segment_checksums WHERE segment = ?", [(s,) for s in seg_ids])


def forget_segment_files(db: sqlite3.Connection, seg_ids: Iterable[str]) -> None:
    db.executemany("DELETE FROM segment_files WHERE id = ?", [(s,) for s in seg_ids])


def delete_documents(
    db: sqlite3.Connection, ids: Iterable[str], *, deleted: bool = True
) -> list[str]:
    """Remove documents and mark their passages' rows deleted; returns the ids removed.

    The version removed is kept in ``document_history`` (``deleted``: it ended by
    deletion rather than by an update), valid until now.
    """
    removed = []
    touched: dict[str, list[int]] = {}
    now = time.time()
    for doc_id in ids:
        db.execute(
            "INSERT OR REPLACE INTO document_history(id, version, content_hash, language, body,"
            " valid_from, valid_to, deleted) SELECT id, version, content_hash, language, body,"
            " indexed_at, max(?, indexed_at), ? FROM documents WHERE id = ?",
            (now, int(deleted), doc_id),
        )
        rows = db.execute(
            "SELECT segment, row FROM passages WHERE document_id = ?", (doc_id,)
        ).fetchall()
        for seg, row in rows:
            touched.setdefault(seg, []).append(row)
        cur = db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        if cur.rowcount:
            removed.append(doc_id)
        db.execute("DELETE FROM passages WHERE document_id = ?", (doc_id,))
    for seg, rows in touched.items():
        mark_deleted(db, seg, rows)
    return removed


def purge_history(db: sqlite3.Connection, ids: Iterable[str]) -> int:
    """Forget every earlier version of these documents; returns how many were removed."""
    return sum(
        db.execute("DELETE FROM document_history WHERE id = ?", (doc_id,)).rowcount
        for doc_id in ids
    )


def mark_deleted(db: sqlite3.Connection, seg_id: str, rows: Sequence[int]) -> None:
    n, blob = db.execute(
        "SELECT n_passages, deleted FROM segments WHERE id = ?", (seg_id,)
    ).fetchone()
    mask = np.unpackbits(np.frombuffer(blob, np.uint8), count=n, bitorder="little").astype(bool)
    mask[np.asarray(rows, dtype=np.int64)] = True
    packed = np.packbits(mask, bitorder="little").tobytes()
    db.execute("UPDATE segments SET deleted = ? WHERE id = ?", (packed, seg_id))


def insert_document(db: sqlite3.Connection, doc: Document, digest: str, language: str) -> int:
    """Store a document as its next version (after every version kept, deleted ones
    included, so a version number never names two texts); returns the version."""
    (latest,) = db.execute(
        "SELECT max(v) FROM (SELECT version AS v FROM documents WHERE id = ?"
        " UNION ALL SELECT version FROM document_history WHERE id = ?)",
        (doc.id, doc.id),
    ).fetchone()
    version = (latest or 0) + 1
    db.execute(
        "INSERT INTO documents(id, content_hash, title, url, visibility, language, updated_at,"
        " source, metadata, body, version, indexed_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            doc.id,
            digest,
            doc.title,
            doc.url,
            doc.visibility,
            language,
            doc.updated_at,
            doc.source,
            json.dumps(dict(doc.metadata), ensure_ascii=False),
            json.dumps(doc.to_json(), ensure_ascii=False),
            version,
            time.time(),
        ),
    )
    return version


def insert_passages(db: sqlite3.Connection, seg_id: str, passages: Sequence[Passage]) -> None:
    db.executemany(
        "INSERT INTO passages(id, document_id, segment, row, text, section, url, page,"
        " visibility, language, position) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                p.id,
                p.document_id,
                seg_id,
                row,
                p.text,
                p.section,
                p.url,
                p.page,
                p.visibility,
                p.language,
                p.position,
            )
            for row, p in enumerate(passages)
        ],
    )


def move_passages(
    db: sqlite3.Connection,
    new_segment: str,
    passage_ids: Sequence[str],
    old_segments: Sequence[str],
) -> None:
    """Point merged passages at their new segment and drop the old segments."""
    db.executemany(
        "UPDATE passages SET segment = ?, row = ? WHERE id = ?",
        [(new_segment, row, pid) for row, pid in enumerate(passage_ids)],
    )
    db.executemany("DELETE FROM segments WHERE id = ?", [(s,) for s in old_segments])


_ALL_TABLES = frozenset(
    line.split()[5] for line in SCHEMA.splitlines() if line.startswith("CREATE TABLE")
)


def _chunks(items: list, size: int) -> Iterator[list]:  # type: ignore[type-arg]
    for start in range(0, len(items), size):
        yield items[start : start + size]
