"""A base written by an earlier srmkb (format 1, committed fixture) still opens and answers."""

import json
import shutil

from srmkb import Document, KnowledgeBase

from ..conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "kb-format1"


def test_reads_format_1_base(tmp_path):
    path = tmp_path / "kb"
    shutil.copytree(FIXTURE, path)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["model_id"] == "srmkb/hashing-256"
    kb = KnowledgeBase(path)
    assert len(kb) == 17
    for mode in ("bm25", "dense", "hybrid"):
        assert (
            kb.search("router light blinking red", k=1, mode=mode)[0].document_id
            == "faq-blinking-red"
        )
    assert (
        kb.search("refund exceptions team leads", k=5, audience="agent")[0].visibility == "internal"
    )
    # And it stays writable.
    kb.upsert([Document(id="new", text="A new article about modems.")])
    assert kb.search("modems", k=1, mode="bm25")[0].document_id == "new"
