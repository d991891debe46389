"""The base directory on disk: manifest, write lock and clean-up of interrupted writes.

Layout of a base::

    manifest.json      format version, srmkb version, configuration, model id and
                       dimension, counts (written atomically: temp file, fsync, rename)
    catalog.sqlite     documents, passages, live segments: the commit point
    interactions.sqlite  the audit log of answers and searches (questions redacted)
    segments/<id>/     immutable segment files (.npy, and .faiss for approximate indexes)
    embeddings.sqlite  a cache of passage vectors by text hash (safe to delete)
    write.lock         held by the one process writing
    drafts.lock        held by the one capture or draft review under way

Opening a base reads; it never creates, truncates or deletes a file. Only a writer,
holding the write lock, removes segment folders, and only those the catalog marks as
pending (never committed) or retired (merged away): see :func:`collect_garbage`.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from ..errors import BusyError, DiskFullError, InputError, StorageError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.sqlite"
INTERACTIONS = "interactions.sqlite"
SEGMENTS = "segments"
# A sharded base's manifest (srmkb.cluster): its folder holds shards, each a base.
CLUSTER_MANIFEST = "cluster.json"
DRAFTS_LOCK = "drafts.lock"
# Seconds a capture or a draft review waits for another one of the base to finish.
DRAFTS_WAIT = 60.0


@dataclass
class Manifest:
    """What a base was built with; loading it rebuilds exactly that configuration."""

    format_version: int
    srmkb_version: str
    model_id: str | None  # None: a lexical-only base
    dimension: int | None
    dense_index: str = "Flat"
    max_words: int = 100
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def base_exists(root: Path, *, create: bool) -> bool:
    """Whether a base is at ``root``. When none is and ``create`` is false, or when the
    folder holds a base without its manifest (damaged), raise :class:`StorageError`
    without changing anything."""
    if (root / MANIFEST).exists():
        return True
    if not create:
        raise StorageError(f"no knowledge base at {root}; create it with srmkb ingest")
    if (root / CATALOG).exists() or any((root / SEGMENTS).glob("[!.]*")):
        raise StorageError(
            f"{root / MANIFEST} is missing but the folder holds a base: it is damaged;"
            " nothing was changed (restore the manifest, or ingest into a new folder)"
        )
    return False


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StorageError(f"{root} is not an srmkb knowledge base (no {MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise StorageError(f"{path} is unreadable: {exc}") from exc
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise StorageError(
            f"{root} has format version {version}; this srmkb reads version {FORMAT_VERSION}."
            " Re-ingest the sources into a new base."
        )
    known = set(Manifest.__dataclass_fields__)
    try:
        return Manifest(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise StorageError(f"{path} is incomplete: {exc}") from exc


def write_manifest(root: Path, manifest: Manifest) -> None:
    text = json.dumps(manifest.to_json(), indent=2, sort_keys=True)
    atomic_write(root / MANIFEST, text)


def atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a base is shared like any data file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextmanager
def write_lock(root: Path, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the base's write lock; yields False when not blocking and it is taken."""
    with (
        open(root / "write.lock", "a+") as handle,
        _locked(handle, None if blocking else 0) as held,
    ):
        yield held


@contextmanager
def drafts_lock(root: Path, *, wait: float) -> Iterator[None]:
    """Hold the base's drafts lock: capture and each review decision read the drafts and
    write them back under it, so two of them never act on the same draft at once (two
    reviewers deciding it differently, or capture adding a case to a draft a reviewer
    has just approved). Waits at most ``wait`` seconds for whoever holds it, then raises
    :class:`~srmkb.errors.BusyError`. Threads of one process exclude each other too
    (each call opens its own handle)."""
    if not wait >= 0:  # NaN too
        raise InputError(f"wait must be a number of seconds >= 0, not {wait!r}")
    try:
        handle = open(root / DRAFTS_LOCK, "a+")
    except OSError as exc:  # a base on a read-only disk, or not a base at all
        raise StorageError(f"{root}: cannot open {DRAFTS_LOCK}: {exc.strerror}") from exc
    with handle, _locked(handle, wait) as held:
        if not held:
            raise BusyError(
                f"{root}: another capture or draft review is under way"
                f" (waited {wait:g} s for {DRAFTS_LOCK}); try again when it ends"
            )
        yield


@contextmanager
def _locked(handle: IO[str], wait: float | None) -> Iterator[bool]:
    """An exclusive ``flock`` on ``handle``, waited for without end (``wait`` None) or for
    at most ``wait`` seconds; yields whether it is held, and releases it after."""
    deadline = time.monotonic() + (wait or 0.0)
    pause = 0.005
    while not _flock(handle, blocking=wait is None):
        left = deadline - time.monotonic()
        if left <= 0:
            yield False
            return
        time.sleep(min(pause, left))
        pause = min(2 * pause, 0.1)
    try:
        yield True
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


def _flock(handle: IO[str], *, blocking: bool) -> bool:
    """Take an exclusive ``flock``; False when not blocking and another holds it."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def collect_garbage(root: Path, marked: Iterable[str]) -> list[str]:
    """Delete the segment folders ``marked`` by the catalog (pending or retired), and
    temporary files of interrupted writes; returns the segment ids removed.

    Call it holding the write lock. A folder the catalog does not mark is left alone,
    whatever it holds: ``srmkb check`` reports it.
    """
    removed: list[str] = []
    seg_root = root / SEGMENTS
    for seg_id in marked:
        for path in (seg_root / seg_id, seg_root / f".{seg_id}.tmp"):
            if path.exists():
                shutil.rmtree(path, ignore_errors=True)
        removed.append(seg_id)
    for stray in root.glob(f".{MANIFEST}.*.tmp"):
        stray.unlink(missing_ok=True)
    return removed


def file_checksums(directory: Path) -> dict[str, tuple[int, str]]:
    """Size and SHA-256 of each file in a folder."""
    out: dict[str, tuple[int, str]] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
            out[path.name] = (path.stat().st_size, digest.hexdigest())
    return out


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error means the disk (or quota, or file size limit) is full."""
    if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
        return True
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "disk is full" in str(exc)
    return False


@contextmanager
def disk_errors(root: Path) -> Iterator[None]:
    """Turn running out of space under ``root`` into :class:`DiskFullError`."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if is_disk_full(exc):
            raise DiskFullError(
                f"{root}: no space left on the device ({exc}); nothing was committed and the"
                " base is as it was: free some space and run the write again"
            ) from exc
        raise
