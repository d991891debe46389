"""The KPI report: a known sequence of questions and feedback, and every figure checked."""

import time

import pytest

from srmkb import Document, HashingEmbedder, KnowledgeBase
from srmkb.loop import report as report_module
from srmkb.loop.conflicts import differing_facts

from ..conftest import SqueezedEmbedder

DECLINE, ANSWER = 1.01, 0.0  # thresholds that force a decline or an answer


def _case(n: int, product: str) -> Document:
    return Document(
        id=f"case-{n}",
        title=f"Case {n}",
        text=f"Problem {n} with the {product}.",
        visibility="internal",
        metadata={"source_type": "crm", "case_id": str(n), "product": product},
        source="cases.csv",
    )


def _base(path, embedder):
    base = KnowledgeBase(path, model=embedder)
    docs = [
        Document(
            id="reset",
            title="Factory reset",
            text="Hold the reset button for 10 seconds.",
            updated_at="2020-01-01",
            source="help.jsonl",
        ),
        Document(
            id="wifi", title="Slow wifi", text="Move the router to the centre.", source="help.jsonl"
        ),
        Document(
            id="old-policy", title="Refund policy", text="Refunds within 14 days.", source="a.jsonl"
        ),
        Document(
            id="refund-faq", title="Refund policy", text="Refunds within 30 days.", source="b.jsonl"
        ),
    ]
    docs += [_case(n, p) for n, p in enumerate(["mesh", "app", "store"] + ["router"] * 6)]
    base.upsert(docs)
    return base


@pytest.fixture
def kb(tmp_path):
    return _base(tmp_path / "kb", HashingEmbedder())


def test_report_figures(kb):
    start = time.time()
    a1 = kb.answer("How do I reset the router?", channel="chat", threshold=ANSWER)
    kb.feedback(a1.interaction_id, "resolved")
    a2 = kb.answer("reset router", channel="voice", threshold=ANSWER)
    kb.feedback(a2.interaction_id, "escalated")
    kb.answer("Do you sell televisions?", channel="chat", threshold=DECLINE)
    kb.answer("Do you sell televisions?", channel="web", threshold=DECLINE)
    kb.answer("What are your opening hours?", channel="chat", audience="agent", threshold=DECLINE)
    a6 = kb.answer("slow wifi", channel="web", threshold=ANSWER)
    kb.feedback(a6.interaction_id, "not_helpful")
    assert [a1.document_id, a2.document_id, a6.document_id] == ["reset", "reset", "wifi"]
    kb.search("router centre", mode="bm25", channel="web")
    kb.search("zzzz qqqq", mode="bm25", channel="web")

    r = kb.report(since=start)
    assert (r["questions"], r["answered"], r["abstained"], r["searches"]) == (6, 3, 3, 2)
    assert r["feedback"] == {"escalated": 1, "not_helpful": 1, "resolved": 1}
    assert r["self_service_resolution"] == {
        "rate": 0.2,
        "resolved": 1,
        "interactions": 5,
        "confirmed": 1,
        "with_feedback": 3,
    }
    assert r["zero_result_rate"] == 0.5  # 3 declined + 1 empty search, of 8
    zero = {"document_reads": 0, "resolved": 0, "escalated": 0, "not_helpful": 0}
    assert r["by_channel"] == {
        "chat": {
            "questions": 3,
            "answered": 1,
            "abstained": 2,
            "searches": 0,
            **zero,
            "resolved": 1,
        },
        "voice": {
            "questions": 1,
            "answered": 1,
            "abstained": 0,
            "searches": 0,
            **zero,
            "escalated": 1,
        },
        "web": {
            "questions": 2,
            "answered": 1,
            "abstained": 1,
            "searches": 2,
            **zero,
            "not_helpful": 1,
        },
    }
    top = [(d["document_id"], d["uses"], d["helpfulness"]) for d in r["top_documents"]]
    assert top == [("reset", 2, 0.5), ("wifi", 2, 0.0)]
    assert r["unused_documents"]["count"] == 11
    assert "old-policy" in r["unused_documents"]["ids"]
    stale = r["stale_documents"]
    assert [(s["document_id"], s["uses"], s["updated"][:10]) for s in stale] == [
        ("reset", 2, "2020-01-01")
    ]
    products = {
        p["product"]: (p["cases"], p["flagged"]) for p in r["incidents_by_product"]["products"]
    }
    assert products == {
        "router": (6, True),
        "app": (1, False),
        "mesh": (1, False),
        "store": (1, False),
    }
    assert "6 cases against a median of 1" in r["incidents_by_product"]["products"][0]["why"]

    gaps = r["content_gaps"]
    assert [(g["size"], g["questions"][0], g["channels"]) for g in gaps] == [
        (2, "Do you sell televisions?", {"chat": 1, "web": 1}),
        (1, "What are your opening hours?", {"chat": 1}),
        (1, "slow wifi", {"web": 1}),
    ]
    assert [(g["declined"], g["not_helpful"]) for g in gaps] == [(2, 0), (1, 0), (0, 1)]
    assert gaps[2]["nearest_document"] == "wifi"
    for g in gaps:
        assert g["coverage"] == (
            "partly covered" if g["nearest_similarity"] >= 0.45 else "not covered"
        )

    (conflict,) = r["conflicts"]
    assert sorted(conflict["documents"]) == ["old-policy", "refund-faq"]
    assert "numbers differ" in conflict["why"]


