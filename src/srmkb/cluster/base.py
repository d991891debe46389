"""A knowledge base sharded over several ordinary bases, on Ray actors or in-process.

:class:`ShardedKnowledgeBase` keeps :class:`~srmkb.KnowledgeBase`'s calls (``add``,
``upsert``, ``delete``, ``search``, ``answer``) over a folder of shards: each document
goes to the shard its id hashes to (:mod:`.routing`), and every search ranks over all
shards as one base would (:class:`~srmkb.cluster.sharded.ShardedIndex`). The query is
embedded once, here; the shards embed only documents.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from ..answering import respond
from ..answering.compose import Answer
from ..answering.evidence import LineVectors
from ..documents import Document, Hit, IngestError, SearchResults, SyncReport
from ..errors import InputError, StorageError
from ..index import Query, StaleRead
from ..index.filters import Filters
from ..index.query import check_text
from ..models import Embedder, load_embedder
from ..storage.layout import MANIFEST as BASE_MANIFEST
from ..vocabulary import Audience, Channel, Mode, When, timestamp
from .fleet import Fleet, LocalFleet, RayFleet, ShardUnavailableError, connect, same, start_actors
from .routing import MANIFEST, ClusterManifest, route
from .shard import Shard, ShardInfo
from .sharded import ShardedIndex

__all__ = ["ShardedKnowledgeBase"]

_T = TypeVar("_T")
log = logging.getLogger(__name__)
# A search whose shard version went away (a commit, a restarted actor) ranks again on new
# versions, this many times at most.
READ_ATTEMPTS = 3
RETRY_PAUSE = 1.0  # seconds, times the attempt


class ShardedKnowledgeBase:
    """A knowledge base split into ``shards`` ordinary bases under ``path``.

    ``cluster`` says where the shards run: ``None`` in this process (one after the
    other), ``"local"`` as Ray actors of a Ray instance started on this machine (or the
    one this process already joined), ``"auto"`` or an address as actors of that Ray
    cluster. ``shards`` is needed to create a base and, when given, must match an
    existing one's. ``model`` and ``dense`` are those of :class:`~srmkb.KnowledgeBase`
    (on a cluster a model by name: every shard loads its own; in this process an
    :class:`~srmkb.models.Embedder` too, shared). ``actor_options`` are Ray's options for
    the shards' actors (see :func:`~srmkb.cluster.fleet.start_actors`).

    Every search and answer ranks over every shard, with the collection's BM25
    statistics and candidates pooled from all of them, and is the one a single base
    holding the same documents gives; a shard that does not answer raises
    :class:`~srmkb.cluster.ShardUnavailableError` after :data:`READ_ATTEMPTS` tries, never
    a result from the others alone. Opening an existing base creates nothing.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        shards: int | None = None,
        cluster: str | None = "local",
        model: str | Embedder | None = None,
        dense: bool = True,
        create: bool = True,
        actor_options: dict[str, object] | None = None,
        timeout: float | None = 300,
    ) -> None:
        self.path = Path(path)
        if cluster is not None and model is not None and not isinstance(model, str):
            raise InputError(
                "shards on a cluster load their model by name: pass model='minilm', say"
            )
        if cluster is not None:
            connect(cluster)  # first: a missing Ray is said before anything is created
        if (self.path / MANIFEST).exists():
            self.manifest = ClusterManifest.read(self.path)
            if shards is not None and shards != len(self.manifest.shards):
                raise InputError(
                    f"{self.path} holds {len(self.manifest.shards)} shards, not {shards}:"
                    " open it without shards= (resharding is not supported yet)"
                )
        elif not create:
            raise StorageError(f"{self.path / MANIFEST} not found: no sharded base there")
        elif (self.path / BASE_MANIFEST).exists():
            raise InputError(f"{self.path} is an ordinary base, not a sharded one")
        elif shards is None:
            raise InputError("a new sharded base needs shards=N")
        else:
            self.manifest = self._create(shards, model, dense)
        folders = self.manifest.folders(self.path)
        missing = [str(f) for f in folders if not (f / BASE_MANIFEST).exists()]
        if missing:
            raise StorageError(f"shards missing from {self.path}: {', '.join(missing)}")
        self.cluster = cluster
        self.fleet: Fleet
        if cluster is None:
            self.fleet = LocalFleet([Shard(f, model=model, dense=dense) for f in folders])
        else:
            actors = start_actors(folders, options=actor_options)
            self.fleet = RayFleet(actors, [str(f) for f in folders], timeout=timeout)
        self._info: ShardInfo = self.fleet.call("info", same([0]))[0]
        self._model = model
        self._embedder: Embedder | None = None
        self._lines = LineVectors(lambda lines: self.embedder.embed_documents(lines))

    def _create(self, shards: int, model: str | Embedder | None, dense: bool) -> ClusterManifest:
        """A new sharded base: its shards' folders, each a new base, then the manifest
        (written last: a base interrupted while created is not one)."""
        manifest = ClusterManifest.new(shards)
        self.path.mkdir(parents=True, exist_ok=True)
        for folder in manifest.folders(self.path):
            Shard(folder, model=model, dense=dense, create=True).close()
        manifest.write(self.path)
        return manifest

    # -- the shards --------------------------------------------------------------------

    @property
    def shards(self) -> int:
        return len(self.manifest.shards)

    @property
    def shard_paths(self) -> list[Path]:
        """The shards' folders: each an ordinary base :class:`~srmkb.KnowledgeBase` opens."""
        return self.manifest.folders(self.path)

    @property
    def actors(self) -> list[Any]:
        """The shards' Ray actors (empty in-process), in shard order."""
        return list(self.fleet.actors) if isinstance(self.fleet, RayFleet) else []

    @property
    def model_id(self) -> str | None:
        return self._info.model_id

    @property
    def embedder(self) -> Embedder:
        """The model that embeds queries (the shards' own), loaded on first use."""
        if self._embedder is None:
            if self._info.model_id is None:
                raise StorageError(f"{self.path} has no dense index (built with dense=False)")
            if self._model is not None and not isinstance(self._model, str):
                self._embedder = self._model
            else:
                self._embedder = load_embedder(self._model or self._info.model_id)
        return self._embedder

    @property
    def index(self) -> ShardedIndex:
        """The current version of every shard, as one index."""
        return ShardedIndex(self.fleet, self._info)

    def __len__(self) -> int:
        return sum(self.fleet.call("count", same(range(self.shards))).values())

    # -- writing -----------------------------------------------------------------------

    def add(self, documents: Iterable[Document]) -> SyncReport:
        """Add new documents (see :meth:`srmkb.KnowledgeBase.add`)."""
        return self._write("add", [(d.id, d) for d in documents])

    def upsert(
        self, documents: Iterable[Document | IngestError], *, batch_size: int = 256
    ) -> SyncReport:
        """Add documents, replacing those whose id exists with other content (see
        :meth:`srmkb.KnowledgeBase.upsert`); each shard commits its own batches."""
        items, errors = _split(documents)
        return self._write("upsert", items, batch_size=batch_size) + SyncReport(
            errors=tuple(errors)
        )

    def sync(
        self,
        documents: Iterable[Document | IngestError],
        *,
        sources: Sequence[str],
        batch_size: int = 256,
    ) -> SyncReport:
        """Make the documents from ``sources`` mirror ``documents`` (see
        :meth:`srmkb.KnowledgeBase.sync`).

        Every shard syncs its own documents against the same ``sources``: a document
        gone from them is deleted by the shard that holds it. Every shard is told of the
        files that could not be read (:class:`IngestError`), since any shard may hold
        their documents, which are kept; the report lists each such error once."""
        items, errors = _split(documents)
        parts = route(items, self.shards)
        options = {"sources": list(sources), "batch_size": batch_size}
        requests = {i: (([*part, *errors],), options) for i, part in enumerate(parts)}
        report = _sum_reports(self.fleet.call("sync", requests))
        return replace(report, errors=tuple(errors))

    def delete(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents by id; ids not in the base are ignored."""
        return self._write("delete", [(i, i) for i in ids])

    def _write(
        self, method: str, items: Sequence[tuple[str, object]], **kwargs: object
    ) -> SyncReport:
        parts = route(items, self.shards)
        requests = {i: ((part,), kwargs) for i, part in enumerate(parts) if part}
        return _sum_reports(self.fleet.call(method, requests))  # the shards write at once

    # -- searching and answering -------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        audience: Audience = "customer",
        as_of: When | None = None,
    ) -> SearchResults:
        """The ``k`` best passages for ``query`` over every shard, best first (see
        :meth:`srmkb.KnowledgeBase.search`; searches of a sharded base are not logged)."""
        facts = self._query(query)

        def run(index: ShardedIndex, final: bool) -> list[Hit]:
            index.check_filters(filters)
            ranking = index.search(facts, k, mode=mode, audience=audience, filters=filters)
            return respond.hits(index, ranking, audience, final=final)

        return SearchResults(self._read(as_of, run))

    def answer(
        self,
        question: str,
        *,
        channel: Channel = "chat",
        audience: Audience | None = None,
        filters: Filters | None = None,
        threshold: float | None = None,
        as_of: When | None = None,
        language: str | None = None,
    ) -> Answer:
        """Answer ``question`` from every shard (see :meth:`srmkb.KnowledgeBase.answer`;
        answers of a sharded base are not logged)."""
        answer_from = respond.answering(
            self.model_id,
            self._query(question, "question"),
            self._lines,
            channel=channel,
            audience=audience,
            filters=filters,
            threshold=threshold,
            language=language,
        )

        def run(index: ShardedIndex, final: bool) -> Answer:
            index.check_filters(filters)
            return answer_from(index, final)

        return self._read(as_of, run)

    def _query(self, text: str, name: str = "query") -> Query:
        check_text(text, name)
        return Query(text, lambda t: self.embedder.embed_query(t))

    def _read(self, as_of: When | None, run: Callable[[ShardedIndex, bool], _T]) -> _T:
        """``run(version, final)`` on a new version of every shard; again on a new one
        when a shard's version went away (:class:`StaleRead`) or a shard did not answer
        (its actor restarting), the last try (``final``) dropping what is gone."""
        when = None if as_of is None else timestamp(as_of)
        for attempt in range(READ_ATTEMPTS):
            final = attempt == READ_ATTEMPTS - 1
            index = None
            try:
                index = ShardedIndex(self.fleet, self._info, as_of=when)
                return run(index, final)
            except StaleRead:
                log.warning("%s: a shard lost the version it was ranking; ranking again", self.path)
                if final:
                    raise ShardUnavailableError(
                        f"{self.path}: a shard lost the version it was ranking, {READ_ATTEMPTS}"
                        " times in a row (restarting?): try again"
                    ) from None
            except ShardUnavailableError as exc:
                log.warning("%s; ranking again", exc)
                if final:
                    raise
                time.sleep(RETRY_PAUSE * (attempt + 1))  # let a dead shard's actor restart
            finally:
                if index is not None:
                    try:
                        index.release()
                    except Exception:
                        pass
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- the base ----------------------------------------------------------------------

    def close(self) -> None:
        self.fleet.close()

    def __enter__(self) -> ShardedKnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ShardedKnowledgeBase({str(self.path)!r}, shards={self.shards}, cluster={self.cluster!r})"


def _split(
    documents: Iterable[Document | IngestError],
) -> tuple[list[tuple[str, Document]], list[IngestError]]:
    """(id, document) pairs to route, and the errors of what could not be read."""
    items: list[tuple[str, Document]] = []
    errors: list[IngestError] = []
    for item in documents:
        if isinstance(item, IngestError):
            errors.append(item)
        else:
            items.append((item.id, item))
    return items, errors


def _sum_reports(reports: dict[int, SyncReport]) -> SyncReport:
    """The shards' reports as one, in shard order."""
    total = SyncReport()
    for i in sorted(reports):
        total = total + reports[i]
    return total
