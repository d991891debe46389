"""KnowledgeBase behaviour with the deterministic hashing embedder."""

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from srmkb import (
    Document,
    DocumentExistsError,
    FilterError,
    HashingEmbedder,
    InputError,
    KnowledgeBase,
    ModelMismatchError,
    Section,
    SrmkbError,
    StorageError,
)

DOCS = [
    Document(
        id="wifi",
        title="Change the Wi-Fi password",
        text="Open Network, then Wi-Fi settings, edit the password and save.",
    ),
    Document(
        id="refund",
        title="Refunds",
        text="Return the device within 30 days for a full refund.",
        metadata={"category": "billing"},
    ),
    Document(
        id="reset",
        title="Factory reset",
        text="Hold the reset button for ten seconds until the light blinks.",
        metadata={"category": "troubleshooting"},
    ),
    Document(
        id="secret",
        title="Refund exceptions",
        text="Team leads may approve a refund after 30 days.",
        visibility="internal",
        metadata={"category": "billing"},
    ),
]


@pytest.fixture
def kb(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(DOCS)
    yield base
    base.close()


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_search_finds_the_right_document(kb, mode):
    hits = kb.search("how do I change my wifi password", mode=mode)
    assert hits[0].document_id == "wifi"
    hit = hits[0]
    assert hit.passage_id == "wifi#0" and hit.title == "Change the Wi-Fi password"
    assert set(hit.scores) == ({"bm25", "dense"} if mode == "hybrid" else {mode})
    assert hit.text == kb.passage_text(hit.passage_id) and hit.text.startswith(hit.snippet[:40])


def test_customer_never_sees_internal_documents(kb):
    for mode in ("hybrid", "bm25", "dense"):
        quoted = "Team leads may approve a refund after 30 days"
        assert all(h.document_id != "secret" for h in kb.search(quoted, k=10, mode=mode))
        agent = kb.search(quoted, k=10, mode=mode, audience="agent")
        assert agent[0].document_id == "secret" and agent[0].visibility == "internal"


def test_filters(kb):
    hits = kb.search("refund", filters={"category": "billing"}, audience="agent")
    assert {h.document_id for h in hits} == {"refund", "secret"}
    assert kb.search("refund", filters={"category": "nope"}) == []


def test_upsert_is_idempotent_and_costs_no_embedding(kb):
    embedder = kb.embedder
    before = embedder.calls
    report = kb.upsert(DOCS)
    assert report.unchanged == tuple(d.id for d in DOCS) and not report.added
    assert embedder.calls == before


def test_update_replaces_passages_and_bumps_version(kb):
    new = Document(
        id="reset", title="Factory reset", text="Press the pinhole button for 15 seconds."
    )
    report = kb.upsert([new])
    assert report.updated == ("reset",)
    assert kb.get("reset") == new
    hits = kb.search("hold the reset button ten seconds", k=10, mode="bm25")
    assert all("ten seconds" not in h.snippet for h in hits)
    assert kb.search("pinhole", mode="bm25")[0].document_id == "reset"
    assert kb.catalog.get_document("reset").version == 2


def test_add_refuses_existing_ids(kb):
    with pytest.raises(DocumentExistsError, match="wifi"):
        kb.add([DOCS[0]])


def test_delete(kb):
    assert kb.delete(["refund", "unknown"]).deleted == ("refund",)
    assert "refund" not in kb and len(kb) == 3
    assert all(h.document_id != "refund" for h in kb.search("refund 30 days", audience="agent"))


def test_reopen_does_not_embed_and_keeps_results(kb, tmp_path):
    expected = [h.passage_id for h in kb.search("reset light blinks")]
    kb.close()
    reopened = KnowledgeBase(tmp_path / "kb")
    assert not reopened.model_loaded  # nothing loaded or embedded to open
    assert reopened.search("reset light blinks", mode="bm25")[0].passage_id == "reset#0"
    assert [h.passage_id for h in reopened.search("reset light blinks")] == expected
    assert reopened.embedder.inner.calls == 1  # the query only (behind the vector cache)
    assert reopened.embedder.misses == 0


def test_model_mismatch_names_both_models(kb, tmp_path):
    kb.close()
    with pytest.raises(ModelMismatchError, match=r"srmkb/hashing-256.*all-MiniLM-L6-v2"):
        KnowledgeBase(tmp_path / "kb", model="minilm")


def test_open_missing_base_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match="no knowledge base"):
        KnowledgeBase(tmp_path / "nothing", create=False)


