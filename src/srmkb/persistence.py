"""The base directory on disk: manifest, write lock and clean-up of interrupted writes.

Layout of a base::

    manifest.json      format version, srmkb version, configuration, model id and
                       dimension, counts (written atomically: temp file, fsync, rename)
    catalog.sqlite     documents, passages, live segments: the commit point
    interactions.sqlite  the audit log of answers and searches (questions redacted)
    segments/<id>/     immutable segment files (.npy, and .faiss for approximate indexes)
    write.lock         held by the one process writing
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import StorageError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CATALOG = "catalog.sqlite"
INTERACTIONS = "interactions.sqlite"
SEGMENTS = "segments"


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
    handle = open(root / "write.lock", "a+")
    try:
        flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def remove_orphans(root: Path, live_segments: set[str]) -> list[str]:
    """Delete segment folders no commit refers to (left by a crash or a merge)."""
    removed: list[str] = []
    seg_root = root / SEGMENTS
    if not seg_root.is_dir():
        return removed
    for child in seg_root.iterdir():
        if child.name not in live_segments:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    for stray in root.glob(f".{MANIFEST}.*.tmp"):
        stray.unlink(missing_ok=True)
    return removed
