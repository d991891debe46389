"""top_k: the k largest scores, exactly, best first, whatever the ties and infinities."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from srmkb.index.topk import top_k

_VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, -np.inf]),
    st.floats(-10, 10, allow_nan=False, width=32),
)


def _check(scores: np.ndarray, k: int) -> None:
    got = top_k(scores, k)
    assert len(got) == min(k, len(scores)) and len(set(got.tolist())) == len(got)
    assert np.all(scores[got][:-1] >= scores[got][1:])
    expected = np.sort(scores)[::-1][: len(got)]
    np.testing.assert_array_equal(scores[got], expected)


@settings(max_examples=300, deadline=None)
@given(arrays(np.float32, st.integers(0, 3_000), elements=_VALUES), st.integers(1, 200))
def test_top_k_is_exact(scores, k):
    _check(scores, k)


def test_top_k_on_large_arrays_with_many_ties_and_exclusions():
    rng = np.random.default_rng(7)
    for k in (1, 10, 100, 1_000):
        scores = rng.random(200_000).astype(np.float32)
        scores[rng.random(len(scores)) < 0.7] = 0.0
        scores[rng.random(len(scores)) < 0.2] = -np.inf
        _check(scores, k)
        _check(np.round(scores * 3), k)  # a few distinct values: ties across the cut
        _check(np.zeros(50_000, np.float32), k)
