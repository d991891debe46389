"""The snapshot's lexical side: documents as context for their passages, on real text."""

from dataclasses import replace

import numpy as np
import pytest

from srmkb import Document, InputError, KnowledgeBase
from srmkb.evaluation import evaluate_run, load_beir
from srmkb.index.lexical import LexicalIndex
from srmkb.index.postings import LexicalSegment
from srmkb.index.query import Query
from srmkb.index.segments import Segment
from srmkb.index.snapshot import cross_language_vector, document_numbers, in_context
from srmkb.models import HashingEmbedder
from srmkb.text.analysis import analyzer_for

from ..conftest import shared_path


def _segment(*document_ids: str) -> Segment:
    n = len(document_ids)
    return Segment(
        id="s",
        passage_ids=np.array([f"{d}#{i}" for i, d in enumerate(document_ids)], dtype=str),
        document_ids=np.array(document_ids, dtype=str),
        internal=np.zeros(n, dtype=bool),
        language=np.full(n, "en"),
        lexical=LexicalSegment.build([[] for _ in range(n)]),
        dense=None,
    )


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
    snap = kb.index.snapshot
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


def test_cross_language_vector_removes_the_mean_question():
    rng = np.random.default_rng(0)
    query, mean = rng.normal(size=16).astype(np.float32), rng.normal(size=16).astype(np.float32)
    out = cross_language_vector(query, mean)
    np.testing.assert_allclose(out, (query - mean) / np.linalg.norm(query - mean), rtol=1e-5)
    assert cross_language_vector(query, query).tolist() == query.tolist()  # nothing left


def _router_base(path, n_english, n_french):
    kb = KnowledgeBase(path, model=HashingEmbedder())
    docs = [
        Document(id=f"en{i}", text=f"Reset the router {i} with the pin", language="en")
        for i in range(n_english)
    ] + [
        Document(id=f"fr{i}", text=f"Réinitialiser le routeur {i} avec la pointe", language="fr")
        for i in range(n_french)
    ]
    kb.upsert(docs)
    snap = kb.index.snapshot
    assert snap.query_means == {}  # none measured for the hashing model: plain vectors
    mean = np.full(snap.dense.segments[0].vectors.shape[1], 0.05, dtype=np.float32)
    return kb, replace(snap, query_means={"fr": mean}), mean


def test_a_base_with_passages_in_the_question_language_keeps_its_vector(tmp_path):
    kb, snap, _ = _router_base(tmp_path / "kb", 20, 20)
    assert set(snap.language_samples) == {"en", "fr"}
    question = "Comment réinitialiser le routeur ?"
    ranking = snap.rank(Query(question, kb.embedder.embed_query), 40, "dense", snap.live)
    plain = snap.dense.scores_of(kb.embedder.embed_query(question), ranking.rows)
    np.testing.assert_allclose(ranking.scores, plain, rtol=1e-5)


def test_a_base_in_another_language_is_searched_with_the_cross_language_vector(tmp_path):
    kb, snap, mean = _router_base(tmp_path / "kb", 6, 0)
    question = "Comment réinitialiser le routeur ?"
    cross = cross_language_vector(kb.embedder.embed_query(question), mean)
    for mode in ("dense", "hybrid"):
        ranking = snap.rank(Query(question, kb.embedder.embed_query), 6, mode, snap.live)
        assert len(ranking.rows) == 6
    ranking = snap.rank(Query(question, kb.embedder.embed_query), 6, "dense", snap.live)
    np.testing.assert_allclose(ranking.scores, snap.dense.scores_of(cross, ranking.rows), rtol=1e-5)
    # The reported cosine stays the plain one.
    plain = snap.dense.scores_of(kb.embedder.embed_query(question), ranking.rows)
    np.testing.assert_allclose(ranking.parts["dense"], plain, rtol=1e-5)
    # An English question over the English base: plain vector.
    ranking = snap.rank(Query("Reset the router", kb.embedder.embed_query), 6, "dense", snap.live)
    plain = snap.dense.scores_of(kb.embedder.embed_query("Reset the router"), ranking.rows)
    np.testing.assert_allclose(ranking.scores, plain, rtol=1e-5)


