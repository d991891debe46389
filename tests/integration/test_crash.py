"""kill -9 during ingest and merge leaves the last commit whole; re-running completes it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from srmkb import KnowledgeBase

from ..conftest import shared_path, srmkb


def _kill_after(cmd, delay):
    """Start ``cmd`` and kill -9 it after ``delay`` seconds if it is still running."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _check_consistent(path, corpus_ids=None):
    kb = KnowledgeBase(path)
    snap = kb.index.snapshot
    counts = kb.catalog.counts()
    db = sqlite3.connect(f"file:{path / 'catalog.sqlite'}?mode=ro", uri=True)
    # Every live row is a catalogued passage and every catalogued passage a live row.
    live_pids = set(snap.passage_ids[snap.live].tolist())
    rows = db.execute("SELECT id, document_id FROM passages").fetchall()
    assert len(live_pids) == int(snap.live.sum()) == counts["passages"]
    assert live_pids == {pid for pid, _ in rows}
    # Every document has its passages, all of them.
    docs = {d for (d,) in db.execute("SELECT id FROM documents")}
    db.close()
    assert docs == {doc for _, doc in rows}
    if corpus_ids is not None:
        assert docs <= corpus_ids
    # And the base answers queries.
    if counts["documents"]:
        assert kb.search("cell", k=3, mode="bm25")
    kb.close()
    return counts["documents"]


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4, 3.5])
def test_kill_during_ingest_then_rerun(tmp_path, delay):
    corpus = shared_path("data", "beir", "scifact", "corpus.jsonl")
    ids = set()
    with open(corpus) as handle:
        for line in handle:
            ids.add(json.loads(line)["_id"])
    path = tmp_path / "kb"
    args = ["ingest", str(corpus), "--kb", str(path), "--model", "hashing", "--batch-size", "64"]
    _kill_after([sys.executable, "-m", "srmkb.cli", *args, "-q"], delay)
    committed = _check_consistent(path, ids) if (path / "manifest.json").exists() else 0
    report = json.loads(srmkb(*args, "--json", "-q").stdout)
    assert report["unchanged"] == committed
    assert report["added"] + report["unchanged"] == len(ids)
    assert report["updated"] == 0 and report["errors"] == []
    assert _check_consistent(path, ids) == len(ids)


def test_kill_during_optimize(tmp_path):
    corpus = shared_path("data", "beir", "scifact", "corpus.jsonl")
    path = tmp_path / "kb"
    srmkb(
        "ingest", str(corpus), "--kb", str(path), "--model", "hashing", "--batch-size", "500", "-q"
    )
    kb = KnowledgeBase(path)
    kb.delete([str(i) for i in list(kb.catalog.document_ids())[::3]])
    expected = [h.passage_id for h in kb.search("cancer cells", k=10, mode="bm25")]
    n_docs = len(kb)
    kb.close()
    code = f"from srmkb import KnowledgeBase; KnowledgeBase({str(path)!r}).optimize()"
    for delay in (0.3, 0.6, 1.0):
        _kill_after([sys.executable, "-c", code], delay)
        assert _check_consistent(path) == n_docs
        kb = KnowledgeBase(path)
        assert [h.passage_id for h in kb.search("cancer cells", k=10, mode="bm25")] == expected
        kb.close()
    kb = KnowledgeBase(path)
    kb.optimize()
    assert len(kb.index.snapshot.segments) == 1 and np.all(kb.index.snapshot.live)
    # Files of dead segments are gone.
    assert {p.name for p in (path / "segments").iterdir()} == {kb.index.snapshot.segments[0].id}
