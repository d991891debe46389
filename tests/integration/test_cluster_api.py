"""A sharded base is a KnowledgeBase: the same calls, with the same results (issue #23).

``KnowledgeBase(DIR, shards=N)`` makes a sharded base and ``KnowledgeBase(DIR)`` opens
one; every call a caller makes of a base (ingest with its progress, sync, search and
answer with their log, feedback, the report, capture, documents and their versions,
purge, optimize, check, stats) is run here on a sharded base and on a single base holding
the same documents, and must agree. Shards run in this process (``cluster=None``).
"""

from dataclasses import replace

import pytest

from srmkb import Document, InputError, KnowledgeBase, Section, SrmkbError, StorageError
from srmkb.cluster import ShardedKnowledgeBase
from srmkb.loop.capture import approve, capture, list_drafts

from ..cluster_checks import assert_same_answer, assert_same_hits
from ..conftest import shared_path

FAQ = shared_path("data", "docs", "debian-faq", "en")
QUESTIONS = [
    "How do I upgrade to a new Debian release?",
    "Where can I get the installation CD images?",
    "What is a Debian package and how do I install one?",
    "Is Debian free software?",
    "How do I report a bug?",
    "what kernel version does debian use",
]

# Public calls of KnowledgeBase that a sharded base inherits: they run the façade's own
# code over the sharded index, log and catalog (the hooks it overrides).
INHERITED = {
    "aanswer",
    "aingest",
    "answer",
    "asearch",
    "audit",
    "configure_log",
    "embed_lines",
    "evidence",
    "feedback",
    "ingest",
    "model_loaded",
    "rank_documents",
    "report",
    "search",
}


def test_every_public_call_is_the_sharded_base_s_own_or_runs_on_its_hooks():
    public = {name for name in vars(KnowledgeBase) if not name.startswith("_")}
    own = {name for name in vars(ShardedKnowledgeBase) if not name.startswith("_")}
    assert INHERITED <= public
    # A call added to KnowledgeBase must be checked on a sharded base, then listed.
    assert public - own == INHERITED
    for name in ("__len__", "__contains__", "_read", "_check_filters", "_reporting"):
        assert name in vars(ShardedKnowledgeBase), name


def test_calibrating_a_sharded_base_is_refused_clearly(tmp_path):
    with KnowledgeBase(tmp_path / "kb", shards=2, model="hashing") as kb:
        with pytest.raises(SrmkbError, match="calibrating a sharded base is not supported"):
            kb.calibrate()


def test_knowledge_base_makes_and_opens_a_sharded_base(tmp_path):
    folder = tmp_path / "kb"
    kb = KnowledgeBase(folder, shards=3, model="hashing")
    assert isinstance(kb, ShardedKnowledgeBase) and isinstance(kb, KnowledgeBase)
    kb.upsert([Document(id=f"d{i}", title=f"Doc {i}", text=f"text number {i}") for i in range(12)])
    kb.close()
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with KnowledgeBase(folder) as again:  # a folder holding shards opens as one base
        assert isinstance(again, ShardedKnowledgeBase) and again.shards == 3
        assert len(again) == 12
        counts = []
        for path in again.shard_paths:  # each shard alone is an ordinary base
            with KnowledgeBase(path, create=False) as shard:
                assert type(shard) is KnowledgeBase
                counts.append(len(shard))
        assert sum(counts) == 12 and min(counts) > 0
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    with pytest.raises(InputError, match="holds 3 shards, not 2"):
        KnowledgeBase(folder, shards=2)
    with pytest.raises(InputError, match="ordinary base"):
        KnowledgeBase(again.shard_paths[0], shards=2)
    with pytest.raises(StorageError, match="no sharded base"):
        KnowledgeBase(tmp_path / "absent", shards=2, create=False)


@pytest.fixture
def pair(tmp_path):
    """A single base and a base of three shards, the Debian FAQ ingested into each."""
    bases = []
    for name, options in (("single", {}), ("sharded", {"shards": 3})):
        base = KnowledgeBase(tmp_path / name, model="hashing", **options)
        done = []
        report = base.ingest(FAQ, progress=done.append, batch_size=4)
        assert report.added and not report.errors
        assert sum(done) == len(report.added)  # one progress count, for every document
        bases.append(base)
    yield bases
    for base in bases:
        base.close()


def test_searches_answers_their_log_and_the_report_agree(pair):
    single, sharded = pair
    assert isinstance(sharded, ShardedKnowledgeBase) and len(sharded) == len(single)
    for question in QUESTIONS:
        expected = single.search(question, 8)
        found = sharded.search(question, 8)
        assert_same_hits(expected, found, question)
        assert found.interaction_id is not None
        one = sharded.search(question, 5, collapse="document", log=False)
        assert_same_hits(single.search(question, 5, collapse="document", log=False), one)
        ranked, expected_ranked = (
            sharded.rank_documents(question, 5),
            single.rank_documents(question, 5),
        )
        assert [d for d, _ in ranked] == [d for d, _ in expected_ranked]
        assert [s for _, s in ranked] == pytest.approx([s for _, s in expected_ranked], abs=1e-6)
        assert_same_answer(single.answer(question), answer := sharded.answer(question), question)
        assert answer.interaction_id is not None
        assert sharded.feedback(answer.interaction_id, "resolved")
        single.feedback(single.audit.interactions()[-1].id, "resolved")
    mine, theirs = single.report(), sharded.report()
    for key in ("questions", "answered", "searches", "feedback", "top_documents", "by_channel"):
        assert theirs[key] == mine[key], key
    assert theirs["unused_documents"] == mine["unused_documents"]