def test_documents_read_by_a_tool_are_neither_questions_nor_searches(kb):
    start = time.time()
    kb.search("router centre", mode="bm25", channel="agent-tool")
    kb.answer(
        "Do you sell televisions?", channel="agent", threshold=DECLINE, log_channel="agent-tool"
    )
    # What the MCP server's get_document logs: one document found, one unknown id.
    kb.audit.record(
        kind="document",
        audience="customer",
        question="old-policy",
        channel="agent-tool",
        document_id="old-policy",
        document_version=1,
        results=["old-policy"],
    )
    kb.audit.record(kind="document", audience="customer", question="nope", channel="agent-tool")
    r = kb.report(since=start)
    assert (r["questions"], r["searches"], r["document_reads"]) == (1, 1, 2)
    assert r["zero_result_rate"] == 0.5  # the declined answer, of one answer and one search
    assert r["by_channel"] == {
        "agent-tool": {
            "questions": 1,
            "answered": 0,
            "abstained": 1,
            "searches": 1,
            "document_reads": 2,
            "resolved": 0,
            "escalated": 0,
            "not_helpful": 0,
        }
    }
    assert "old-policy" in r["unused_documents"]["ids"]  # read, not cited nor found


def test_period_and_html(kb, tmp_path):
    kb.answer("reset", threshold=ANSWER)
    assert kb.report(until=time.time() - 3600)["questions"] == 0
    page = tmp_path / "report.html"
    r = kb.report(html=page)
    assert r["questions"] == 1
    text = page.read_text()
    assert text.startswith("<!doctype html>") and text.count("data:image/png;base64,") == 2


def test_gaps_and_conflicts_on_a_model_with_squeezed_cosines(tmp_path):
    # Cosines of unrelated texts near 0.77, as with multilingual-e5: read on MiniLM's
    # scale every unanswered question would join one gap.
    kb = _base(tmp_path / "kb", SqueezedEmbedder())
    start = time.time()
    for channel in ("chat", "web"):
        kb.answer("Do you sell televisions?", channel=channel, threshold=DECLINE)
    kb.answer("What are your opening hours?", channel="chat", threshold=DECLINE)
    r = kb.report(since=start)
    assert [(g["size"], g["questions"][0]) for g in r["content_gaps"]] == [
        (2, "Do you sell televisions?"),
        (1, "What are your opening hours?"),
    ]
    (conflict,) = r["conflicts"]
    assert sorted(conflict["documents"]) == ["old-policy", "refund-faq"]


def _returns(doc_id: str, source: str, text: str, language: str = "en") -> Document:
    title = "How long do I have to return a Nimbus router?"
    return Document(id=doc_id, title=title, text=text, source=source, language=language)


