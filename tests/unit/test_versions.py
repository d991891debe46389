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
    moment = dt.datetime.fromtimestamp(before, dt.timezone.utc)
    assert versions[0].valid_from < moment < versions[0].valid_to
    assert versions[0].valid_to <= versions[1].valid_from
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
    early = kb.versions("wifi")[0].valid_from - dt.timedelta(seconds=1)
    assert kb.search("router centre", as_of=early) == []  # nothing existed yet


def test_versions_are_dated_in_utc_and_written_as_iso_8601(kb):
    kb.upsert([Document(id="wifi", title="Slow wifi", text="Use the 5 GHz network.")])
    old, new = kb.versions("wifi")
    for when in (old.valid_from, old.valid_to, new.valid_from):
        assert isinstance(when, dt.datetime) and when.utcoffset() == dt.timedelta(0)
        assert abs(when - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(minutes=5)
    assert new.valid_to is None
    data = old.to_json()
    assert dt.datetime.fromisoformat(data["valid_from"]) == old.valid_from
    assert dt.datetime.fromisoformat(data["valid_to"]) == old.valid_to
    assert data["valid_from"].endswith("+00:00") and new.to_json()["valid_to"] is None
    assert json.loads(json.dumps(new.to_json()))["current"] is True


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


NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-03-01", dt.date(2026, 3, 1)),
        ("2026-03-01T09:30:00Z", dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone.utc)),
        ("2026-03-01T09:30+01:00", dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)),
        ("yesterday", dt.date(2026, 3, 9)),
        ("3 days ago", dt.date(2026, 3, 7)),
        ("last week", dt.date(2026, 3, 3)),
        ("il y a 2 jours", dt.date(2026, 3, 8)),
        ("2 hours ago", dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.timezone.utc)),
    ],
)
def test_dates_typed_by_people_are_iso_or_relative(text, expected):
    from srmkb.vocabulary import read_when

    found = read_when(text, "--since", now=NOW)
    assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize("text", ["blah", "", "3", "a", "2026-02-30", "last march"])
def test_an_unreadable_date_names_the_option(text):
    from srmkb.vocabulary import read_when

    with pytest.raises(InputError, match=rf"^--until: cannot read {text!r} as a date"):
        read_when(text, "--until", now=NOW)


def test_dateparser_is_imported_only_for_a_relative_date():
    import subprocess
    import sys

    code = (
        "import sys, srmkb.cli; from srmkb.vocabulary import read_when;"
        " read_when('2026-03-01', '--since'); print('dateparser' in sys.modules);"
        " read_when('yesterday', '--since'); print('dateparser' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
