"""Candidates and their selection: the step a single base and a sharded one share."""

import numpy as np
import pytest

from srmkb import HashingEmbedder, KnowledgeBase
from srmkb.index import Candidates, IndexPart, Query
from srmkb.index.candidates import ranked, select

from ..index_conformance import DOCS, _more_documents


def test_ranked_breaks_ties_by_key_wherever_the_rows_are():
    scores = np.array([1.0, 3.0, 2.0, 3.0, 3.0, 0.5], dtype=np.float32)
    keys = np.array(["f", "c", "d", "a", "b", "e"])
    assert keys[ranked(scores, keys, 4)].tolist() == ["a", "b", "c", "d"]
    rng = np.random.default_rng(1)
    for _ in range(20):
        order = rng.permutation(len(scores))
        assert keys[order][ranked(scores[order], keys[order], 2)].tolist() == ["a", "b"]
    assert len(ranked(scores, keys, 0)) == 0
    assert keys[ranked(scores, keys, 99)].tolist() == ["a", "b", "c", "d", "f", "e"]


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("cand") / "kb", model=HashingEmbedder())
    base.upsert([*DOCS, *_more_documents()])
    yield base
    base.close()


def _query(kb, text):
    return Query(text, kb.embedder.embed_query)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
@pytest.mark.parametrize("text", ["reset the router", "réinitialiser le routeur wifi"])
def test_select_over_a_base_s_candidates_is_its_search(kb, mode, text):
    index = kb.index
    snap = index.snapshot
    query = _query(kb, text)
    expected = index.search(query, 5, mode=mode, audience="agent")
    found = index.candidates(query, 5, mode=mode, audience="agent")
    best = select(
        found,
        query,
        5,
        mode,
        model_languages=snap.model_languages,
        cosine_map=snap.cosine_map,
    )
    assert found.keys[best.index].tolist() == expected.passage_ids.tolist()
    np.testing.assert_array_equal(best.scores, expected.scores)
    assert isinstance(index, IndexPart)


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_selection_does_not_depend_on_the_order_of_candidates(kb, mode):
    index = kb.index
    snap = index.snapshot
    query = _query(kb, "router light reset")
    found = index.candidates(query, 5, mode=mode, audience="agent")
    options = {"model_languages": snap.model_languages, "cosine_map": snap.cosine_map}
    best = select(found, query, 5, mode, **options)
    rng = np.random.default_rng(0)
    for _ in range(5):
        order = rng.permutation(len(found))
        halves = [found.take(order[: len(order) // 2]), found.take(order[len(order) // 2 :])]
        shuffled = select(Candidates.pool(halves), query, 5, mode, **options)
        pooled = Candidates.pool(halves)
        assert pooled.keys[shuffled.index].tolist() == found.keys[best.index].tolist()
        np.testing.assert_array_equal(shuffled.scores, best.scores)


def test_no_candidates_select_nothing():
    query = Query("anything", lambda _t: np.ones(4, dtype=np.float32) / 2)
    for mode in ("bm25", "dense", "hybrid"):
        best = select(Candidates.empty(), query, 5, mode, model_languages=None, cosine_map=(0, 1))
        assert len(best.index) == 0
