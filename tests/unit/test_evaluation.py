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
