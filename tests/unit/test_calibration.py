"""Self-calibration: fitted from the base's own content, kept with it, refreshed, read
back; a damaged file never breaks answering; feedback counts; the mapping is monotone."""

from __future__ import annotations

import json
import logging
import random

import numpy as np
import pytest

from srmkb import Document, HashingEmbedder, KnowledgeBase
from srmkb.answering import calibration
from srmkb.answering.calibration import (
    CALIBRATION_FILE,
    Calibration,
    Row,
    Settings,
    changed_share,
    perturb,
    phrasings,
    pseudo_questions,
    sketch,
)
from srmkb.answering.confidence import FEATURES, ConfidenceModel, default_model
from srmkb.errors import StorageError

TOPICS = [
    ("reset-password", "How do I reset my password?", "Open settings, choose security, reset."),
    ("track-order", "Where is my order?", "Track the parcel from the orders page."),
    ("refund", "How do I get a refund?", "Refunds go back to the card within five days."),
    ("cancel", "How can I cancel my subscription?", "Cancel from the billing page any time."),
    ("invoice", "Where do I download an invoice?", "Invoices are under billing, documents."),
    ("address", "How do I change my delivery address?", "Edit the address before shipping."),
    ("warranty", "What does the warranty cover?", "Two years on parts and labour."),
    ("payment", "Which payment methods do you accept?", "Cards, bank transfer and vouchers."),
    ("damaged", "My item arrived damaged", "Send a photo and we replace the item."),
    ("language", "Can I change the app language?", "Pick a language under preferences."),
    ("delete", "How do I delete my account?", "Ask support: deletion takes a week."),
    ("gift", "Can I send an order as a gift?", "Tick gift wrap at checkout; no prices shown."),
]


def documents(tag: str = "") -> list[Document]:
    return [
        Document(id=i, title=t, text=f"{body}\nIt takes a minute {tag}.".strip())
        for i, t, body in TOPICS
    ]


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(documents())
    yield base
    base.close()


def test_phrasings_are_titles_headings_and_short_lines():
    doc = Document(id="d", title="Reset a password", text="Open the settings page now.\nOk")
    found = phrasings(doc)
    assert found[0] == "Reset a password"
    assert "Open the settings page now." in found
    assert "Ok" not in found  # too short to be a question


def test_prose_gives_its_questions_and_first_sentence_not_every_line():
    prose = " ".join(["The refund reaches the card within five days of the return."] * 4)
    text = f"{prose}\nWhen does my refund arrive?\n{prose}\nKeep the receipt for the shop."
    found = phrasings(Document(id="d", text=text))
    assert found == [
        "When does my refund arrive?",
        "The refund reaches the card within five days of the return.",
    ]


def test_phrasings_of_a_huge_document_are_bounded():
    doc = Document(id="d", text="word " * 2_000_000)
    found = phrasings(doc)
    assert all(len(p.split()) <= 40 for p in found)


def test_pseudo_questions_spread_over_documents_and_bounded():
    pairs = pseudo_questions(documents(), limit=len(TOPICS), dropout=0.0)
    assert len(pairs) == len(TOPICS)
    assert {source for _, source in pairs} == {i for i, _, _ in TOPICS}
    assert len(pseudo_questions(documents(), limit=5, dropout=0.0)) == 5


def test_dropout_drops_words_but_keeps_two():
    rng = random.Random(1)
    text = "one two three four five six seven eight nine ten"
    shorter = perturb(text, 0.5, rng)
    assert 2 <= len(shorter.split()) < 10
    assert perturb("two words", 0.9, rng) == "two words"
    assert perturb(text, 0.0, rng) == text


def test_sketch_estimates_the_changed_share():
    before = sketch((f"d{i}", "h") for i in range(1000))
    assert changed_share(before, before) == 0.0
    half = sketch(
        [(f"d{i}", "h") for i in range(500)] + [(f"d{i}", "new") for i in range(500, 1000)]
    )
    assert 0.45 < changed_share(before, half) < 0.8  # Jaccard 1/3: two thirds differ
    few = sketch(
        [(f"d{i}", "h") for i in range(980)] + [(f"d{i}", "new") for i in range(980, 1000)]
    )
    assert changed_share(before, few) < 0.1


