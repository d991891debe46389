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


TORCH_BUILT = ROOT / "tests" / "fixtures" / "kb-minilm-torch"
# examples/nimbus embedded by all-MiniLM-L6-v2 through sentence-transformers and torch
# (the runtime before onnxruntime): each query's top dense hits and cosines at that time.
TORCH_TOP = {
    "my wifi is really slow in the bedroom": ("faq-slow-internet", 0.6327),
    "the light on the router keeps flashing red": ("faq-blinking-red", 0.7052),
    "how can I get my money back": ("faq-refund", 0.3906),
    "How do I factory reset my router?": ("kb-factory-reset", 0.6696),
}


def test_a_base_built_by_the_torch_runtime_searches_unchanged_on_onnxruntime(tmp_path):
    path = tmp_path / "kb"
    shutil.copytree(TORCH_BUILT, path)
    before = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    kb = KnowledgeBase(path, log_interactions=False)
    assert kb.manifest.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    for query, (document_id, cosine) in TORCH_TOP.items():
        dense = kb.search(query, k=3, mode="dense")
        assert dense[0].document_id == document_id
        # The stored torch vectors against an int8 ONNX query vector: the same cosine
        # to within the two runtimes' difference (cosine 0.999 between their vectors).
        assert abs(dense[0].score - cosine) < 0.01
        assert kb.search(query, k=1)[0].document_id == document_id
    kb.close()
    after = {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    assert {name: data for name, data in after.items() if name in before} == before
