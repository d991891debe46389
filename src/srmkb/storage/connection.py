"""The catalog's SQLite file: opening it, one connection per thread, transactions.

An existing base's catalog is opened as it is (``mode=rw``, never created) and checked
before use; only a new base creates one. The tables come from :mod:`.schema`.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from ..errors import StorageError
from .schema import ALL_TABLES, CORE_TABLES, SCHEMA

_Self = TypeVar("_Self", bound="CatalogConnection")


class CatalogConnection:
    """Thread-safe connections to ``catalog.sqlite``; writes go through :meth:`transaction`.

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
            elif not ALL_TABLES <= tables:
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
    def read(self: _Self) -> Iterator[_Self]:
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
