"""The knowledge base: one object to add documents to, search and answer from.

:class:`KnowledgeBase` is a façade. A base is a directory; its passages live in an
:class:`~srmkb.index.Index` (one immutable version per committed generation, read
through :class:`~srmkb.index.IndexReader`, written through
:class:`~srmkb.index.LocalWriter`), its documents, versions and drafts in the catalog
(:mod:`srmkb.storage`), and answers are composed by :mod:`srmkb.answering`. Every search
and answer first picks up commits made by other processes, and everything it returns
comes from the version that ranked it. ``asearch``, ``aanswer`` and ``aingest`` are the
same calls for asyncio code, run in a worker thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Concatenate, Literal, ParamSpec, TypeVar

import numpy as np

from .answering import calibration, respond
from .answering.compose import Answer
from .answering.confidence import ConfidenceModel, default_model
from .answering.evidence import Evidence, LineVectors, gather
from .check import CheckReport, check_base
from .documents import Document, Hit, IngestError, SearchResults, SyncReport
from .errors import InputError, StorageError
from .index import Index, LocalIndex, Query, Ranking
from .index.base import open_base
from .index.filters import Filters, KnownFields
from .index.protocol import Progress
from .index.query import check_text
from .index.snapshot import CANDIDATES
from .ingestion import IngestProgress, ReportingSlot, Sources
from .models import Embedder, model_languages
from .storage.catalog import Catalog
from .storage.interactions import AuditLog
from .storage.layout import CLUSTER_MANIFEST, INTERACTIONS
from .storage.records import DocumentView, PassageRecord, VersionInfo
from .text.chunking import DEFAULT_MAX_WORDS
from .text.language import document_language, primary_language
from .text.translation import PAIRS, TranslationError, Translator, default_translator
from .vocabulary import (
    AUDIENCES,
    COLLAPSES,
    Audience,
    Channel,
    Collapse,
    Mode,
    Outcome,
    When,
    check_choice,
    timestamp,
)

_T = TypeVar("_T")
_P = ParamSpec("_P")

log = logging.getLogger(__name__)

# The weight of the translated query's ranking against the original's, when a query is
# run translated too (see KnowledgeBase.search): where the original ranking can cross
# languages itself (a multilingual model's dense side) and where it cannot (BM25 alone,
# or a model that does not know the query's language). Chosen on the French→English
# sets; each set's figure with the weight chosen on the others (held out):
# benchmarks/results/cross-language-latest.md.
TRANSLATED_WEIGHT = 0.5
TRANSLATED_WEIGHT_NOT_CROSSING = 0.8
# The probability a query must have of being in a language to be translated from it
# (among English and French only): more likely than not.
TRANSLATE_MIN_CONFIDENCE = 0.5


def _in_thread(
    method: Callable[Concatenate[KnowledgeBase, _P], _T],
) -> Callable[Concatenate[KnowledgeBase, _P], Awaitable[_T]]:
    """``method`` for asyncio code: the same call, awaited, run in a worker thread
    (``asyncio.to_thread``), so the event loop serves other requests meanwhile."""

    @functools.wraps(method)
    async def run(self: KnowledgeBase, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await asyncio.to_thread(method, self, *args, **kwargs)

    run.__doc__ = (
        f"Awaitable :meth:`{method.__name__}`, run in a worker thread.\n\n{method.__doc__}"
    )
    return run


class KnowledgeBase:
    """A searchable knowledge base stored in a directory.

    ``KnowledgeBase(path)`` opens the base at ``path``, creating it when absent.
    ``model`` names the embedding model (``"minilm"``, the default for new bases,
    ``"multilingual"`` for French and cross-lingual bases, or ``"hashing"``) or is an
    :class:`Embedder`; ``dense=False`` builds a BM25-only base.
    Opening an existing base with another model raises :class:`ModelMismatchError`.
    ``dense_index`` is a faiss factory string for a new base: ``"SQfp16"`` (exact search
    over float16 vectors, the default: half the memory of ``"Flat"``'s float32, nDCG@10
    within 0.0015 of it on every shared set, ``benchmarks/results/dense-precision.md``),
    ``"Flat"``, or for large bases ``"HNSW32"`` or ``"HNSW32,SQ8"``. ``log_interactions`` overrides the base's logging setting
    for this object only (``False`` for an evaluation run that should leave no trace).

    Opening an existing base never creates, truncates or deletes a file: a missing or
    damaged part raises :class:`StorageError` naming it (see :meth:`check`).

    ``shards=N`` makes a new base of ``N`` shards, and a folder holding a sharded base
    opens as one (:class:`srmkb.cluster.ShardedKnowledgeBase`, with the same calls);
    ``cluster`` says where its shards run: ``None`` in this process, ``"local"`` on a
    Ray instance started here, ``"auto"`` or an address on that Ray cluster
    (``pip install 'srmkb[ray]'``; see the README's "Scaling out").

    ``translate``: a French query over an English base (or an English one over a French
    base) is also run translated (Apertium, see :mod:`srmkb.text.translation`) and the
    two rankings fused; ``None`` (the default) does so when Apertium is installed,
    ``False`` never, ``True`` requires it (:class:`MissingDependencyError` when absent),
    and a :class:`~srmkb.text.translation.Translator` uses that one.
    """

    # Class-wide, so that a sharded base (which has an __init__ of its own) translates too.
    _translate: bool | Translator | None = None

    def __new__(
        cls,
        path: str | Path,
        *args: object,
        shards: int | None = None,
        cluster: str | None = None,
        **kwargs: object,
    ) -> KnowledgeBase:
        if cls is KnowledgeBase and (
            shards is not None or cluster is not None or (Path(path) / CLUSTER_MANIFEST).exists()
        ):
            # The one call from the façade up to the layer built on it (see pyproject's
            # import contracts): the sharded base is a KnowledgeBase of its own.
            from .cluster import ShardedKnowledgeBase

            return super().__new__(ShardedKnowledgeBase)
        return super().__new__(cls)

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
        translate: bool | Translator | None = None,
    ) -> None:
        if shards is not None or cluster is not None:  # only a subclass gets here with them
            raise InputError(f"{type(self).__name__} cannot be sharded: open KnowledgeBase itself")
        self.path = Path(path)
        self._model = ReportingSlot(model, base=self.path, threads=threads)
        base = open_base(
            self.path,
            self._model,
            create=create,
            dense=dense,
            dense_index=dense_index,
            max_words=max_words,
        )
        self._base, self.manifest = base, base.manifest
        self._catalog, self._reader, self._writer = base.catalog, base.reader, base.writer
        self._audit = AuditLog(self.path / INTERACTIONS, enabled=log_interactions)
        self._lines = LineVectors(lambda lines: self.embedder.embed_documents(lines))
        self._fields = KnownFields(self._catalog.documents_for_filter)
        self._calibrated: tuple[int, ConfidenceModel] | None = None
        self._calibrating = threading.Lock()
        if translate is True and not default_translator().available():
            default_translator().translate("", "fr", "en")  # raises, naming the packages
        self._translate = translate

    # -- model -------------------------------------------------------------------------

    @property
    def model_id(self) -> str | None:
        """The embedding model of the base, or None for a BM25-only base."""
        return self.manifest.model_id

    @property
    def model_loaded(self) -> bool:
        """Whether the embedding model is loaded (it loads on first use)."""
        return self._model.loaded is not None

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use."""
        return self._model.get(self.manifest.model_id)

    @property
    def index(self) -> Index:
        """The current version of the base's index (see :class:`srmkb.index.Index`):
        a :class:`~srmkb.index.LocalIndex`, or a sharded base's
        :class:`~srmkb.cluster.ShardedIndex`."""
        return self._reader.current()

    def refresh(self) -> bool:
        """Pick up commits made by another process (searches and answers call it first);
        returns whether anything changed."""
        return self._reader.refresh()

    def _read(self, as_of: When | None, run: Callable[[Index, bool], _T]) -> _T:
        """``run(version, final)`` on the current version (the one current at ``as_of``),
        again on a newer one when a commit retired what it was reading."""
        return self._reader.read(None if as_of is None else timestamp(as_of), run)

    def _check_filters(self, index: Index, filters: Filters | None) -> None:
        """Raise :class:`FilterError` for a malformed filter, or one on a field no
        document of ``index`` (or an earlier version it shows) has."""
        assert isinstance(index, LocalIndex)
        self._fields.check(filters, index.generation, index.snapshot.history_fields)

    def _reporting(self, counter: IngestProgress) -> AbstractContextManager[object]:
        """Tell ``counter`` of the model's loading while an ingest waits for it."""
        return self._model.reporting(counter)

    # -- writing -----------------------------------------------------------------------

    def add(self, documents: Iterable[Document], **kwargs: object) -> SyncReport:
        """Add new documents; an id already in the base raises :class:`DocumentExistsError`.

        Use :meth:`upsert` to add or replace.
        """
        return self._writer.add(documents, **kwargs)

    def upsert(
        self,
        documents: Iterable[Document | IngestError],
        *,
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Add documents, replacing those whose id exists with other content.

        Documents are committed in batches of ``batch_size``: an interrupted upsert keeps
        every batch committed before the interruption, and running it again finishes the
        rest (unchanged documents are recognised by content hash and cost nothing).
        :class:`IngestError` items (what a connector could not read, as
        ``srmkb.connectors.read_paths`` yields them) are reported, not committed.
        """
        return self._writer.upsert(documents, batch_size=batch_size, progress=progress)

    def delete(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents by id; ids not in the base are ignored."""
        return self._writer.delete(list(ids))

    def sync(
        self,
        documents: Iterable[Document | IngestError],
        *,
        sources: Sequence[str],
        batch_size: int = 256,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Make the documents from ``sources`` mirror ``documents``.

        Upserts every document, then deletes documents whose ``source`` is one of
        ``sources`` (or lies under one of them) and that were not seen, except those from
        a file an :class:`IngestError` says could not be read this time.
        """
        return self._writer.sync(
            documents, sources=sources, batch_size=batch_size, progress=progress
        )

    def ingest(
        self,
        paths: str | Path | Iterable[str | Path],
        *,
        sync: bool = False,
        batch_size: int = 256,
        progress: Progress | None = None,
        max_file_bytes: int | None = None,
    ) -> SyncReport:
        """Read files and folders with the connectors (``srmkb.connectors``) and upsert
        their documents, as ``srmkb ingest`` does.

        A file or line that cannot be read is an :class:`IngestError` in the report and
        the rest goes on; a path that does not exist is an :class:`InputError` before
        anything is written. ``sync=True`` mirrors the paths: documents read from them
        before and gone now are deleted (those of a file unreadable this time are kept).
        ``progress(n)`` is told of ``n`` more documents done, as their passages are
        embedded; ``max_file_bytes`` refuses larger files (default 32 MB).
        """
        sources = Sources(paths, max_file_bytes=max_file_bytes)
        counter = None if progress is None else IngestProgress(progress)
        items = sources if counter is None else counter.reading(sources)
        done = None if counter is None else counter.committed
        with nullcontext() if counter is None else self._reporting(counter):
            if sync:
                report = self.sync(
                    items, sources=sources.roots, batch_size=batch_size, progress=done
                )
            else:
                report = self.upsert(items, batch_size=batch_size, progress=done)
        return report + SyncReport(skipped=sources.skipped)

    aingest = _in_thread(ingest)

    def purge(self, ids: Iterable[str]) -> SyncReport:
        """Delete documents and forget their earlier versions too (``delete`` keeps them,
        so ``as_of`` can still show them)."""
        ids = list(ids)
        report = self.delete(ids)
        self._writer.purge(ids)
        return report

    def optimize(self) -> None:
        """Merge every segment into one and drop deleted rows (like Lucene's forceMerge)."""
        self._writer.optimize()

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
        channel: str | None = None,
        log: bool = True,
        collapse: Collapse | None = None,
    ) -> SearchResults:
        """The ``k`` best passages for ``query``, best first.

        ``audience="customer"`` (the default: least privilege) sees public passages only;
        ``"agent"`` sees internal ones too. ``filters`` (see :mod:`srmkb.index.filters`)
        and the audience are applied inside both retrievers, before the top ``k`` is
        taken; a filter on a field no document has raises :class:`FilterError`.
        ``collapse="document"`` returns one hit per document, its best passage: still
        ``k`` hits when ``k`` documents match. ``as_of`` (a datetime, an ISO 8601
        string or a POSIX time) searches the base as it stood then: each document in
        the version that was current at that time. Hits carry the version they came
        from. The search is logged (see :meth:`feedback`) under ``channel``, unless
        ``log=False`` (a preview, a test query).
        """
        if collapse is not None:
            check_choice("collapse", collapse, COLLAPSES)
        facts = self._query(query)

        def run(index: Index, final: bool) -> list[Hit]:
            self._check_filters(index, filters)
            translated = self._translated(facts, index, filters, mode)

            def rank(n: int) -> Ranking:
                return _search(index, facts, translated, n, mode, audience, filters)

            ranking = rank(k) if collapse is None else _best_per_document(rank, k, len(index))
            return respond.hits(index, ranking, audience, final=final)

        results = SearchResults(self._read(as_of, run))
        if log:
            results.interaction_id = self._audit.record_search(
                query, results, audience=audience, channel=channel
            )
        return results

    def rank_documents(
        self,
        query: str,
        k: int = 100,
        *,
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        audience: Audience = "customer",
    ) -> list[tuple[str, float]]:
        """Documents ranked by their best passage: (document id, score), best first."""
        facts = self._query(query)
        index = self.index
        self._check_filters(index, filters)
        translated = self._translated(facts, index, filters, mode)

        def rank(n: int) -> Ranking:
            return _search(index, facts, translated, n, mode, audience, filters)

        ranking = _best_per_document(rank, k, len(index))
        return list(zip(ranking.document_ids.tolist(), ranking.scores.tolist()))

    def evidence(
        self, question: str, *, audience: Audience = "customer", filters: Filters | None = None
    ) -> Evidence:
        """The hybrid ranking of a question and the answer-confidence features drawn from
        it (what :meth:`answer` decides on; capture uses it to link cases)."""
        facts = self._query(question, "question")

        def run(index: Index, final: bool) -> Evidence:
            self._check_filters(index, filters)
            return gather(
                index, facts, self._lines, audience=audience, filters=filters, final=final
            )

        return self._read(None, run)

    def embed_lines(self, lines: list[str]) -> np.ndarray:
        """Document-side vectors of short texts (titles, sentences), cached by text."""
        return self._lines(lines)

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
        log: bool = True,
        log_channel: str | None = None,
    ) -> Answer:
        """Answer ``question`` from the base for one channel, or decline and offer an agent.

        The source is chosen once from the hybrid ranking (audience and filters applied
        inside retrieval) and then rendered for the channel, so every channel gives the
        same source and facts. ``audience`` defaults to ``"agent"`` on the ``"agent"``
        channel (the agent desktop: internal notes and related cases) and to
        ``"customer"`` on every other; a server passes its caller's audience, so the
        channel a request asks for never widens what its caller sees. ``confidence`` is
        the probability that the cited document answers the question, calibrated on this
        base's own content once :meth:`calibrate` was called (else the shipped model's);
        below ``threshold`` (default: the calibration's, else the shipped one) the
        answer declines. ``as_of``
        answers from the documents as they stood then (see :meth:`search`);
        ``document_version`` names the version used. ``language`` is the asker's
        (detected from the question when None): srmkb's own words (refusal, hand-over,
        voice prompts) are in it, and an answer drawn from a document in another
        language says so. Every call is logged in the audit log,
        with that version (``interaction_id`` names the entry), under ``log_channel``
        (default: ``channel``; an agent's tool logs as ``"agent-tool"``), unless
        ``log=False``.
        """
        facts = self._query(question, "question")
        answer_from = respond.answering(
            self.model_id,
            facts,
            self._lines,
            model=self._confidence(),
            channel=channel,
            audience=audience,
            filters=filters,
            threshold=threshold,
            language=language,
        )

        def run(index: Index, final: bool) -> Answer:
            self._check_filters(index, filters)
            return answer_from(index, final)

        answer = self._read(as_of, run)
        return respond.logged(answer, self._audit, log_channel) if log else answer

    asearch = _in_thread(search)
    aanswer = _in_thread(answer)

    def calibrate(
        self, settings: calibration.Settings | None = None
    ) -> calibration.Calibration | None:
        """Fit answer confidence and threshold to this base's own content and feedback
        (:mod:`srmkb.answering.calibration`), keep the fit in the base folder
        (``calibration.json``) and answer with it; None, and the shipped model, for a
        base of fewer than ``settings.min_documents`` documents.

        Once a base is calibrated, :meth:`answer` fits again by itself when more than
        ``settings.refresh`` of the documents changed since the last fit, so it stays
        calibrated as it changes. An uncalibrated base answers with the shipped model
        (a sharded base cannot calibrate yet, and answers as one base would). The
        cost is ``settings.questions`` pseudo-questions asked twice each.
        """
        settings = settings or calibration.Settings()
        with self._calibrating:
            generation = self._catalog.generation()
            found = self._fit_calibration(settings)
            model = default_model(self.model_id)
            self._calibrated = (generation, found.apply(model) if found else model)
            return found

    def _fit_calibration(self, settings: calibration.Settings) -> calibration.Calibration | None:
        ids = self._catalog.document_ids()
        content = self._content_sketch(ids)
        if len(ids) < settings.min_documents:
            return None
        sample = random.Random(0).sample(ids, min(len(ids), settings.questions))
        docs = [s.document for s in map(self._catalog.get_document, sample) if s is not None]
        questions = calibration.pseudo_questions(
            docs, limit=settings.questions, dropout=settings.dropout
        )
        rows = calibration.rows_from_content(self, questions, {d.id: d for d in docs})
        if self._audit.enabled:
            rows += calibration.rows_from_feedback(
                self, self._audit.interactions(), limit=settings.feedback
            )
        found = calibration.fit(
            default_model(self.model_id),
            rows,
            settings,
            model_id=self.model_id or "",
            documents=len(ids),
            content=content,
        )
        try:
            calibration.write(self.path, found)
        except OSError as exc:  # a read-only base still answers with the fit
            log.warning("calibration of %s not kept: %s", self.path, exc)
        return found

    def _content_sketch(self, ids: list[str]) -> list[int]:
        """A bottom-k sketch of the documents' ids and content hashes (what changed)."""
        stored = self._catalog.stored_versions(ids)
        return calibration.sketch((i, digest) for i, (digest, _) in stored.items())

    def _confidence(self) -> ConfidenceModel:
        """The confidence model answers use: the base's own calibration, fitted again
        when stale (see :meth:`calibrate`), checked once per commit; the shipped model
        for a base never calibrated, a damaged file (logged) or a sharded base. A fit
        runs in the answering thread; other threads answer meanwhile as before it."""
        shipped = default_model(self.model_id)
        catalog = getattr(self, "_catalog", None)  # a sharded base has no catalog of its own
        if catalog is None:
            return shipped
        generation = catalog.generation()
        known = self._calibrated
        if known is not None and known[0] == generation:
            return known[1]
        if not self._calibrating.acquire(blocking=False):
            # Another thread is fitting: answer meanwhile with what was used last.
            return known[1] if known is not None else shipped
        try:
            settings = calibration.Settings()
            try:
                found = calibration.read(self.path)
            except StorageError as exc:
                log.warning("%s; answering with the shipped confidence model", exc)
                self._calibrated = (generation, shipped)
                return shipped
            if found is None:  # never calibrated: the shipped model (see calibrate())
                self._calibrated = (generation, shipped)
                return shipped
            stale = (
                found.model_id != (self.model_id or "")
                or calibration.changed_share(
                    found.sketch, self._content_sketch(catalog.document_ids())
                )
                > settings.refresh
            )
            if stale:
                found = self._fit_calibration(settings)
            model = found.apply(shipped) if found else shipped
            self._calibrated = (generation, model)
            return model
        finally:
            self._calibrating.release()

    def _query(self, text: str, name: str = "query") -> Query:
        """The query's facts, computed once per call; the embedder loads on first use,
        and only when the dense side runs."""
        check_text(text, name)
        return Query(text, lambda t: self.embedder.embed_query(t))

    def _translator(self) -> Translator | None:
        """The translator searches use, or None when translation is off."""
        if self._translate is False:
            return None
        if self._translate is None or self._translate is True:
            return default_translator()
        return self._translate

    def _translated(
        self, facts: Query, index: Index, filters: Filters | None, mode: Mode
    ) -> tuple[Query, float] | None:
        """The query translated into the language of the passages searched, with the
        weight of its ranking, when it is in another language (English or French,
        P >= TRANSLATE_MIN_CONFIDENCE) and a translator can; else None. The passages'
        language is the one the filters ask for, else the base's most frequent. A failing
        translator is logged and the search goes on untranslated."""
        translator = self._translator()
        if translator is None:
            return None
        wanted = filters.get("language") if filters else None
        target = wanted if isinstance(wanted, str) else next(iter(index.languages), None)
        # What the translator can bring into the target, asked before the query's
        # language is detected: without Apertium a search pays for no detection.
        if target is None:
            return None
        sources = [s for s, t in PAIRS if t == target and translator.can_translate(s, t)]
        if not sources:
            return None
        source = facts.language(("en", "fr"), min_confidence=TRANSLATE_MIN_CONFIDENCE)
        if source not in sources:
            return None
        try:
            text = translator.translate(facts.text, source, target)
        except TranslationError as exc:
            log.warning("query not translated (%s): %s", exc, facts.text[:80])
            return None
        if not text.strip() or text == facts.text:
            return None
        known = model_languages(self.model_id)
        crossing = mode != "bm25" and (known is None or {source, target} <= known)
        weight = TRANSLATED_WEIGHT if crossing else TRANSLATED_WEIGHT_NOT_CROSSING
        return self._query(text), weight

    # -- the log and the knowledge loop ------------------------------------------------

    @property
    def audit(self) -> AuditLog:
        """The interaction log of this base."""
        return self._audit

    @property
    def catalog(self) -> Catalog:
        """The base's catalog: documents, versions, drafts and case links (SQLite)."""
        return self._catalog

    def feedback(self, interaction_id: str, outcome: Outcome) -> bool:
        """Record what followed a search or answer: ``"resolved"``, ``"escalated"`` (handed
        to an agent) or ``"not_helpful"``. An unknown id raises :class:`InputError`; an
        outcome already recorded for that interaction returns False and counts once."""
        return self._audit.feedback(interaction_id, outcome)

    def configure_log(
        self, *, logging: bool | None = None, retention_days: int | Literal["keep"] | None = "keep"
    ) -> dict[str, object]:
        """Turn interaction logging on or off for this base and set how many days
        interactions are kept (``None``: forever); returns the settings."""
        return dict(self._audit.configure(logging=logging, retention_days=retention_days))

    def report(
        self,
        *,
        since: When | None = None,
        until: When | None = None,
        stale_days: int = 365,
        html: str | Path | None = None,
    ) -> dict[str, object]:
        """The self-service KPI report for interactions in ``[since, until)`` (see
        :mod:`srmkb.loop.report` for every figure's definition); ``html`` also writes it
        as a page with plots."""
        from .loop.report import report

        start = None if since is None else timestamp(since, "since")
        end = None if until is None else timestamp(until, "until")
        return report(self, since=start, until=end, stale_days=stale_days, html=html)

    # -- documents and versions --------------------------------------------------------

    def get(self, document_id: str) -> Document | None:
        """The stored document with this id as it was written, internal sections and
        metadata included, or None: the operator's view. To show a document to a
        customer or an agent, use :meth:`document`."""
        stored = self._catalog.get_document(document_id)
        return stored.document if stored else None

    def document(self, document_id: str, *, audience: Audience = "customer") -> DocumentView | None:
        """The document with this id as ``audience`` may see it, with its version, or None.

        ``"customer"`` (the default: least privilege) gets None for an internal document,
        exactly as for an unknown id, and for a public one what its search hits would
        show: its public sections, the metadata a customer's hit carries (a case's own
        fields withheld), no ``source`` (a path on the operator's side) and, for a case,
        no ``updated_at`` (the day it was closed). ``"agent"`` gets the whole document.
        Document and version come from one read of the catalog, so they belong together.
        """
        check_choice("audience", audience, AUDIENCES)
        stored = self._catalog.get_document(document_id)
        shown = None if stored is None else _as_seen_by(stored.document, audience)
        if stored is None or shown is None:
            return None
        doc = stored.document
        # The language indexing gave the document's passages (the stored body keeps
        # only a stated one).
        language = primary_language(doc.language) if doc.language else document_language(doc)
        return DocumentView(shown, stored.version, language, audience)

    def __len__(self) -> int:
        return self._catalog.counts()["documents"]

    def __contains__(self, document_id: object) -> bool:
        return isinstance(document_id, str) and self._catalog.get_document(document_id) is not None

    def versions(self, document_id: str) -> list[VersionInfo]:
        """Every version of a document still kept, oldest first, with when each was valid."""
        return self._catalog.versions(document_id)

    def get_version(self, document_id: str, version: int) -> Document | None:
        """One version of a document, the current one or an earlier one, or None."""
        return self._catalog.document_version(document_id, version)

    def passage_text(self, passage_id: str) -> str | None:
        """The full text of a passage (hits carry a shortened snippet)."""
        rec = self._catalog.passages([passage_id]).get(passage_id)
        return rec.text if rec else None

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        """A document's current passages in reading order."""
        return self.index.document_passages(document_id)

    # -- the base ----------------------------------------------------------------------

    def check(self) -> CheckReport:
        """Check this base's files (see :mod:`srmkb.check`); changes nothing."""
        return check_base(self.path)

    def stats(self) -> dict[str, object]:
        """Counts, model, format and size on disk."""
        return self._base.stats()

    def close(self) -> None:
        self._catalog.close()
        self._audit.close()
        self._model.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.path)!r}, model={self.manifest.model_id!r})"


