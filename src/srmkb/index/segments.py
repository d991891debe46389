"""Immutable segments: a batch of passages with its lexical and dense indexes on disk.

A segment is a directory of ``.npy`` files (plus a faiss file for approximate dense
indexes). It is written once, under a temporary name, fsynced and renamed; the catalog
refers to it only after that, so a crash never leaves a half-written segment in use.
Deleted rows are a bitmap in the catalog, not a change to the segment.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .. import npy
from ..documents import Passage
from ..errors import StorageError
from .dense import DenseSegment, dense_files
from .postings import LEXICAL_FILES, LexicalSegment

VISIBILITY_CODES = {"public": 0, "internal": 1}
_ROW_FILES = ("passage_ids", "document_ids", "internal", "language")


@dataclass
class Segment:
    """One segment, loaded: row ``i`` is the same passage in every array."""

    id: str
    passage_ids: np.ndarray  # unicode
    document_ids: np.ndarray  # unicode
    internal: np.ndarray  # bool: visibility == "internal"
    language: np.ndarray  # unicode language codes
    lexical: LexicalSegment
    dense: DenseSegment | None

    @property
    def n_passages(self) -> int:
        return int(self.passage_ids.shape[0])

    @cached_property
    def document_starts(self) -> np.ndarray:
        """Whether each row starts a new document (a document's rows are consecutive);
        kept, so a snapshot numbers documents without comparing every id again."""
        ids = np.asarray(self.document_ids)
        starts = np.empty(len(ids), dtype=bool)
        if len(ids):
            starts[0] = True
            np.not_equal(ids[1:], ids[:-1], out=starts[1:])
        return starts

    @cached_property
    def language_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """The segment's languages, sorted, and each row's index among them; kept, so a
        snapshot counts languages with integers instead of sorting every row's code."""
        names, codes = np.unique(np.asarray(self.language), return_inverse=True)
        return names, codes.reshape(-1).astype(np.int32)

    @classmethod
    def build(
        cls,
        passages: Sequence[Passage],
        token_lists: Iterable[Iterable[str]],
        vectors: np.ndarray | None,
        *,
        factory: str = "Flat",
    ) -> Segment:
        """One segment of ``passages``; ``token_lists`` gives each passage's index terms,
        in order, and may be a generator (the lexical build consumes it as it goes)."""
        return cls(
            id=uuid.uuid4().hex[:16],
            passage_ids=np.array([p.id for p in passages], dtype=str),
            document_ids=np.array([p.document_id for p in passages], dtype=str),
            internal=np.array([p.visibility == "internal" for p in passages], dtype=bool),
            language=np.array([p.language for p in passages], dtype=str),
            lexical=LexicalSegment.build(token_lists),
            dense=DenseSegment.build(vectors, factory) if vectors is not None else None,
        )

    def write(self, root: Path, factory: str) -> Path:
        """Write the segment under ``root`` atomically; returns its directory."""
        final = root / self.id
        tmp = root / f".{self.id}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        for name in _ROW_FILES:
            np.save(tmp / f"{name}.npy", getattr(self, name), allow_pickle=False)
        self.lexical.save(tmp)
        if self.dense is not None:
            self.dense.save(tmp, factory)
        # Together, not one after another: the file system commits them in one go
        # (a segment's nine files took half the time; fsync was a tenth of a build).
        files = list(tmp.iterdir())
        with ThreadPoolExecutor(max_workers=len(files)) as pool:
            list(pool.map(_fsync, files))
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(root)
        return final

    @classmethod
    def load(cls, directory: Path, *, dense_factory: str | None) -> Segment:
        """Load a segment; a missing, truncated or unreadable file is a
        :class:`StorageError` naming it."""
        expected = [*(f"{name}.npy" for name in _ROW_FILES), *LEXICAL_FILES]
        if dense_factory is not None:
            expected += dense_files(dense_factory)
        for name in expected:
            if not (directory / name).is_file():
                raise StorageError(f"{directory / name} is missing: the segment is damaged")
        try:
            rows = {name: npy.load(directory / f"{name}.npy") for name in _ROW_FILES}
            lexical = LexicalSegment.load(directory)
            dense = DenseSegment.load(directory, dense_factory) if dense_factory else None
        except (OSError, ValueError, EOFError, RuntimeError) as exc:
            raise StorageError(f"{directory}: a file is unreadable ({exc})") from exc
        segment = cls(id=directory.name, lexical=lexical, dense=dense, **rows)
        n = segment.n_passages
        sizes = {name: len(a) for name, a in rows.items()}
        sizes["lexical_length"] = len(lexical.length)
        if dense is not None:
            sizes["vectors"] = dense.n_passages
        wrong = [f"{name}.npy" for name, size in sizes.items() if size != n]
        if wrong:
            raise StorageError(
                f"{directory}: {', '.join(wrong)} do not hold {n} rows: the segment is damaged"
            )
        return segment


def merge_segments(
    parts: Sequence[tuple[Segment, np.ndarray]], *, factory: str
) -> tuple[Segment, list[str]]:
    """Merge the live rows of several segments into one; returns it and its passage ids.

    Each part is a segment and the boolean mask of its rows to keep. Terms are rebuilt
    from the stored postings and vectors copied, so merging never re-analyses or
    re-embeds text.
    """
    dense_parts: list[tuple[DenseSegment, np.ndarray]] = []
    pids, dids, internal, language = [], [], [], []
    has_dense = all(seg.dense is not None for seg, _ in parts)
    for seg, keep in parts:
        rows = np.flatnonzero(keep)
        pids.append(np.asarray(seg.passage_ids)[rows])
        dids.append(np.asarray(seg.document_ids)[rows])
        internal.append(np.asarray(seg.internal)[rows])
        language.append(np.asarray(seg.language)[rows])
        if seg.dense is not None:
            dense_parts.append((seg.dense, rows))
    merged = Segment(
        id=uuid.uuid4().hex[:16],
        passage_ids=np.concatenate(pids).astype(str, copy=False),
        document_ids=np.concatenate(dids).astype(str, copy=False),
        internal=np.concatenate(internal).astype(bool, copy=False),
        language=np.concatenate(language).astype(str, copy=False),
        lexical=LexicalSegment.merge([(seg.lexical, keep) for seg, keep in parts]),
        dense=DenseSegment.merge(dense_parts, factory) if has_dense else None,
    )
    return merged, merged.passage_ids.tolist()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
