"""BM25 against reference implementations, and segments behaving like one index."""

import json
import math
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srmkb.index.lexical import LexicalIndex
from srmkb.index.postings import LexicalSegment

from ..conftest import shared_path


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


@pytest.fixture(scope="module")
def scifact_tokens():
    path = shared_path("data", "beir", "scifact", "corpus.jsonl")
    docs = []
    with open(path) as handle:
        for i, line in enumerate(handle):
            if i == 600:
                break
            obj = json.loads(line)
            docs.append(_tokens(obj["title"] + " " + obj["text"]))
    with open(path.parent / "queries.jsonl") as handle:
        queries = [_tokens(json.loads(line)["text"]) for line in handle][:40]
    return docs, queries


def _reference_lucene(docs, query, k1=1.2, b=0.75):
    """Plain-Python Lucene BM25, written from the formula."""
    n = len(docs)
    avgdl = sum(map(len, docs)) / n
    df = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    out = []
    for d in docs:
        s = 0.0
        for t in query:
            if t not in df:
                continue
            tf = d.count(t)
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
        out.append(s)
    return np.array(out)


def test_matches_plain_python_reference(scifact_tokens):
    docs, queries = scifact_tokens
    docs = docs[:150]
    index = LexicalIndex([LexicalSegment.build(docs)], np.ones(len(docs), bool))
    for q in queries[:10]:
        ours, _ = index.scores(q)
        np.testing.assert_allclose(ours, _reference_lucene(docs, q), rtol=1e-4, atol=1e-5)


def test_matches_bm25s_lucene_on_real_data(scifact_tokens):
    bm25s = pytest.importorskip("bm25s")
    docs, queries = scifact_tokens
    ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    ref.index(docs, show_progress=False)
    index = LexicalIndex([LexicalSegment.build(docs)], np.ones(len(docs), bool))
    for q in queries:
        ours, _ = index.scores(q)
        np.testing.assert_allclose(ours, ref.get_scores(q), rtol=1e-4, atol=1e-5)


