"""The LangChain retriever: LangChain's standard retriever tests and srmkb's adapter
conformance, then what is LangChain's own (per-call options, the missing extra)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

pytest.importorskip("langchain_core", reason="the langchain extra is not installed")
pytest.importorskip("langchain_tests", reason="langchain-tests is not installed")

from langchain_tests.integration_tests import RetrieversIntegrationTests

from srmkb import MissingDependencyError
from srmkb.integrations.langchain import SrmkbRetriever

from ..integrations_conformance import Found, RetrieverConformance


@pytest.fixture
def anyio_backend():
    return "asyncio"  # LangChain's async callbacks need asyncio's loop (not trio's)


@pytest.mark.anyio  # runs the suite's async test; anyio's plugin leaves the sync ones alone
class TestLangChainRetriever(RetrieverConformance, RetrieversIntegrationTests):
    """LangChain's own conformance suite (langchain-tests) and srmkb's."""

    @pytest.fixture(autouse=True)
    def _base(self, kb):
        self.kb = kb

    @property
    def retriever_constructor(self) -> type[SrmkbRetriever]:
        return SrmkbRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"kb": self.kb, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "router refund"

    def make(self, kb, **options):
        return SrmkbRetriever(kb, **options)

    def found(self, retriever, query):
        return [_found(d) for d in retriever.invoke(query)]

    async def afound(self, retriever, query):
        return [_found(d) for d in await retriever.ainvoke(query)]

    def test_k_and_filters_per_call(self, kb):
        retriever = SrmkbRetriever(kb, k=4, audience="agent", filters={"category": "billing"})
        per_call = retriever.invoke("router", k=1, filters={"category": "troubleshooting"})
        assert [d.metadata["document_id"] for d in per_call] == ["reset"]
        assert len(retriever.invoke("router")) == 2

    def test_a_bad_filter_is_a_clear_error(self, kb):
        with pytest.raises(ValueError, match="filter"):
            SrmkbRetriever(kb).invoke("router", filters={"updated_at": {"around": "2026"}})


def _found(doc) -> Found:
    assert doc.id == doc.metadata["passage_id"]
    return Found(doc.id, doc.page_content, doc.metadata, doc.metadata["score"])


def test_the_base_must_be_a_knowledge_base():
    with pytest.raises(ValueError, match="KnowledgeBase"):
        SrmkbRetriever(kb="build/kb")


def test_without_langchain_the_error_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "srmkb.integrations.langchain")
    monkeypatch.setitem(sys.modules, "langchain_core.retrievers", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srmkb\[langchain\]'"):
        importlib.import_module("srmkb.integrations.langchain")


def test_importing_srmkb_and_its_integrations_loads_no_framework():
    frameworks = ("langchain_core", "llama_index", "haystack", "mcp")
    code = (
        "import sys, srmkb, srmkb.integrations; "
        f"print([m for m in {frameworks!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
