"""Study of fusion methods on the shared English sets (passage-level, documents by max)."""
from __future__ import annotations
import os, sys, time, json
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).parent))
from _cache import cached_embeddings
from srmkb.analysis import analyzer_for
from srmkb.chunking import chunk_document
from srmkb.lexical import LexicalSegment, LexicalIndex
from srmkb.embedders import minilm
from srmkb.evaluation import load_beir, evaluate_run

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "beir"
SETS = sys.argv[1:] or ["covidfaq", "cranfield", "banking77", "hint3-sofmattress", "scifact"]

def prepare(name, emb):
    ds = load_beir(SHARED / name)
    passages = [p for d in ds.corpus for p in chunk_document(d)]
    an = analyzer_for("en")
    t = time.time()
    seg = LexicalSegment.build([an.analyze(p.indexed_text) for p in passages])
    lex = LexicalIndex([seg], np.ones(len(passages), bool))
    qids = list(ds.queries)
    bm = np.stack([lex.scores(an.analyze(ds.queries[q])) for q in qids])
    pv = cached_embeddings(emb, [p.indexed_text for p in passages])
    qv = cached_embeddings(emb, [ds.queries[q] for q in qids], query=True)
    dn = qv @ pv.T
    docs = sorted({p.document_id for p in passages})
    di = {d: i for i, d in enumerate(docs)}
    p2d = np.array([di[p.document_id] for p in passages])
    return ds, qids, bm, dn, docs, p2d

def doc_max(scores, p2d, ndocs):
    out = np.full(ndocs, -np.inf, dtype=np.float64)
    np.maximum.at(out, p2d, scores)
    return out

if __name__ == "__main__":
    emb = minilm(threads=2)
    for name in SETS:
        t = time.time()
        ds, qids, bm, dn, docs, p2d = prepare(name, emb)
        np.savez(f"/tmp/fusion_{name}.npz", bm=bm, dn=dn, p2d=p2d, qids=np.array(qids), docs=np.array(docs))
        res = {}
        for label, S in (("bm25", bm), ("dense", dn)):
            run = {q: [docs[i] for i in np.argsort(-doc_max(S[j], p2d, len(docs)))[:100]] for j, q in enumerate(qids)}
            res[label] = round(evaluate_run(run, ds.qrels)["ndcg@10"], 4)
        print(name, len(p2d), "passages", res, f"{time.time()-t:.0f}s", flush=True)
