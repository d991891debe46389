"""A filter that matches one document ranked ~500th still finds it: filters apply before top-k."""

import itertools
from dataclasses import replace

import pytest

from srmkb import HashingEmbedder, KnowledgeBase
from srmkb.evaluation import load_beir

from ..conftest import shared_path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    data = load_beir(shared_path("data", "beir", "scifact"))
    docs = [replace(d, metadata={"group": "bulk"}) for d in itertools.islice(data.corpus, 2500)]
    kb = KnowledgeBase(tmp_path_factory.mktemp("filter") / "kb", model=HashingEmbedder())
    kb.upsert(docs, batch_size=1000)
    return kb


QUERY = "vitamin D supplementation reduces the risk of fractures"


def _rank(kb, doc_id, mode, **kw):
    ranked = [d for d, _ in kb.rank_documents(QUERY, 2500, mode=mode, **kw)]
    return ranked.index(doc_id) + 1 if doc_id in ranked else None


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_metadata_filter_finds_the_500th_document(base, mode):
    ranked = [d for d, _ in base.rank_documents(QUERY, 600, mode=mode)]
    needle_id = ranked[499]
    needle = base.get(needle_id)
    base.upsert([replace(needle, metadata={"group": "needle"})])
    try:
        assert _rank(base, needle_id, mode) > 400  # still far down unfiltered
        hits = base.search(QUERY, k=5, mode=mode, filters={"group": "needle"})
        assert hits and {h.document_id for h in hits} == {needle_id}
    finally:
        base.upsert([needle])


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_audience_is_a_filter_before_top_k(base, mode):
    """Only one public document among internal ones: customers still get it."""
    ranked = [d for d, _ in base.rank_documents(QUERY, 600, mode=mode)]
    public_id = ranked[499]
    others = [base.get(d) for d in ranked[:50]]
    base.upsert([replace(d, visibility="internal") for d in others])
    try:
        customer = [d for d, _ in base.rank_documents(QUERY, 50, mode=mode)]
        assert not set(customer) & {d.id for d in others}
        agent = [d for d, _ in base.rank_documents(QUERY, 50, mode=mode, audience="agent")]
        assert set(agent[:10]) <= {d.id for d in others}
        assert public_id in [d for d, _ in base.rank_documents(QUERY, 500, mode=mode)]
    finally:
        base.upsert(others)
