"""Paired comparison of two systems on the same questions: per-question nDCG@10, the mean
difference with its bootstrap interval, and a sign-flip randomisation p-value."""

from __future__ import annotations

import numpy as np

from srmkb.evaluation import BeirSet, ndcg_at

FLIPS = 20_000


def per_question(run: dict[str, list[str]], data: BeirSet) -> np.ndarray:
    """nDCG@10 of each judged question, in ``data.qrels`` order."""
    return np.array([ndcg_at(run.get(q, []), rel) for q, rel in data.qrels.items()])


def paired_test(a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b``, its 95% bootstrap interval, and the two-sided p-value of a
    sign-flip randomisation test (each question's difference kept or negated)."""
    d = a - b
    rng = np.random.default_rng(seed)
    flips = rng.choice(np.array([-1.0, 1.0]), size=(FLIPS, len(d))) @ d / len(d)
    boot = d[rng.integers(0, len(d), size=(5000, len(d)))].mean(axis=1)
    return {
        "difference": round(float(d.mean()), 4),
        "ci95": [round(float(x), 4) for x in np.percentile(boot, [2.5, 97.5])],
        "p": round(float(np.mean(np.abs(flips) >= abs(d.mean()) - 1e-12)), 3),
        "wins": int((d > 0).sum()),
        "losses": int((d < 0).sum()),
    }
