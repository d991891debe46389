"""The contract between the knowledge base and what holds its passages.

An :class:`Index` is one immutable version of an index: it ranks passages for a
:class:`~srmkb.index.query.Query` with the audience and filters applied inside, before
the top ``k`` is taken, and reads back the records of exactly the version that ranked
them. The same contract serves a whole local base (:class:`~srmkb.index.LocalIndex`)
and a base sharded over a cluster (:class:`srmkb.cluster.ShardedIndex`): each part
(:class:`IndexPart`) gathers its candidates with the collection's statistics (the sum
of the parts' :meth:`Index.statistics`), then the pooled candidates are ranked once
(:mod:`srmkb.index.candidates`).
Writes go through an :class:`IndexWriter`. ``tests/index_conformance.py`` holds the
conformance suite every implementation must pass, as the connectors have theirs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..documents import Document, IngestError, SyncReport
from ..errors import InputError
from ..storage.records import PassageRecord
from ..vocabulary import AUDIENCES, MODES, Audience, Mode, check_choice
from .candidates import Candidates, ranked
from .filters import Filters, validate
from .fusion import fuse_lists
from .query import Query
from .statistics import LexicalStatistics

Progress = Callable[[int], None]


class StaleRead(Exception):  # noqa: N818 - control flow between a version and its reader
    """A passage the version ranked is gone: a newer commit (an update, a delete, a
    merge) removed it before its record was read. The caller ranks again on the new
    version."""


@dataclass(frozen=True)
class Ranking:
    """Passages of one index version, best first, with the scores behind the order.

    ``parts`` holds each retriever's own score of the same passages (``"bm25"``,
    ``"dense"``); ``coverage`` the share of the query each passage covers (its BM25 over
    the query's idf mass), when BM25 ran; ``query_vector`` the query's embedding, when
    the dense side ran.
    """

    passage_ids: np.ndarray
    document_ids: np.ndarray
    scores: np.ndarray
    parts: Mapping[str, np.ndarray] = field(default_factory=dict)
    coverage: np.ndarray | None = None
    query_vector: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.passage_ids)

    @classmethod
    def empty(cls) -> Ranking:
        none = np.zeros(0, dtype=str)
        return cls(none, none, np.zeros(0, dtype=np.float32))

    @classmethod
    def fuse(cls, rankings: Sequence[Ranking], weights: Sequence[float], n: int) -> Ranking:
        """The ``n`` best of rankings of one index version fused (a query's and its
        translation's; see :func:`~srmkb.index.fusion.fuse_lists`), ties by passage id. A
        passage keeps the part scores and coverage of the first ranking that holds it."""
        keys, fused = fuse_lists([(r.passage_ids, r.scores) for r in rankings], weights)
        top = ranked(fused, keys, n)
        chosen = keys[top]
        last_first = list(reversed(rankings))  # the first ranking's values written last: win
        places = [_positions(r.passage_ids, chosen) for r in last_first]

        def pick(arrays: Sequence[np.ndarray]) -> np.ndarray:
            out = np.zeros(len(chosen), dtype=np.result_type(*arrays))
            for array, where in zip(arrays, places):
                hit = where >= 0
                out[hit] = array[where[hit]]
            return out

        names = [name for name in rankings[0].parts if all(name in r.parts for r in rankings)]
        coverages = [r.coverage for r in last_first if r.coverage is not None]
        return cls(
            passage_ids=chosen,
            document_ids=pick([r.document_ids for r in last_first]),
            scores=fused[top],
            parts={name: pick([r.parts[name] for r in last_first]) for name in names},
            coverage=pick(coverages) if len(coverages) == len(rankings) else None,
            query_vector=rankings[0].query_vector,
        )


def _positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position of each of ``wanted`` in ``keys`` (unique), -1 where absent."""
    if not len(keys):
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    at = np.searchsorted(keys, wanted, sorter=order).clip(0, len(keys) - 1)
    found = order[at]
    return np.where(keys[found] == wanted, found, -1)


def check_search(k: object, mode: str, audience: str, filters: Filters | None) -> None:
    """Raise :class:`~srmkb.InputError` for arguments :meth:`Index.search` refuses: a
    ``k`` that is not a whole number of at least 1, an unknown mode or audience, a
    malformed filter."""
    check_choice("mode", mode, MODES)
    check_choice("audience", audience, AUDIENCES)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InputError(f"k must be a whole number of at least 1, got {k!r}")
    if filters:
        validate(filters)


@runtime_checkable
class Index(Protocol):
    """One immutable version of an index."""

    @property
    def generation(self) -> int:
        """The committed generation this version shows."""
        ...

    @property
    def as_of(self) -> float | None:
        """The POSIX time a view of the past shows (:meth:`at`); None for the present."""
        ...

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of its live passages, most frequent first."""
        ...

    def __len__(self) -> int:
        """Live passages."""
        ...

    def search(
        self,
        query: Query,
        k: int,
        *,
        mode: Mode = "hybrid",
        audience: Audience = "customer",
        filters: Filters | None = None,
        statistics: LexicalStatistics | None = None,
    ) -> Ranking:
        """The ``k`` best passages the audience may see that match the filters; BM25
        scores with ``statistics`` when given (the sum of every part's, so that a part
        scores as the whole collection would), else with this index's own."""
        ...

    def statistics(self, query: Query) -> LexicalStatistics:
        """This index's BM25 statistics for ``query``, to be added to other parts'."""
        ...

    def passages(self, ids: Sequence[str]) -> dict[str, PassageRecord]:
        """The records of passages as this version holds them; an id this version does
        not hold, or that a newer commit removed, is left out."""
        ...

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        """A document's passages in reading order, as this version holds it."""
        ...

    def at(self, when: float) -> Index:
        """The index as it stood at POSIX time ``when``."""
        ...


@runtime_checkable
class IndexPart(Index, Protocol):
    """An index that can be one part of a larger collection (a shard)."""

    def candidates(
        self,
        query: Query,
        k: int,
        *,
        mode: Mode = "hybrid",
        audience: Audience = "customer",
        filters: Filters | None = None,
        statistics: LexicalStatistics | None = None,
        dense_vector: np.ndarray | None = None,
    ) -> Candidates:
        """Its candidates for the collection's ``k`` best passages, the audience and
        filters applied first; ``statistics`` (BM25's) and ``dense_vector`` (the vector
        the dense side searches with) are the collection's. Pooled with the other parts'
        (:meth:`Candidates.pool`), :func:`~srmkb.index.candidates.select` ranks them as
        one index holding every passage would."""
        ...


@runtime_checkable
class IndexWriter(Protocol):
    """Writes to an index; each call commits atomically and bumps the generation."""

    def upsert(
        self,
        documents: Iterable[Document | IngestError],
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Add documents, replacing those whose id exists with other content."""
        ...

    def delete(self, ids: Sequence[str]) -> SyncReport:
        """Delete documents by id (earlier versions stay, for :meth:`Index.at`)."""
        ...

    def purge(self, ids: Sequence[str]) -> None:
        """Forget the earlier versions of documents."""
        ...

    def optimize(self) -> None:
        """Merge all segments into one and drop deleted rows."""
        ...
