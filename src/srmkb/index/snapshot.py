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
from .dense import DenseIndex
from .fusion import fuse
from .lexical import BM25Params, LexicalIndex
from .query import Query
from .segments import Segment
from .statistics import LexicalStatistics
from .topk import top_k

# Each retriever contributes this many candidates (at least) to the hybrid fusion.
CANDIDATES = 100
# Live rows per language whose cosines with the query give that language's background,
# and the fewest rows a language needs for one (a median of a handful of passages would
# be the relevant passages themselves).
BACKGROUND_SAMPLE = 256
BACKGROUND_MIN_ROWS = 16


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
        BM25 scores with ``statistics`` when given (a whole collection's)."""
        n_cand = max(k, CANDIDATES)
        # Embed first: a model still loading then overlaps the language detector's
        # load, which BM25 waits for (a first query took 1.4 s instead of 0.9 s).
        qvec = query.vector if mode != "bm25" else None
        bm25 = coverage = None
        if mode != "dense":
            bm25, coverage = self.lexical_scores(query, statistics)
            bm25[~allowed] = 0.0
        if mode == "bm25":
            assert bm25 is not None and coverage is not None
            rows = np.flatnonzero(bm25 > 0)
            top = rows[top_k(bm25[rows], k)]
            return RowRanking(top, bm25[top], {"bm25": bm25[top]}, coverage[top])
        assert self.dense is not None and qvec is not None
        dvec = self._dense_vector(query, qvec)
        d_rows, d_scores = self.dense.search(dvec, n_cand, allowed)
        if mode == "dense":
            top = d_rows[:k]
            cosines = d_scores[:k] if dvec is qvec else self.dense.scores_of(qvec, top)
            return RowRanking(top, d_scores[:k], {"dense": cosines}, None, qvec)
        assert bm25 is not None and coverage is not None
        matched = np.flatnonzero(bm25 > 0)
        l_rows = matched[top_k(bm25[matched], n_cand)]
        cand = np.union1d(l_rows, d_rows)
        cand_bm25 = bm25[cand]
        cand_dense = self.dense.scores_of(dvec, cand)
        cand_cosine = cand_dense if dvec is qvec else self.dense.scores_of(qvec, cand)
        knows, same = self._query_languages(query, cand)
        best = float(cand_cosine.max()) if len(cand) else 0.0
        if dvec is qvec:  # across languages the raw cosine keeps BM25's weight low
            intercept, slope = self.cosine_map
            best = intercept + slope * best
        fused = fuse(
            cand_bm25,
            self.by_language(query, qvec, cand, cand_dense),
            float(coverage[cand].max()),
            model_knows_query=knows,
            same_language=same,
            best_cosine=best,
        )
        order = top_k(fused, k)
        top = cand[order]
        parts = {"bm25": cand_bm25[order], "dense": cand_cosine[order]}
        return RowRanking(top, fused[order], parts, coverage[top], qvec)

    def _dense_vector(self, query: Query, qvec: np.ndarray) -> np.ndarray:
        """The vector the dense retriever searches with: the query's, or the
        cross-language one (see :func:`cross_language_vector`) when the model is
        multilingual, a mean question is known for the query's language (P ≥ 0.5) and
        the base has too few passages in that language for a background of its own
        (fewer than :data:`BACKGROUND_MIN_ROWS`): a French question over an English
        base. In a base of both languages the question keeps its own vector and the
        languages meet through their backgrounds (:meth:`by_language`): the
        centred vector there ranked an English FAQ entry over the French entry worded
        as the question."""
        if not self.query_means or self.model_languages is not None:
            return qvec
        p = query.languages
        if not p:
            return qvec
        language, probability = max(p.items(), key=lambda item: item[1])
        mean = self.query_means.get(language)
        if probability < 0.5 or mean is None or language in self.language_samples:
            return qvec
        if self.languages and self.languages[0] == language:
            return qvec  # the base is in the question's language
        return cross_language_vector(qvec, mean)

    @cached_property
    def row_languages(self) -> np.ndarray:
        """The language of every row."""
        return languages_of_rows(self.segments)

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

    def _query_languages(self, query: Query, rows: np.ndarray) -> tuple[bool, float]:
        """Whether the dense model knows the query's language (P ≥ 0.5), and the
        probability that the query is in the language of ``rows``."""
        if self.model_languages is None:
            return True, 1.0
        p = query.languages
        if not p or sum(v for k, v in p.items() if k in self.model_languages) >= 0.5:
            return True, 1.0
        names, counts = np.unique(self.row_languages[rows], return_counts=True)
        same = sum(p.get(str(n), 0.0) * int(c) for n, c in zip(names, counts))
        return False, float(same) / max(int(counts.sum()), 1)

    def statistics(self, query: Query) -> LexicalStatistics:
        """BM25's statistics of this snapshot for ``query``'s terms in every analyzer
        language, over all live rows and per language (see :mod:`.statistics`)."""
        languages = dict.fromkeys([*self.languages, *DEFAULT_LANGUAGES, "en"])
        terms = [term for language in languages for term in query.terms(language)]
        groups = {language: self.row_languages == language for language in self.languages}
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
            groups = {language: self.row_languages == language for language in languages}
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


def cross_language_vector(query: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The query's vector less the mean question vector of its language, normalised.

    A multilingual model's question vector carries its language as well as its meaning:
    multilingual-e5 puts every French question near the French mean, so an English
    passage's cosine with a French question reflects the gap between the languages as
    much as the subject. Removing the language's mean question keeps the meaning (the
    centring of Libovický et al., "On the Language Neutrality of Pre-trained
    Multilingual Representations", 2020). Dense nDCG@10, multilingual-e5, the mean
    taken from the other sets' questions (``benchmarks/query_means.py``): French
    questions over English pages or answers, libreoffice-help 0.261 → 0.347, Debian
    FAQ 0.570 → 0.599; English over French, 0.333 → 0.470 and 0.540 → 0.597. Within one
    language it loses (service-public-fr 0.940 → 0.913, covidfaq 0.820 → 0.806), so it
    is used only where the base holds (almost) no passages in the question's language
    (see :meth:`Snapshot._dense_vector`).
    """
    centred = np.asarray(query, dtype=np.float32) - mean
    norm = float(np.linalg.norm(centred))
    return (centred / norm).astype(np.float32) if norm > 0 else np.asarray(query, np.float32)


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
