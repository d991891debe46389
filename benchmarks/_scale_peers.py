"""The peers' stages of the scale suite: build (and save), then serve in a new process.

Same texts and vectors as srmkb. rank-bm25 gets srmkb's English analyzer tokens, so it
scores exactly the same terms; bm25s is set up as its quickstart does (its tokenizer,
English stop words, PyStemmer's stemmer), tokenizing inside its build; LangChain's
BM25Retriever keeps its own default (whitespace) tokens, as a LangChain user gets.
A peer that cannot add a document to a saved index rebuilds it; that is its add time.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np

from _peers import langchain_embeddings, txtai_embeddings
from _scale_data import extra_passages, scale_set
from _timing import Stopwatch, disk_mb, rss_mb, summary, timed
from _vectors import LookupEmbedder, load_minilm
from srmkb.text.analysis import analyzer_for

CANDIDATES = 100  # per retriever in LangChain's ensemble, as srmkb's hybrid takes


def _tokens(texts: list[str]) -> tuple[list[list[str]], float]:
    analyzer = analyzer_for("en")
    with Stopwatch() as sw:
        tokens = [analyzer.analyze(t) for t in texts]
    return tokens, round(sw.seconds, 2)


def _top10(scores: np.ndarray) -> np.ndarray:
    return np.argpartition(-scores, 10)[:10]


# -- rank-bm25 ------------------------------------------------------------------------


def rank_bm25_build(n: int, folder: Path) -> dict[str, object]:
    from rank_bm25 import BM25Okapi

    texts, _ = scale_set(n)
    tokens, tokenize_s = _tokens(texts)
    del texts
    inputs = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw:
        index = BM25Okapi(tokens)
    peak = rss_mb()
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "bm25okapi.pkl", "wb") as handle:
        pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "build_s": round(sw.seconds, 2),
        "tokenize_s": tokenize_s,
        "rss_inputs_mb": inputs,
        **peak,
        "disk_mb": disk_mb(folder),
    }


def rank_bm25_serve(n: int, folder: Path, queries: list[str]) -> dict[str, object]:
    before = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw, open(folder / "bm25okapi.pkl", "rb") as handle:
        index = pickle.load(handle)
    analyzer = analyzer_for("en")
    tokens = {q: analyzer.analyze(q) for q in queries}
    ms = timed(lambda q: _top10(index.get_scores(tokens[q])), queries, warmup=1)
    return {
        "reopen_s": round(sw.seconds, 3),
        "latency": {"bm25_scoring": summary(ms)},
        "rss_before_open_mb": before,
        **rss_mb(),
    }


# -- bm25s ----------------------------------------------------------------------------


def bm25s_build(n: int, folder: Path) -> dict[str, object]:
    """bm25s as its quickstart sets it up: its tokenizer with English stop words and
    PyStemmer's English stemmer, default parameters. Its build time includes tokenizing,
    as srmkb's includes analysis."""
    import bm25s
    import Stemmer

    texts, _ = scale_set(n)
    inputs = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw:
        with Stopwatch() as tokenize:
            stemmer = Stemmer.Stemmer("english")
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
        index = bm25s.BM25()
        index.index(tokens, show_progress=False)
    peak = rss_mb()
    index.save(folder, show_progress=False)
    return {
        "build_s": round(sw.seconds, 2),
        "tokenize_s": round(tokenize.seconds, 2),
        "rss_inputs_mb": inputs,
        **peak,
        "disk_mb": disk_mb(folder),
    }


