"""Document versions: history kept on update and delete, ``as_of`` search and answers, purge."""

import datetime as dt
import json
import time

import pytest

from srmkb import Document, HashingEmbedder, InputError, KnowledgeBase

from ..conftest import srmkb

OLD = "Refunds are accepted within 14 days of delivery."
NEW = "Refunds are accepted within 30 days of delivery, or 60 days for members."


def _tick() -> float:
    time.sleep(0.02)
    moment = time.time()
    time.sleep(0.02)
    return moment


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(
        [
            Document(id="refund", title="Refund policy", text=OLD, metadata={"team": "billing"}),
            Document(id="wifi", title="Slow wifi", text="Move the router to the centre."),
        ]
    )
    return base


def test_update_keeps_earlier_version_and_as_of_returns_it(kb):
    before = _tick()
    kb.upsert(
        [Document(id="refund", title="Refund policy", text=NEW, metadata={"team": "billing"})]
    )
    versions = kb.versions("refund")
    assert [(v.version, v.valid_to is None) for v in versions] == [(1, False), (2, True)]
    assert versions[0].valid_from < before < versions[0].valid_to
    assert kb.get_version("refund", 1).text == OLD

    now = kb.search("refund days", k=1)[0]
    assert (now.version, now.snippet) == (2, NEW)
    then = kb.search("refund days", k=1, as_of=before)[0]
    assert (then.document_id, then.version, then.snippet) == ("refund", 1, OLD)
    # Filters apply to the version valid at the time.
    assert kb.search("refund days", as_of=before, filters={"team": "billing"})[0].version == 1
    answer = kb.answer("refund days", as_of=before, threshold=0.0)
    assert answer.document_version == 1 and "14 days" in answer.text
    logged = kb.audit.get(answer.interaction_id)
    assert (logged.document_id, logged.document_version) == ("refund", 1)


def test_as_of_accepts_datetimes_and_iso_strings(kb):
    before = _tick()
    kb.upsert([Document(id="refund", title="Refund policy", text=NEW)])
    moment = dt.datetime.fromtimestamp(before, dt.timezone.utc)
    for when in (moment, moment.isoformat(), moment.replace(tzinfo=None)):
        assert kb.search("refund", k=1, as_of=when)[0].version == 1
    with pytest.raises(InputError, match="ISO 8601"):
        kb.search("refund", as_of="last march")


def test_before_a_document_existed_it_is_not_found(kb):
    early = kb.versions("wifi")[0].valid_from - 1
    assert kb.search("router centre", as_of=early) == []  # nothing existed yet


def test_delete_keeps_history_purge_forgets(kb):
    before = _tick()
    kb.delete(["wifi"])
    assert kb.get("wifi") is None
    assert [v.deleted for v in kb.versions("wifi")] == [True]
    assert kb.search("router centre", as_of=before)[0].document_id == "wifi"
    assert "wifi" not in [h.document_id for h in kb.search("router centre")]
    # Re-adding after a delete continues the numbering: a version never names two texts.
    kb.upsert([Document(id="wifi", title="Slow wifi", text="Use the 5 GHz network.")])
    assert [v.version for v in kb.versions("wifi")] == [1, 2]
    kb.purge(["wifi"])
    assert kb.versions("wifi") == [] and kb.get("wifi") is None
    assert "wifi" not in [h.document_id for h in kb.search("router centre", as_of=before)]


def test_cli_as_of_and_purge(tmp_path):
    path = tmp_path / "kb"
    docs = tmp_path / "faq.jsonl"
    docs.write_text(json.dumps({"id": "refund", "title": "Refund policy", "text": OLD}) + "\n")
    srmkb("ingest", str(docs), "--kb", str(path), "--model", "hashing", "-q")
    before = dt.datetime.fromtimestamp(_tick(), dt.timezone.utc).isoformat()
    docs.write_text(json.dumps({"id": "refund", "title": "Refund policy", "text": NEW}) + "\n")
    srmkb("ingest", str(docs), "--kb", str(path), "-q")
    out = srmkb("search", "refund", "--kb", str(path), "--as-of", before, "--json")
    hit = json.loads(out.stdout)["hits"][0]
    assert (hit["version"], hit["snippet"]) == (1, OLD)
    out = srmkb("purge", "refund", "--kb", str(path), "--json")
    assert json.loads(out.stdout)["deleted"] == 1
    out = srmkb("search", "refund", "--kb", str(path), "--as-of", before, "--json")
    assert json.loads(out.stdout)["hits"] == []
