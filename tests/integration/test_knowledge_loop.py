"""End to end through the CLI and the HTTP service: questions, feedback, the KPI report,
capture of resolved cases and draft approval."""

import datetime as dt
import json

import httpx
import pytest

from srmkb import HashingEmbedder, KnowledgeBase
from srmkb.storage.layout import drafts_lock

from ..conftest import ROOT, srmkb

EXAMPLES = ROOT / "examples"
KEY = "loop-key"


@pytest.fixture
def kb(tmp_path):
    path = tmp_path / "kb"
    srmkb("ingest", str(EXAMPLES / "nimbus"), "--kb", str(path), "--model", "hashing", "-q")
    return path


def test_cli_answers_report_and_feedback(kb):
    asked = []
    for question, extra in (
        ("the light on the router keeps flashing red", ["--threshold", "0"]),
        ("Do you sell televisions?", ["--threshold", "1.01"]),
        ("Can I buy a television from you?", ["--threshold", "1.01"]),
        ("how do I reset my router", []),
    ):
        out = srmkb("answer", question, "--kb", str(kb), "--channel", "web", "--json", *extra)
        asked.append(json.loads(out.stdout))
    declined = sum(not a["answered"] for a in asked)
    srmkb("feedback", asked[0]["interaction_id"], "resolved", "--kb", str(kb))
    bad = srmkb("feedback", asked[0]["interaction_id"], "great", "--kb", str(kb), check=False)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr

    report = json.loads(srmkb("report", "--kb", str(kb), "--json").stdout)
    assert report["questions"] == 4 and report["abstained"] == declined >= 2
    assert report["answered"] == 4 - declined
    assert report["by_channel"]["web"]["questions"] == 4
    assert report["self_service_resolution"]["confirmed"] == 1
    assert report["content_gaps"] and report["content_gaps"][0]["size"] >= 1
    gap_questions = {q for g in report["content_gaps"] for q in g["questions"]}
    assert "Do you sell televisions?" in gap_questions
    human = srmkb("report", "--kb", str(kb)).stdout
    assert f"4 questions: {4 - declined} answered, {declined} declined" in human
    later = json.loads(srmkb("report", "--kb", str(kb), "--since", "2999-01-01", "--json").stdout)
    assert later["questions"] == 0


