"""The snapshot's lexical side: documents as context for their passages, on real text."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from srmkb import KnowledgeBase
from srmkb.analysis import analyzer_for
from srmkb.evaluation import evaluate_run, load_beir
from srmkb.lexical import LexicalIndex, LexicalSegment
from srmkb.retrieval import document_numbers, in_context

from ..conftest import shared_path


def _segment(*document_ids: str) -> SimpleNamespace:
    return SimpleNamespace(document_ids=np.array(document_ids, dtype=str))


def test_document_numbers_follow_runs_of_rows_across_segments():
    numbers = document_numbers([_segment("a", "a", "b"), _segment(), _segment("b", "c", "c")])
    # "b" in a later segment is another run (an update leaves the old rows dead).
    assert numbers is not None and numbers.tolist() == [0, 0, 1, 2, 3, 3]
    assert document_numbers([_segment("a", "b"), _segment("c")]) is None


def test_document_share_goes_to_rows_in_proportion_to_their_scores():
    # Document 0: its rows hold "x" and "y" apart; documents 1 and 2 hold one word each.
    passages = [["x", "w", "w", "w"], ["y", "w", "w", "w"], ["x", "w", "w"], ["v"]]
    passages += [["x", "u", "u"], ["y", "u", "u"]]
    lexical = LexicalIndex(
        [LexicalSegment.build(passages)], np.ones(6, bool), documents=np.array([0, 0, 0, 0, 1, 2])
    )
    scores, mass = lexical.scores(["x", "y"])
    doc_scores, doc_mass = lexical.document_scores(["x", "y"])
    out = in_context(scores, mass, lexical, ["x", "y"])
    share = scores / mass
    best = share[:4].max()
    for row in range(4):
        expected = share[row] + share[row] / best * doc_scores[0] / doc_mass
        assert out[row] == pytest.approx(expected, rel=1e-5)
    assert out[3] == 0.0  # no query term: not lifted by its document
    assert np.argsort(-out[:3]).tolist() == np.argsort(-share[:3]).tolist()
    assert out[4] == pytest.approx(share[4] + doc_scores[1] / doc_mass, rel=1e-5)
    # The document that holds both words now leads; alone, a one-word row did.
    assert out.argmax() in (0, 1, 2) and share.argmax() in (4, 5)


@pytest.fixture(scope="module")
def service_public():
    """150 questions of service-public-fr, their articles and 400 others, in French."""
    data = load_beir(shared_path("data", "beir", "service-public-fr"))
    queries = dict(list(data.queries.items())[:150])
    wanted = {d for q in queries for d in data.qrels[q]}
    others = [d for d in data.corpus if d.id not in wanted][:400]
    docs = [replace(d, language="fr") for d in data.corpus if d.id in wanted] + [
        replace(d, language="fr") for d in others
    ]
    return docs, queries, {q: data.qrels[q] for q in queries}


def test_document_context_beats_passages_alone_on_french_articles(tmp_path, service_public):
    docs, queries, qrels = service_public
    kb = KnowledgeBase(tmp_path / "kb", dense=False)
    kb.upsert(docs)
    snap = kb._snapshot
    assert snap.languages == ("fr",) and snap.lexical.documents is not None
    analyzer = analyzer_for("fr")
    in_documents, alone = {}, {}
    for q, text in queries.items():
        in_documents[q] = [d for d, _ in kb.rank_documents(text, k=100, mode="bm25")]
        scores, _ = snap.lexical.scores(analyzer.analyze(text))
        best: dict[str, float] = {}
        for row in np.argsort(-scores, kind="stable")[:400].tolist():
            if scores[row] > 0:
                best.setdefault(str(snap.document_ids[row]), float(scores[row]))
        alone[q] = list(best)[:100]
    with_context = evaluate_run(in_documents, qrels)["ndcg@10"]
    passages_alone = evaluate_run(alone, qrels)["ndcg@10"]
    assert with_context > passages_alone + 0.005, (with_context, passages_alone)