def test_a_segment_large_enough_for_dense_rows_scores_exactly(scifact_tokens):
    """Frequent terms of a large segment are added as dense rows of weights: the scores,
    deletions, repeated query terms and top rows stay those of BM25."""
    bm25s = pytest.importorskip("bm25s")
    docs, queries = scifact_tokens
    big = [docs[i % len(docs)] + [f"u{i}"] for i in range(9_000)]  # 'the' in most rows
    small = docs[:300]
    live = np.ones(len(big) + len(small), bool)
    live[[5, 4_000, 8_999, 9_100]] = False
    index = LexicalIndex([LexicalSegment.build(big), LexicalSegment.build(small)], live)
    kept = [d for i, d in enumerate(big + small) if live[i]]
    ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    ref.index(kept, show_progress=False)
    for q in [*queries[:15], ["the", "the", "of", "cells"]]:
        ours, _ = index.scores(q)
        assert not ours[~live].any()
        expected = ref.get_scores(q)
        np.testing.assert_allclose(ours[live], expected, rtol=1e-4, atol=1e-5)
        rows, scores = index.top(q, 10)
        np.testing.assert_allclose(scores, np.sort(expected)[::-1][:10], rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(scores, ours[rows])


def test_segments_with_deletions_score_like_a_fresh_index(scifact_tokens):
    docs, queries = scifact_tokens
    a, b, c = docs[:200], docs[200:400], docs[400:]
    live = np.ones(len(docs), bool)
    live[[3, 250, 500, 501]] = False
    split = LexicalIndex([LexicalSegment.build(x) for x in (a, b, c)], live)
    kept = [d for i, d in enumerate(docs) if live[i]]
    fresh = LexicalIndex([LexicalSegment.build(kept)], np.ones(len(kept), bool))
    for q in queries:
        s_split, m_split = split.scores(q)
        s_fresh, m_fresh = fresh.scores(q)
        np.testing.assert_allclose(s_split[live], s_fresh, rtol=1e-5, atol=1e-6)
        assert (s_split[~live] == 0).all()
        assert m_split == pytest.approx(m_fresh)


def test_merge_equals_build_of_kept_rows(scifact_tokens):
    docs, _ = scifact_tokens
    a, b = LexicalSegment.build(docs[:300]), LexicalSegment.build(docs[300:])
    keep_a = np.ones(300, bool)
    keep_a[::7] = False
    keep_b = np.ones(len(docs) - 300, bool)
    keep_b[:5] = False
    merged = LexicalSegment.merge([(a, keep_a), (b, keep_b)])
    kept = [d for d, k in zip(docs, np.concatenate([keep_a, keep_b])) if k]
    fresh = LexicalSegment.build(kept)
    assert list(merged.terms) == list(fresh.terms)
    np.testing.assert_array_equal(merged.indptr, fresh.indptr)
    np.testing.assert_array_equal(merged.rows, fresh.rows)
    np.testing.assert_array_equal(merged.tf, fresh.tf)
    np.testing.assert_array_equal(merged.length, fresh.length)


def test_save_and_load_memory_mapped(tmp_path, scifact_tokens):
    docs, queries = scifact_tokens
    seg = LexicalSegment.build(docs[:50])
    seg.save(tmp_path)
    loaded = LexicalSegment.load(tmp_path)
    live = np.ones(50, bool)
    for q in queries[:5]:
        np.testing.assert_array_equal(
            LexicalIndex([seg], live).scores(q)[0], LexicalIndex([loaded], live).scores(q)[0]
        )


def test_unknown_terms_and_empty_query_score_zero():
    index = LexicalIndex([LexicalSegment.build([["a", "b"], ["b"]])], np.ones(2, bool))
    assert index.scores(["zzz"])[0].tolist() == [0.0, 0.0]
    assert index.scores([])[0].tolist() == [0.0, 0.0]
    assert index.scores(["a"])[1] > 0


def test_stats_group_scores_rows_with_their_own_statistics():
    docs = [["x", "y"], ["x"], ["y"], ["z"]]
    index = LexicalIndex([LexicalSegment.build(docs)], np.ones(4, bool))
    group = np.array([True, True, False, False])
    index.set_stats_group("g", group)
    scores, _ = index.scores(["y"], group="g")
    fresh, _ = LexicalIndex([LexicalSegment.build(docs[:2])], np.ones(2, bool)).scores(["y"])
    np.testing.assert_allclose(scores[:2], fresh)
    assert scores[2] == 0.0


def test_term_caches_bounded_or_not_score_the_same(monkeypatch, scifact_tokens):
    """Terms seen before by a view or not (its document-level cache kept or evicted),
    repeated within a query, in several segments, by passage and by document: the scores
    are those of a fresh view."""
    import srmkb.index.lexical as lexical

    docs, queries = scifact_tokens
    segments = [LexicalSegment.build(docs[:250]), LexicalSegment.build(docs[250:])]
    live = np.ones(len(docs), bool)
    live[::7] = False
    documents = np.arange(len(docs)) // 2
    monkeypatch.setattr(lexical, "TERM_CACHE_POSTINGS", 5)
    index = LexicalIndex(segments, live, documents=documents)
    for query in [*queries[:10], queries[0] * 2, *queries[:10]]:
        fresh = LexicalIndex(segments, live, documents=documents)
        for method in ("scores", "document_scores"):
            got, mass = getattr(index, method)(query)
            want, want_mass = getattr(fresh, method)(query)
            np.testing.assert_array_equal(got, want)
            assert mass == want_mass


def test_threads_scoring_unseen_terms_at_once_agree(scifact_tokens):
    docs, queries = scifact_tokens
    segments = [LexicalSegment.build(docs[:300]), LexicalSegment.build(docs[300:])]
    live = np.ones(len(docs), bool)
    want = [LexicalIndex(segments, live).scores(q)[0] for q in queries]
    index = LexicalIndex(segments, live)
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda q: index.scores(q)[0], queries * 4))
    for i, scores in enumerate(got):
        np.testing.assert_array_equal(scores, want[i % len(queries)])


def _documents_of(sizes):
    return np.repeat(np.arange(len(sizes)), sizes)


