"""Peers on srmkb's own passages, documents ranked by their best passage.

Embedding whole long documents with multilingual-e5 runs at 1–2 documents/s on two
cores; srmkb's passages (at most 100 words, :func:`srmkb.text.chunking.chunk_document`,
embedded as :attr:`srmkb.Passage.indexed_text`) are already in the embedding cache. So
the dense peers get exactly the text srmkb embeds, with the same model, and rank a
document by its best passage, as ``srmkb eval`` does:

* dense alone: exact inner product between the query vector and every passage vector
  (unit vectors, so cosine), nothing else: what a user of the model alone would get.
* txtai: ``Embeddings(hybrid=True, content=True)`` (``_peers.txtai_embeddings``, its
  defaults otherwise: its own BM25 over its own tokenizer, its default ANN index, score
  weights 0.5) over the passages, asked for :data:`TXTAI_PASSAGES` passages per query.
  Its ``external`` transform gets the model's query embedding for a query (e5's
  ``"query: "`` prefix, as txtai's ``instructions`` setting would add) and the cached
  passage embedding for a passage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from _peers import txtai_embeddings
from srmkb.evaluation import BeirSet
from srmkb.models import Embedder
from srmkb.text.chunking import chunk_document

DEPTH = 100  # documents ranked per query: enough for recall@100
# Passages txtai returns per query before they are collapsed to documents: about four
# passages per document on the LibreOffice sets, so 100 documents need some 400; txtai
# itself looks at ten times as many on each side of its hybrid search.
TXTAI_PASSAGES = 1000


class Passages:
    """The passages srmkb indexes for a set: their documents and embedded texts."""

    def __init__(self, data: BeirSet) -> None:
        self.doc_ids = [d.id for d in data.corpus]
        position = {d: i for i, d in enumerate(self.doc_ids)}
        self.texts: list[str] = []
        owners: list[int] = []
        for doc in data.corpus:
            for passage in chunk_document(doc, language=doc.language or "en"):
                self.texts.append(passage.indexed_text)
                owners.append(position[doc.id])
        self.owner = np.asarray(owners, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.texts)

    def documents(self, scores: np.ndarray, k: int = DEPTH) -> list[str]:
        """Documents by their best passage's score (passages not scored: -inf)."""
        best = np.full(len(self.doc_ids), -np.inf, dtype=np.float64)
        np.maximum.at(best, self.owner, scores)
        found = np.flatnonzero(best > -np.inf)
        order = found[np.argsort(-best[found], kind="stable")][:k]
        return [self.doc_ids[i] for i in order]


def dense_alone(data: BeirSet, passages: Passages, embedder: Embedder) -> dict[str, list[str]]:
    """Exact inner product over every passage; a document ranks by its best passage."""
    vectors = embedder.embed_documents(passages.texts)
    run = {}
    for qid, query in data.queries.items():
        run[qid] = passages.documents(vectors @ embedder.embed_query(query))
    return run


def txtai_hybrid(data: BeirSet, passages: Passages, embedder: Embedder) -> dict[str, list[str]]:
    """txtai's hybrid search over the passages; a document ranks by its best passage."""
    queries = set(data.queries.values())

    def embed(texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
        rows = [i for i, t in enumerate(texts) if t not in queries]
        if rows:
            out[rows] = embedder.embed_documents([texts[i] for i in rows])
        for i, text in enumerate(texts):
            if text in queries:
                out[i] = embedder.embed_query(text)
        return out

    index = txtai_embeddings(embed)
    index.index([(str(i), text, None) for i, text in enumerate(passages.texts)])
    limit = min(TXTAI_PASSAGES, len(passages))
    run = {}
    for qid, query in data.queries.items():
        scores = np.full(len(passages), -np.inf)
        for hit in index.search(query, limit=limit):
            scores[int(hit["id"])] = hit["score"]
        run[qid] = passages.documents(scores)
    index.close()
    return run
