"""A query's facts are computed once per call and agree with direct detection."""

from __future__ import annotations

import pytest

import srmkb.index.query as query_module
from srmkb import Document, HashingEmbedder, KnowledgeBase
from srmkb.index.query import Query
from srmkb.text.language import language_probabilities


def test_a_smaller_candidate_set_is_the_same_distribution_renormalised():
    for text in ("Comment réinitialiser le routeur ?", "Reset the router", "Routeur"):
        query = Query(text)
        for candidates in (("en", "fr"), ("fr", "de", "en")):
            direct = language_probabilities(text, languages=candidates)
            derived = query.languages_among(candidates)
            assert list(derived) == list(direct)
            for code in direct:
                assert derived[code] == pytest.approx(direct[code], rel=1e-6, abs=1e-9)


def test_terms_and_vector_are_computed_once():
    calls = []
    query = Query("router lights", lambda text: calls.append(text) or [1.0])
    assert query.vector == [1.0] and query.vector == [1.0]
    assert calls == ["router lights"]
    assert query.terms("en") is query.terms("en")
    with pytest.raises(ValueError):
        _ = Query("no embedder").vector


def test_answer_language_falls_back_on_the_base(monkeypatch):
    assert Query("Comment changer le mot de passe du Wi-Fi ?").answer_language(["en"]) == "fr"
    assert Query("12345").answer_language(["fr", "en"]) == "fr"
    assert Query("12345").answer_language([]) == "en"


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_the_language_is_detected_once_per_call(tmp_path, monkeypatch, mode):
    # Untranslated: a translated query is another text, with a detection of its own.
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder(), translate=False)
    kb.upsert(
        [
            Document(id="en", text="Reset the router with a pin.", language="en"),
            Document(id="fr", text="Réinitialiser le routeur avec une pointe.", language="fr"),
        ]
    )
    calls = []
    real = query_module.language_probabilities

    def counted(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(query_module, "language_probabilities", counted)
    kb.search("Comment réinitialiser le routeur ?", mode=mode, log=False)
    assert len(calls) <= 1
    calls.clear()
    kb.answer("Comment réinitialiser le routeur ?", log=False)
    assert len(calls) == 1
    kb.close()