def _as_seen_by(doc: Document, audience: Audience) -> Document | None:
    """``doc`` as ``audience`` sees it (see :meth:`KnowledgeBase.document`); None for a
    customer when no passage of it is public, as a customer's search would find none."""
    if audience == "agent":
        return doc
    if doc.visibility != "public":
        return None
    stored: dict[str, object] = dict(doc.metadata)
    metadata = respond.shown_metadata(stored, audience)
    # A section's own visibility, else the document's (as chunking gives its passages).
    sections = tuple(s for s in doc.sections if (s.visibility or doc.visibility) == "public")
    if doc.sections and not any(s.text.strip() for s in sections):
        return None
    return replace(
        doc,
        # With sections, ``text`` is never indexed: nothing says a customer may read it.
        text="" if doc.sections else doc.text,
        sections=sections,
        metadata=metadata,  # type: ignore[arg-type]  # the stored JSON values, filtered
        source="",
        # A case's metadata is trimmed for customers: its dates (closed = updated) too.
        updated_at=doc.updated_at if len(metadata) == len(stored) else None,
    )


def _search(
    index: Index,
    facts: Query,
    translated: tuple[Query, float] | None,
    n: int,
    mode: Mode,
    audience: Audience,
    filters: Filters | None,
) -> Ranking:
    """The ``n`` best passages for the query, and for its translation when there is one:
    each ranked alone (at least :data:`CANDIDATES` passages), then the two rankings fused
    (:meth:`~srmkb.index.Ranking.fuse`), the translated one with ``weight``."""
    if translated is None:
        return index.search(facts, n, mode=mode, audience=audience, filters=filters)
    m = max(n, CANDIDATES)
    query, weight = translated
    first = index.search(facts, m, mode=mode, audience=audience, filters=filters)
    other = index.search(query, m, mode=mode, audience=audience, filters=filters)
    return Ranking.fuse([first, other], [1.0 - weight, weight], n)


def _best_per_document(rank: Callable[[int], Ranking], k: int, passages: int) -> Ranking:
    """The best passage of each of the ``k`` best documents, from ``rank(n)`` (the ``n``
    best passages): more passages are asked for, four times as many each time, until
    ``k`` documents are in or none is left, so a few long documents cannot leave fewer
    than ``k`` hits."""
    n = max(k * 4, CANDIDATES)
    while True:
        ranking = rank(n)
        _, first = np.unique(ranking.document_ids, return_index=True)
        if len(first) >= k or len(ranking) < n or n >= passages:
            break
        n *= 4
    keep = np.sort(first)[:k]
    return Ranking(
        passage_ids=ranking.passage_ids[keep],
        document_ids=ranking.document_ids[keep],
        scores=ranking.scores[keep],
        parts={name: scores[keep] for name, scores in ranking.parts.items()},
        coverage=None if ranking.coverage is None else ranking.coverage[keep],
        query_vector=ranking.query_vector,
    )
