"""Document vectors in one SQLite file, keyed by model id and a hash of the text.

Embedding is the slow part of ingest, so a base keeps the vectors it computed here
(``embeddings.sqlite``) and :class:`srmkb.models.CachedEmbedder` looks them up before
calling the model. This module only stores and reads vectors; it knows no model.

Vectors are keyed by (model id, SHA-256 of the text) and stored as little-endian float32
bytes: no pickle, readable from any language. The database uses WAL and a busy timeout,
so several processes can share one file; a file that cannot be written (a read-only
base) is used read-only, and a damaged one is bypassed: a cache only saves time.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: File name of the cache inside a base directory or the user-level cache folder.
CACHE_FILE = "embeddings.sqlite"

# SQLite allows 32,766 parameters per statement; lookups go in chunks well below it.
_CHUNK = 500
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL,
    hash BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
) WITHOUT ROWID
"""


def text_key(text: str) -> bytes:
    """The cache key of a text: SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingStore:
    """Float32 vectors in one SQLite file, keyed by model id and text hash."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.writable = True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            self._setup(timeout)
        except (OSError, sqlite3.DatabaseError) as exc:  # read-only, or not a database
            # A cache only saves time: a damaged one is bypassed, never a failure.
            log.warning("embedding cache %s is read-only or damaged: %s", self.path, exc)
            self.writable = False
            if not hasattr(self, "_db"):
                self._db = sqlite3.connect(":memory:", check_same_thread=False)

    def _setup(self, timeout: float) -> None:
        """WAL mode and the table. Switching to WAL does not wait on SQLite's busy
        handler, so a file another process is setting up at that moment is retried."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def get(self, model_id: str, keys: Sequence[bytes], dimension: int) -> dict[bytes, np.ndarray]:
        """The stored vectors of ``keys`` (those found), each ``(dimension,)`` float32."""
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), _CHUNK):
                chunk = unique[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = self._db.execute(
                        f"SELECT hash, vector FROM vectors WHERE model = ? AND hash IN ({marks})",
                        (model_id, *chunk),
                    ).fetchall()
                except sqlite3.DatabaseError as exc:  # no table yet in a read-only file
                    log.debug("embedding cache %s not readable: %s", self.path, exc)
                    return found
                for key, blob in rows:
                    if len(blob) == 4 * dimension:  # another dimension is a stale entry
                        found[bytes(key)] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return found

    def put(self, model_id: str, items: Sequence[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors; keys already present keep their vector."""
        if not items or not self.writable:
            return
        rows = [
            (model_id, key, np.ascontiguousarray(vec, dtype="<f4").tobytes()) for key, vec in items
        ]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("INSERT OR IGNORE INTO vectors VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                # A cache write must never fail an ingest: a locked-out or read-only
                # cache only costs re-embedding next time.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                log.warning("embedding cache %s not written: %s", self.path, exc)

    def count(self, model_id: str | None = None) -> int:
        """Number of stored vectors (of one model, when given)."""
        with self._lock:
            if model_id is None:
                return int(self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
            query = "SELECT COUNT(*) FROM vectors WHERE model = ?"
            return int(self._db.execute(query, (model_id,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
