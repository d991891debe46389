"""A knowledge base sharded over several ordinary bases, on Ray actors or in-process.

:class:`ShardedKnowledgeBase` is a :class:`~srmkb.KnowledgeBase` (``KnowledgeBase(DIR,
shards=N)`` makes one, and opens a folder holding one) with the same calls over a folder
of shards: each document goes to the shard its id hashes to (:mod:`.routing`), every
search ranks over all shards as one base would
(:class:`~srmkb.cluster.sharded.ShardedIndex`), and searching, answering, logging,
feedback, the report and capture run the façade's own code over that index. The query is
embedded once, here; the shards embed only their documents, so on a cluster the
embedding of an ingest is spread over the shards' actors. The interaction log and
capture's records live once, at the root (:mod:`.catalog`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

from ..answering.evidence import LineVectors
from ..check import CheckReport, Problem, check_base
from ..documents import Document, IngestError, SyncReport, tracked
from ..errors import InputError, SrmkbError, StorageError
from ..index import Index, StaleRead
from ..index.filters import Filters
from ..index.protocol import Progress
from ..ingestion import IngestProgress, ReportingSlot
from ..kb import KnowledgeBase
from ..models import Embedder
from ..storage.interactions import AuditLog
from ..storage.layout import INTERACTIONS
from ..storage.layout import MANIFEST as BASE_MANIFEST
from ..storage.records import DocumentView, PassageRecord, VersionInfo
from ..text.chunking import DEFAULT_MAX_WORDS
from ..vocabulary import Audience, When, timestamp
from .catalog import ShardedCatalog
from .fleet import (
    Fleet,
    LocalFleet,
    RayFleet,
    Requests,
    ShardUnavailableError,
    connect,
    same,
    start_actors,
)
from .routing import MANIFEST, ClusterManifest, route, shard_of
from .shard import Shard, ShardInfo
from .sharded import ShardedIndex

__all__ = ["ShardedKnowledgeBase", "check_shards"]

_T = TypeVar("_T")
log = logging.getLogger(__name__)
# A search whose shard version went away (a commit, a restarted actor) ranks again on new
# versions, this many times at most.
READ_ATTEMPTS = 3
RETRY_PAUSE = 1.0  # seconds, times the attempt


class ShardedKnowledgeBase(KnowledgeBase):
    """A knowledge base split into ``shards`` ordinary bases under ``path``.

    ``cluster`` says where the shards run: ``None`` in this process (a thread per
    shard), ``"local"`` as Ray actors of a Ray instance started on this machine (or the
    one this process already joined), ``"auto"`` or an address as actors of that Ray
    cluster. ``shards`` is needed to create a base and, when given, must match an
    existing one's. ``model``, ``dense``, ``dense_index`` and ``max_words`` are those of
    :class:`~srmkb.KnowledgeBase` (on a cluster a model by name: every shard loads its
    own; in this process an :class:`~srmkb.models.Embedder` too, shared). ``threads``
    bounds the threads of the model that embeds queries here. ``actor_options`` are Ray's
    options for the shards' actors (see :func:`~srmkb.cluster.fleet.start_actors`);
    ``timeout`` (seconds) bounds a read's wait for every shard.

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
        model: str | Embedder | None = None,
        dense: bool = True,
        dense_index: str = "SQfp16",
        max_words: int = DEFAULT_MAX_WORDS,
        create: bool = True,
        threads: int | None = None,
        log_interactions: bool | None = None,
        shards: int | None = None,
        cluster: str | None = None,
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
        settings = {"dense": dense, "dense_index": dense_index, "max_words": max_words}
        self.cluster_manifest = self._open(shards, model, create, settings)
        folders = self.cluster_manifest.folders(self.path)
        self.cluster = cluster
        self.fleet: Fleet
        if cluster is None:
            self.fleet = LocalFleet([Shard(f, model=model, dense=dense) for f in folders])
        else:
            actors = start_actors(folders, options=actor_options)
            self.fleet = RayFleet(actors, [str(f) for f in folders], timeout=timeout)
        self._info: ShardInfo = self.fleet.call("info", same([0]))[0]
        self._model = ReportingSlot(model, base=self.path, threads=threads)
        self._audit = AuditLog(self.path / INTERACTIONS, enabled=log_interactions)
        self._loop_catalog = ShardedCatalog(self.path, self.fleet)
        self._lines = LineVectors(lambda lines: self.embedder.embed_documents(lines))

    def _open(
        self,
        shards: int | None,
        model: str | Embedder | None,
        create: bool,
        settings: dict[str, Any],
    ) -> ClusterManifest:
        """The manifest of the base at ``path``, checked, or of a new base made there:
        its shards' folders, each a new base, then the manifest (written last: a base
        interrupted while created is not one)."""
        if (self.path / MANIFEST).exists():
            manifest = ClusterManifest.read(self.path)
            if shards is not None and shards != len(manifest.shards):
                raise InputError(
                    f"{self.path} holds {len(manifest.shards)} shards, not {shards}:"
                    " open it without shards= (resharding is not supported yet)"
                )
        elif not create:
            raise StorageError(f"{self.path / MANIFEST} not found: no sharded base there")
        elif (self.path / BASE_MANIFEST).exists():
            raise InputError(f"{self.path} is an ordinary base, not a sharded one")
        elif shards is None:
            raise InputError("a new sharded base needs shards=N")
        else:
            manifest = ClusterManifest.new(shards)
            self.path.mkdir(parents=True, exist_ok=True)
            for folder in manifest.folders(self.path):
                Shard(folder, model=model, create=True, **settings).close()
            manifest.write(self.path)
        missing = [str(f) for f in manifest.folders(self.path) if not (f / BASE_MANIFEST).exists()]
        if missing:
            raise StorageError(f"shards missing from {self.path}: {', '.join(missing)}")
        return manifest

    # -- the shards --------------------------------------------------------------------

    @property
    def shards(self) -> int:
        return len(self.cluster_manifest.shards)

    @property
    def shard_paths(self) -> list[Path]:
        """The shards' folders: each an ordinary base :class:`~srmkb.KnowledgeBase` opens."""
        return self.cluster_manifest.folders(self.path)

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
        return self._model.get(self._info.model_id)

    @property
    def index(self) -> ShardedIndex:
        """The current version of every shard, as one index."""
        return ShardedIndex(self.fleet, self._info)

    def refresh(self) -> bool:
        """Searches pin every shard's latest version, so there is nothing to pick up."""
        return False

    def _read(self, as_of: When | None, run: Callable[[Index, bool], _T]) -> _T:
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

    def _check_filters(self, index: Index, filters: Filters | None) -> None:
        assert isinstance(index, ShardedIndex)
        index.check_filters(filters)

    def _reporting(self, counter: IngestProgress) -> AbstractContextManager[object]:
        return nullcontext()  # the shards load their own model; progress is per batch

    # -- writing -----------------------------------------------------------------------

    def add(self, documents: Iterable[Document], **kwargs: object) -> SyncReport:
        """Add new documents (see :meth:`srmkb.KnowledgeBase.add`): an id already in the
        base raises :class:`~srmkb.DocumentExistsError`, from the shard that holds it."""
        return self._write("add", [(d.id, d) for d in documents], **kwargs)

    def upsert(
        self,
        documents: Iterable[Document | IngestError],
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Add documents, replacing those whose id exists with other content (see
        :meth:`srmkb.KnowledgeBase.upsert`).

        Documents stream in rounds of ``batch_size`` per shard: every shard commits its
        part of a round at once (embedding it, on a cluster, in its own actor), and
        ``progress(n)`` is told of the round's documents when all have committed. An
        interrupted upsert keeps every round committed before it."""
        report = SyncReport()
        for items, errors in _rounds(documents, batch_size * self.shards):
            report += self._write("upsert", items, batch_size=batch_size)
            report += SyncReport(errors=tuple(errors))
            if progress is not None and items:
                progress(len(items))
        return report

    def sync(
        self,
        documents: Iterable[Document | IngestError],
        *,
        sources: Sequence[str],
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Make the documents from ``sources`` mirror ``documents`` (see
        :meth:`srmkb.KnowledgeBase.sync`): an upsert in rounds, then every shard deletes
        its documents from ``sources`` that were not seen, but those from a file an
        :class:`IngestError` says could not be read this time."""
        seen: list[list[str]] = [[] for _ in range(self.shards)]
        unread: list[str] = []

        def saw(document_id: str) -> None:
            seen[shard_of(document_id, self.shards)].append(document_id)

        items = tracked(documents, saw, unread)
        report = self.upsert(items, batch_size=batch_size, progress=progress)
        requests: Requests = {i: ((list(sources), ids, unread), {}) for i, ids in enumerate(seen)}
        return report + _sum_reports(self.fleet.call("prune", requests, writing=True))

    def delete(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents by id; ids not in the base are ignored."""
        return self._write("delete", [(i, i) for i in ids])

    def purge(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents and forget their earlier versions too (see
        :meth:`srmkb.KnowledgeBase.purge`)."""
        return self._write("purge", [(i, i) for i in ids])

    def optimize(self) -> None:
        """Merge each shard's segments into one (see :meth:`srmkb.KnowledgeBase.optimize`)."""
        self.fleet.call("optimize", same(range(self.shards)), writing=True)

    def calibrate(self, settings: object | None = None) -> None:
        """Not available for a sharded base yet: it answers with the shipped confidence
        model, as one base does before :meth:`srmkb.KnowledgeBase.calibrate`. Raises
        :class:`~srmkb.SrmkbError` rather than appear to calibrate."""
        raise SrmkbError(
            f"{self.path}: calibrating a sharded base is not supported yet; its answers"
            " use the shipped confidence model"
        )

    def _write(
        self, method: str, items: Sequence[tuple[str, object]], **kwargs: object
    ) -> SyncReport:
        parts = route(items, self.shards)
        requests = {i: ((part,), kwargs) for i, part in enumerate(parts) if part}
        # The shards write at once.
        return _sum_reports(self.fleet.call(method, requests, writing=True))

    # -- documents and versions, from the shard that holds each ------------------------

    def _ask(self, method: str, document_id: str, *args: object) -> Any:
        """``method(document_id, *args)`` of the shard that holds the document."""
        i = shard_of(document_id, self.shards)
        return self._retried(method, {i: ((document_id, *args), {})})[i]

    def _retried(self, method: str, requests: Requests) -> dict[int, Any]:
        """A read of the shards, tried again (as searches are) while a shard's actor
        restarts."""
        for attempt in range(READ_ATTEMPTS):
            try:
                return self.fleet.call(method, requests)
            except ShardUnavailableError as exc:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                log.warning("%s; asking again", exc)
                time.sleep(RETRY_PAUSE * (attempt + 1))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def get(self, document_id: str) -> Document | None:
        result: Document | None = self._ask("get", document_id)
        return result

    def document(self, document_id: str, *, audience: Audience = "customer") -> DocumentView | None:
        result: DocumentView | None = self._ask("document", document_id, audience)
        return result

    def __contains__(self, document_id: object) -> bool:
        return isinstance(document_id, str) and bool(self._ask("contains", document_id))

    def versions(self, document_id: str) -> list[VersionInfo]:
        result: list[VersionInfo] = self._ask("versions", document_id)
        return result

    def get_version(self, document_id: str, version: int) -> Document | None:
        result: Document | None = self._ask("get_version", document_id, version)
        return result

    def passage_text(self, passage_id: str) -> str | None:
        document_id = passage_id.rpartition("#")[0]  # a passage's id is "<document id>#<n>"
        if not document_id:
            return None
        i = shard_of(document_id, self.shards)
        result: str | None = self._retried("passage_text", {i: ((passage_id,), {})})[i]
        return result

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        return self._loop_catalog.document_passages(document_id)

    def __len__(self) -> int:
        return sum(self._retried("count", same(range(self.shards))).values())

    @property
    def catalog(self) -> ShardedCatalog:  # type: ignore[override]  # the loop's calls only
        """Documents from the shards, capture's drafts and links from the root (see
        :class:`~srmkb.cluster.catalog.ShardedCatalog`)."""
        return self._loop_catalog

    # -- the base ----------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Every shard's check (see :meth:`srmkb.KnowledgeBase.check`), as one report."""
        found = self._retried("check", same(range(self.shards)))
        return _merged(str(self.path), [found[i] for i in sorted(found)])

    def stats(self) -> dict[str, object]:
        """Counts summed over the shards, and each shard's documents."""
        found = self._retried("stats", same(range(self.shards)))
        parts = [found[i] for i in sorted(found)]
        total: dict[str, object] = {"path": str(self.path), "shards": self.shards}
        for key in ("documents", "passages", "internal_documents", "size_bytes", "segments"):
            values = [p[key] for p in parts if isinstance(p.get(key), int)]
            if values:
                total[key] = sum(values)
        languages: dict[str, int] = {}
        for part in parts:
            for language, n in dict(part.get("languages") or {}).items():
                languages[language] = languages.get(language, 0) + n
        total["languages"] = dict(sorted(languages.items(), key=lambda kv: (-kv[1], kv[0])))
        for key in ("model", "dimension", "dense_index", "format_version", "srmkb_version"):
            total[key] = parts[0].get(key)
        total["shard_documents"] = [p.get("documents") for p in parts]
        return total

    def close(self) -> None:
        self.fleet.close()
        self._loop_catalog.close()
        self._audit.close()
        self._model.close()

    def __enter__(self) -> ShardedKnowledgeBase:
        return self

    def __repr__(self) -> str:
        return f"ShardedKnowledgeBase({str(self.path)!r}, shards={self.shards}, cluster={self.cluster!r})"


def check_shards(path: str | Path) -> CheckReport:
    """Check the files of the sharded base at ``path`` without opening it: its manifest,
    then every shard's (:func:`srmkb.check_base`), as one report; changes nothing."""
    path = Path(path)
    try:
        manifest = ClusterManifest.read(path)
    except StorageError as exc:
        report = CheckReport(str(path))
        report.problems.append(Problem("cluster", str(path / MANIFEST), str(exc), True, False))
        return report
    return _merged(str(path), [check_base(folder) for folder in manifest.folders(path)])


def _merged(path: str, parts: Sequence[CheckReport]) -> CheckReport:
    report = CheckReport(path)
    for part in parts:
        for name, n in part.checked.items():
            report.checked[name] = report.checked.get(name, 0) + n
        report.problems.extend(part.problems)
    return report


def _rounds(
    documents: Iterable[Document | IngestError], size: int
) -> Iterator[tuple[list[tuple[str, Document]], list[IngestError]]]:
    """``documents`` in rounds of ``size``: (id, document) pairs to route, and the errors
    of what could not be read."""
    items: list[tuple[str, Document]] = []
    errors: list[IngestError] = []
    for item in documents:
        if isinstance(item, IngestError):
            errors.append(item)
        else:
            items.append((item.id, item))
            if len(items) >= size:
                yield items, errors
                items, errors = [], []
    if items or errors:
        yield items, errors


def _sum_reports(reports: dict[int, SyncReport]) -> SyncReport:
    """The shards' reports as one, in shard order."""
    total = SyncReport()
    for i in sorted(reports):
        total = total + reports[i]
    return total