def test_bm25_only_base(tmp_path):
    base = KnowledgeBase(tmp_path / "lex", dense=False)
    base.upsert(DOCS)
    assert base.search("refund", mode="bm25")[0].document_id == "refund"
    with pytest.raises(SrmkbError, match="no dense index"):
        base.search("refund")
    assert base.stats()["model"] is None


def test_bad_arguments(kb):
    with pytest.raises(InputError):
        kb.search("x", mode="magic")
    with pytest.raises(InputError):
        kb.search("x", audience="everyone")
    with pytest.raises(InputError):
        kb.search("x", k=0)
    assert kb.search("   ") == []


def test_many_small_commits_merge_and_keep_results(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    docs = [
        Document(id=f"d{i}", text=f"document number {i} about topic {i % 7}") for i in range(60)
    ]
    for doc in docs:
        base.upsert([doc])
    # Tiered merging: at most 7 segments per size tier (1-7, 8-63 passages here).
    assert len(base.index.snapshot.segments) <= 14
    base.delete([f"d{i}" for i in range(0, 60, 2)])
    before = [(h.passage_id, round(h.score, 4)) for h in base.search("topic 3", k=20)]
    assert all(int(p[1:].split("#")[0]) % 2 == 1 for p, _ in before)
    base.optimize()
    assert len(base.index.snapshot.segments) == 1
    assert base.index.snapshot.live.all() and base.index.snapshot.n_rows == 30
    assert [(h.passage_id, round(h.score, 4)) for h in base.search("topic 3", k=20)] == before


def test_readers_see_consistent_state_while_writer_ingests(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert([Document(id="anchor", text="anchor text about routers")])
    errors = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                hits = base.search("anchor routers", k=5, mode="bm25")
                assert hits and hits[0].document_id == "anchor"
            except Exception as exc:
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(30):
        base.upsert([Document(id=f"n{i}", text=f"filler {i} about modems")])
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(base) == 31


def test_refresh_sees_other_writers(tmp_path):
    a = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    b = KnowledgeBase(tmp_path / "kb")
    assert b.search("wifi password", mode="bm25") == []
    a.upsert(DOCS[:1])
    # A search picks up the other object's commit by itself (a long-lived service must).
    assert b.search("wifi password", mode="bm25")[0].document_id == "wifi"
    assert b.refresh() is False  # already current
    a.upsert(DOCS[1:2])
    assert b.refresh() is True


def test_stats(kb):
    stats = kb.stats()
    assert stats["documents"] == 4 and stats["passages"] == 4 and stats["internal_documents"] == 1
    assert stats["model"] == "srmkb/hashing-256" and stats["format_version"] == 1
    assert stats["size_bytes"] > 0


def test_rank_documents_groups_passages(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder(), max_words=8)
    base.upsert(
        [
            Document(id="long", text=" ".join(f"router setting {i}." for i in range(40))),
            Document(id="short", text="modem cable"),
        ]
    )
    ranked = base.rank_documents("router setting", 10)
    assert [d for d, _ in ranked] == ["long", "short"]  # many passages, one entry each
    assert np.isfinite(ranked[0][1])


@pytest.mark.parametrize(
    "bad",
    [
        {"k": float("nan")},
        {"k": float("inf")},
        {"k": 0},
        {"k": True},
        {"k": 2.5},
        {"as_of": float("nan")},
        {"as_of": float("inf")},
    ],
)
def test_bad_search_arguments_are_input_errors(kb, bad):
    with pytest.raises(InputError):
        kb.search("wifi password", **bad)


@pytest.mark.parametrize("query", ["wifi \ud800 password", "x" * 10_001])
def test_lone_surrogates_and_huge_queries_are_refused(kb, query):
    with pytest.raises(InputError):
        kb.search(query)
    with pytest.raises(InputError):
        kb.answer(query)


def test_feedback_counts_once_per_outcome(kb):
    hits = kb.search("wifi password")
    assert kb.feedback(hits.interaction_id, "resolved") is True
    assert kb.feedback(hits.interaction_id, "resolved") is False
    assert kb.feedback(hits.interaction_id, "escalated") is True
    assert kb.audit.get(hits.interaction_id).outcome == "escalated"


def test_an_answer_is_logged_under_its_log_channel(kb):
    answer = kb.answer("how do I change my wifi password", log_channel="agent-tool")
    assert answer.channel == "chat"
    assert kb.audit.get(answer.interaction_id).channel == "agent-tool"


def test_logged_questions_are_bounded_and_channels_redacted(kb):
    hits = kb.search("wifi " * 1900, channel="sms +33 6 12 34 56 78")
    logged = kb.audit.get(hits.interaction_id)
    assert len(logged.question) <= 2_001
    assert "12 34 56 78" not in logged.channel


def test_customers_see_no_case_metadata(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    meta = {"source_type": "crm", "case_id": "4411", "channel": "phone", "product": "Router X"}
    base.upsert(
        [Document(id="case-4411", text="Reset the router to fix the red light.", metadata=meta)]
    )
    (hit,) = base.search("router red light", audience="customer", log=False)
    assert hit.metadata == {"source_type": "crm", "product": "Router X"}
    (hit,) = base.search("router red light", audience="agent", log=False)
    assert hit.metadata == meta
    base.close()


def test_a_document_is_shown_to_each_audience_as_its_search_hits_are(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    ports = Document(
        id="ports",
        title="Router ports",
        url="https://help.example/ports",
        sections=(
            Section("The router has four ports.", ("Ports",), "ports"),
            Section(
                "Port 4 unlocks with code OTTER-9.", ("Notes",), "notes", visibility="internal"
            ),
        ),
        updated_at="2026-03-01",
        source="help/ports.html",
    )
    case = Document(
        id="case-4411",
        title="Solution: router",
        sections=(
            Section("Jo says the light is red.", ("Problem",), "problem", visibility="internal"),
            Section("Reset the router.", ("Resolution",), "resolution"),
        ),
        metadata={"source_type": "crm", "case_id": "4411", "channel": "phone", "product": "X"},
        updated_at="2026-11-02",  # the day the case closed
    )
    base.upsert([*DOCS, ports, case])

    shown = base.document("ports")  # customer: the default
    assert shown is not None and (shown.version, shown.language) == (1, "en")
    assert shown.document.full_text == "The router has four ports."
    assert [s.heading for s in shown.document.sections] == [("Ports",)]
    assert (shown.document.updated_at, shown.document.source) == ("2026-03-01", "")
    hit = base.search("router ports", k=1, log=False)[0]
    assert (hit.document_id, hit.text) == ("ports", shown.document.full_text)
    assert base.document("ports", audience="agent").document == base.get("ports")

    # An internal document is None, exactly as an unknown id; an agent sees it.
    assert base.document("secret") is None and base.document("no-such-id") is None
    assert base.document("secret", audience="agent").document.visibility == "internal"

    # A case's own metadata and dates are withheld, as in a customer's hit.
    seen = base.document("case-4411")
    (case_hit,) = base.search("reset the router red", k=1, filters={"id": "case-4411"}, log=False)
    assert seen.document.metadata == case_hit.metadata == {"source_type": "crm", "product": "X"}
    assert seen.document.updated_at is None and "Jo" not in str(seen.to_json())
    assert seen.to_json()["sections"] == [
        {
            "section": "Resolution",
            "anchor": "resolution",
            "page": None,
            "visibility": "public",
            "text": "Reset the router.",
        }
    ]

    # Document and version come from one read: an update shows both at once.
    base.upsert([replace(ports, sections=(*ports.sections[:1], Section("Six ports now.")))])
    again = base.document("ports")
    assert again.version == 2 and again.document.full_text.endswith("Six ports now.")
    assert again.version == base.versions("ports")[-1].version
    with pytest.raises(InputError, match="audience"):
        base.document("ports", audience="admin")  # type: ignore[arg-type]
    base.close()


def test_upsert_takes_what_read_paths_yields_and_reports_its_errors(tmp_path):
    from srmkb.connectors import read_paths

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "faq.jsonl").write_text(
        '{"id": "a", "title": "Reset", "text": "Hold the button."}\nnot json\n', encoding="utf-8"
    )
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    report = kb.upsert(read_paths([folder]))
    assert report.added == ("a",)
    assert {Path(e.path).name for e in report.errors} == {"faq.jsonl", "broken.pdf"}
    kb.close()


def test_sync_keeps_the_documents_of_a_file_it_could_not_read(tmp_path):
    from srmkb import IngestError

    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    source = str((tmp_path / "faq.jsonl").resolve())
    docs = [Document(id=i, text=f"answer {i}", source=source) for i in ("a", "b")]
    kb.sync(docs, sources=[str(tmp_path.resolve())])
    unreadable = IngestError(source, "permission denied")
    report = kb.sync([unreadable], sources=[str(tmp_path.resolve())])
    assert report.deleted == () and report.errors == (unreadable,)
    assert "a" in kb and "b" in kb
    report = kb.sync(docs[:1], sources=[str(tmp_path.resolve())])
    assert report.deleted == ("b",)
    kb.close()


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_ingest_reads_files_and_folders_and_reports_what_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "text": "fine"}\n{"id": "broken", \n', encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    report = kb.ingest([EXAMPLES / "nimbus", bad, EXAMPLES / "crm" / "cases.csv"])
    assert "faq-blinking-red" in kb and "ok" in kb and "broken" not in kb
    assert [(Path(e.path).name, e.line) for e in report.errors] == [("bad.jsonl", 2)]
    # 28 documents in nimbus/, 1 line of bad.jsonl, 25 resolved cases; the export's 5
    # cases not yet resolved are left out on purpose, as skipped.
    assert report.skipped == 5 and "case-00104801" in kb
    assert len(report.added) == len(kb) == 28 + 1 + 25
    kb.close()


def test_ingest_of_a_missing_path_writes_nothing(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    with pytest.raises(InputError, match=r"no such file or folder: .*nope\.jsonl"):
        kb.ingest([EXAMPLES / "nimbus", tmp_path / "nope.jsonl"])
    assert len(kb) == 0 and kb.catalog.generation() == 0
    with pytest.raises(InputError, match="no file or folder"):
        kb.ingest([])
    kb.close()


def test_ingest_sync_mirrors_the_sources(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.jsonl").write_text('{"id": "a", "text": "alpha"}\n{"id": "b", "text": "beta"}\n')
    (source / "c.jsonl").write_text('{"id": "c", "text": "gamma"}\n')
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    kb.ingest(source)
    (source / "a.jsonl").write_text('{"id": "a", "text": "alpha"}\n')
    (source / "c.jsonl").unlink()
    assert kb.ingest(source).deleted == ()  # without sync, nothing is deleted
    report = kb.ingest(source, sync=True)
    assert sorted(report.deleted) == ["b", "c"] and report.unchanged == ("a",)
    assert sorted(kb.catalog.document_ids()) == ["a"]
    kb.close()


def test_ingest_progress_counts_every_document_while_a_batch_embeds(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder(), max_words=8)
    steps: list[int] = []
    report = kb.ingest(EXAMPLES / "nimbus", progress=steps.append)  # one batch of 28
    assert sum(steps) == len(report.added) == 28
    assert len(steps) > 3 and all(n > 0 for n in steps)  # not once per batch
    steps.clear()
    kb.ingest(EXAMPLES / "nimbus", progress=steps.append)  # unchanged: nothing to embed
    assert sum(steps) == 28
    kb.close()


def _long_and_short_documents() -> list[Document]:
    long = Document(id="long", text=" ".join(f"router setting {i}." for i in range(400)))
    short = [Document(id=f"short{i}", text=f"router {i} and modem cable") for i in range(6)]
    return [long, *short]


def test_collapse_returns_one_hit_per_document_and_still_k_hits(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder(), max_words=8)
    base.upsert(_long_and_short_documents())
    plain = base.search("router setting", k=5, mode="bm25")
    assert {h.document_id for h in plain} == {"long"}
    hits = base.search("router setting", k=5, mode="bm25", collapse="document")
    assert len(hits) == 5 and len({h.document_id for h in hits}) == 5
    # Each document's hit is its best passage, ranked as a search of every passage ranks it.
    every = base.search("router setting", k=500, mode="bm25", log=False)
    best: dict[str, str] = {}
    for hit in every:
        best.setdefault(hit.document_id, hit.passage_id)
    assert [h.passage_id for h in hits] == list(best.values())[:5]
    assert len(base.search("router", k=50, collapse="document")) == 7  # every document
    assert [d for d, _ in base.rank_documents("router setting", 3, mode="bm25")] == list(best)[:3]
    with pytest.raises(InputError, match="collapse"):
        base.search("router", collapse="passage")  # type: ignore[arg-type]
    base.close()


def test_a_filter_on_a_field_no_document_has_is_an_error(kb):
    with pytest.raises(FilterError, match=r"'categroy'.*did you mean 'category'") as caught:
        kb.search("refund", filters={"categroy": "billing"})
    assert isinstance(caught.value, InputError)
    assert "known fields: category, id, language, source, updated_at, url, visibility" in str(
        caught.value
    )
    # Under ne alone a field no document has is no typo's silence: every document passes.
    every = [h.passage_id for h in kb.search("refund", log=False)]
    assert [h.passage_id for h in kb.search("refund", filters={"colour": {"ne": "red"}})] == every
    with pytest.raises(FilterError, match="'colour'"):
        kb.search("refund", filters={"colour": {"ne": "red", "in": ["blue"]}})
    with pytest.raises(FilterError):
        kb.answer("refund", filters={"categroy": "billing"})
    with pytest.raises(FilterError):
        kb.rank_documents("refund", filters={"categroy": "billing"})
    assert kb.search("refund", filters={"language": "en", "category": "nope"}) == []
    # A field a new document brings is known from the next search on.
    kb.upsert([Document(id="team", text="Refunds team rota", metadata={"team": "billing"})])
    assert [h.document_id for h in kb.search("refund", filters={"team": "billing"})] == ["team"]


def test_the_agent_channel_answers_for_an_agent_unless_told_otherwise(kb):
    quoted = "Team leads may approve a refund after 30 days"
    agent = kb.answer(quoted, channel="agent", threshold=0.0)
    assert agent.audience == "agent" and agent.document_id == "secret" and agent.internal
    customer = kb.answer(quoted, channel="agent", audience="customer", threshold=0.0)
    assert customer.audience == "customer" and customer.document_id != "secret"
    assert "Team leads" not in customer.text
    chat = kb.answer(quoted, threshold=0.0)  # any other channel: a customer by default
    assert chat.audience == "customer" and chat.document_id != "secret"


def test_a_merge_of_whole_and_partly_deleted_segments_keeps_every_record_at_its_row(tmp_path):
    # Segments kept whole move in one statement, shifted by the rows before them; the
    # others row by row: every passage must still be read back as itself.
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    words = [f"zq{i:03d}x" for i in range(40)]
    for start in range(0, 40, 10):  # four segments of ten
        base.upsert(
            [Document(id=f"d{i}", text=f"{words[i]} shared") for i in range(start, start + 10)]
        )
    base.delete([f"d{i}" for i in (11, 12, 30)])  # the second and fourth lose rows
    base.optimize()
    assert len(base.index.snapshot.segments) == 1
    for i, word in enumerate(words):
        hits = base.search(word, k=1, mode="bm25")
        if i in (11, 12, 30):
            assert not hits or hits[0].document_id != f"d{i}"
            continue
        assert [(h.passage_id, h.text) for h in hits] == [(f"d{i}#0", f"{word} shared")]
