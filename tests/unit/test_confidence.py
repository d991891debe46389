import json
import math

import numpy as np
import pytest

from srmkb.answering import confidence
from srmkb.answering.confidence import FEATURES, ConfidenceModel, answer_features, default_model


def features(**overrides: object) -> list[float]:
    """A ranking of three rows (documents a, a, b) with the given keyword overrides."""
    args: dict[str, object] = {
        "document_ids": ["a", "a", "b"],
        "bm25": np.array([4.0, 1.0, 2.0]),
        "dense": np.array([0.7, 0.5, 0.4]),
        "coverage": np.array([0.6, 0.1, 0.3]),
        "line_cos": [0.8, 0.5],
        "line_mean": 0.3,
        "line_centroid": 0.6,
    }
    args.update(overrides)
    return answer_features(**args)  # type: ignore[arg-type]


def named(values: list[float]) -> dict[str, float]:
    assert len(values) == len(FEATURES)
    return dict(zip(FEATURES, values))


def test_features_of_a_ranking():
    f = named(features())
    assert f == pytest.approx(
        {
            "cos_top": 0.7,
            "line_cos": 0.8,
            "line_gap": 0.3,
            "line_spread": 0.5,
            "line_centroid": 0.6,
            "coverage": 0.6,
            "agree": 1.0,
            "agree_cos": 0.7,
            "bias": 1.0,
        }
    )


def test_bias_is_the_last_feature():
    assert FEATURES[-1] == "bias"
    assert len(set(FEATURES)) == len(FEATURES)


def test_agree_needs_both_retrievers_on_the_top_document():
    # BM25 prefers b: the retrievers disagree.
    f = named(features(bm25=np.array([1.0, 0.5, 3.0])))
    assert f["agree"] == 0.0 and f["agree_cos"] == 0.0
    # No term matched at all: no lexical vote, so no agreement.
    assert named(features(bm25=np.zeros(3)))["agree"] == 0.0
    # The dense retriever prefers b.
    assert named(features(dense=np.array([0.5, 0.4, 0.6])))["agree"] == 0.0


def test_coverage_is_capped_at_one():
    assert named(features(coverage=np.array([1.7, 0.1, 0.3])))["coverage"] == 1.0


def test_one_document_has_no_gap_to_a_second():
    f = named(features(document_ids=["a", "a", "a"], line_cos=[0.8]))
    assert f["line_gap"] == pytest.approx(0.8)


def test_line_statistics_default_to_a_passage_of_one_line():
    f = named(answer_features(["a"], np.array([1.0]), np.array([0.5]), np.array([0.2]), [0.9, 0.4]))
    assert f["line_spread"] == 0.0
    assert f["line_centroid"] == pytest.approx(0.9)


def test_empty_ranking_has_only_the_bias():
    empty = np.zeros(0)
    f = named(answer_features([], empty, empty, empty, []))
    assert f["bias"] == 1.0
    assert all(v == 0.0 for k, v in f.items() if k != "bias")


def test_probability_is_a_clamped_sigmoid():
    model = ConfidenceModel((1.0, -1.0), 0.5)
    assert model.probability([0.0, 0.0]) == 0.5
    assert model.probability([2.0, 1.0]) == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert 0.0 < model.probability([-1e6, 0.0]) < 1e-20  # no overflow
    assert model.probability([1e6, 0.0]) == pytest.approx(1.0)


def test_to_json_names_the_features():
    model = ConfidenceModel(tuple(range(len(FEATURES))), 0.4, "test")
    data = model.to_json()
    assert data["features"] == list(FEATURES)
    assert data["threshold"] == 0.4 and data["provenance"] == "test"


def test_shipped_model_matches_the_features():
    model = default_model()
    assert len(model.weights) == len(FEATURES)
    assert 0.0 < model.threshold < 1.0
    assert model.provenance


def test_shipped_model_answers_a_clear_match_and_declines_a_stranger():
    model = default_model()
    clear = features(dense=np.array([0.85, 0.6, 0.4]), line_cos=[0.95, 0.4])
    stranger = answer_features(
        ["a", "b"],
        np.zeros(2),
        np.array([0.15, 0.12]),
        np.zeros(2),
        [0.2, 0.18],
        line_mean=0.1,
        line_centroid=0.12,
    )
    assert model.probability(clear) > model.threshold > model.probability(stranger)


def test_shipped_model_grows_with_each_similarity():
    model = default_model()
    base = features()
    for name in ("cos_top", "line_cos", "line_centroid", "coverage"):
        closer = list(base)
        closer[FEATURES.index(name)] += 0.1
        assert model.probability(closer) > model.probability(base), name


def test_a_model_fitted_on_other_features_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_text(
        json.dumps(
            {"features": ["cos_top", "bias"], "weights": [1, 0], "threshold": 0.5, "provenance": ""}
        )
    )
    monkeypatch.setattr(confidence, "MODEL_FILE", path)
    default_model.cache_clear()
    try:
        with pytest.raises(ValueError, match="other features"):
            default_model()
    finally:
        default_model.cache_clear()
