"""asearch, aanswer and aingest: the same calls for asyncio code, run in worker threads."""

import asyncio
import inspect
import threading
from pathlib import Path

import pytest

from srmkb import FilterError, HashingEmbedder, KnowledgeBase

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "nimbus"
QUESTIONS = [
    "my router light is blinking red",
    "hold the reset button with a paper clip",
    "can I return the device for a refund",
    "set up a guest network",
]


class ThreadRecordingEmbedder(HashingEmbedder):
    """Hashing vectors, remembering the threads that embedded queries."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def embed_query(self, text):
        self.threads.add(threading.get_ident())
        return super().embed_query(text)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("async") / "kb", model=ThreadRecordingEmbedder())
    base.ingest(EXAMPLES)
    yield base
    base.close()


def _hits(results):
    return [(h.passage_id, round(h.score, 6)) for h in results]


def test_concurrent_calls_match_the_sync_ones_and_leave_the_loop_free(kb):
    expected_hits = [_hits(kb.search(q, k=5, log=False)) for q in QUESTIONS]
    expected_answers = [kb.answer(q, channel="voice", log=False) for q in QUESTIONS]
    kb.embedder.threads.clear()

    async def main():
        loop_thread = threading.get_ident()
        searches = [kb.asearch(q, k=5, log=False) for q in QUESTIONS]
        answers = [kb.aanswer(q, channel="voice", log=False) for q in QUESTIONS]
        results = await asyncio.gather(*searches, *answers)
        return loop_thread, results

    loop_thread, results = asyncio.run(main())
    hits, answers = results[: len(QUESTIONS)], results[len(QUESTIONS) :]
    assert [_hits(r) for r in hits] == expected_hits
    for got, want in zip(answers, expected_answers):
        assert (got.document_id, got.text, got.confidence) == (
            want.document_id,
            want.text,
            want.confidence,
        )
    assert kb.embedder.threads and loop_thread not in kb.embedder.threads


def test_async_calls_are_logged_and_raise_as_the_sync_ones(kb):
    async def main():
        found = await kb.asearch("guest network", k=2)
        with pytest.raises(FilterError):
            await kb.asearch("guest network", filters={"no-such-field": 1})
        return found

    found = asyncio.run(main())
    assert found.interaction_id and kb.audit.get(found.interaction_id).kind == "search"


def test_async_methods_have_the_sync_signatures():
    for name in ("search", "answer", "ingest"):
        sync, awaited = getattr(KnowledgeBase, name), getattr(KnowledgeBase, f"a{name}")
        assert inspect.iscoroutinefunction(awaited)
        assert inspect.signature(awaited) == inspect.signature(sync)
        assert awaited.__doc__ and sync.__doc__ in awaited.__doc__


def test_aingest_reports_what_ingest_does(tmp_path):
    one = KnowledgeBase(tmp_path / "one", model=HashingEmbedder())
    two = KnowledgeBase(tmp_path / "two", model=HashingEmbedder())
    expected = one.ingest(EXAMPLES)
    report = asyncio.run(two.aingest(EXAMPLES))
    assert report == expected and len(two) == 28
    one.close()
    two.close()
