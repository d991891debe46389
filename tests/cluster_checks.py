"""What the cluster tests compare: a sharded base's results with a single base's."""

from __future__ import annotations

import numpy as np

TOLERANCE = 1e-6


def assert_same_hits(expected, found, label=""):
    """The same passages in the same order, with scores (and each retriever's) to 1e-6."""
    assert [h.passage_id for h in found] == [h.passage_id for h in expected], label
    np.testing.assert_allclose(
        [h.score for h in found], [h.score for h in expected], rtol=0, atol=TOLERANCE, err_msg=label
    )
    for e, f in zip(expected, found):
        assert e.scores.keys() == f.scores.keys(), label
        for name in e.scores:
            assert abs(e.scores[name] - f.scores[name]) <= TOLERANCE, (label, name)
        assert (e.document_id, e.version, e.text) == (f.document_id, f.version, f.text), label


def assert_same_answer(expected, found, label=""):
    assert found.answered == expected.answered, label
    assert found.document_id == expected.document_id, label
    assert abs(found.confidence - expected.confidence) <= TOLERANCE, label
    assert found.text == expected.text, label
