"""The local index passes the Index conformance suite, dense and BM25-only."""

from __future__ import annotations

import pytest

from srmkb import HashingEmbedder, InputError
from srmkb.index import IndexReader, LocalWriter, ModelFacts, Query
from srmkb.index.lexical import BM25Params
from srmkb.storage.catalog import Catalog

from ..index_conformance import DOCS, Backend, IndexConformance


def _local(path, embedder=None) -> Backend:
    (path / "segments").mkdir(parents=True)
    catalog = Catalog(path / "catalog.sqlite", create=True)
    embed = (lambda: embedder.embed_documents) if embedder else None
    reader = IndexReader(
        path,
        catalog,
        params=BM25Params(),
        dense_factory="Flat" if embedder else None,
        max_words=100,
        model=ModelFacts,
        embed=embed or (lambda: None),  # type: ignore[arg-type, return-value]
    )
    writer = LocalWriter(
        reader, dense_factory="Flat", max_words=100, embed=embed, committed=lambda: None
    )
    embed_query = embedder.embed_query if embedder else None
    return Backend(reader.current, writer, lambda text: Query(text, embed_query))


class TestLocalIndex(IndexConformance):
    @pytest.fixture
    def factory(self):
        return lambda folder: _local(folder, HashingEmbedder())


def test_a_bm25_only_index_says_how_to_search_it(tmp_path):
    backend = _local(tmp_path / "kb")
    backend.writer.upsert(DOCS)
    index = backend.current()
    assert index.search(backend.query("reset router"), 3, mode="bm25").document_ids[0] in {
        "reset",
        "legacy",
    }
    with pytest.raises(Exception, match="mode='bm25'"):
        index.search(backend.query("reset router"), 3, mode="hybrid")


def test_a_version_of_another_process_is_picked_up(tmp_path):
    first = _local(tmp_path / "kb", HashingEmbedder())
    first.writer.upsert(DOCS[:2])
    catalog = Catalog(tmp_path / "kb" / "catalog.sqlite")
    other = IndexReader(
        tmp_path / "kb",
        catalog,
        params=BM25Params(),
        dense_factory="Flat",
        max_words=100,
        model=ModelFacts,
        embed=lambda: HashingEmbedder().embed_documents,
    )
    seen = other.current().generation
    first.writer.upsert(DOCS[2:])
    assert other.current().generation > seen
    assert len(other.current()) == len(first.current())
    with pytest.raises(InputError):
        other.current().search(first.query("router"), 0)