def test_documents_versions_and_maintenance_agree(pair):
    single, sharded = pair
    hit = single.search("Debian release upgrade", 1, log=False)[0]
    doc_id = hit.document_id
    assert sharded.get(doc_id) == single.get(doc_id)
    assert sharded.document(doc_id) == single.document(doc_id)
    assert doc_id in sharded and "no such document" not in sharded
    assert sharded.passage_text(hit.passage_id) == single.passage_text(hit.passage_id)
    assert sharded.passage_text("no-such-passage") is None
    assert _placeless(sharded.document_passages(doc_id)) == _placeless(
        single.document_passages(doc_id)
    )
    changed = replace(single.get(doc_id), text="Upgrades now go through apt full-upgrade.")
    for base in (single, sharded):
        assert base.upsert([changed]).updated == (doc_id,)
    assert [v.version for v in sharded.versions(doc_id)] == [1, 2]
    assert sharded.get_version(doc_id, 1) == single.get_version(doc_id, 1)
    gone = [d for d in sorted(single.catalog.document_ids())[:3]]
    for base in (single, sharded):
        base.purge(gone)
        base.optimize()
    assert sharded.versions(gone[0]) == [] and len(sharded) == len(single)
    for question in QUESTIONS[:3]:
        assert_same_hits(single.search(question, 8, log=False), sharded.search(question, 8))
    stats = sharded.stats()
    assert stats["documents"] == single.stats()["documents"] and stats["shards"] == 3
    assert stats["passages"] == single.stats()["passages"]
    report = sharded.check()
    assert report.ok and report.checked


def test_a_sync_in_many_rounds_deletes_what_is_gone(pair, tmp_path):
    single, sharded = pair
    files = tmp_path / "faq"
    files.mkdir()
    kept = sorted(FAQ.glob("*.html"))[5:]
    for path in kept:
        (files / path.name).write_bytes(path.read_bytes())
    reports = []
    for base in (single, sharded):
        base.ingest(files)  # the same pages from a second folder, then mirror it
        (files / kept[0].name).unlink()
        done = []
        reports.append(base.ingest(files, sync=True, batch_size=2, progress=done.append))
        assert sum(done) == len(kept) - 1
        (files / kept[0].name).write_bytes(kept[0].read_bytes())
    assert sorted(reports[1].deleted) == sorted(reports[0].deleted) and reports[0].deleted
    assert len(sharded) == len(single)


def _placeless(passages):
    """Passages without where each is stored (its segment and row are the shard's)."""
    return [replace(p, segment="", row=0) for p in passages]


def _case(n: int, subject: str, resolution: str) -> Document:
    return Document(
        id=f"case-{n}",
        title=subject,
        visibility="internal",
        metadata={"source_type": "crm", "case_id": str(n), "product": "debian"},
        sections=(
            Section(subject, ("Problem",), "problem", visibility="internal"),
            Section(resolution, ("Resolution",), "resolution"),
        ),
    )


def test_capture_drafts_and_links_as_a_single_base(pair):
    single, sharded = pair
    cases = [
        _case(1, "Upgrade to the new release failed", "Run apt update, then apt full-upgrade."),
        _case(2, "Printer toner light blinks", "Replace the toner cartridge and reset the count."),
        _case(3, "toner light keeps blinking", "Replace the toner cartridge and reset the count."),
    ]
    decisions = []
    for base in (single, sharded):
        report = capture(base, cases)
        decisions.append([(d.case_id, d.action, d.document_id) for d in report.decisions])
    assert decisions[1] == decisions[0]
    assert [d.id for d in list_drafts(sharded)] == [d.id for d in list_drafts(single)]
    assert capture(sharded, cases).decisions[0].action == "skipped"  # captured once
    draft = list_drafts(sharded)[0].id
    for base in (single, sharded):
        approve(base, draft)
    assert sharded.get(draft) == single.get(draft)
    assert sharded.report()["reuse"] == single.report()["reuse"]
    assert (sharded.path / "capture.sqlite").is_file()


def test_a_customer_never_sees_an_internal_document_of_any_shard(tmp_path):
    secret = "zanzibarsecret"
    docs = (
        [
            Document(
                id=f"note-{i}",
                title=f"Escalation {i}",
                text=f"{secret} discount {i} for churn.",
                visibility="internal",
            )
            for i in range(9)
        ]
        + [
            Document(id=f"faq-{i}", title=f"Plan {i}", text=f"Plan {i} costs {i} euros a month.")
            for i in range(9)
        ]
        + [
            Document(
                id="mixed",
                title="Refunds",
                text="",
                sections=(
                    Section("Refunds take five days.", ("Refunds",), "refunds"),
                    Section(
                        f"{secret}: refund twice.", ("Agents",), "agents", visibility="internal"
                    ),
                ),
            )
        ]
    )
    with KnowledgeBase(tmp_path / "kb", shards=3, model="hashing") as kb:
        kb.upsert(docs)
        for mode in ("bm25", "dense", "hybrid"):
            hits = kb.search(f"{secret} discount refund", 20, mode=mode)
            assert hits and secret not in str([h.to_json() for h in hits]), mode
            agent = kb.search(f"{secret} discount", 20, mode=mode, audience="agent")
            assert any(h.document_id.startswith("note-") for h in agent), mode
        answer = kb.answer(f"{secret} discount?").to_json()
        del answer["question"]  # the asker's own words
        assert secret not in str(answer)
        assert all(kb.document(d.id) is None for d in docs[:9])
        shown = kb.document("mixed")
        assert shown is not None and secret not in str(shown)
        assert kb.document("note-1", audience="agent") is not None
