"""The retrieval core behind one narrow interface: a :class:`Snapshot` ranks rows.

A snapshot is an immutable view of one committed generation of a base: its segments,
which rows are live and internal, and the BM25 and dense indexes over them. Everything
a query needs is here, and nothing here reads the catalog or writes, so the rest of the
library (hits, answers, the log) only sees :meth:`Snapshot.rank` and the row → passage
and document id arrays. A query's facts (language, terms, vector) come computed once in
a :class:`~srmkb.index.query.Query`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..storage.records import PassageRecord
from ..text.language import DEFAULT_LANGUAGES
from .candidates import (
    BACKGROUND_MIN_ROWS,
    CANDIDATES,
    Candidates,
    cross_language_vector,
    dense_vector,
    ranked,
    select,
)
from .dense import DenseIndex
from .lexical import BM25Params, LexicalIndex
from .query import Query
from .segments import Segment
from .statistics import LexicalStatistics

# Live rows per language whose cosines with the query give that language's background
# (the fewest a language needs for one: candidates.BACKGROUND_MIN_ROWS).
BACKGROUND_SAMPLE = 256
# Rows the dense search fetches beyond those it needs, so that equal scores at the cut
# are settled by passage id (see candidates.ranked) wherever the rows are stored.
TIE_MARGIN = 8


@dataclass(frozen=True)
class RowRanking:
    """Rows of one snapshot, best first, with the scores behind the order (the index
    turns them into a :class:`~srmkb.index.protocol.Ranking` of passage ids)."""

    rows: np.ndarray
    scores: np.ndarray
    parts: dict[str, np.ndarray]  # each retriever's score of the same rows
    coverage: np.ndarray | None = None  # share of the query each row covers (BM25 / Σ idf)
    query_vector: np.ndarray | None = None  # the query's embedding, when dense ran

    @classmethod
    def empty(cls) -> RowRanking:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), {})


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of one committed generation."""

    generation: int
    segments: tuple[Segment, ...]
    live: np.ndarray
    internal: np.ndarray
    passage_ids: np.ndarray
    document_ids: np.ndarray
    lexical: LexicalIndex
    dense: DenseIndex | None
    languages: tuple[str, ...] = ()  # languages of live passages, most frequent first
    language_shares: Mapping[str, float] = field(default_factory=dict)  # of live passages
    # The languages the dense model knows (None: any); see fusion.py, rule 3.
    model_languages: frozenset[str] | None = None
    # A fixed sample of live rows per language, in a base of several languages.
    language_samples: Mapping[str, np.ndarray] = field(default_factory=dict)
    # The dense model's mean question vector per language (see cross_language_vector).
    query_means: Mapping[str, np.ndarray] = field(default_factory=dict)
    # (intercept, slope) putting the model's cosines on the scale fusion's rule was
    # measured on (see srmkb.models.embedders.cosine_map).
    cosine_map: tuple[float, float] = (0.0, 1.0)
    # Set on a view of the past (search ``as_of``): the time it shows, and the passages of
    # earlier document versions it holds (ids ``doc#n@version``), with their documents'
    # passages in reading order and their filterable fields.
    as_of: float | None = None
    history: Mapping[str, PassageRecord] = field(default_factory=dict)
    history_documents: Mapping[str, list[PassageRecord]] = field(default_factory=dict)
    history_fields: Mapping[str, dict[str, object]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.live.shape[0])

    @cached_property
    def segment_starts(self) -> np.ndarray:
        """The first row of each segment (rows run through the segments in order)."""
        sizes = [s.n_passages for s in self.segments]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def rank(
        self,
        query: Query,
        k: int,
        mode: str,
        allowed: np.ndarray,
        statistics: LexicalStatistics | None = None,
    ) -> RowRanking:
        """The ``k`` best ``allowed`` rows for ``query`` by BM25, dense or the fusion of
        both (see :mod:`srmkb.index.fusion`); the query is embedded only when dense runs.
        BM25 scores with ``statistics`` when given (a whole collection's).

        The snapshot's :meth:`candidates`, then :func:`~srmkb.index.candidates.select`:
        the two steps a base of several parts runs, here over one part."""
        found = self.candidates(query, k, mode, allowed, statistics)
        best = select(
            found,
            query,
            k,
            mode,
            model_languages=self.model_languages,
            cosine_map=self.cosine_map,
        )
        return RowRanking(
            found.rows[best.index], best.scores, best.parts, best.coverage, best.query_vector
        )

    def candidates(
        self,
        query: Query,
        k: int,
        mode: str,
        allowed: np.ndarray,
        statistics: LexicalStatistics | None = None,
        dense_vector: np.ndarray | None = None,
    ) -> Candidates:
        """This snapshot's candidates for the ``k`` best ``allowed`` rows (see
        :mod:`srmkb.index.candidates`): its ``k`` best by one retriever, or for the
        fusion its :data:`CANDIDATES` best by each, every row with every score.

        ``statistics``: the whole collection's, for BM25; ``dense_vector``: the vector
        the dense side searches with, as the whole collection decides it (see
        :func:`~srmkb.index.candidates.dense_vector`); by default this snapshot's own."""
        n_cand = max(k, CANDIDATES)  # dense mode too: its search as it always ran
        # Embed first: a model still loading then overlaps the language detector's
        # load, which BM25 waits for (a first query took 1.4 s instead of 0.9 s).
        qvec = query.vector if mode != "bm25" else None
        bm25 = coverage = None
        if mode != "dense":
            bm25, coverage = self.lexical_scores(query, statistics)
            bm25[~allowed] = 0.0
        if mode == "bm25":
            assert bm25 is not None and coverage is not None
            matched = np.flatnonzero(bm25 > 0)
            rows = matched[ranked(bm25[matched], self.passage_ids, k, matched)]
            none = np.zeros(len(rows), dtype=np.float32)
            searched = np.full(len(rows), -np.inf, dtype=np.float32)
            return self._candidates(rows, bm25[rows], coverage[rows], searched, none, none)
        assert self.dense is not None and qvec is not None
        if dense_vector is None:
            dvec = self._dense_vector(query, qvec)
        else:  # the collection's choice; the query's own vector when it is that
            dvec = qvec if np.array_equal(dense_vector, qvec) else dense_vector
        crossed = dvec is not qvec
        d_rows, d_scores = self._dense_top(dvec, n_cand, allowed)
        if mode == "dense":
            d_rows, d_scores = d_rows[:k], d_scores[:k]
            cosines = self.dense.scores_of(qvec, d_rows) if crossed else d_scores
            none = np.zeros(len(d_rows), dtype=np.float32)
            return self._candidates(d_rows, none, none, d_scores, d_scores, cosines, qvec, crossed)
        assert bm25 is not None and coverage is not None
        matched = np.flatnonzero(bm25 > 0)
        l_rows = matched[ranked(bm25[matched], self.passage_ids, n_cand, matched)]
        rows = np.union1d(l_rows, d_rows)
        searched = np.full(len(rows), -np.inf, dtype=np.float32)
        searched[np.searchsorted(rows, d_rows)] = d_scores
        dense = self.dense.scores_of(dvec, rows)
        cosines = self.dense.scores_of(qvec, rows) if crossed else dense
        return self._candidates(
            rows,
            bm25[rows],
            coverage[rows],
            searched,
            self.by_language(query, qvec, rows, dense),
            cosines,
            qvec,
            crossed,
        )

    def _candidates(
        self,
        rows: np.ndarray,
        lexical: np.ndarray,
        coverage: np.ndarray,
        searched: np.ndarray,
        dense: np.ndarray,
        cosine: np.ndarray,
        query_vector: np.ndarray | None = None,
        crossed: bool = False,
    ) -> Candidates:
        return Candidates(
            keys=self.passage_ids[rows],
            documents=self.document_ids[rows],
            rows=rows,
            lexical=lexical,
            coverage=coverage,
            searched=searched,
            dense=dense,
            cosine=cosine,
            language=self.row_languages[rows],
            query_vector=query_vector,
            crossed=crossed,
        )

    def _dense_top(
        self, vector: np.ndarray, n: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best ``allowed`` rows by the dense score, equal scores by passage id
        (see :func:`~srmkb.index.candidates.ranked`); a few more rows are fetched so
        that ties at the cut are settled by id rather than by where rows are stored."""
        assert self.dense is not None
        rows, scores = self.dense.search(vector, n + TIE_MARGIN, allowed)
        top = ranked(scores, self.passage_ids[rows], n)
        return rows[top], scores[top]

    def _dense_vector(self, query: Query, qvec: np.ndarray) -> np.ndarray:
        """The vector the dense retriever searches with (see
        :func:`~srmkb.index.candidates.dense_vector`)."""
        return dense_vector(
            query,
            qvec,
            query_means=self.query_means,
            model_languages=self.model_languages,
            backgrounds=tuple(self.language_samples),
            languages=self.languages,
        )

    @cached_property
    def row_languages(self) -> np.ndarray:
        """The language of every row."""
        return languages_of_rows(self.segments)

    @cached_property
    def language_counts(self) -> dict[str, int]:
        """Live passages per language, counted once per snapshot (a shard reports them
        at every pin: sorting a million rows' codes per query cost tens of ms)."""
        if not self.segments:
            return {}
        names, counts, _ = _live_languages(*language_codes(self.segments), self.live)
        return {str(n): int(c) for n, c in zip(names, counts)}

    def language_mask(self, language: str) -> np.ndarray:
        """Whether each row is in ``language``, computed once per snapshot and language."""
        masks = self._language_masks
        if language not in masks:
            masks[language] = self.row_languages == language
        return masks[language]

    @cached_property
    def _language_masks(self) -> dict[str, np.ndarray]:
        return {}

    def by_language(
        self, query: Query, qvec: np.ndarray, rows: np.ndarray, cosines: np.ndarray
    ) -> np.ndarray:
        """The dense scores of ``rows``: ``cosines`` (those of the vector searched with),
        or in a base of several languages each row's cosine with the query vector ``qvec``
        as a z-score against the query's cosines with a sample of the row's language,
        passages in another language than the query's scored with the cross-language
        vector (:func:`cross_language_vector`).

        A multilingual model scores texts in the query's language higher whatever they
        say (multilingual-e5: a French question's median cosine is 0.816 with French
        passages, 0.794 with English ones), so in a mixed base an unrelated page in the
        asker's language outranks the English page that answers. Each language's rows
        are therefore measured against that language's background, and rows in another
        language with the vector that removes the question's language; the two
        vectors' cosines spread differently, so each is read in standard deviations of
        its background. Hybrid nDCG@10 with multilingual-e5 (the fusion otherwise as shipped;
        ``benchmarks/multilingual.py``): LibreOffice help, English pages plus the French version
        of half of them, French questions (``libreoffice-mixed``) 0.344 with the
        medians alone → 0.390; libreoffice-help-en2fr (French pages, some detected as
        English) 0.375 → 0.461; bases of one language unchanged. The question's language
        is its most probable one: LibreOffice titles are two or three words, and 26% of
        the French ones and 46% of the English ones fall under P = 0.5; with that floor
        the gains were 0.379 and 0.426. Only for a model that
        knows every language, in a base with two languages or more of
        :data:`BACKGROUND_MIN_ROWS` passages; rows in a rarer language are read against
        the query language's background (or the mean of the others').
        """
        if self.model_languages is not None or len(self.language_samples) < 2:
            return cosines
        assert self.dense is not None
        p = query.languages
        asked = max(p.items(), key=lambda item: item[1])[0] if p else None
        mean = self.query_means.get(asked) if asked else None
        crossed = cross_language_vector(qvec, mean) if mean is not None else qvec
        backgrounds: dict[str, tuple[np.ndarray, float, float]] = {}
        for language, sample in self.language_samples.items():
            vector = qvec if language == asked else crossed
            cos = self.dense.scores_of(vector, sample)
            backgrounds[language] = (vector, float(np.median(cos)), float(cos.std()) or 1.0)
        fallback = backgrounds.get(asked or "") or (
            qvec,
            float(np.mean([b[1] for b in backgrounds.values()])),
            float(np.mean([b[2] for b in backgrounds.values()])),
        )
        out = np.empty(len(rows), dtype=np.float32)
        row_languages = self.row_languages[rows]
        for language in np.unique(row_languages):
            mask = row_languages == language
            vector, level, spread = backgrounds.get(str(language), fallback)
            out[mask] = (self.dense.scores_of(vector, rows[mask]) - level) / spread
        return out

    def statistics(self, query: Query) -> LexicalStatistics:
        """BM25's statistics of this snapshot for ``query``'s terms in every analyzer
        language, over all live rows and per language (see :mod:`.statistics`)."""
        languages = dict.fromkeys([*self.languages, *DEFAULT_LANGUAGES, "en"])
        terms = [term for language in languages for term in query.terms(language)]
        groups = {language: self.language_mask(language) for language in self.languages}
        return self.lexical.statistics(terms, groups)

    def lexical_scores(
        self, query: Query, statistics: LexicalStatistics | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lexical score of every row, and the share of the query each row covers
        (BM25 / Σ idf).

        A matching row scores its passage's BM25 plus its whole document's BM25 (see
        :func:`srmkb.index.lexical.in_context`): a passage is read in the context of its
        document, as a searcher skimming a page would.

        In a base of several languages, each language's passages are scored with the
        query analysed by that language's analyzer and with that language's own
        statistics; the scores, normalised by each language's idf mass, are weighted by
        the probability that the query is in that language. A query is thus matched
        mostly in its own language, yet no passage becomes lexically unreachable when a
        language is misjudged. Measured on the English and French LibreOffice help
        together (nDCG@10, French / English queries): 0.598 / 0.631, against 0.594 /
        0.643 for one English analyzer for all and 0.573 / 0.532 for raw scores summed.
        """
        lexical, languages, shares = self.lexical, self.languages, self.language_shares
        if statistics is not None:  # score as the whole collection would
            languages, shares = statistics.languages, statistics.shares
            groups = {language: self.language_mask(language) for language in languages}
            lexical = self.lexical.with_statistics(statistics, groups)
        if len(languages) <= 1:
            language = languages[0] if languages else "en"
            terms = query.terms(language)
            scores, mass = lexical.scores(terms)
            if mass <= 0:
                return scores, np.zeros_like(scores)
            coverage = scores / mass
            return in_context(scores, mass, lexical, terms) * mass, coverage
        known = [lang for lang in languages if lang in DEFAULT_LANGUAGES]
        weights = query.languages_among(known) if len(known) > 1 else {}
        # A language is weighted at least by its share of the base: a French base holding a
        # few pages detected as English must not turn an English query away from the rest
        # (libreoffice-help-en2fr BM25 nDCG@10: 0.071 → 0.165; other sets unchanged).
        total = np.zeros(self.n_rows, dtype=np.float32)
        coverage = np.zeros(self.n_rows, dtype=np.float32)
        for language in languages:
            weight = weights.get(language, 1.0 / len(languages)) if weights else 1.0
            weight = max(weight, shares.get(language, 0.0))
            terms = query.terms(language)
            scores, mass = lexical.scores(terms, group=language)
            if mass > 0 and weight > 0:
                coverage += np.float32(weight / mass) * scores
                total += np.float32(weight) * in_context(
                    scores, mass, lexical, terms, group=language
                )
        return total, coverage


def in_context(
    scores: np.ndarray,
    mass: float,
    lexical: LexicalIndex,
    terms: Sequence[str],
    *,
    group: str = "*",
) -> np.ndarray:
    """Each matching row's share of the query (BM25 / Σ idf), plus its document's share
    at document level, credited to the document's rows in proportion to their own
    scores; 0 where no query term matches.

    A passage says little alone: a question's words are often spread over a page (a
    procedure's title in one passage, its steps in the next), and a page about the
    question's subject is a better bet than a stray passage that repeats one rare word.
    Whole-document BM25 alone loses the other way, on long pages that mention
    everything. So the best passage of a document gets the document's whole share
    added, and a sibling scoring half as much gets half of it: the order within a
    document stays BM25's, and a long document cannot push many middling passages over
    another document's best one (the Debian FAQ chapters, each a document of dozens of
    sections, showed both). Each share is normalised by its own idf mass, so neither
    level dominates. Documents by their best passage (nDCG@10, BM25;
    ``benchmarks/multilingual.py``): service-public-fr 0.890 → 0.904 (whole documents
    alone 0.893), covidfaq 0.629 → 0.649, cranfield 0.353 → 0.372, scifact 0.678 →
    0.686, libreoffice-help-fr2en 0.222 → 0.248; hint3-sofmattress 0.851 → 0.847 and
    banking77 unchanged (0.927). Where every document is one passage, the order is
    BM25's.
    """
    found = lexical.document_scores(terms, group=group)
    share = scores / np.float32(mass)
    if found is None or found[1] <= 0:
        return share
    doc_scores, doc_mass = found
    assert lexical.documents is not None
    best = np.zeros(lexical.n_documents, dtype=np.float32)  # each document's best row
    np.maximum.at(best, lexical.documents, share)
    # row + row / best · document = row · (1 + document / best), one factor per document
    factor = np.divide(doc_scores / np.float32(doc_mass), best, out=best, where=best > 0)
    factor += 1.0
    share *= factor[lexical.documents]
    return share


def document_numbers(segments: Sequence[Segment]) -> np.ndarray | None:
    """Row -> document number over ``segments`` (a document's rows are consecutive in
    its segment), or None when no document has more than one row."""
    parts, base = [], 0
    for segment in segments:
        starts = segment.document_starts
        if not len(starts):
            continue
        numbers = np.cumsum(starts, dtype=np.int64) - 1 + base
        base = int(numbers[-1]) + 1
        parts.append(numbers)
    n_rows = sum(len(p) for p in parts)
    if base == n_rows:
        return None
    return np.concatenate(parts)


def languages_of_rows(segments: Sequence[Segment]) -> np.ndarray:
    """The language of every row of ``segments``, in row order."""
    if not segments:
        return np.zeros(0, dtype=str)
    return np.concatenate([np.asarray(s.language) for s in segments])


def language_codes(segments: Sequence[Segment]) -> tuple[np.ndarray, np.ndarray]:
    """The languages of ``segments``, sorted, and each row's index among them.

    Built from each segment's own table (kept with the segment), so a new snapshot
    counts and masks languages with integers rather than sorting every row's code.
    """
    if not segments:
        return np.zeros(0, dtype=str), np.zeros(0, dtype=np.int32)
    tables = [s.language_codes for s in segments]
    names = np.unique(np.concatenate([n for n, _ in tables]))
    codes = [np.searchsorted(names, n).astype(np.int32)[c] for n, c in tables]
    return names, np.concatenate(codes)


def _live_languages(
    names: np.ndarray, codes: np.ndarray, live: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The languages of live rows (sorted), their live row counts and their indexes
    in ``names``: what ``np.unique(row_languages[live], return_counts=True)`` gives."""
    counts = np.bincount(codes[live], minlength=len(names))
    present = np.flatnonzero(counts)
    return names[present], counts[present], present


def language_samples(
    languages: tuple[np.ndarray, np.ndarray], live: np.ndarray, size: int = BACKGROUND_SAMPLE
) -> dict[str, np.ndarray]:
    """Up to ``size`` live rows (a fixed draw) of each language with at least
    :data:`BACKGROUND_MIN_ROWS` of them, when two languages or more have that many;
    ``languages`` is what :func:`language_codes` gives for the snapshot's segments."""
    if not len(live):
        return {}
    all_names, codes = languages
    names, counts, index = _live_languages(all_names, codes, live)
    enough = counts >= BACKGROUND_MIN_ROWS
    names, index = names[enough], index[enough]
    if len(names) < 2:
        return {}
    rng = np.random.default_rng(0)
    out = {}
    for name, code in zip(names, index):
        rows = np.flatnonzero(live & (codes == code))
        if len(rows) > size:
            rows = np.sort(rng.choice(rows, size=size, replace=False))
        out[str(name)] = rows
    return out


def lexical_index(
    segments: Sequence[Segment],
    live: np.ndarray,
    params: BM25Params,
    codes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[LexicalIndex, tuple[str, ...], dict[str, float]]:
    """BM25 over ``segments``, with each language's own statistics when there are
    several; the languages of live rows, most frequent first, and their shares.
    ``codes``: :func:`language_codes` of ``segments``, when the caller has it."""
    lexical = LexicalIndex(
        [s.lexical for s in segments], live, params, documents=document_numbers(segments)
    )
    if not segments:
        return lexical, (), {}
    all_names, row_codes = codes or language_codes(segments)
    names, counts, index = _live_languages(all_names, row_codes, live)
    order = np.argsort(-counts, kind="stable")
    languages = tuple(str(n) for n in names[order])
    if len(languages) > 1:
        for i in order:
            lexical.set_stats_group(str(names[i]), row_codes == index[i])
    total = max(int(counts.sum()), 1)
    shares = {str(n): int(c) / total for n, c in zip(names, counts)}
    return lexical, languages, shares
