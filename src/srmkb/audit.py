"""The interaction log: every answer (and search) a base gives, in ``interactions.sqlite``.

Kept apart from the catalog so that logging never waits on a long ingest transaction,
and so a base can be copied or shipped without its users' questions. Questions are
stored with personal data redacted.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .documents import JSONValue
from .redaction import redact

SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    kind TEXT NOT NULL,            -- 'answer' or 'search'
    channel TEXT,
    audience TEXT NOT NULL,
    question TEXT NOT NULL,        -- personal data redacted
    document_id TEXT,
    document_version INTEGER,
    confidence REAL,
    answered INTEGER,
    results TEXT NOT NULL          -- JSON: document ids returned, best first
);
CREATE INDEX IF NOT EXISTS interactions_time ON interactions(time);
"""


@dataclass(frozen=True)
class Interaction:
    id: str
    time: float
    kind: str
    channel: str | None
    audience: str
    question: str
    document_id: str | None
    document_version: int | None
    confidence: float | None
    answered: bool | None
    results: list[str]

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "channel": self.channel,
            "audience": self.audience,
            "question": self.question,
            "document_id": self.document_id,
            "document_version": self.document_version,
            "confidence": self.confidence,
            "answered": self.answered,
            "results": list(self.results),
        }


class AuditLog:
    """Append-only log of interactions; safe to use from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def record(
        self,
        *,
        kind: str,
        audience: str,
        question: str,
        channel: str | None = None,
        document_id: str | None = None,
        document_version: int | None = None,
        confidence: float | None = None,
        answered: bool | None = None,
        results: Sequence[str] = (),
    ) -> str:
        """Log one interaction; returns its id (to attach feedback to it later)."""
        interaction_id = uuid.uuid4().hex
        self._conn().execute(
            "INSERT INTO interactions VALUES(?,?,?,?,?,?,?,?,?,?,?)",
            (
                interaction_id,
                time.time(),
                kind,
                channel,
                audience,
                redact(question),
                document_id,
                document_version,
                confidence,
                None if answered is None else int(answered),
                json.dumps(list(results)),
            ),
        )
        return interaction_id

    def interactions(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[Interaction]:
        query = "SELECT * FROM interactions WHERE time >= ? AND time < ? ORDER BY time, id"
        rows = self._conn().execute(query, (since or 0.0, until or float("inf")))
        return [
            Interaction(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                r[8],
                None if r[9] is None else bool(r[9]),
                json.loads(r[10]),
            )
            for r in rows
        ]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