def test_document_scores_equal_bm25_of_the_joined_passages(scifact_tokens):
    docs, queries = scifact_tokens
    # Passages of 20 tokens: a scifact abstract becomes a document of several rows.
    passages, sizes = [], []
    for d in docs[:200]:
        pieces = [d[i : i + 20] for i in range(0, len(d), 20)] or [[]]
        passages.extend(pieces)
        sizes.append(len(pieces))
    numbers = _documents_of(sizes)
    live = np.ones(len(passages), bool)
    live[numbers == 7] = False  # a deleted document
    index = LexicalIndex(
        [LexicalSegment.build(passages[:300]), LexicalSegment.build(passages[300:])],
        live,
        documents=numbers,
    )
    whole = [d for i, d in enumerate(docs[:200]) if i != 7]
    keep = [i for i in range(200) if i != 7]
    for q in queries[:10]:
        ours, mass = index.document_scores(q)
        np.testing.assert_allclose(ours[keep], _reference_lucene(whole, q), rtol=1e-4, atol=1e-5)
        assert ours[7] == 0.0
        df = {t: sum(t in d for d in whole) for t in q}
        idf = [math.log(1 + (len(whole) - df[t] + 0.5) / (df[t] + 0.5)) for t in q if df[t]]
        assert mass == pytest.approx(sum(idf), rel=1e-4)


def test_document_scores_use_their_group_statistics():
    passages = [["x", "y"], ["y"], ["x"], ["z"], ["x", "z"]]
    numbers = np.array([0, 0, 1, 2, 2])
    index = LexicalIndex([LexicalSegment.build(passages)], np.ones(5, bool), documents=numbers)
    index.set_stats_group("g", np.array([True, True, True, False, False]))
    scores, _ = index.document_scores(["x"], group="g")
    fresh, _ = LexicalIndex(
        [LexicalSegment.build([["x", "y", "y"], ["x"]])], np.ones(2, bool)
    ).scores(["x"])
    np.testing.assert_allclose(scores[:2], fresh, rtol=1e-6)
    assert scores[2] == 0.0


def test_no_document_scores_without_documents():
    index = LexicalIndex([LexicalSegment.build([["a"], ["b"]])], np.ones(2, bool))
    assert index.document_scores(["a"]) is None


# -- the streaming build against a plain reference -------------------------------------

_words = st.text(alphabet="abcé_1", min_size=1, max_size=4)
_passages = st.lists(st.lists(_words, max_size=12), max_size=25)


def _reference_build(token_lists):
    """Postings written from their definition: sorted terms, rows ascending, tf counts."""
    postings = {}
    for row, tokens in enumerate(token_lists):
        for term, tf in Counter(tokens).items():
            postings.setdefault(term, []).append((row, tf))
    terms = sorted(postings)
    indptr = np.cumsum([0] + [len(postings[t]) for t in terms])
    pairs = [p for t in terms for p in postings[t]]
    return {
        "terms": terms,
        "indptr": indptr.tolist(),
        "rows": [r for r, _ in pairs],
        "tf": [float(tf) for _, tf in pairs],
        "length": [float(len(t)) for t in token_lists],
    }


def _as_lists(segment):
    return {
        "terms": segment.terms.tolist(),
        "indptr": segment.indptr.tolist(),
        "rows": segment.rows.tolist(),
        "tf": segment.tf.tolist(),
        "length": segment.length.tolist(),
    }


@settings(max_examples=150, deadline=None)
@given(_passages)
def test_build_equals_a_plain_reference(token_lists):
    segment = LexicalSegment.build(token_lists)
    assert _as_lists(segment) == _reference_build(token_lists)
    assert segment.rows.dtype == np.int32 and segment.indptr.dtype == np.int64
    assert segment.tf.dtype == segment.length.dtype == np.float32


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_passages, st.randoms(use_true_random=False)), min_size=1, max_size=4))
def test_merge_equals_a_plain_reference_of_kept_rows(parts):
    segments, kept = [], []
    for token_lists, rng in parts:
        keep = np.array([rng.random() < 0.6 for _ in token_lists], dtype=bool)
        segments.append((LexicalSegment.build(token_lists), keep))
        kept += [t for t, k in zip(token_lists, keep) if k]
    assert _as_lists(LexicalSegment.merge(segments)) == _reference_build(kept)


def test_build_takes_a_generator_of_token_lists(scifact_tokens):
    docs, queries = scifact_tokens
    streamed = LexicalSegment.build(iter(d) for d in docs)
    listed = LexicalSegment.build(docs)
    assert _as_lists(streamed) == _as_lists(listed)
    live = np.ones(len(docs), bool)
    for q in queries[:5]:
        np.testing.assert_array_equal(
            LexicalIndex([streamed], live).scores(q)[0], LexicalIndex([listed], live).scores(q)[0]
        )


def test_build_of_no_passages_is_empty():
    segment = LexicalSegment.build(iter([]))
    assert segment.n_passages == 0 and segment.terms.tolist() == []
    assert segment.indptr.tolist() == [0]
