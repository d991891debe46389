import numpy as np
import pytest

from srmkb.index.fusion import fuse, lexical_weight, zscore


def test_weight_grows_with_coverage_and_falls_with_dense_confidence():
    assert lexical_weight(0.0, 0.5) == 0.0  # no query term matched: dense only
    assert lexical_weight(0.9, 0.2) > lexical_weight(0.3, 0.2)
    assert lexical_weight(0.9, 0.9) < lexical_weight(0.9, 0.2)
    assert lexical_weight(0.9, 0.2) == pytest.approx(0.72)
    assert 0.0 <= lexical_weight(5.0, -0.3) <= 1.0


def test_dense_decides_when_no_query_term_is_known():
    bm25 = np.zeros(4)
    dense = np.array([0.1, 0.9, 0.3, 0.2])
    assert int(np.argmax(fuse(bm25, dense, 0.0))) == 1


def test_full_lexical_match_can_overturn_a_weak_dense_ranking():
    bm25 = np.array([9.9, 0.1, 0.2, 0.1])  # candidate 0 covers nearly the whole query
    dense = np.array([0.30, 0.33, 0.1, 0.1])  # dense barely prefers 1, with low confidence
    assert int(np.argmax(fuse(bm25, dense, 0.99))) == 0


def test_zscore_of_constant_is_zero():
    assert zscore(np.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert zscore(np.array([1.0, 3.0])).tolist() == pytest.approx([-1.0, 1.0])


def test_a_model_that_does_not_know_the_query_language_loses_its_cosine_vote():
    # MiniLM on a French question: a high best cosine must not hand the weight to dense.
    assert lexical_weight(0.1, 0.9) == pytest.approx(0.01)
    assert lexical_weight(0.1, 0.9, model_knows_query=False, same_language=1.0) == 1.0
    # Query and candidates in different languages: BM25 cannot match them, equal weights.
    assert lexical_weight(0.1, 0.9, model_knows_query=False, same_language=0.0) == 0.5
    assert lexical_weight(0.1, 0.9, model_knows_query=False, same_language=7.0) == 1.0


def test_fuse_passes_the_language_rule_through():
    bm25 = np.array([5.0, 1.0, 0.5])
    dense = np.array([0.80, 0.95, 0.85])  # confident-looking cosines from an unfit model
    assert int(np.argmax(fuse(bm25, dense, 0.2))) == 1
    assert int(np.argmax(fuse(bm25, dense, 0.2, model_knows_query=False))) == 0


def test_language_backgrounds_need_two_languages_with_enough_passages(tmp_path):
    from srmkb import Document, HashingEmbedder, KnowledgeBase
    from srmkb.index.snapshot import BACKGROUND_MIN_ROWS

    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    english = [
        Document(id=f"en{i}", text=f"Router light {i} blinks", language="en") for i in range(20)
    ]
    kb.upsert([*english, Document(id="fr0", text="Le voyant clignote", language="fr")])
    assert kb.index.snapshot.language_samples == {}  # one French passage: no background for it
    french = [
        Document(id=f"fr{i}", text=f"Le voyant {i} clignote", language="fr")
        for i in range(1, BACKGROUND_MIN_ROWS)
    ]
    kb.upsert(french)
    samples = kb.index.snapshot.language_samples
    assert set(samples) == {"en", "fr"} and len(samples["fr"]) == BACKGROUND_MIN_ROWS
    languages = kb.index.snapshot.row_languages
    assert all((languages[rows] == lang).all() for lang, rows in samples.items())
