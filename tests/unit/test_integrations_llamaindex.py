"""The LlamaIndex retriever: srmkb's adapter conformance, then nodes as LlamaIndex
reads them."""

from __future__ import annotations

import importlib
import sys

import pytest

pytest.importorskip("llama_index.core", reason="the llamaindex extra is not installed")

from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode

from srmkb import MissingDependencyError
from srmkb.integrations.llamaindex import SrmkbRetriever

from ..integrations_conformance import Found, RetrieverConformance


class TestLlamaIndexRetriever(RetrieverConformance):
    def make(self, kb, **options):
        return SrmkbRetriever(kb, **options)

    def found(self, retriever, query):
        return [_found(n) for n in retriever.retrieve(query)]

    async def afound(self, retriever, query):
        return [_found(n) for n in await retriever.aretrieve(query)]

    def test_a_node_s_source_is_its_document(self, kb):
        (found, *_) = SrmkbRetriever(kb).retrieve("change the wifi password")
        assert isinstance(found, NodeWithScore) and isinstance(found.node, TextNode)
        assert found.node.ref_doc_id == "wifi"

    def test_an_llm_reads_the_source_but_not_the_bookkeeping(self, kb):
        (found,) = SrmkbRetriever(kb, k=1).retrieve("change the wifi password")
        shown = found.node.get_content(metadata_mode=MetadataMode.LLM)
        assert "Change the Wi-Fi password" in shown and "https://help.example/wifi" in shown
        assert "interaction_id" not in shown and "scores" not in shown and "wifi#0" not in shown
        assert "page" not in shown  # none is set: not shown as "page: None"


def _found(found: NodeWithScore) -> Found:
    node = found.node
    return Found(node.node_id, node.get_content(), node.metadata, found.score)


def test_the_base_must_be_a_knowledge_base():
    with pytest.raises(TypeError, match="KnowledgeBase"):
        SrmkbRetriever("build/kb")  # type: ignore[arg-type]


def test_without_llamaindex_the_error_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "srmkb.integrations.llamaindex")
    monkeypatch.setitem(sys.modules, "llama_index.core.retrievers", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srmkb\[llamaindex\]'"):
        importlib.import_module("srmkb.integrations.llamaindex")
