"""Capture: resolved cases linked to the document that answers them, or drafted."""

import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase, Section
from srmkb.capture import approve, capture, list_drafts, reject

from ..conftest import SqueezedEmbedder

RESET = "Hold the reset button for 10 seconds. The light turns blue when the router restarts."
COOLING = "1. Stand the router upright. 2. Clean the vents with a dry brush. 3. Keep it away from heaters."


def _case(case_id: str, subject: str, resolution: str, product: str = "router") -> Document:
    return Document(
        id=f"case-{case_id}",
        title=subject,
        visibility="internal",
        metadata={"source_type": "crm", "case_id": case_id, "product": product, "channel": "Phone"},
        sections=(
            Section(
                f"{subject}. Call me on +1 415 555 0134.",
                ("Problem",),
                "problem",
                visibility="internal",
            ),
            Section(resolution, ("Resolution",), "resolution"),
        ),
    )


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert([Document(id="reset", title="Factory reset", text=RESET)])
    return base


def test_link_draft_merge_and_skip(kb):
    cases = [
        _case("1", "Router frozen, reset did not work", RESET),
        _case("2", "Router gets very hot (mail me at a@b.com)", COOLING),
        _case("3", "router overheating", COOLING),
    ]
    report = capture(kb, cases)
    actions = [(d.case_id, d.action, d.document_id) for d in report.decisions]
    assert actions == [
        ("1", "linked", "reset"),
        ("2", "drafted", "draft-2"),
        ("3", "merged", "draft-2"),
    ]
    draft = kb.get("draft-2")
    assert draft.visibility == "internal" and draft.metadata["cases"] == ["2", "3"]
    assert "a@b.com" not in draft.title and "555 0134" not in str(draft.to_json())
    resolution = next(s.text for s in draft.sections if s.anchor == "resolution")
    assert resolution.splitlines() == [
        "1. Stand the router upright.",
        "2. Clean the vents with a dry brush.",
        "3. Keep it away from heaters.",
    ]
    assert "draft-2" not in [h.document_id for h in kb.search("router hot vents")]
    assert kb.search("router hot vents", audience="agent")[0].document_id == "draft-2"
    assert kb.report()["reuse"] == {"reset": 1}
    # Capture is idempotent: the same export again changes nothing.
    again = capture(kb, cases)
    assert [d.action for d in again.decisions] == ["skipped"] * 3
    assert [d["id"] for d in list_drafts(kb)] == ["draft-2"]


def test_approve_publishes_and_reject_removes(kb):
    capture(
        kb,
        [
            _case("7", "Router gets very hot", COOLING),
            _case("8", "Blue screen on TV", "Replace the HDMI cable."),
        ],
    )
    published = approve(kb, "draft-7", public=True)
    assert published.visibility == "public" and published.metadata["status"] == "approved"
    assert kb.search("router hot vents")[0].document_id == "draft-7"
    with pytest.raises(InputError, match="already approved"):
        reject(kb, "draft-7")
    reject(kb, "draft-8")
    assert kb.get("draft-8") is None
    assert {d["id"]: d["status"] for d in list_drafts(kb)} == {
        "draft-7": "approved",
        "draft-8": "rejected",
    }
    with pytest.raises(InputError, match="no draft"):
        approve(kb, "draft-99")


def test_the_answer_threshold_is_the_one_fitted_for_the_base_model(kb, monkeypatch):
    import srmkb.capture as capture_module

    asked = []
    real = capture_module.default_model

    def spy(model_id=None):
        asked.append(model_id)
        return real(model_id)

    monkeypatch.setattr(capture_module, "default_model", spy)
    capture(kb, [_case("1", "Router frozen, reset did not work", RESET)])
    assert asked and all(model_id == kb.model_id for model_id in asked), asked


def test_thresholds_follow_the_model_scale(tmp_path):
    # Read on MiniLM's scale, every cosine of this model clears the link thresholds and
    # every case would be linked to the one document; on its own scale, as with MiniLM.
    kb = KnowledgeBase(tmp_path / "kb", model=SqueezedEmbedder())
    kb.upsert([Document(id="reset", title="Factory reset", text=RESET)])
    report = capture(
        kb,
        [
            _case("1", "Router frozen, reset did not work", RESET),
            _case("2", "Router gets very hot", COOLING),
            _case("3", "router overheating", COOLING),
        ],
    )
    actions = [(d.case_id, d.action, d.document_id) for d in report.decisions]
    assert actions == [
        ("1", "linked", "reset"),
        ("2", "drafted", "draft-2"),
        ("3", "merged", "draft-2"),
    ]
