"""Writes to the catalog, each made inside a transaction: ``with catalog.transaction() as
db``, where ``db`` is the connection every function here takes.

The writer (``srmkb.index.writer``) composes them: a segment is marked pending before
its files are written, then one transaction records the documents, their passages, the
segment and the rows it deletes elsewhere, and bumps the generation.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence

import numpy as np

from ..documents import Document, Passage

# What json.dumps(value, ensure_ascii=False) writes, without a new encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False)


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


def drop_segments(db: sqlite3.Connection, seg_ids: Sequence[str]) -> None:
    """Remove segments that hold no live row from the committed state; their files are
    retired for the writer to remove."""
    db.executemany("DELETE FROM segments WHERE id = ?", [(i,) for i in seg_ids])
    mark_segments(db, seg_ids, "retired")


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


def insert_documents(
    db: sqlite3.Connection, documents: Sequence[tuple[Document, str, str, str]]
) -> list[int]:
    """Store documents, each given with its JSON and content hash (as
    :func:`~srmkb.documents.encode_document` returns them) and its language, as their next
    versions (after every version kept, deleted ones included, so a version number never
    names two texts); returns the versions.

    One query finds the latest versions of a whole batch and one ``executemany`` stores
    it: a statement per document was a large share of a big ingest.
    """
    ids = [doc.id for doc, _, _, _ in documents]
    latest: dict[str, int] = {}
    for start in range(0, len(ids), 400):
        chunk = ids[start : start + 400]
        marks = ",".join("?" * len(chunk))
        latest.update(
            db.execute(
                f"SELECT id, max(v) FROM (SELECT id, version AS v FROM documents"
                f" WHERE id IN ({marks}) UNION ALL SELECT id, version FROM document_history"
                f" WHERE id IN ({marks})) GROUP BY id",
                chunk + chunk,
            ).fetchall()
        )
    now = time.time()
    versions, rows = [], []
    for doc, body, digest, language in documents:
        version = (latest.get(doc.id) or 0) + 1
        latest[doc.id] = version  # an id given twice gets two versions, as one by one
        versions.append(version)
        metadata = _JSON.encode(dict(doc.metadata)) if doc.metadata else "{}"
        rows.append(
            (
                doc.id,
                digest,
                doc.title,
                doc.url,
                doc.visibility,
                language,
                doc.updated_at,
                doc.source,
                metadata,
                body,
                version,
                now,
            )
        )
    db.executemany(
        "INSERT INTO documents(id, content_hash, title, url, visibility, language, updated_at,"
        " source, metadata, body, version, indexed_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    return versions


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
    old_segments: Sequence[tuple[str, np.ndarray]],
) -> None:
    """Point merged passages at their new segment and drop the old segments.

    ``old_segments`` are the merged segments in order, each with the mask of its rows
    kept; ``passage_ids`` the merged segment's, row by row. A segment kept whole moves
    in one statement (its rows shift by the rows before it: at 1M passages, 2.1 s
    against 3.3 s a row at a time); the others row by row.
    """
    start = 0
    for seg_id, keep in old_segments:
        kept = int(np.count_nonzero(keep))
        if kept == len(keep):
            db.execute(
                "UPDATE passages SET segment = ?, row = row + ? WHERE segment = ?",
                (new_segment, start, seg_id),
            )
        else:
            db.executemany(
                "UPDATE passages SET segment = ?, row = ? WHERE id = ?",
                (
                    (new_segment, start + row, passage_ids[start + row])  # not a list: 1M rows
                    for row in range(kept)
                ),
            )
        start += kept
    if start != len(passage_ids):
        raise ValueError(f"{len(passage_ids)} merged passages, {start} kept rows")
    db.executemany("DELETE FROM segments WHERE id = ?", [(s,) for s, _ in old_segments])
