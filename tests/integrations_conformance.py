"""Conformance tests every framework retriever of srmkb passes (subclass, give ``make``,
``found`` and ``afound``).

class TestMyRetriever(RetrieverConformance):
    def make(self, kb, **options): return MyRetriever(kb, **options)
    def found(self, retriever, query): return [Found(...) for each item it returns]
    async def afound(self, retriever, query): ...

``options`` are srmkb's: ``k``, ``audience``, ``filters``, ``mode``, ``channel``, ``log``,
``collapse``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

from srmkb import Document, KnowledgeBase, Section

MESH = Document(  # three passages, one per section
    id="mesh",
    title="Mesh satellites",
    sections=(
        Section("Place each mesh satellite halfway to the dead zone.", ("Placement",)),
        Section("Pair a mesh satellite with its pair button.", ("Pairing",)),
        Section("A mesh satellite blinking amber has a weak link.", ("Lights",)),
    ),
    metadata={"category": "network"},
)

DOCS = [
    Document(
        id="wifi",
        title="Change the Wi-Fi password",
        text="Open Network, then Wi-Fi settings, edit the router password and save.",
        url="https://help.example/wifi",
        metadata={"category": "network"},
    ),
    Document(
        id="refund",
        title="Refunds",
        text="Return the router within 30 days for a full refund.",
        metadata={"category": "billing"},
    ),
    Document(
        id="reset",
        title="Factory reset",
        text="Hold the reset button on the router for ten seconds until the light blinks.",
        metadata={"category": "troubleshooting"},
    ),
    Document(
        id="secret",
        title="Refund exceptions",
        text="Team leads may approve a router refund after 30 days.",
        visibility="internal",
        metadata={"category": "billing"},
    ),
    MESH,
]
INTERNAL = "Team leads may approve a router refund after 30 days"


@dataclass(frozen=True)
class Found:
    """One item a framework retriever returned, as the tests compare it."""

    id: str
    text: str
    metadata: Mapping[str, object]
    score: float | None


class RetrieverConformance:
    @pytest.fixture(scope="class")
    @classmethod
    def kb(cls, tmp_path_factory):
        base = KnowledgeBase(tmp_path_factory.mktemp("adapter") / "kb", model="hashing")
        base.upsert(DOCS)
        yield base
        base.close()

    def make(self, kb: KnowledgeBase, **options: object) -> object:  # pragma: no cover
        raise NotImplementedError

    def found(self, retriever: object, query: str) -> list[Found]:  # pragma: no cover
        raise NotImplementedError

    async def afound(self, retriever: object, query: str) -> list[Found]:  # pragma: no cover
        raise NotImplementedError

    def documents(self, retriever: object, query: str) -> set[object]:
        return {item.metadata["document_id"] for item in self.found(retriever, query)}

    def test_items_are_whole_passages_with_their_provenance(self, kb):
        items = self.found(self.make(kb, k=3), "change the wifi password")
        assert len(items) == 3
        first = items[0]
        assert first.id == first.metadata["passage_id"] == "wifi#0"
        assert first.text == kb.passage_text("wifi#0")
        meta = first.metadata
        assert (meta["document_id"], meta["title"]) == ("wifi", "Change the Wi-Fi password")
        assert (meta["url"], meta["version"], meta["language"]) == (
            "https://help.example/wifi",
            1,
            "en",
        )
        assert meta["category"] == "network" and set(meta["scores"]) == {"bm25", "dense"}

    def test_best_first_with_the_fused_score(self, kb):
        items = self.found(self.make(kb, k=4), "router refund")
        assert [i.score for i in items] == [i.metadata["score"] for i in items]
        assert [i.score for i in items] == sorted((i.score for i in items), reverse=True)

    def test_the_audience_decides_what_is_seen(self, kb):
        assert "secret" not in self.documents(self.make(kb, k=4), INTERNAL)
        (first, *_) = self.found(self.make(kb, k=4, audience="agent"), INTERNAL)
        assert first.metadata["document_id"] == "secret"
        assert first.metadata["visibility"] == "internal"

    def test_filters_apply_before_the_top_k(self, kb):
        billing = self.make(kb, k=4, audience="agent", filters={"category": "billing"})
        assert self.documents(billing, "router") == {"refund", "secret"}

    def test_bm25_mode_scores_with_bm25_only(self, kb):
        (first, *_) = self.found(self.make(kb, mode="bm25"), "factory reset")
        assert first.metadata["document_id"] == "reset"
        assert set(first.metadata["scores"]) == {"bm25"}

    def test_async_gives_what_sync_gives(self, kb):
        retriever = self.make(kb, k=3, log=False)
        sync = self.found(retriever, "reset the router")
        assert asyncio.run(self.afound(retriever, "reset the router")) == sync

    def test_searches_are_logged_under_the_configured_channel(self, kb):
        before = len(kb.audit.interactions())
        items = self.found(self.make(kb, channel="agent-tool"), "router refund")
        logged = kb.audit.interactions()
        assert len(logged) == before + 1
        assert (logged[-1].kind, logged[-1].channel) == ("search", "agent-tool")
        assert logged[-1].id == items[0].metadata["interaction_id"]
        self.found(self.make(kb, log=False), "router refund")
        assert len(kb.audit.interactions()) == before + 1

    def test_collapse_gives_each_document_once_by_its_best_passage(self, kb):
        passages = self.found(self.make(kb, k=3), "mesh satellite")
        assert [i.metadata["document_id"] for i in passages] == ["mesh"] * 3
        found = self.found(self.make(kb, k=3, collapse="document"), "mesh satellite")
        documents = [i.metadata["document_id"] for i in found]
        assert documents[0] == "mesh" and len(set(documents)) == len(documents) == 3
        assert found[0].id == passages[0].id  # the document's best passage

    @pytest.mark.parametrize(
        ("options", "field"),
        [
            ({"k": 0}, "k"),
            ({"audience": "admin"}, "audience"),
            ({"mode": "fuzzy"}, "mode"),
            ({"collapse": "section"}, "collapse"),
        ],
    )
    def test_bad_options_are_refused_when_built(self, kb, options, field):
        with pytest.raises(ValueError, match=field):
            self.make(kb, **options)
