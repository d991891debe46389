import math

import pytest

from srmkb.evaluation import evaluate_run, load_beir, mrr_at, ndcg_at, recall_at

from ..conftest import shared_path


def test_metrics_on_hand_computed_cases():
    rel = {"a": 1, "b": 2, "z": 0}
    assert ndcg_at(["b", "a"], rel) == pytest.approx(1.0)
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    idcg = 2 + 1 / math.log2(3)
    assert ndcg_at(["x", "a", "b"], rel) == pytest.approx(dcg / idcg)
    assert mrr_at(["x", "z", "a"], rel) == pytest.approx(1 / 3)
    assert recall_at(["a"], rel) == 0.5
    assert evaluate_run({"q": ["b", "a"]}, {"q": rel})["ndcg@10"] == pytest.approx(1.0)


def test_load_beir_keeps_judged_queries_only():
    data = load_beir(shared_path("data", "beir", "hint3-sofmattress"))
    assert len(data.corpus) == 21
    assert set(data.queries) == set(data.qrels)


def test_a_base_is_evaluated_from_python(tmp_path):
    from srmkb import HashingEmbedder, KnowledgeBase
    from srmkb.evaluation import evaluate_answers, evaluate_retrieval, load_oos_queries

    folder = shared_path("data", "beir", "hint3-sofmattress")
    data = load_beir(folder)
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder(), log_interactions=False)
    kb.upsert(data.corpus)
    bm25 = evaluate_retrieval(kb, data, mode="bm25")
    assert bm25["n_queries"] == len(data.queries) and 0.5 < bm25["ndcg@10"] <= 1.0
    assert bm25["latency_ms"]["p50"] > 0
    done = []
    answers = evaluate_answers(kb, data, load_oos_queries(folder), progress=done.append)
    assert len(done) == answers["n_answerable"] + answers["n_unanswerable"]
    assert answers["n_unanswerable"] > 0 and 0.0 <= answers["precision"] <= 1.0
    assert len(kb.audit.interactions()) == 0  # an evaluation leaves no trace
    kb.close()
