"""Dense segments on deterministic synthetic vectors."""

import numpy as np
import pytest

from srmkb.index.dense import DenseIndex, DenseSegment


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact(vectors, q, k, allowed):
    sims = vectors @ q
    sims[~allowed] = -np.inf
    return np.argsort(-sims)[:k]


@pytest.mark.parametrize("n", [50, 6000, 10000])  # segments below and above 4096 rows
def test_flat_search_is_exact_and_respects_mask(n):
    vecs = _unit(n)
    live = np.ones(n, bool)
    live[::5] = False
    index = DenseIndex(
        [DenseSegment.build(vecs[: n // 2]), DenseSegment.build(vecs[n // 2 :])], live
    )
    for seed in range(5):
        q = _unit(1, seed=100 + seed)[0]
        rows, scores = index.search(q, 10)
        np.testing.assert_array_equal(rows, _exact(vecs, q, 10, live))
        np.testing.assert_allclose(scores, vecs[rows] @ q, rtol=1e-5)


def test_selector_applies_before_top_k():
    vecs = _unit(8000)
    allowed = np.zeros(8000, bool)
    allowed[[17, 4242, 7999]] = True
    allowed_big = np.zeros(8000, bool)
    allowed_big[::2] = True  # large enough to go through faiss with an IDSelectorBitmap
    index = DenseIndex([DenseSegment.build(vecs)], np.ones(8000, bool))
    q = _unit(1, seed=9)[0]
    rows, _ = index.search(q, 10, allowed)
    assert sorted(rows.tolist()) == [17, 4242, 7999]
    rows, _ = index.search(q, 10, allowed_big)
    np.testing.assert_array_equal(rows, _exact(vecs, q, 10, allowed_big))


def test_hnsw_factory_finds_most_exact_neighbours(tmp_path):
    vecs = _unit(6000, dim=32)
    seg = DenseSegment.build(vecs, "HNSW32")
    seg.save(tmp_path, "HNSW32")
    loaded = DenseSegment.load(tmp_path, "HNSW32")
    index = DenseIndex([loaded], np.ones(6000, bool))
    recall = []
    for seed in range(20):
        q = _unit(1, seed=200 + seed)[0]
        rows, _ = index.search(q, 10)
        recall.append(len(set(rows) & set(_exact(vecs, q, 10, np.ones(6000, bool)))) / 10)
    assert np.mean(recall) >= 0.9


def test_scores_of_rows_across_segments():
    vecs = _unit(30)
    index = DenseIndex(
        [DenseSegment.build(vecs[:10]), DenseSegment.build(vecs[10:])], np.ones(30, bool)
    )
    q = _unit(1, seed=3)[0]
    rows = np.array([29, 0, 15, 9])
    np.testing.assert_allclose(index.scores_of(q, rows), vecs[rows] @ q, rtol=1e-5)


def test_save_load_flat_round_trip(tmp_path):
    vecs = _unit(20)
    DenseSegment.build(vecs).save(tmp_path, "Flat")
    assert not (tmp_path / "dense.faiss").exists()
    loaded = DenseSegment.load(tmp_path, "Flat")
    np.testing.assert_array_equal(np.asarray(loaded.vectors), vecs)


def test_flat_holds_no_second_copy_of_the_vectors(tmp_path):
    vecs = _unit(6000)
    DenseSegment.build(vecs).save(tmp_path, "Flat")
    assert not (tmp_path / "dense.faiss").exists()
    loaded = DenseSegment.load(tmp_path, "Flat")
    assert loaded.index is None and isinstance(loaded.vectors, np.memmap)
    live = np.ones(6000, bool)
    live[:3000] = False
    q = _unit(1, seed=3)[0]
    rows, _ = DenseIndex([loaded], live).search(q, 10)
    np.testing.assert_array_equal(rows, _exact(vecs, q, 10, live))