def test_an_embedder_that_carries_its_mean_questions_is_searched_across_languages_with_them(
    tmp_path,
):
    class WithMeans(HashingEmbedder):
        pass

    embedder = WithMeans()
    mean = np.full(embedder.dimension, 0.05, dtype=np.float32)
    embedder.query_means = {"fr": mean.tolist()}  # type: ignore[attr-defined]
    kb = KnowledgeBase(tmp_path / "kb", model=embedder)
    kb.upsert([Document(id=f"en{i}", text=f"Reset the router {i} with the pin") for i in range(6)])
    snap = kb.index.snapshot
    assert set(snap.query_means) == {"fr"}
    np.testing.assert_array_equal(snap.query_means["fr"], mean)
    question = "Comment réinitialiser le routeur ?"
    ranking = snap.rank(Query(question, embedder.embed_query), 6, "dense", snap.live)
    cross = cross_language_vector(embedder.embed_query(question), mean)
    np.testing.assert_allclose(ranking.scores, snap.dense.scores_of(cross, ranking.rows), rtol=1e-5)


@pytest.mark.parametrize(
    "means",
    [{"fr": [0.1, 0.2]}, {"fr": [[0.1] * 8]}, {"fr": "abc"}, {"fr": [float("nan")] * 256}, [1.0]],
)
def test_mean_questions_of_the_wrong_shape_are_a_clear_error_at_open(tmp_path, means):
    class WithMeans(HashingEmbedder):
        pass

    embedder = WithMeans()
    embedder.query_means = means  # type: ignore[attr-defined]
    with pytest.raises(InputError, match="query_means"):
        kb = KnowledgeBase(tmp_path / "kb", model=embedder)
        kb.upsert([Document(id="en", text="Reset the router with the pin")])
        kb.search("Comment réinitialiser le routeur ?")


def test_the_cosine_map_weighs_bm25_only_for_a_question_in_the_base_language(tmp_path, monkeypatch):
    import srmkb.index.candidates as retrieval  # where the fusion runs

    seen = []
    real_fuse = retrieval.fuse

    def spy(*args, **kwargs):
        seen.append(kwargs["best_cosine"])
        return real_fuse(*args, **kwargs)

    monkeypatch.setattr(retrieval, "fuse", spy)
    kb, snap, _ = _router_base(tmp_path / "kb", 6, 0)
    snap = replace(snap, cosine_map=(0.1, 0.5))
    embed = kb.embedder.embed_query
    for question in ("Reset the router", "Comment réinitialiser le routeur ?"):
        ranking = snap.rank(Query(question, embed), 6, "hybrid", snap.live)
        raw = float(snap.dense.scores_of(embed(question), ranking.rows).max())
        seen.append(raw)
    (english_best, english_raw), (french_best, french_raw) = seen[:2], seen[2:]
    assert english_best == pytest.approx(0.1 + 0.5 * english_raw, rel=1e-5)
    # Searched across languages: the raw cosine keeps BM25's weight low.
    assert french_best == pytest.approx(french_raw, rel=1e-5)


def test_a_mixed_base_reads_each_language_against_its_background(tmp_path):
    kb, snap, mean = _router_base(tmp_path / "kb", 20, 20)
    question = "Comment réinitialiser le routeur ?"
    qvec = kb.embedder.embed_query(question)
    cross = cross_language_vector(qvec, mean)
    rows = np.arange(snap.n_rows)
    out = snap.by_language(Query(question), qvec, rows, snap.dense.scores_of(qvec, rows))
    languages = snap.row_languages
    for language, vector in (("fr", qvec), ("en", cross)):
        background = snap.dense.scores_of(vector, snap.language_samples[language])
        mask = languages == language
        expected = (snap.dense.scores_of(vector, rows[mask]) - np.median(background)) / (
            background.std()
        )
        np.testing.assert_allclose(out[mask], expected, rtol=1e-4, atol=1e-5)
    # One language, or a model that knows only some: the cosines pass through.
    cosines = snap.dense.scores_of(qvec, rows)
    english = replace(snap, model_languages=frozenset({"en"}))
    assert english.by_language(Query(question), qvec, rows, cosines) is cosines