def rows_at(logit_pos: float, logit_neg: float, n: int = 50) -> list[Row]:
    """Rows whose shipped logit is known: only the bias feature is set."""
    bias = FEATURES.index("bias")

    def row(z: float, label: int, kind: str) -> Row:
        features = [0.0] * len(FEATURES)
        features[bias] = z
        return Row(features, label, kind)

    return [row(logit_pos, 1, "answerable") for _ in range(n)] + [
        row(logit_neg, 0, "unanswerable") for _ in range(n)
    ]


def unit_model() -> ConfidenceModel:
    weights = [0.0] * len(FEATURES)
    weights[FEATURES.index("bias")] = 1.0
    return ConfidenceModel(tuple(weights), 0.5)


def test_fit_separates_and_stays_monotone():
    model = unit_model()
    found = calibration.fit(model, rows_at(0.5, -0.5), Settings(prior=1.0))
    assert found.scale > 1.0  # the shipped scale was too timid on these rows
    calibrated = found.apply(model)
    z = np.linspace(-5, 5, 41)
    probs = [calibrated.probability([*([0.0] * (len(FEATURES) - 1)), v]) for v in z]
    assert np.all(np.diff(probs) > 0)


def test_a_strong_prior_keeps_the_shipped_model():
    model = unit_model()
    found = calibration.fit(model, rows_at(0.5, -0.5, n=5), Settings(prior=1e6))
    assert found.scale == pytest.approx(1.0, abs=1e-3)
    assert found.shift == pytest.approx(0.0, abs=1e-3)


def test_threshold_reaches_the_target_precision():
    model = unit_model()
    rows = rows_at(3.0, -3.0) + [Row(rows_at(0.0, 0.0)[0].features, 0, "answerable")] * 50
    found = calibration.fit(model, rows, Settings(prior=1.0, target_precision=0.9))
    prob = 1 / (1 + np.exp(-(found.scale * 3.0 + found.shift)))
    assert found.threshold <= prob  # the sure answers are answered
    prob_mid = 1 / (1 + np.exp(-found.shift))
    assert found.threshold > prob_mid  # the coin flips are not


def test_calibration_is_fitted_from_content_and_kept_with_the_base(kb):
    found = kb.calibrate()
    assert found is not None
    assert found.rows["answerable"] > 0 and found.rows["unanswerable"] > 0
    assert found.documents == len(TOPICS)
    stored = calibration.read(kb.path)
    assert stored == found
    # Another process opening the base answers with the same fit, without refitting.
    again = KnowledgeBase(kb.path)
    answer = again.answer(TOPICS[0][1], log=False)
    assert calibration.read(kb.path) == found
    expected = found.apply(default_model(kb.model_id))
    evidence = again.evidence(TOPICS[0][1])
    assert answer.confidence == pytest.approx(expected.probability(evidence.features))
    again.close()


def test_a_calibration_reads_short(kb):
    found = kb.calibrate()
    assert found is not None and len(found.sketch) == len(TOPICS)
    text = repr(found)
    # What was fitted, at a glance: not the content sketch's hashes nor every setting.
    assert f"threshold={found.threshold}" in text and "rows=" in text
    assert "sketch" not in text and "settings" not in text
    assert len(text) < 250, text


def test_a_calibrated_base_refreshes_itself_after_a_large_change(kb):
    kb.answer(TOPICS[0][1], log=False)
    assert not (kb.path / CALIBRATION_FILE).exists()  # never calibrated: shipped model
    kb.calibrate()
    first = calibration.read(kb.path)
    assert first is not None
    kb.upsert([documents()[0]])  # unchanged content: no refit
    kb.answer(TOPICS[1][1], log=False)
    assert calibration.read(kb.path) == first
    kb.upsert(documents(tag="now"))  # every document changed
    kb.answer(TOPICS[1][1], log=False)
    second = calibration.read(kb.path)
    assert second is not None and second.fitted_at > first.fitted_at
    assert second.sketch != first.sketch


