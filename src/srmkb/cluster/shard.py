"""One shard: an ordinary base in its own folder, serving a coordinator's calls.

A :class:`Shard` is plain Python: in one process it is called directly; on a Ray cluster
the same class runs as an actor (:mod:`srmkb.cluster.fleet`). Every argument and result
is plain data (strings, NumPy arrays, frozen dataclasses), so either way the calls are
the same. A query arrives as its text and vector, embedded once by the coordinator.

Reads go through *pinned* versions: :meth:`Shard.pin` holds the shard's current version
(or its view of the past) under a token, and every later call of that query names the
token, so everything a search returns comes from the versions that ranked it. A token a
shard no longer holds (evicted, or the shard restarted) raises :class:`StaleRead`, and
the coordinator ranks again on new pins.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..check import CheckReport
from ..documents import Document, IngestError, SyncReport
from ..index import LocalIndex, Query, StaleRead
from ..index.candidates import Candidates
from ..index.filters import Filters
from ..index.statistics import LexicalStatistics
from ..kb import KnowledgeBase
from ..models import Embedder
from ..storage.records import DocumentView, PassageRecord, VersionInfo
from ..text.chunking import DEFAULT_MAX_WORDS
from ..vocabulary import Audience, Mode

__all__ = ["Pinned", "Shard", "ShardInfo"]

# Versions a shard keeps pinned at once; the oldest is dropped first.
PINNED = 256


@dataclass(frozen=True)
class ShardInfo:
    """What a coordinator needs to know of a shard's model to rank across shards."""

    model_id: str | None
    model_languages: frozenset[str] | None
    query_means: dict[str, np.ndarray]
    cosine_map: tuple[float, float]


@dataclass(frozen=True)
class Pinned:
    """A version a shard holds for one query: its token, generation, live passages and
    live passages per language."""

    token: int
    generation: int
    passages: int
    languages: dict[str, int]


