"""The interaction log: every search and answer a base gives, and what happened next.

Kept in ``interactions.sqlite``, apart from the catalog, so that logging never waits on a
long ingest transaction and a base can be copied or shipped without its users'
questions. Questions are stored with personal data redacted. Each interaction has an id
returned to the caller; :meth:`AuditLog.feedback` attaches an outcome to it later
(``resolved``, ``escalated`` to an agent, ``not_helpful``).

Per base settings live in the same file: ``logging`` (on by default; off, nothing is
written and ids are still returned so callers need no special case) and
``retention_days`` (interactions older than that are deleted, at open and then at most
once an hour).

The log never stands in the way of a search: the file is opened on first use (a base
copied without it gets a new one when something is logged), and a damaged or full log
file is reported once as a warning and then skipped, while searches and answers go on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..documents import Hit, JSONValue
from ..errors import InputError, StorageError
from ..text.redaction import redact
from ..vocabulary import OUTCOMES, check_choice, utc_datetime

log = logging.getLogger(__name__)


SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id TEXT PRIMARY KEY,
    time REAL NOT NULL,
    kind TEXT NOT NULL,            -- 'answer', 'search' or 'document'
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
CREATE TABLE IF NOT EXISTS feedback (
    interaction_id TEXT NOT NULL,
    time REAL NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_interaction ON feedback(interaction_id);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_PURGE_EVERY = 3600.0  # seconds between retention sweeps of a long-running process
# A logged question is cut to this many characters (at a space), before redaction.
MAX_LOGGED_CHARS = 2_000


@dataclass(frozen=True)
class Interaction:
    """One logged interaction: a ``kind`` ``"search"``, ``"answer"`` or ``"document"`` (a
    whole document read by a tool, such as the MCP server's ``get_document``);
    ``outcome`` is the latest feedback, if any.

    ``time`` is a timezone-aware UTC datetime (the log stores POSIX times; a number given
    is read as one); :meth:`to_json` writes it in ISO 8601.
    """

    id: str
    time: dt.datetime
    kind: str
    channel: str | None
    audience: str
    question: str
    document_id: str | None
    document_version: int | None
    confidence: float | None
    answered: bool | None
    results: list[str]
    outcome: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "time", utc_datetime(self.time))

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "kind": self.kind,
            "channel": self.channel,
            "audience": self.audience,
            "question": self.question,
            "document_id": self.document_id,
            "document_version": self.document_version,
            "confidence": self.confidence,
            "answered": self.answered,
            "results": list(self.results),
            "outcome": self.outcome,
        }


class AuditLog:
    """Append-only log of interactions and feedback; safe to use from many threads.

    ``enabled`` overrides the base's ``logging`` setting for this process (an evaluation
    run, say, that should leave no trace), without changing the setting.
    """

    def __init__(self, path: Path, *, enabled: bool | None = None) -> None:
        self.path = path
        self._local = threading.local()
        self._override = enabled
        self._ready = False
        self._ready_lock = threading.Lock()
        self._broken: str | None = None  # why writes are skipped, once reported
        self._last_purge = 0.0

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                # A log line lost to a power cut is acceptable; an fsync per query is not.
                conn.execute("PRAGMA synchronous=NORMAL")
                if not self._ready:
                    with self._ready_lock:
                        conn.executescript(SCHEMA)
                        self._ready = True
            except sqlite3.DatabaseError as exc:
                raise StorageError(f"{self.path} is unreadable ({exc})") from exc
            self._local.conn = conn
            if self._last_purge == 0.0:
                self._purge_expired()
        return conn

    @property
    def problem(self) -> str | None:
        """Why logging is being skipped (a damaged or full file), or None."""
        return self._broken

    def _skip(self, exc: Exception) -> None:
        if self._broken is None:
            log.warning("interaction log %s not written, skipped from now on: %s", self.path, exc)
        self._broken = str(exc)

    # -- settings ----------------------------------------------------------------------

    def settings(self) -> dict[str, JSONValue]:
        """``logging`` (bool) and ``retention_days`` (int or None: keep forever)."""
        rows = dict(self._conn().execute("SELECT key, value FROM settings").fetchall())
        return {
            "logging": json.loads(rows.get("logging", "true")),
            "retention_days": json.loads(rows.get("retention_days", "null")),
        }

    def configure(
        self, *, logging: bool | None = None, retention_days: int | Literal["keep"] | None = "keep"
    ) -> dict[str, JSONValue]:
        """Change the base's settings; ``retention_days=None`` keeps interactions forever."""
        conn = self._conn()
        if logging is not None:
            if not isinstance(logging, bool):
                raise InputError(f"logging must be true or false, got {logging!r}")
            conn.execute(
                "INSERT OR REPLACE INTO settings VALUES('logging', ?)", (json.dumps(logging),)
            )
        if retention_days != "keep":
            if retention_days is not None and (
                not isinstance(retention_days, int) or retention_days < 1
            ):
                raise InputError(
                    f"retention_days must be a positive number of days, got {retention_days!r}"
                )
            conn.execute(
                "INSERT OR REPLACE INTO settings VALUES('retention_days', ?)",
                (json.dumps(retention_days),),
            )
            self._last_purge = 0.0
            self._purge_expired()
        return self.settings()

    @property
    def enabled(self) -> bool:
        if self._override is not None:
            return self._override
        return bool(self.settings()["logging"])

    def _purge_expired(self) -> int:
        now = time.time()
        self._last_purge = now
        days = self.settings()["retention_days"]
        if days is None:
            return 0
        cutoff = now - float(days) * 86400  # type: ignore[arg-type]
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "DELETE FROM feedback WHERE interaction_id IN"
            " (SELECT id FROM interactions WHERE time < ?)",
            (cutoff,),
        )
        removed = conn.execute("DELETE FROM interactions WHERE time < ?", (cutoff,)).rowcount
        conn.execute("COMMIT")
        return int(removed)

    # -- writing -----------------------------------------------------------------------

    def record_search(
        self, question: str, hits: Sequence[Hit], *, audience: str, channel: str | None
    ) -> str:
        """Log a search and the documents it returned, best first; returns its id."""
        first = hits[0] if hits else None
        return self.record(
            kind="search",
            audience=audience,
            question=question,
            channel=channel,
            document_id=first.document_id if first else None,
            document_version=first.version if first else None,
            results=list(dict.fromkeys(h.document_id for h in hits)),
        )

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
        at: float | None = None,
    ) -> str:
        """Log one interaction; returns its id (to attach feedback to it later).

        The question and channel are stored redacted, the question cut to
        ``MAX_LOGGED_CHARS``. A log that cannot be written is skipped (see
        :attr:`problem`): the id is returned all the same.
        """
        interaction_id = uuid.uuid4().hex
        if self._broken is not None:
            return interaction_id
        try:
            if not self.enabled:
                return interaction_id
            if time.time() - self._last_purge > _PURGE_EVERY:
                self._purge_expired()
            self._conn().execute(
                "INSERT INTO interactions VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                (
                    interaction_id,
                    time.time() if at is None else at,
                    kind,
                    None if channel is None else redact(channel),
                    audience,
                    redact(_shorten(question)),
                    document_id,
                    document_version,
                    confidence,
                    None if answered is None else int(answered),
                    json.dumps(list(results)),
                ),
            )
        except (StorageError, sqlite3.DatabaseError, OSError) as exc:
            self._skip(exc)
        return interaction_id

    def feedback(self, interaction_id: str, outcome: str, *, at: float | None = None) -> bool:
        """Record what followed an interaction; the latest outcome counts.

        Returns False, recording nothing, when that outcome is already recorded for that
        interaction: each outcome counts once.
        """
        check_choice("outcome", outcome, OUTCOMES)
        conn = self._conn()
        found = conn.execute(
            "SELECT 1 FROM interactions WHERE id = ?", (interaction_id,)
        ).fetchone()
        if found is None:
            raise InputError(f"no interaction {interaction_id!r} in the log")
        cur = conn.execute(
            "INSERT INTO feedback SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM feedback"
            " WHERE interaction_id = ? AND outcome = ?)",
            (interaction_id, time.time() if at is None else at, outcome, interaction_id, outcome),
        )
        return cur.rowcount == 1

    # -- reading -----------------------------------------------------------------------

    def interactions(
        self, *, since: float | None = None, until: float | None = None
    ) -> list[Interaction]:
        """Interactions with ``since <= time < until`` (POSIX times), oldest first, with
        their outcome."""
        return self._select(
            "i.time >= ? AND i.time < ? ORDER BY i.time, i.id",
            (since or 0.0, until or float("inf")),
        )

    def get(self, interaction_id: str) -> Interaction | None:
        found = self._select("i.id = ?", (interaction_id,))
        return found[0] if found else None

    def _select(self, where: str, params: tuple[object, ...]) -> list[Interaction]:
        query = (
            "SELECT i.*, (SELECT f.outcome FROM feedback f WHERE f.interaction_id = i.id"
            f" ORDER BY f.time DESC, f.rowid DESC LIMIT 1) FROM interactions i WHERE {where}"
        )
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
                r[11],
            )
            for r in self._conn().execute(query, params)
        ]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _shorten(text: str, limit: int = MAX_LOGGED_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"
