"""The Haystack component: srmkb's adapter conformance, then what is Haystack's own
(pipelines, serialisation by path, per-run options, its filter syntax refused)."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys

import pytest

# Haystack reads this when it is imported: no usage telemetry from the test suite.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
pytest.importorskip("haystack", reason="the haystack extra is not installed")

from haystack import Document as HaystackDocument
from haystack import Pipeline

from srmkb import InputError, MissingDependencyError, StorageError
from srmkb.integrations.haystack import SrmkbRetriever

from ..integrations_conformance import Found, RetrieverConformance

TRUSTED = ["srmkb.integrations.haystack"]


def ids(result: dict) -> list[str]:
    return [d.meta["document_id"] for d in result["documents"]]


class TestHaystackRetriever(RetrieverConformance):
    def make(self, kb, **options):
        if "k" in options:
            options["top_k"] = options.pop("k")
        return SrmkbRetriever(kb, **options)

    def found(self, retriever, query):
        return [_found(d) for d in retriever.run(query)["documents"]]

    async def afound(self, retriever, query):
        return [_found(d) for d in (await retriever.run_async(query))["documents"]]

    def test_top_k_and_filters_per_run_replace_the_component_s(self, kb):
        retriever = SrmkbRetriever(kb, top_k=4, audience="agent", filters={"category": "billing"})
        assert ids(retriever.run("router", filters={"category": "troubleshooting"})) == ["reset"]
        assert len(retriever.run("router", top_k=1)["documents"]) == 1

    def test_a_pipeline_survives_serialisation(self, kb):
        pipeline = Pipeline()
        retriever = SrmkbRetriever(kb.path, top_k=3, mode="bm25", log=False)
        pipeline.add_component("retriever", retriever)
        query = {"retriever": {"query": "refund for the router"}}
        before = pipeline.run(query)
        text = pipeline.dumps()
        assert str(kb.path) in text and "KnowledgeBase" not in text
        loaded = Pipeline.loads(text, allowed_modules=TRUSTED)
        component = loaded.get_component("retriever")
        assert (component.top_k, component.mode, component.log) == (3, "bm25", False)
        assert loaded.run(query) == before
        assert ids(before["retriever"])[0] == "refund"

    def test_to_dict_stores_the_path_and_options(self, kb):
        data = SrmkbRetriever(kb, top_k=2, audience="agent", channel="agent-tool").to_dict()
        assert data == {
            "type": "srmkb.integrations.haystack.SrmkbRetriever",
            "init_parameters": {
                "kb": str(kb.path),
                "top_k": 2,
                "audience": "agent",
                "mode": "hybrid",
                "filters": None,
                "channel": "agent-tool",
                "log": True,
                "collapse": None,
            },
        }
        again = SrmkbRetriever.from_dict(data)
        assert again.kb.path == kb.path and again.audience == "agent" and again.top_k == 2
        collapsing = SrmkbRetriever(kb, collapse="document").to_dict()
        assert SrmkbRetriever.from_dict(collapsing).collapse == "document"

    def test_an_async_pipeline_gives_what_a_sync_one_gives(self, kb):
        pipeline = Pipeline()
        pipeline.add_component("retriever", SrmkbRetriever(kb, top_k=3, log=False))
        query = {"retriever": {"query": "reset the router"}}
        assert asyncio.run(pipeline.run_async(query)) == pipeline.run(query)

    def test_haystack_filter_syntax_is_refused_with_a_hint(self, kb):
        haystack_style = {"field": "meta.category", "operator": "==", "value": "billing"}
        with pytest.raises(InputError, match="srmkb's, not Haystack's"):
            SrmkbRetriever(kb).run("router", filters=haystack_style)


def _found(doc: HaystackDocument) -> Found:
    assert isinstance(doc, HaystackDocument)
    return Found(doc.id, doc.content, doc.meta, doc.score)


def test_a_missing_base_is_not_created(tmp_path):
    with pytest.raises(StorageError, match="nothing"):
        SrmkbRetriever(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_without_haystack_the_error_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "srmkb.integrations.haystack")
    monkeypatch.setitem(sys.modules, "haystack", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'srmkb\[haystack\]'"):
        importlib.import_module("srmkb.integrations.haystack")
