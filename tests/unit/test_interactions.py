"""The interaction log: searches and answers logged with ids, feedback, settings, retention."""

import datetime as dt
import json
import sqlite3
import time

import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(
        [
            Document(id="reset", title="Factory reset", text="Hold the reset button 10 seconds."),
            Document(id="wifi", title="Slow wifi", text="Move the router to the centre."),
        ]
    )
    return base


def test_search_and_answer_are_logged_with_ids(kb):
    hits = kb.search("reset button", k=2, channel="web")
    answer = kb.answer("call me at jane@example.com about the reset", threshold=0.0)
    logged = kb.audit.interactions()
    assert [i.id for i in logged] == [hits.interaction_id, answer.interaction_id]
    search, asked = logged
    assert (search.kind, search.channel, search.results[0]) == ("search", "web", "reset")
    assert search.document_version == 1
    assert asked.kind == "answer" and asked.answered and asked.document_id == "reset"
    assert "jane@example.com" not in asked.question  # redacted before it is stored


def test_times_are_utc_datetimes_and_iso_8601_in_json(kb):
    before = dt.datetime.now(dt.timezone.utc)
    kb.search("reset button")
    (logged,) = kb.audit.interactions()
    assert logged.time.tzinfo == dt.timezone.utc
    assert before - dt.timedelta(seconds=1) <= logged.time <= dt.datetime.now(dt.timezone.utc)
    data = json.loads(json.dumps(logged.to_json()))
    assert dt.datetime.fromisoformat(data["time"]) == logged.time
    at = dt.datetime(2026, 3, 15, 9, 30, tzinfo=dt.timezone.utc)
    old = kb.audit.record(kind="search", audience="customer", question="q", at=at.timestamp())
    assert kb.audit.get(old).time == at
    assert kb.audit.get(old).to_json()["time"] == "2026-03-15T09:30:00+00:00"


def test_feedback_latest_outcome_counts(kb):
    answer = kb.answer("reset", threshold=0.0)
    kb.feedback(answer.interaction_id, "not_helpful")
    kb.feedback(answer.interaction_id, "resolved")
    assert kb.audit.get(answer.interaction_id).outcome == "resolved"
    with pytest.raises(InputError, match="outcome must be one of"):
        kb.feedback(answer.interaction_id, "great")
    with pytest.raises(InputError, match="no interaction"):
        kb.feedback("0" * 32, "resolved")


def test_logging_off_per_base_and_per_object(kb, tmp_path):
    assert kb.configure_log(logging=False)["logging"] is False
    hits = kb.search("reset")
    assert hits.interaction_id and kb.audit.interactions() == []
    # The setting belongs to the base: another object on it sees it.
    again = KnowledgeBase(tmp_path / "kb")
    again.search("reset")
    assert again.audit.interactions() == []
    kb.configure_log(logging=True)
    quiet = KnowledgeBase(tmp_path / "kb", log_interactions=False)
    quiet.search("reset")
    assert kb.audit.interactions() == []
    kb.search("reset")
    assert len(kb.audit.interactions()) == 1


def test_retention_is_enforced(kb):
    now = time.time()
    old = kb.audit.record(kind="search", audience="customer", question="old", at=now - 40 * 86400)
    kb.audit.feedback(old, "resolved")
    recent = kb.audit.record(kind="search", audience="customer", question="new", at=now - 86400)
    settings = kb.configure_log(retention_days=30)
    assert settings == {"logging": True, "retention_days": 30}
    assert [i.id for i in kb.audit.interactions()] == [recent]
    with sqlite3.connect(kb.path / "interactions.sqlite") as db:
        assert db.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0
    with pytest.raises(InputError, match="positive number of days"):
        kb.configure_log(retention_days=0)
    assert kb.configure_log(retention_days=None)["retention_days"] is None
