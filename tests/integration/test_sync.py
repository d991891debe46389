"""Sync with real files, through the command line and the Python API.

A source folder holds three Debian FAQ chapters (HTML) and the example CRM export. Then
one page is edited (one section rewritten, the last one removed), one page deleted and
one added; a sync must report exactly that, embed only the passages of what changed, and
replace the edited page's passages as a whole.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from srmkb import Document, HashingEmbedder, IngestError, KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.text.chunking import chunk_document

from ..conftest import ROOT, shared_path, srmkb

CASES_CSV = ROOT / "examples" / "crm" / "cases.csv"
KEPT, EDITED, DELETED, ADDED = (
    "uptodate.en.html",
    "kernel.en.html",
    "faqinfo.en.html",
    "redistributing.en.html",
)
N_CASES, N_SKIPPED = 25, 5  # resolved and unresolved cases in examples/crm/cases.csv
# Section 10.4 of kernel.en.html is rewritten: "prerm" is only in its old text,
# "autoremove" only in its new text (among the files of the source folder).
OLD_WORD, NEW_WORD = "prerm", "autoremove"
NEW_TEXT = (
    "Yes. Kernels you no longer boot can be removed with apt autoremove --purge, which"
    " never removes the kernel that is running. Keep one older kernel as a fallback."
)


@pytest.fixture
def source(tmp_path) -> Path:
    faq = shared_path("data", "docs", "debian-faq", "en")
    folder = tmp_path / "source"
    folder.mkdir()
    for name in (KEPT, EDITED, DELETED):
        shutil.copyfile(faq / name, folder / name)
    shutil.copyfile(CASES_CSV, folder / "cases.csv")
    return folder


def change(folder: Path) -> None:
    """Rewrite section 10.4 of the kernel page and drop its section 10.5; delete one page,
    add another."""
    page = folder / EDITED
    html = page.read_text(encoding="utf-8")
    body = html.index("<p>", html.index('<a id="removeoldkernel">'))
    footer = html.index('<div class="navfooter">')
    # Up to the footer: 10.4's paragraphs, </div> (10.4), section 10.5, </div> (chapter).
    page.write_text(html[:body] + f"<p>{NEW_TEXT}</p></div></div>" + html[footer:], "utf-8")
    (folder / DELETED).unlink()
    shutil.copyfile(shared_path("data", "docs", "debian-faq", "en", ADDED), folder / ADDED)


def documents(folder: Path) -> list[Document]:
    items = list(read_paths([folder]))
    assert [i for i in items if isinstance(i, IngestError)] == []
    return items  # type: ignore[return-value]


def test_cli_sync_reports_exact_counts(source, tmp_path):
    kb = str(tmp_path / "kb")
    out = srmkb("ingest", str(source), "--kb", kb, "--model", "hashing", "--json", "-q")
    assert json.loads(out.stdout) == {
        "added": 3 + N_CASES,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": N_SKIPPED,
        "errors": [],
    }
    change(source)
    out = srmkb("ingest", str(source), "--kb", kb, "--sync", "--json", "-q")
    assert json.loads(out.stdout) == {
        "added": 1,
        "updated": 1,
        "deleted": 1,
        "unchanged": 1 + N_CASES,
        "skipped": N_SKIPPED,
        "errors": [],
    }
    out = srmkb("search", NEW_WORD, "--kb", kb, "--mode", "bm25", "--json")
    assert [h["document_id"] for h in json.loads(out.stdout)["hits"]] == [EDITED]
    out = srmkb("search", OLD_WORD, "--kb", kb, "--mode", "bm25", "--json")
    assert json.loads(out.stdout)["hits"] == []
    # A second sync of the same folder changes nothing.
    out = srmkb("ingest", str(source), "--kb", kb, "--sync", "--json", "-q")
    assert json.loads(out.stdout)["unchanged"] == 3 + N_CASES


def _live_passages(kb: KnowledgeBase, doc_id: str) -> list[str]:
    """The passage ids the indexes still hold live for a document, in row order."""
    snap = kb.index.snapshot
    rows = snap.live & (snap.document_ids == doc_id)
    return [str(p) for p in snap.passage_ids[rows]]


def _edit_case(folder: Path, case_id: str, resolution: str) -> None:
    with open(folder / "cases.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("Resolution")
    (row,) = [r for r in rows if r[0] == case_id]
    row[column] = resolution
    with open(folder / "cases.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_api_sync_embeds_only_what_changed_and_replaces_passages_whole(source, tmp_path):
    embedder = HashingEmbedder()
    kb = KnowledgeBase(tmp_path / "kb", model=embedder)
    sources = [str(source.resolve())]
    max_words = kb.manifest.max_words

    def passages(doc: Document) -> list[str]:
        return [p.text for p in chunk_document(doc, max_words=max_words)]

    before = {d.id: d for d in documents(source)}
    report = kb.sync(before.values(), sources=sources)
    assert len(report.added) == 3 + N_CASES
    assert embedder.calls == sum(len(passages(d)) for d in before.values())
    old = passages(before[EDITED])
    assert len(old) == 5 and sum(OLD_WORD in t for t in old) == 1
    assert [h.document_id for h in kb.search(OLD_WORD, mode="bm25")] == [EDITED]
    assert kb.search(NEW_WORD, mode="bm25") == []
    assert [d for d, _ in kb.rank_documents("Handbook", mode="bm25")] == [EDITED]

    # Re-syncing unchanged files costs no embedding at all.
    calls = embedder.calls
    report = kb.sync(documents(source), sources=sources)
    assert len(report.unchanged) == 3 + N_CASES and embedder.calls == calls

    change(source)
    # Rewriting the CSV re-quotes every row; only the edited case's content changes.
    _edit_case(source, "00104803", "Power-cycle the router and install firmware 2.4.14.")
    after = {d.id: d for d in documents(source)}
    calls = embedder.calls
    report = kb.sync(after.values(), sources=sources)
    assert set(report.added) == {ADDED}
    assert set(report.updated) == {EDITED, "case-00104803"}
    assert set(report.deleted) == {DELETED}
    assert len(report.unchanged) == len(after) - 3
    changed = [after[i] for i in (*report.added, *report.updated)]
    assert embedder.calls - calls == sum(len(passages(d)) for d in changed)

    # The edited page: new text found, old text gone, from every retriever.
    new = passages(after[EDITED])
    assert len(new) == 4 and sum(NEW_WORD in t for t in new) == 1
    for mode in ("bm25", "hybrid", "dense"):
        hits = kb.search(f"{NEW_WORD} purge", k=1, mode=mode)
        assert hits[0].document_id == EDITED, mode
        assert hits[0].url.endswith(f"{EDITED}#removeoldkernel")
    assert NEW_WORD in kb.passage_text(hits[0].passage_id)
    assert kb.search(OLD_WORD, mode="bm25") == []
    assert kb.rank_documents("Handbook", mode="bm25") == []  # only in the removed 10.5

    # Its passages were replaced as a whole: exactly the new chunking, nothing of the old.
    ids = [f"{EDITED}#{i}" for i in range(len(new))]
    assert [kb.passage_text(i) for i in ids] == new
    assert kb.passage_text(f"{EDITED}#{len(new)}") is None
    assert sorted(_live_passages(kb, EDITED)) == sorted(ids)
    hits = kb.search("kernel", k=50, mode="bm25", filters={"id": EDITED}, audience="agent")
    assert sorted(h.passage_id for h in hits) == sorted(ids)
    assert _live_passages(kb, DELETED) == []
    total = sum(len(passages(d)) for d in after.values())
    assert kb.stats()["passages"] == total == int(np.sum(kb.index.snapshot.live))
    kb.close()