class Shard:
    """A shard of a sharded base, at ``path``: an ordinary base that
    :class:`~srmkb.KnowledgeBase` opens alone. ``threads`` bounds the model's threads,
    so shards sharing a machine do not oversubscribe it."""

    def __init__(
        self,
        path: str | Path,
        *,
        model: str | Embedder | None = None,
        dense: bool = True,
        dense_index: str = "SQfp16",
        max_words: int = DEFAULT_MAX_WORDS,
        create: bool = False,
        threads: int = 1,
    ) -> None:
        self.path = Path(path)
        self.kb = KnowledgeBase(
            self.path,
            model=model,
            dense=dense,
            dense_index=dense_index,
            max_words=max_words,
            create=create,
            threads=threads,
            log_interactions=False,  # the sharded base logs, once, at its root
        )
        self._pinned: OrderedDict[int, LocalIndex] = OrderedDict()
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

    # -- facts -------------------------------------------------------------------------

    def info(self) -> ShardInfo:
        snap = self._current().snapshot
        return ShardInfo(
            model_id=self.kb.model_id,
            model_languages=snap.model_languages,
            query_means=dict(snap.query_means),
            cosine_map=snap.cosine_map,
        )

    def ping(self) -> bool:
        return True

    # -- reading -----------------------------------------------------------------------

    def pin(self, as_of: float | None = None) -> Pinned:
        """Hold the current version (or its view at ``as_of``) for one query."""
        version = self._current()
        if as_of is not None:
            version = version.at(as_of)
        languages = version.snapshot.language_counts
        with self._lock:
            token = next(self._tokens)
            self._pinned[token] = version
            while len(self._pinned) > PINNED:
                self._pinned.popitem(last=False)
        return Pinned(token, version.generation, len(version), languages)

    def release(self, token: int) -> None:
        with self._lock:
            self._pinned.pop(token, None)

    def statistics(self, token: int, text: str, vector: np.ndarray | None) -> LexicalStatistics:
        return self._version(token).statistics(_query(text, vector))

    def candidates(
        self,
        token: int,
        text: str,
        vector: np.ndarray | None,
        k: int,
        *,
        mode: Mode,
        audience: Audience,
        filters: Filters | None,
        statistics: LexicalStatistics,
        dense_vector: np.ndarray | None,
    ) -> Candidates:
        return self._version(token).candidates(
            _query(text, vector),
            k,
            mode=mode,
            audience=audience,
            filters=filters,
            statistics=statistics,
            dense_vector=dense_vector,
        )

    def passages(self, token: int, ids: Sequence[str]) -> dict[str, PassageRecord]:
        return self._version(token).passages(ids)

    def document_passages(self, token: int, document_id: str) -> list[PassageRecord]:
        return self._version(token).document_passages(document_id)

    def fields(self, token: int) -> frozenset[str]:
        """The filterable fields of this version's documents (and earlier versions')."""
        version = self._version(token)
        found = {key for _, fields in self.kb.catalog.documents_for_filter() for key in fields}
        for fields in version.snapshot.history_fields.values():
            found.update(fields)
        return frozenset(found)

    def _current(self) -> LocalIndex:
        version = self.kb.index  # picks up commits made by other processes
        assert isinstance(version, LocalIndex)
        return version

    def _version(self, token: int) -> LocalIndex:
        with self._lock:
            version = self._pinned.get(token)
        if version is None:
            raise StaleRead(f"{self.path}: version {token} is no longer pinned")
        return version

    # -- writing -----------------------------------------------------------------------

    def add(self, documents: Sequence[Document]) -> SyncReport:
        return self.kb.add(documents)

    def upsert(
        self, documents: Sequence[Document | IngestError], *, batch_size: int = 256
    ) -> SyncReport:
        return self.kb.upsert(documents, batch_size=batch_size)

    def sync(
        self,
        documents: Sequence[Document | IngestError],
        *,
        sources: Sequence[str],
        batch_size: int = 256,
    ) -> SyncReport:
        return self.kb.sync(documents, sources=sources, batch_size=batch_size)

    def delete(self, ids: Sequence[str]) -> SyncReport:
        return self.kb.delete(ids)

    def prune(
        self, sources: Sequence[str], seen: Sequence[str], unread: Sequence[str]
    ) -> SyncReport:
        """The end of a sync streamed over several calls of :meth:`upsert`: delete the
        documents from ``sources`` not ``seen``, but those from the files in ``unread``
        (which could not be read this time), as :meth:`srmkb.KnowledgeBase.sync` does."""
        catalog = self.kb.catalog
        kept = set(catalog.document_ids(source_prefixes=unread)) if unread else set()
        found = set(seen)
        stored = catalog.document_ids(source_prefixes=list(sources))
        stale = [d for d in stored if d not in found and d not in kept]
        return self.kb.delete(stale) if stale else SyncReport()

    def purge(self, ids: Sequence[str]) -> SyncReport:
        return self.kb.purge(ids)

    def optimize(self) -> None:
        self.kb.optimize()

    # -- documents ---------------------------------------------------------------------

    def count(self) -> int:
        """Documents in this shard."""
        return len(self.kb)

    def get(self, document_id: str) -> Document | None:
        return self.kb.get(document_id)

    def document(self, document_id: str, audience: Audience) -> DocumentView | None:
        return self.kb.document(document_id, audience=audience)

    def contains(self, document_id: str) -> bool:
        return document_id in self.kb

    def versions(self, document_id: str) -> list[VersionInfo]:
        return self.kb.versions(document_id)

    def get_version(self, document_id: str, version: int) -> Document | None:
        return self.kb.get_version(document_id, version)

    def passage_text(self, passage_id: str) -> str | None:
        return self.kb.passage_text(passage_id)

    def current_passages(self, document_id: str) -> list[PassageRecord]:
        """A document's current passages, in reading order."""
        return self.kb.document_passages(document_id)

    def document_summaries(self) -> list[dict[str, object]]:
        return self.kb.catalog.document_summaries()

    def stats(self) -> dict[str, object]:
        return self.kb.stats()

    def check(self) -> CheckReport:
        return self.kb.check()

    def pid(self) -> int:
        """The process serving this shard (its Ray actor's, on a cluster)."""
        return os.getpid()

    def close(self) -> None:
        with self._lock:
            self._pinned.clear()
        self.kb.close()


def _query(text: str, vector: np.ndarray | None) -> Query:
    """The coordinator's query: its vector comes embedded, never embedded again here."""
    if vector is None:
        return Query(text)
    return Query(text, lambda _text: vector)
