"""A base sharded over Ray actors: the same ranking as one base, and no partial result
when a shard's actor dies (issue #23).

One local Ray instance (two CPUs, no dashboard, no usage reporting) serves the module.
"""

import itertools
import os
import threading
import time
from dataclasses import replace

import pytest

from srmkb import KnowledgeBase
from srmkb.cluster import ShardedKnowledgeBase, ShardUnavailableError
from srmkb.evaluation import load_beir

from ..cluster_checks import assert_same_answer, assert_same_hits
from ..conftest import shared_path

ray = pytest.importorskip("ray", reason="the Ray tests need pip install 'srmkb[ray]'")

MODES = ["bm25", "dense", "hybrid"]


@pytest.fixture(scope="module")
def cluster():
    os.environ["RAY_DISABLE_USAGE_STATS"] = "1"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def bases(cluster, tmp_path_factory):
    data = load_beir(shared_path("data", "beir", "scifact"))
    docs = [
        replace(
            d, metadata={"group": "ab"[i % 2]}, visibility="internal" if i % 9 == 4 else "public"
        )
        for i, d in enumerate(itertools.islice(data.corpus, 400))
    ]
    folder = tmp_path_factory.mktemp("ray")
    single = KnowledgeBase(folder / "single", model="hashing", log_interactions=False)
    single.upsert(docs)
    sharded = ShardedKnowledgeBase(folder / "sharded", shards=3, cluster="local", model="hashing")
    sharded.upsert(docs)
    yield single, sharded, list(data.queries.values())[:12]
    single.close()
    sharded.close()


def test_ray_shards_rank_and_answer_as_one_base(bases):
    single, sharded, queries = bases
    assert len(sharded.actors) == 3
    for query in queries:
        for mode in MODES:
            expected = single.search(query, 10, mode=mode, log=False)
            assert_same_hits(expected, sharded.search(query, 10, mode=mode), (mode, query))
    for question in queries[:4]:
        expected = single.answer(question, log=False)
        assert_same_answer(expected, sharded.answer(question), question)


def test_ray_shards_filter_and_show_the_past_as_one_base(bases):
    single, sharded, queries = bases
    settings = {"audience": "agent", "filters": {"group": "a"}}
    for query in queries[:4]:
        for mode in MODES:
            expected = single.search(query, 10, mode=mode, log=False, **settings)
            found = sharded.search(query, 10, mode=mode, **settings)
            assert_same_hits(expected, found, (mode, query))
    before = time.time()
    time.sleep(0.05)
    changed = [
        replace(d, text="Replaced: " + d.text[:200]) for d in _top_documents(single, queries)
    ]
    for base in (single, sharded):
        base.upsert(changed)
    for query in queries[:4]:
        expected = single.search(query, 10, as_of=before, log=False)
        assert_same_hits(expected, sharded.search(query, 10, as_of=before), ("as_of", query))
        assert_same_hits(single.search(query, 10, log=False), sharded.search(query, 10), query)


def _top_documents(kb, queries):
    ids = dict.fromkeys(h.document_id for q in queries[:4] for h in kb.search(q, 3, log=False))
    return [kb.get(d) for d in ids]


def test_a_shard_killed_mid_queries_gives_full_results_or_a_clear_error(bases, caplog):
    single, sharded, queries = bases
    expected = {q: single.search(q, 10, log=False) for q in queries}
    results, errors = [], []
    stop = threading.Event()

    def ask():
        for query in itertools.cycle(queries):
            if stop.is_set():
                return
            try:
                results.append((query, sharded.search(query, 10)))
            except ShardUnavailableError as exc:
                errors.append(exc)

    worker = threading.Thread(target=ask)
    worker.start()
    _wait(lambda: len(results) >= 5)
    assert worker.is_alive()
    killed_at = len(results) + len(errors)
    ray.kill(sharded.actors[1], no_restart=False)  # Ray restarts it; it reopens its shard
    _wait(lambda: len(results) + len(errors) >= killed_at + 10)
    stop.set()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(results) > killed_at  # answered again once the shard came back
    for query, found in results:  # never a partial ranking: each is the whole base's
        assert_same_hits(expected[query], found, query)
    for exc in errors:
        assert "did not answer" in str(exc) or "lost the version" in str(exc)


def _wait(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_shard_gone_for_good_is_a_clear_error(bases):
    _, sharded, queries = bases
    with ShardedKnowledgeBase(sharded.path, cluster="local") as other:
        ray.kill(other.actors[2], no_restart=True)
        with pytest.raises(ShardUnavailableError, match="shard-002"):
            other.search(queries[0], 10)


def test_a_shard_killed_mid_ingest_loses_nothing_committed(bases, tmp_path):
    single, _, queries = bases
    docs = [single.get(d) for d in sorted(single.catalog.document_ids())]
    kb = KnowledgeBase(tmp_path / "ingest", shards=2, cluster="local", model="hashing")
    done, outcome = [], []

    def ingest():
        try:
            outcome.append(kb.upsert(docs, batch_size=5, progress=done.append))
        except ShardUnavailableError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=ingest)
    worker.start()
    _wait(lambda: sum(done) >= 100 or outcome)
    committed = sum(done)
    assert not outcome, "the ingest ended before the kill"
    ray.kill(kb.actors[0], no_restart=False)  # Ray restarts it from its folder
    worker.join(timeout=120)
    assert outcome and not worker.is_alive()
    if isinstance(outcome[0], ShardUnavailableError):  # the round it was writing failed
        assert "did not answer upsert" in str(outcome[0])
    assert len(kb) >= committed  # every round reported done is still there (asked again
    # while the killed shard restarts)
    again = kb.upsert(docs)  # running it again finishes the rest, embedding only that
    assert len(kb) == len(docs) and len(again.added) <= len(docs) - committed
    for query in queries[:4]:  # the same documents (as first versions here) rank alike
        expected = single.search(query, 10, log=False)
        found = kb.search(query, 10)
        assert [(h.passage_id, h.text) for h in found] == [(h.passage_id, h.text) for h in expected]
        assert [h.score for h in found] == pytest.approx([h.score for h in expected], abs=1e-6)
    kb.close()