def bm25s_serve(n: int, folder: Path, queries: list[str]) -> dict[str, object]:
    import bm25s
    import Stemmer

    before = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw:
        index = bm25s.BM25.load(folder, mmap=True, show_progress=False)
    stemmer = Stemmer.Stemmer("english")
    own = bm25s.tokenize(
        queries, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    tokens = {q: [t for t in ts if t in index.vocab_dict] for q, ts in zip(queries, own)}

    def scoring(q: str) -> None:
        scores = index.get_scores(tokens[q]) if tokens[q] else np.zeros(n, np.float32)
        _top10(scores)

    ms = timed(scoring, queries)
    return {
        "reopen_s": round(sw.seconds, 3),
        "latency": {"bm25_scoring": summary(ms)},
        "rss_before_open_mb": before,
        **rss_mb(),
    }


# -- faiss directly -------------------------------------------------------------------


def faiss_build(n: int, folder: Path, hnsw: bool) -> dict[str, object]:
    import faiss

    _, vectors = scale_set(n)
    inputs = rss_mb()["rss_now_mb"]
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {"rss_inputs_mb": inputs}
    for name, factory in (("flat", "Flat"), ("hnsw", "HNSW32"))[: 2 if hnsw else 1]:
        with Stopwatch() as sw:
            index = faiss.index_factory(vectors.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
            index.add(vectors)
        faiss.write_index(index, str(folder / f"{name}.faiss"))
        out[f"{name}_build_s"] = round(sw.seconds, 2)
        out[f"{name}_disk_mb"] = disk_mb(folder / f"{name}.faiss")
        del index
    out.update(rss_mb())
    return out


def faiss_serve(n: int, folder: Path, queries: list[str], hnsw: bool) -> dict[str, object]:
    import faiss

    model = load_minilm()
    qvecs = np.stack([model.embed_query(q) for q in queries])
    out: dict[str, object] = {"latency": {}, "rss_before_open_mb": rss_mb()["rss_now_mb"]}
    found: dict[str, np.ndarray] = {}
    for name in ("flat", "hnsw")[: 2 if hnsw else 1]:
        with Stopwatch() as sw:
            index = faiss.read_index(str(folder / f"{name}.faiss"))
        if name == "hnsw":
            index.hnsw.efSearch = 128  # srmkb's setting
        ms = timed(lambda i, ix=index: ix.search(qvecs[i : i + 1], 10), range(len(queries)))
        found[name] = index.search(qvecs, 10)[1]
        out[f"{name}_reopen_s"] = round(sw.seconds, 3)
        out["latency"][f"dense_search_{name}"] = summary(ms)  # type: ignore[index]
        out[f"rss_{name}_mb"] = rss_mb()["rss_now_mb"]
        del index
    if hnsw:
        hits = [len(set(a) & set(b)) / 10 for a, b in zip(found["flat"], found["hnsw"])]
        out["hnsw_recall@10"] = round(float(np.mean(hits)), 4)
    out.update(rss_mb())
    return out


# -- LangChain ------------------------------------------------------------------------


def langchain_build(n: int, folder: Path) -> dict[str, object]:
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS

    texts, vectors = scale_set(n)
    ids = [{"id": f"p{i}"} for i in range(n)]
    inputs = rss_mb()["rss_now_mb"]
    with Stopwatch() as dense:
        store = FAISS.from_embeddings(
            list(zip(texts, vectors)),
            langchain_embeddings(LookupEmbedder(texts, vectors, None)),
            ids,
        )
    with Stopwatch() as lexical:
        bm25 = BM25Retriever.from_texts(texts, metadatas=ids, k=CANDIDATES)
    peak = rss_mb()
    store.save_local(str(folder / "faiss"))
    with open(folder / "bm25retriever.pkl", "wb") as handle:
        pickle.dump(bm25, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "faiss_build_s": round(dense.seconds, 2),
        "bm25_build_s": round(lexical.seconds, 2),
        "build_s": round(dense.seconds + lexical.seconds, 2),
        "rss_inputs_mb": inputs,
        **peak,
        "disk_mb": disk_mb(folder),
        "faiss_disk_mb": disk_mb(folder / "faiss"),
    }


def langchain_serve(
    n: int, folder: Path, queries: list[str], slow: list[str], rebuild_s: float | None
) -> dict[str, object]:
    """``slow``: the few queries for the BM25 and ensemble retrievers (rank-bm25 inside).
    ``rebuild_s``: the BM25Retriever build time, which is its cost of adding a document."""
    from langchain_classic.retrievers import EnsembleRetriever
    from langchain_community.vectorstores import FAISS

    model = load_minilm()
    embeddings = langchain_embeddings(model)
    before = rss_mb()["rss_now_mb"]
    with Stopwatch() as dense_open:
        store = FAISS.load_local(
            str(folder / "faiss"), embeddings, allow_dangerous_deserialization=True
        )
    with Stopwatch() as lexical_open, open(folder / "bm25retriever.pkl", "rb") as handle:
        bm25 = pickle.load(handle)
    dense = store.as_retriever(search_kwargs={"k": CANDIDATES})
    ensemble = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5])
    lat = {
        "dense_e2e": summary(timed(lambda q: store.similarity_search(q, k=10), queries)),
        "bm25_e2e": summary(timed(bm25.invoke, slow, warmup=1)),
        "hybrid_e2e": summary(timed(ensemble.invoke, slow, warmup=1)),
    }
    out: dict[str, object] = {
        "reopen_s": round(dense_open.seconds + lexical_open.seconds, 3),
        "faiss_reopen_s": round(dense_open.seconds, 3),
        "latency": lat,
        "rss_before_open_mb": before,
        **rss_mb(),
    }
    adds = []
    for i, text in enumerate(extra_passages(n)):
        with Stopwatch() as sw:
            store.add_texts([text], metadatas=[{"id": f"new{i}"}])
        adds.append(sw.seconds * 1000)
    out["faiss_add_one"] = summary(adds)
    if rebuild_s is not None and adds:
        out["add_one_ms"] = round(float(np.median(adds)) + rebuild_s * 1000, 1)
    return out


# -- txtai ----------------------------------------------------------------------------


def _txtai_embed(texts: list[str], vectors: np.ndarray, model: object) -> Callable:  # type: ignore[type-arg]
    return LookupEmbedder(texts, vectors, model).embed_documents  # type: ignore[arg-type]


def txtai_build(n: int, folder: Path) -> dict[str, object]:
    texts, vectors = scale_set(n)
    model = load_minilm()
    inputs = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw:
        index = txtai_embeddings(_txtai_embed(texts, vectors, model))
        index.index([(f"p{i}", t, None) for i, t in enumerate(texts)])
    peak = rss_mb()
    index.save(str(folder))
    return {
        "build_s": round(sw.seconds, 2),
        "rss_inputs_mb": inputs,
        **peak,
        "disk_mb": disk_mb(folder),
    }


def txtai_serve(n: int, folder: Path, queries: list[str]) -> dict[str, object]:
    from txtai import Embeddings

    model = load_minilm()

    def embed(texts: list[str]) -> np.ndarray:
        return model.embed_documents(texts)

    before = rss_mb()["rss_now_mb"]
    with Stopwatch() as sw:
        index = Embeddings().load(str(folder), config={"transform": embed})
    with Stopwatch() as first:
        index.search(queries[0], limit=10)
    lat = {"hybrid_e2e": summary(timed(lambda q: index.search(q, limit=10), queries))}
    out: dict[str, object] = {
        "open_s": round(sw.seconds, 3),
        "reopen_s": round(sw.seconds + first.seconds, 3),
        "latency": lat,
        "rss_before_open_mb": before,
        **rss_mb(),
    }
    adds = []
    for i, text in enumerate(extra_passages(n)):
        with Stopwatch() as add:
            index.upsert([(f"new{i}", text, None)])
        adds.append(add.seconds * 1000)
    out["add_one"] = summary(adds)
    return out