def test_a_conflict_names_exactly_the_values_that_differ(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    kb.upsert(
        [
            _returns(
                "shop",
                "shop/faq.jsonl",
                "You can return a router within 30 days of delivery. Refunds take 5 working"
                " days. The Plus plan costs 9.99 euros a month. The shop is open 6 days a week.",
            ),
            _returns(
                "help",
                "help/articles.jsonl",
                "Routers can be returned within 14 days of delivery. Refunds take 5 working"
                " days. The Plus plan costs 12.99 euros a month. See page 12 of the manual.",
            ),
        ]
    )
    (conflict,) = kb.report()["conflicts"]
    assert sorted(conflict["documents"]) == ["help", "shop"]
    first = conflict["documents"][0]
    facts = {tuple(f["values"]) for f in conflict["facts"]}
    expected = {("14", "30"), ("12.99", "9.99")}
    assert facts == (expected if first == "help" else {(b, a) for a, b in expected})
    sentences = {s for f in conflict["facts"] for s in f["sentences"]}
    assert "Routers can be returned within 14 days of delivery." in sentences
    assert "The shop is open 6 days a week." not in sentences  # said by one document only
    assert conflict["why"].startswith("numbers differ: ") and conflict["why"].count(" vs ") == 2


def test_editions_of_one_content_never_conflict(tmp_path):
    # The HTML and PDF editions of one FAQ, and its French HTML edition, in one place
    # (folders named for the language aside); a copy elsewhere that changed the period.
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    kb.upsert(
        [
            _returns("html", "/docs/en/index.en.html", "Return it within 30 days of delivery."),
            _returns("pdf", "/docs/en/nimbus-faq.en.pdf", "Return it within 14 days of delivery."),
            _returns(
                "html-fr",
                "/docs/fr/index.fr.html",
                "Retournez-le dans les 30 jours après la livraison.",
                "fr",
            ),
            _returns("copy", "/mirror/nimbus-faq.pdf", "Return it within 21 days of delivery."),
        ]
    )
    conflicts = kb.report()["conflicts"]
    assert sorted(sorted(c["documents"]) for c in conflicts) == [
        ["copy", "html"],
        ["copy", "pdf"],
    ]
    assert all(len(c["facts"]) == 1 and "21" in c["facts"][0]["values"] for c in conflicts)


def test_a_differing_fact_is_another_value_in_the_same_place():
    # Numbers of different things, a number added, one number written two ways: no fact.
    assert (
        differing_facts(
            "More details are in the dpkg(1) manual page.",
            "More details are in the sources.list(5) manual page.",
        )
        == []
    )
    assert (
        differing_facts("Hold Reset for 10 seconds.", "Hold Reset for 10 seconds (page 4).") == []
    )
    assert differing_facts("Up to 1,000 users.", "Up to 1000 users.") == []
    # Of two sentences alike but for their values, the one sharing a value is compared.
    [fact] = differing_facts(
        "Step 1 takes 5 minutes. Step 2 takes 10 minutes.",
        "Step 2 takes 15 minutes. Step 1 takes 5 minutes.",
    )
    assert fact == {
        "values": ["10", "15"],
        "sentences": ["Step 2 takes 10 minutes.", "Step 2 takes 15 minutes."],
    }


def test_only_the_most_asked_unanswered_questions_are_clustered(tmp_path, monkeypatch):
    # Clustering compares every pair of questions: a busy period's log is cut to the
    # most asked distinct ones, and the report says how many it left out.
    monkeypatch.setattr(report_module, "MAX_GAP_QUESTIONS", 2)
    kb = _base(tmp_path / "kb", HashingEmbedder())
    start = time.time()
    asked = {
        "Do you sell televisions?": 1,
        "What are your opening hours?": 3,
        "Is there a shop?": 2,
    }
    for question, times in asked.items():
        for _ in range(times):
            kb.answer(question, threshold=DECLINE)
    r = kb.report(since=start)
    assert r["content_gap_questions"] == {"distinct": 3, "clustered": 2}
    clustered = {q for g in r["content_gaps"] for q in g["questions"]}
    assert clustered == {"What are your opening hours?", "Is there a shop?"}
    assert sum(g["size"] for g in r["content_gaps"]) == 5  # every time they were asked