def test_opening_a_base_writes_no_calibration(tmp_path):
    with KnowledgeBase(tmp_path / "kb", model=HashingEmbedder()) as base:
        base.upsert(documents())
    before = sorted(p.name for p in (tmp_path / "kb").iterdir())
    with KnowledgeBase(tmp_path / "kb"):
        pass
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == before
    assert CALIBRATION_FILE not in before


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"format": 1, "scale": 1.0}), json.dumps({"format": 99})],
)
def test_a_damaged_calibration_falls_back_to_the_shipped_model(kb, caplog, content):
    (kb.path / CALIBRATION_FILE).write_text(content)
    with pytest.raises(StorageError, match=CALIBRATION_FILE):
        calibration.read(kb.path)
    with caplog.at_level(logging.WARNING):
        reopened = KnowledgeBase(kb.path)
        answer = reopened.answer(TOPICS[2][1], log=False)
    shipped = default_model(kb.model_id)
    assert answer.confidence == pytest.approx(
        shipped.probability(reopened.evidence(TOPICS[2][1]).features)
    )
    assert "calibrate()" in caplog.text
    assert (kb.path / CALIBRATION_FILE).read_text() == content  # left for the operator
    assert reopened.calibrate() is not None  # which fits it again
    assert calibration.read(kb.path) is not None
    reopened.close()


def test_a_negative_scale_is_damage(tmp_path):
    good = Calibration(1.0, 0.0, 0.5, "m", 0.0, 3)
    data = good.to_json()
    assert Calibration.from_json(data, tmp_path) == good
    with pytest.raises(StorageError):
        Calibration.from_json({**data, "scale": -1.0}, tmp_path)


def test_feedback_adds_real_questions(kb):
    without = kb.calibrate()
    assert without is not None and without.rows["feedback"] == 0
    answer = kb.answer(TOPICS[3][1], threshold=0.0)
    assert answer.interaction_id and answer.answered
    kb.feedback(answer.interaction_id, "resolved")
    other = kb.answer(TOPICS[4][1], threshold=0.0)
    assert other.interaction_id
    kb.feedback(other.interaction_id, "not_helpful")
    declined = kb.answer(TOPICS[5][1], threshold=1.0)  # declined: says nothing of a source
    assert declined.interaction_id
    kb.feedback(declined.interaction_id, "escalated")
    found = kb.calibrate()
    assert found is not None and found.rows["feedback"] == 2


def test_explicit_threshold_still_overrides(kb):
    kb.calibrate()
    assert not kb.answer(TOPICS[0][1], threshold=1.0, log=False).answered
    assert kb.answer(TOPICS[0][1], threshold=0.0, log=False).answered


def test_a_small_base_keeps_the_shipped_model(tmp_path):
    with KnowledgeBase(tmp_path / "kb", model=HashingEmbedder()) as base:
        base.upsert(documents()[:3])
        assert base.calibrate() is None
        answer = base.answer(TOPICS[0][1], log=False)
        shipped = default_model(base.model_id)
        assert answer.confidence == pytest.approx(
            shipped.probability(base.evidence(TOPICS[0][1]).features)
        )
        assert not (tmp_path / "kb" / CALIBRATION_FILE).exists()


def test_another_edition_of_the_source_is_no_near_miss(tmp_path):
    with KnowledgeBase(tmp_path / "kb", model=HashingEmbedder()) as base:
        docs = documents()
        copy = Document(id="reset-password.pdf", title="Password", text=docs[0].text)
        base.upsert([*docs, copy])
        question = [("reset my password settings security", "reset-password")]
        rows = calibration.rows_from_content(base, question, {d.id: d for d in docs})
        # The copy's text is the source's: no unanswerable row from it, and when it
        # ranks first the answer counts as right.
        assert [r.kind for r in rows] == ["answerable"]
        assert rows[0].label == 1
        other = [("how do I get a refund card", "refund")]
        rows = calibration.rows_from_content(base, other, {d.id: d for d in docs})
        assert sorted(r.kind for r in rows) == ["answerable", "unanswerable"]
