"""The peers, each behind one small interface: build on (ids, texts, vectors), search.

Every peer gets the same texts as srmkb and MiniLM vectors from the same model
(through :mod:`_vectors`), and is configured as its documentation's example does:

* rank-bm25: ``BM25Okapi`` (k1 = 1.5, b = 0.75) over lower-cased ``\\w+`` tokens.
* bm25s: as its quickstart, ``bm25s.tokenize`` with PyStemmer's Snowball stemmer and
  the stop words of the corpus language, ``BM25()`` (Lucene variant, k1 = 1.5, b = 0.75).
* LangChain: ``BM25Retriever`` (whitespace tokens, its default) and a ``FAISS`` vector
  store (exact L2 over unit vectors, its default) combined by ``EnsembleRetriever``
  with its default equal weights (reciprocal-rank fusion, c = 60).
* txtai: ``Embeddings(hybrid=True, content=True)`` with MiniLM vectors passed in through
  its ``external`` vector method (the same vectors srmkb gets).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from srmkb.models import Embedder

_WORD = re.compile(r"\w+")
# LangChain's community package warns on import that it is being sunset; it is still
# where BM25Retriever and the FAISS store live in LangChain 1.x.
warnings.filterwarnings("ignore", message=".*langchain-community.*")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="langchain.*")


class Retriever(Protocol):
    """What the quality suite needs from a system: ids of the best documents."""

    name: str

    def search(self, query: str, k: int) -> list[str]: ...


def okapi_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class RankBM25:
    name = "rank-bm25"

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        from rank_bm25 import BM25Okapi

        self.ids = list(ids)
        self.index = BM25Okapi([okapi_tokens(t) for t in texts])

    def search(self, query: str, k: int) -> list[str]:
        scores = self.index.get_scores(okapi_tokens(query))
        return [self.ids[i] for i in _top(scores, k)]


# PyStemmer's name of each corpus language bm25s is given (its stop-word codes).
STEMMERS = {"en": "english", "fr": "french"}


class Bm25s:
    """bm25s as its quickstart sets it up: stemmer and stop words of the corpus language."""

    name = "bm25s"

    def __init__(self, ids: Sequence[str], texts: Sequence[str], language: str = "en") -> None:
        import bm25s
        import Stemmer

        self.ids = list(ids)
        self.stopwords = language
        self.stemmer = Stemmer.Stemmer(STEMMERS[language])
        self.index = bm25s.BM25()
        self.index.index(
            bm25s.tokenize(
                list(texts), stopwords=language, stemmer=self.stemmer, show_progress=False
            ),
            show_progress=False,
        )

    def search(self, query: str, k: int) -> list[str]:
        import bm25s

        tokens = bm25s.tokenize(
            [query],
            stopwords=self.stopwords,
            stemmer=self.stemmer,
            show_progress=False,
            return_ids=False,
        )
        k = min(k, len(self.ids))
        docs, _ = self.index.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [self.ids[i] for i in docs[0]]


def langchain_embeddings(embedder: Embedder):  # type: ignore[no-untyped-def]
    """A LangChain ``Embeddings`` that embeds with an srmkb embedder (the same model)."""
    from langchain_core.embeddings import Embeddings

    class MiniLMEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts).tolist()

        def embed_query(self, text: str) -> list[float]:
            return embedder.embed_query(text).tolist()

    return MiniLMEmbeddings()


def langchain_bm25(ids: Sequence[str], texts: Sequence[str], k: int):  # type: ignore[no-untyped-def]
    from langchain_community.retrievers import BM25Retriever

    return BM25Retriever.from_texts(list(texts), metadatas=[{"id": i} for i in ids], k=k)


def langchain_faiss(
    ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray, embedder: Embedder
):  # type: ignore[no-untyped-def]
    from langchain_community.vectorstores import FAISS

    return FAISS.from_embeddings(
        list(zip(texts, vectors)),
        langchain_embeddings(embedder),
        metadatas=[{"id": i} for i in ids],
    )


class LangChainDense:
    name = "LangChain FAISS"

    def __init__(
        self, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray, embedder: Embedder
    ) -> None:
        self.store = langchain_faiss(ids, texts, vectors, embedder)

    def search(self, query: str, k: int) -> list[str]:
        return [d.metadata["id"] for d in self.store.similarity_search(query, k=k)]


class LangChainEnsemble:
    """BM25Retriever + FAISS retriever fused by EnsembleRetriever, default weights."""

    name = "LangChain ensemble"

    def __init__(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        vectors: np.ndarray,
        embedder: Embedder,
        k: int = 100,
        store=None,  # type: ignore[no-untyped-def]
    ) -> None:
        from langchain_classic.retrievers import EnsembleRetriever

        self.k = k
        self.bm25 = langchain_bm25(ids, texts, k)
        self.store = store or langchain_faiss(ids, texts, vectors, embedder)
        self.dense = self.store.as_retriever(search_kwargs={"k": k})
        self.ensemble = EnsembleRetriever(retrievers=[self.bm25, self.dense], weights=[0.5, 0.5])

    def search(self, query: str, k: int) -> list[str]:
        if k > self.k:
            raise ValueError(f"built for k <= {self.k}")
        return [d.metadata["id"] for d in self.ensemble.invoke(query)][:k]


def txtai_embeddings(embed: Callable[[list[str]], np.ndarray]):  # type: ignore[no-untyped-def]
    """A txtai hybrid ``Embeddings`` whose vectors come from ``embed`` (MiniLM)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from txtai import Embeddings

    def transform(texts: list[str]) -> np.ndarray:
        return embed(list(texts))

    return Embeddings(method="external", transform=transform, hybrid=True, content=True)


class Txtai:
    name = "txtai hybrid"

    def __init__(
        self, ids: Sequence[str], texts: Sequence[str], embed: Callable[[list[str]], np.ndarray]
    ) -> None:
        self.index = txtai_embeddings(embed)
        self.index.index([(i, t, None) for i, t in zip(ids, texts)])

    def search(self, query: str, k: int) -> list[str]:
        return [str(r["id"]) for r in self.index.search(query, limit=k)]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    return part[np.argsort(-scores[part], kind="stable")]