def test_cli_capture_and_drafts(kb):
    out = srmkb("capture", str(EXAMPLES / "crm" / "cases.csv"), "--kb", str(kb), "--json")
    result = json.loads(out.stdout)
    assert result["cases"] == result["linked"] + result["drafted"] + result["merged"] > 0
    assert result["drafted"] >= 1
    listed = json.loads(srmkb("drafts", "list", "--kb", str(kb), "--json").stdout)
    assert {d["id"] for d in listed} == set(result["drafts"])
    draft = listed[0]["id"]
    shown = json.loads(srmkb("drafts", "show", draft, "--kb", str(kb), "--json").stdout)
    assert shown["visibility"] == "internal" and shown["metadata"]["status"] == "draft"
    srmkb("drafts", "approve", draft, "--kb", str(kb), "--public")
    again = srmkb("drafts", "approve", draft, "--kb", str(kb), check=False)
    assert again.returncode == 1 and "already approved" in again.stderr
    # Times in JSON are ISO 8601, in UTC; a decision follows creation.
    approved = json.loads(
        srmkb("drafts", "list", "--kb", str(kb), "--status", "approved", "--json").stdout
    )
    created, decided = (
        dt.datetime.fromisoformat(approved[0][k]) for k in ("created_at", "decided_at")
    )
    assert [d["id"] for d in approved] == [draft] and created.utcoffset() == dt.timedelta(0)
    assert created <= decided and listed[0]["decided_at"] is None
    listing = srmkb("drafts", "list", "--kb", str(kb)).stdout
    assert f"{draft} " in listing and created.strftime("%Y-%m-%d") in listing
    out = srmkb("search", shown["title"], "--kb", str(kb), "--json")
    assert draft in [h["document_id"] for h in json.loads(out.stdout)["hits"]]
    rerun = json.loads(
        srmkb("capture", str(EXAMPLES / "crm" / "cases.csv"), "--kb", str(kb), "--json").stdout
    )
    assert rerun["skipped"] == result["cases"]
    # A reviewer merges two drafts of one problem; a bad request is refused, clearly.
    keep, other = [d for d in listed if d["id"] != draft][:2]
    out = srmkb("drafts", "merge", keep["id"], other["id"], "--kb", str(kb))
    total = len(keep["cases"]) + len(other["cases"])
    assert out.stdout.strip() == f"merged {other['id']} into {keep['id']} ({total} cases)"
    statuses = {
        d["id"]: d["status"]
        for d in json.loads(srmkb("drafts", "list", "--kb", str(kb), "--json").stdout)
    }
    assert statuses[other["id"]] == "merged" and statuses[keep["id"]] == "draft"
    for args, error in (
        (("merge", keep["id"], other["id"]), "already merged"),
        (("merge", keep["id"]), "at least one"),
        (("reject", keep["id"], draft), "takes one draft ID"),
    ):
        refused = srmkb("drafts", *args, "--kb", str(kb), check=False)
        assert refused.returncode == 1 and error in refused.stderr
    assert statuses == {
        d["id"]: d["status"]
        for d in json.loads(srmkb("drafts", "list", "--kb", str(kb), "--json").stdout)
    }
    # While another capture or review holds the drafts, a decision waits --wait seconds,
    # then gives up, clearly, having changed nothing.
    with drafts_lock(kb, wait=0):
        for args in (
            ("drafts", "reject", keep["id"]),
            ("capture", str(EXAMPLES / "crm" / "cases.csv")),
        ):
            busy = srmkb(*args, "--kb", str(kb), "--wait", "0.2", check=False)
            assert busy.returncode == 1 and "another capture or draft review" in busy.stderr
    assert statuses[keep["id"]] == "draft" == _status(kb, keep["id"])
    assert srmkb("drafts", "reject", keep["id"], "--kb", str(kb)).returncode == 0


def _status(kb, draft_id: str) -> str:
    listed = json.loads(srmkb("drafts", "list", "--kb", str(kb), "--json").stdout)
    return next(d["status"] for d in listed if d["id"] == draft_id)


def test_cli_settings(kb):
    out = srmkb("settings", "--kb", str(kb), "--logging", "off", "--retention-days", "90", "--json")
    assert json.loads(out.stdout) == {"logging": False, "retention_days": 90}
    srmkb("answer", "reset", "--kb", str(kb))
    assert json.loads(srmkb("report", "--kb", str(kb), "--json").stdout)["questions"] == 0


def test_http_answers_feedback_and_report(tmp_path):
    pytest.importorskip("fastapi")
    from srmkb.service import create_app

    from .test_service import Server, _docs

    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(_docs())
    with Server(create_app(base, api_key=KEY)) as url:
        answers = [
            httpx.post(f"{url}/answer", json={"question": q, "channel": "chat"}).json()
            for q in ("blinking red light", "Do you sell televisions?", "opening hours on sunday")
        ]
        search = httpx.post(f"{url}/search", json={"query": "refund", "channel": "web"}).json()
        assert len(search["interaction_id"]) == 32
        r = httpx.post(
            f"{url}/feedback",
            json={"interaction_id": answers[0]["interaction_id"], "outcome": "escalated"},
        )
        assert r.status_code == 200
        missing = httpx.post(f"{url}/feedback", json={"interaction_id": "x", "outcome": "resolved"})
        assert missing.status_code == 404 and missing.json()["type"] == "NotFound"
        assert httpx.get(f"{url}/report").status_code == 401
        report = httpx.get(f"{url}/report", headers={"X-API-Key": KEY}).json()
    declined = sum(not a["answered"] for a in answers)
    assert (report["questions"], report["abstained"], report["searches"]) == (3, declined, 1)
    assert report["feedback"] == {"escalated": 1}
    assert bool(report["content_gaps"]) == (declined > 0)
