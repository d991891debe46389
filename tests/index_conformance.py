"""Conformance tests every :class:`srmkb.index.Index` implementation must pass.

Subclass :class:`IndexConformance` and provide the ``factory`` fixture: a function of a
folder that makes a new, empty :class:`Backend` there, whose ``current()`` gives the latest
committed version, ``writer`` writes, and ``query(text)`` builds a
:class:`~srmkb.index.Query` with the embedder the index was built with::

    class TestMyIndex(IndexConformance):
        @pytest.fixture
        def factory(self): return lambda folder: Backend(current=..., writer=..., query=...)
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from srmkb import Document, InputError
from srmkb.index import Index, IndexWriter, Query, Ranking

DOCS = [
    Document(id="reset", title="Reset the router", text="Hold the reset button for ten seconds."),
    Document(id="wifi", title="Change the Wi-Fi password", text="Open settings, then Wi-Fi."),
    Document(id="refund", title="Refund policy", text="Refunds are paid within 30 days."),
    Document(
        id="escalate",
        title="Refund exceptions",
        text="Agents may refund after 30 days for a defective router.",
        visibility="internal",
    ),
    Document(
        id="legacy",
        title="Legacy router reset",
        text="The old router resets with a paper clip.",
        metadata={"product": "legacy"},
    ),
]


@dataclass
class Backend:
    current: Callable[[], Index]
    writer: IndexWriter
    query: Callable[[str], Query]


class IndexConformance:
    @pytest.fixture
    def factory(self) -> Callable[[Path], Backend]:  # pragma: no cover - from subclasses
        raise NotImplementedError

    @pytest.fixture
    def backend(self, factory, tmp_path) -> Backend:
        return factory(tmp_path / "index")

    @pytest.fixture
    def filled(self, backend: Backend) -> Backend:
        backend.writer.upsert(DOCS)
        return backend

    def test_implements_the_protocols(self, filled: Backend):
        assert isinstance(filled.current(), Index)
        assert isinstance(filled.writer, IndexWriter)

    @pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
    def test_ranks_best_first_within_k(self, filled: Backend, mode):
        ranking = filled.current().search(filled.query("reset the router"), 3, mode=mode)
        assert isinstance(ranking, Ranking)
        assert 0 < len(ranking) <= 3
        assert len(ranking.document_ids) == len(ranking.scores) == len(ranking)
        assert np.all(np.diff(ranking.scores) <= 1e-6)
        assert len(set(ranking.passage_ids.tolist())) == len(ranking)
        for part in ranking.parts.values():
            assert len(part) == len(ranking)
        if mode == "bm25":
            assert ranking.document_ids[0] in {"reset", "legacy"}

    @pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
    def test_customers_never_see_internal_passages(self, filled: Backend, mode):
        index = filled.current()
        query = filled.query("refund after 30 days defective")
        customer = index.search(query, 10, mode=mode, audience="customer")
        assert "escalate" not in customer.document_ids.tolist()
        records = index.passages(customer.passage_ids.tolist())
        assert all(r.visibility == "public" for r in records.values())
        agent = index.search(query, 10, mode=mode, audience="agent")
        assert "escalate" in agent.document_ids.tolist()

    def test_filters_apply_before_the_top_k(self, filled: Backend):
        index = filled.current()
        query = filled.query("reset the router")
        only = index.search(query, 1, mode="bm25", filters={"product": "legacy"})
        assert only.document_ids.tolist() == ["legacy"]
        none = index.search(query, 5, mode="hybrid", filters={"product": "none-such"})
        assert len(none) == 0

    def test_passages_are_the_records_of_the_ranked_version(self, filled: Backend):
        index = filled.current()
        ranking = index.search(filled.query("refund policy"), 5, mode="hybrid")
        records = index.passages(ranking.passage_ids.tolist())
        assert set(records) == set(ranking.passage_ids.tolist())
        for pid, doc in zip(ranking.passage_ids.tolist(), ranking.document_ids.tolist()):
            assert records[pid].document_id == doc and records[pid].id == pid
        assert index.passages(["no-such-passage#0"]) == {}
        reading = index.document_passages("reset")
        assert reading and all(p.document_id == "reset" for p in reading)

    def test_an_old_version_never_returns_new_text(self, filled: Backend):
        old = filled.current()
        ranking = old.search(filled.query("refunds paid"), 5, mode="bm25")
        pids = ranking.passage_ids.tolist()
        generation = old.generation
        filled.writer.upsert(
            [Document(id="refund", title="Refund policy", text="Refunds take 14 days now.")]
        )
        new = filled.current()
        assert new.generation > generation
        for record in old.passages(pids).values():  # left out, or the old text: never new
            assert "14 days" not in record.text
        hit = new.search(filled.query("refunds 14 days"), 1, mode="bm25")
        assert "14 days" in new.passages(hit.passage_ids.tolist())[hit.passage_ids[0]].text

    def test_at_shows_the_past(self, filled: Backend):
        before = time.time()
        time.sleep(0.02)
        filled.writer.upsert(
            [Document(id="refund", title="Refund policy", text="Refunds take 14 days now.")]
        )
        past = filled.current().at(before)
        assert past.as_of == pytest.approx(before)
        ranking = past.search(filled.query("refunds paid within"), 3, mode="bm25")
        assert ranking.document_ids[0] == "refund"
        text = past.passages(ranking.passage_ids[:1].tolist())[ranking.passage_ids[0]].text
        assert "30 days" in text

    def test_delete_takes_a_document_out_of_the_next_version(self, filled: Backend):
        report = filled.writer.delete(["wifi"])
        assert report.deleted == ("wifi",)
        ranking = filled.current().search(filled.query("wi-fi password"), 5, mode="hybrid")
        assert "wifi" not in ranking.document_ids.tolist()
        assert filled.current().document_passages("wifi") == []

    def test_optimize_keeps_the_ranking(self, filled: Backend):
        query = filled.query("reset the router")
        before = filled.current().search(query, 5, mode="hybrid")
        filled.writer.optimize()
        after = filled.current().search(query, 5, mode="hybrid")
        assert after.passage_ids.tolist() == before.passage_ids.tolist()
        np.testing.assert_allclose(after.scores, before.scores, rtol=1e-5)

    def test_bad_arguments_are_clear_errors(self, filled: Backend):
        index = filled.current()
        query = filled.query("router")
        for bad in (0, -1, 1.5, True):
            with pytest.raises(InputError):
                index.search(query, bad)
        with pytest.raises(InputError):
            index.search(query, 5, mode="fuzzy")  # type: ignore[arg-type]
        with pytest.raises(InputError):
            index.search(query, 5, audience="admin")  # type: ignore[arg-type]

    def test_an_empty_query_ranks_nothing(self, filled: Backend):
        assert len(filled.current().search(filled.query("   "), 5)) == 0

    def test_parts_with_summed_statistics_score_as_the_whole(self, factory, tmp_path):
        """A collection split in two: each part ranking with the sum of both parts'
        statistics gives every passage the BM25 score the whole collection gives it."""
        whole = factory(tmp_path / "whole")
        parts = [factory(tmp_path / "a"), factory(tmp_path / "b")]
        docs = [*DOCS, *_more_documents()]
        whole.writer.upsert(docs)
        for i, part in enumerate(parts):
            part.writer.upsert([d for d in docs if zlib.crc32(d.id.encode()) % 2 == i])
        for text in ("reset the router", "refund 30 days", "réinitialiser le routeur wifi"):
            query = whole.query(text)
            expected = _scores(whole.current().search(query, 100, mode="bm25", audience="agent"))
            versions = [part.current() for part in parts]
            total = versions[0].statistics(query) + versions[1].statistics(query)
            found: dict[str, float] = {}
            for version in versions:
                ranking = version.search(
                    query, 100, mode="bm25", audience="agent", statistics=total
                )
                found.update(_scores(ranking))
            assert found.keys() == expected.keys(), text
            for pid, score in expected.items():
                assert found[pid] == pytest.approx(score, rel=1e-5, abs=1e-6), (text, pid)


def _scores(ranking: Ranking) -> dict[str, float]:
    return dict(zip(ranking.passage_ids.tolist(), ranking.scores.tolist()))


def _more_documents() -> list[Document]:
    """Documents of several passages, in English and French."""
    steps = " ".join(f"Step {i}: check cable {i} and the router light." for i in range(40))
    etapes = " ".join(
        f"Étape {i} : vérifiez le câble {i} et le voyant du routeur." for i in range(40)
    )
    return [
        Document(id="manual", title="Router manual", text=steps),
        Document(id="manuel", title="Manuel du routeur", text=etapes, language="fr"),
        Document(
            id="wifi-fr", title="Mot de passe wifi", text="Ouvrez les réglages wifi.", language="fr"
        ),
        Document(
            id="reset-fr",
            title="Réinitialiser le routeur",
            text="Maintenez le bouton.",
            language="fr",
        ),
    ]
