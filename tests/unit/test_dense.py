"""Dense segments on deterministic synthetic vectors."""

import itertools

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


# -- float16 exact search ("SQfp16") and quantized HNSW ("HNSW32,SQ8") -----------------
# A float16 component carries a relative error of at most 2**-11, so the inner product of
# two unit vectors moves by at most 2**-11 * sum(|q_i x_i|) <= 4.9e-4: scores agree with
# float32 within 1e-3, and a row can only trade places with one scoring that close.
FP16_ATOL = 1e-3


def _assert_top_k_within_fp16(rows, scores, vecs, q, k, allowed):
    exact = vecs @ q
    exact[~allowed] = -np.inf
    kth = np.sort(exact)[::-1][k - 1]
    assert len(rows) == k and allowed[rows].all()
    np.testing.assert_allclose(scores, exact[rows], atol=FP16_ATOL)
    assert (exact[rows] >= kth - 2 * FP16_ATOL).all()  # only near-ties may swap in


@pytest.mark.parametrize("n", [50, 6000])  # the exact NumPy path and the faiss scan
def test_fp16_matches_exact_float32_with_deletions(n):
    vecs = _unit(n)
    live = np.ones(n, bool)
    live[::5] = False
    segments = [
        DenseSegment.build(vecs[: n // 2], "SQfp16"),
        DenseSegment.build(vecs[n // 2 :], "SQfp16"),
    ]
    index = DenseIndex(segments, live)
    same = 0
    for seed in range(10):
        q = _unit(1, seed=100 + seed)[0]
        rows, scores = index.search(q, 10)
        _assert_top_k_within_fp16(rows, scores, vecs, q, 10, live)
        same += np.array_equal(rows, _exact(vecs, q, 10, live))
        np.testing.assert_allclose(index.scores_of(q, rows), scores, atol=1e-6)
    assert same >= 8  # random vectors have few near-ties: the order is almost always exact


def test_fp16_selector_applies_before_top_k():
    vecs = _unit(8000)
    index = DenseIndex([DenseSegment.build(vecs, "SQfp16")], np.ones(8000, bool))
    q = _unit(1, seed=9)[0]
    few = np.zeros(8000, bool)
    few[[17, 4242, 7999]] = True
    rows, _ = index.search(q, 10, few)
    assert sorted(rows.tolist()) == [17, 4242, 7999]
    half = np.zeros(8000, bool)
    half[::2] = True  # large enough to go through faiss with an IDSelectorBitmap
    rows, scores = index.search(q, 10, half)
    _assert_top_k_within_fp16(rows, scores, vecs, q, 10, half)


def test_fp16_save_load_keeps_one_half_size_copy(tmp_path):
    vecs = _unit(6000)
    built = DenseSegment.build(vecs, "SQfp16")
    built.save(tmp_path, "SQfp16")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.faiss"]
    assert (tmp_path / "dense.faiss").stat().st_size < vecs.nbytes * 0.51
    loaded = DenseSegment.load(tmp_path, "SQfp16")
    assert (loaded.n_passages, loaded.dimension) == (6000, 32)
    np.testing.assert_array_equal(loaded.vectors, built.vectors)
    np.testing.assert_allclose(loaded.vectors, vecs, atol=FP16_ATOL)
    q = _unit(1, seed=4)[0]
    live = np.ones(6000, bool)
    np.testing.assert_array_equal(
        DenseIndex([loaded], live).search(q, 10)[0], DenseIndex([built], live).search(q, 10)[0]
    )


def test_fp16_vectors_survive_a_rebuild_bit_for_bit():
    """Decoding the float16 codes and encoding them again (a rebuild) changes nothing."""
    first = DenseSegment.build(_unit(300), "SQfp16")
    again = DenseSegment.build(first.rows(np.arange(300)[::-1]), "SQfp16")
    np.testing.assert_array_equal(again.vectors, first.vectors[::-1])


def test_hnsw_sq8_rescored_filtered_and_reloaded(tmp_path):
    vecs = _unit(6000)
    DenseSegment.build(vecs, "HNSW32,SQ8").save(tmp_path, "HNSW32,SQ8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dense.faiss", "vectors.npy"]
    loaded = DenseSegment.load(tmp_path, "HNSW32,SQ8")
    allowed = np.ones(6000, bool)
    allowed[1::3] = False  # through the selector
    index = DenseIndex([loaded], np.ones(6000, bool))
    recall = []
    for seed in range(20):
        q = _unit(1, seed=300 + seed)[0]
        rows, scores = index.search(q, 10, allowed)
        assert allowed[rows].all()
        np.testing.assert_allclose(scores, vecs[rows] @ q, rtol=1e-5)  # re-scored exactly
        recall.append(len(set(rows) & set(_exact(vecs, q, 10, allowed))) / 10)
    assert np.mean(recall) >= 0.9


def _docs(n, seed=0):
    from srmkb import Document

    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)]
    return [
        Document(id=f"d{i}", text=" ".join(rng.choice(words, 40)), language="en") for i in range(n)
    ]


@pytest.mark.parametrize("factory", ["SQfp16", "HNSW32,SQ8"])
def test_a_base_made_with_the_option_merges_reopens_and_checks(tmp_path, factory):
    from srmkb import HashingEmbedder, KnowledgeBase

    docs = _docs(90)
    queries = [" ".join(d.text.split()[:6]) for d in docs[:12]]
    bases = {}
    for name in ("Flat", factory):
        kb = KnowledgeBase(tmp_path / name, model=HashingEmbedder(), dense_index=name)
        for start in range(0, 90, 10):  # nine commits: the tiered merge runs
            kb.upsert(docs[start : start + 10])
        kb.delete(["d3", "d50"])
        bases[name] = kb
    assert bases[factory].index.segments < 9

    def dense(kb):
        hits = [kb.search(q, 10, mode="dense", log=False) for q in queries]
        return [([h.document_id for h in r], [h.scores["dense"] for h in r]) for r in hits]

    reference = dense(bases["Flat"])
    for kb in (bases[factory], None):
        if kb is None:  # reopen without naming the index: the manifest names it
            bases[factory].close()
            kb = KnowledgeBase(tmp_path / factory, model=HashingEmbedder(), create=False)
            assert kb.manifest.dense_index == factory
        for (ids, scores), (ref_ids, ref_scores) in zip(dense(kb), reference):
            assert not {"d3", "d50"} & set(ids)
            np.testing.assert_allclose(scores, ref_scores, atol=FP16_ATOL)
            assert len(set(ids) & set(ref_ids)) >= 9
    kb.optimize()
    assert kb.index.segments == 1
    assert kb.check().ok
    kb.close()
    bases["Flat"].close()
    if factory == "SQfp16":
        assert not list((tmp_path / factory).glob("segments/*/vectors.npy"))


@pytest.mark.parametrize("factory", ["Flat", "SQfp16", "HNSW32,SQ8"])
def test_merge_copies_the_kept_rows_in_order_across_blocks(tmp_path, factory):
    """A merge copies rows block by block (16k at a time): the result holds exactly
    the kept rows of each part, in order, as a segment built from them at once."""
    rng = np.random.default_rng(3)
    sizes = (20_000, 7, 17_000)
    parts, kept = [], []
    for n in sizes:
        vectors = rng.standard_normal((n, 8)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = np.flatnonzero(rng.random(n) < 0.9)
        parts.append((DenseSegment.build(vectors, factory), rows))
        kept.append(vectors[rows])
    merged = DenseSegment.merge(parts, factory)
    expected = DenseSegment.build(np.concatenate(kept), factory)
    assert merged.n_passages == expected.n_passages == sum(len(r) for _, r in parts)
    every = np.arange(merged.n_passages)
    np.testing.assert_array_equal(merged.rows(every), expected.rows(every))
    merged.save(tmp_path, factory)
    reloaded = DenseSegment.load(tmp_path, factory)
    np.testing.assert_array_equal(reloaded.rows(every), expected.rows(every))


@pytest.mark.parametrize("sizes", [(70_000,), (30_000, 25_000, 15_000)], ids=["one", "three"])
@pytest.mark.parametrize("allowed_share", [1.0, 0.5, 0.01])
def test_large_segments_scanned_in_parts_give_the_exact_top(sizes, allowed_share):
    """Exhaustive segments holding two parts' rows or more (32,768 each) are scanned as
    row ranges at once (on a machine of two cores or more), cut across segments; the
    top k is the exact one, filters applied, whatever the cuts."""
    n = sum(sizes)
    vectors = np.random.default_rng(7).standard_normal((n, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    bounds = np.cumsum((0, *sizes))
    segments = [DenseSegment.build(vectors[a:b], "SQfp16") for a, b in itertools.pairwise(bounds)]
    live = np.ones(n, dtype=bool)
    live[::97] = False  # deleted rows
    allowed = np.random.default_rng(8).random(n) < allowed_share
    index = DenseIndex(segments, live)
    decoded = np.concatenate([s.rows(np.arange(s.n_passages)) for s in segments])
    for query in vectors[1:6]:
        rows, scores = index.search(query, 10, allowed)
        exact = np.where(allowed & live, decoded @ query, -np.inf)
        expected = np.argsort(-exact, kind="stable")[:10]
        np.testing.assert_allclose(scores, exact[expected], rtol=0, atol=1e-6)
        assert set(rows.tolist()) == set(expected.tolist())
        assert (allowed & live)[rows].all()
