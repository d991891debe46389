"""A sharded base against one process at 100k and 1M passages (issue #23, "Measure it").

    python benchmarks/cluster_scale.py [--sizes 100000 1000000] [--shards 1 2 4]
                                       [--queries 300] [--skip-ingest]

For each size, one ordinary :class:`srmkb.KnowledgeBase` (the single process) and a
:class:`srmkb.cluster.ShardedKnowledgeBase` of each shard count are built from the same
passages (the scale sets of ``_scale_data``, real text, streamed from the JSON Lines files
``build_speed`` writes) with the same stand-in vectors (``build_speed.StandInEmbedder``:
a real MiniLM vector and a noise row, both picked by a hash of the text, so a
text's vector is its own in any batch), float16 exact
dense index (``SQfp16``, the default). Every build ends with ``optimize()``, so the single
base and each shard hold one segment, as after a bulk load. Each build runs in a fresh
process and is kept in
``~/.cache/srmkb-bench/cluster-scale`` (by size and shard count), so a rerun does not
build again (``--rebuild`` does).

Measured:

- **query p50 and p95**, hybrid, top 10, through the index protocol
  (``kb.index.search(Query(text, vector), 10, mode="hybrid")``; for a sharded base,
  taking ``kb.index`` pins a version of every shard and is timed too, as every search
  does it). Query vectors are real MiniLM vectors of SciFact queries computed before any
  timing, so embedding is excluded on both sides. Each sharded base is searched as Ray
  actors on this machine (``cluster="local"``) and in this process (``cluster=None``),
  in blocks of 25 queries that alternate with the single process, so both see the same
  machine load; the single process's p50 over the same blocks is the reference of the
  goal. A second, shorter pass times the phases of a search (pin, BM25 statistics,
  candidates and fusion, a bare round trip to every actor) to show where time goes;
- **overlap@10** of each sharded top 10 (passage ids) with the single process's, per
  query, averaged (1.0 when the shards rank as one base), and the largest score
  difference at any rank;
- **memory**: each shard actor's resident set (VmRSS from ``/proc``, its pid asked of
  the actor through Ray's ``__ray_call__``) after loading and querying, beside an idle
  actor that imported srmkb (a Ray worker's own share); the single process's (and the
  in-process shards') RSS growth from opening the base to the end of its queries;
- **ingest passages/s** with the real model (MiniLM on onnxruntime): SciFact documents
  upserted into a new base of 1 and 2 shards on Ray (each shard's actor embeds its own
  documents with one thread: embedding workers = shards), and into one process with 1
  and 2 threads. A small upsert first loads the models; it is not timed.

Writes ``results/cluster-scale-<stamp>.json`` and ``results/cluster-scale-latest.md``.
"""

from __future__ import annotations

import os

# Before numpy, faiss or a model load: no spinning OpenMP threads on shared cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from _cache import CACHE
from _record import (
    RESULTS,
    load_average,
    package_version,
    provenance,
    provenance_line,
    write_result,
)
from build_speed import StandInEmbedder, log, passages_file, seeds_file, stream
from runtime import PASSAGES, QUERIES, read_texts

HERE = Path(__file__).resolve().parent
BASES = CACHE / "cluster-scale"
THREADS = int(os.environ.get("SRMKB_THREADS", 0)) or (os.cpu_count() or 1)
BATCH = 10_000  # passages per commit while building, as build_speed does
CHUNK = 100_000  # documents handed to the sharded base per upsert while building
BLOCK = 25  # queries per block; blocks alternate between the single process and a sharded base
WARMUP = 20  # untimed queries per base before timing
PHASE_QUERIES = 100  # queries of the phase pass
K = 10
GOAL_MS = 10.0
GOAL_SIZE = 1_000_000
GOAL_SHARDS = 2


# -- building (each in a fresh process) -------------------------------------------------

# What the cached bases' vectors are; a cached base made otherwise is built again.
VECTORS = "build_speed.StandInEmbedder: seed and noise picked by a hash of the text"


def base_folder(n: int, shards: int) -> Path:
    return BASES / (f"{n}-single" if shards == 0 else f"{n}-shards{shards}")


def build_one(n: int, shards: int, folder: Path) -> dict[str, object]:
    """Build the base of ``n`` passages (``shards == 0``: one ordinary base)."""
    from srmkb import Document, KnowledgeBase
    from srmkb.cluster import ShardedKnowledgeBase

    start = time.perf_counter()
    model = StandInEmbedder(np.load(seeds_file()))
    documents = (
        Document(id=f"p{i}", text=t, language="en") for i, t in enumerate(stream(passages_file(n)))
    )
    if shards == 0:
        kb = KnowledgeBase(folder, model=model, dense_index="SQfp16", log_interactions=False)
        kb.upsert(documents, batch_size=BATCH)
        kb.optimize()
        passages = len(kb.index)
        kb.close()
    else:
        # In this process: the same shards Ray opens later, built without a cluster.
        sharded = ShardedKnowledgeBase(folder, shards=shards, cluster=None, model=model)
        while chunk := list(itertools.islice(documents, CHUNK)):
            sharded.upsert(chunk, batch_size=BATCH)
        # A bulk load ends merged, as the single base's: each shard one segment.
        sharded.optimize()
        index = sharded.index
        passages = len(index)
        index.release()
        sharded.close()
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return {
        "passages": passages,
        "seconds": round(time.perf_counter() - start, 1),
        "peak_rss_mb": round(peak / 1024),
    }


def ensure_base(n: int, shards: int, rebuild: bool) -> dict[str, object]:
    """The cached base of ``n`` passages and ``shards`` shards, built if missing."""
    folder = base_folder(n, shards)
    marker = folder.with_suffix(".json")
    if marker.exists() and folder.exists() and not rebuild:
        built = json.loads(marker.read_text())
        if built.get("vectors") == VECTORS and built.get("optimized"):
            return {**built, "cached": True}
    marker.unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    what = "one base" if shards == 0 else f"{shards} shards"
    log(f"{n:,} passages, {what}: building in a fresh process")
    command = [sys.executable, __file__, "--build", str(n), str(shards), str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"building {folder} failed:\n{done.stderr[-3000:]}")
    built = json.loads(done.stdout.strip().splitlines()[-1])
    built["srmkb"] = package_version("srmkb")
    built["vectors"] = VECTORS
    built["optimized"] = True
    marker.write_text(json.dumps(built) + "\n")
    log(f"{n:,} passages, {what}: built in {built['seconds']} s, peak {built['peak_rss_mb']} MB")
    return {**built, "cached": False}


# -- measuring helpers ------------------------------------------------------------------


def rss_mb(pid: int | str = "self") -> dict[str, int]:
    """Resident memory now and at its peak (MB) of process ``pid``, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out["rss_mb" if line.startswith("VmRSS") else "peak_rss_mb"] = (
                int(line.split()[1]) // 1024
            )
    return out


def own_pid(_actor: object) -> int:
    """Run inside an actor (``actor.__ray_call__``): the pid of its process."""
    return os.getpid()


def actor_pids(actors: Sequence[Any]) -> list[int]:
    import ray

    return ray.get([actor.__ray_call__.remote(own_pid) for actor in actors])


def idle_actor_rss() -> dict[str, int]:
    """An actor that imported srmkb and faiss, holding no base: a Ray worker's own share."""
    import ray

    class Idle:
        def load(self) -> int:
            import faiss  # noqa: F401

            import srmkb.cluster  # noqa: F401

            return os.getpid()

    actor = ray.remote(num_cpus=0)(Idle).remote()
    try:
        return rss_mb(ray.get(actor.load.remote()))
    finally:
        ray.kill(actor)


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "mean_ms": round(float(np.mean(ms)), 2),
        "n": len(ms),
    }


def make_query(text: str, vector: np.ndarray) -> Any:
    """A fresh query (its language and terms not yet computed) with its vector given."""
    from srmkb.index import Query

    return Query(text, lambda _text: vector)


class Searcher:
    """One base searched through the index protocol: ``search(text, vector)`` → (passage
    ids, scores) of the top :data:`K`, hybrid."""

    def __init__(self, kb: Any, sharded: bool) -> None:
        self.kb = kb
        self.sharded = sharded

    def search(self, text: str, vector: np.ndarray) -> tuple[list[str], np.ndarray]:
        index = self.kb.index
        ranking = index.search(make_query(text, vector), K, mode="hybrid")
        if self.sharded:
            index.release()
        return [str(p) for p in ranking.passage_ids], np.asarray(ranking.scores, dtype=np.float64)

    def phases(self, text: str, vector: np.ndarray) -> dict[str, float]:
        """Milliseconds of each phase of one search."""
        query = make_query(text, vector)
        t0 = time.perf_counter()
        index = self.kb.index
        t1 = time.perf_counter()
        statistics = index.statistics(query)
        t2 = time.perf_counter()
        index.search(query, K, mode="hybrid", statistics=statistics)
        t3 = time.perf_counter()
        if self.sharded:
            index.release()
        out = {"pin": t1 - t0, "statistics": t2 - t1, "candidates_and_fusion": t3 - t2}
        actors = getattr(self.kb, "actors", [])
        if actors:
            import ray

            t4 = time.perf_counter()
            ray.get([actor.ping.remote() for actor in actors])
            out["bare_round_trip"] = time.perf_counter() - t4
        return {name: seconds * 1000 for name, seconds in out.items()}


def timed(searcher: Searcher, queries: Sequence[tuple[str, np.ndarray]]) -> list[float]:
    out = []
    for text, vector in queries:
        start = time.perf_counter()
        searcher.search(text, vector)
        out.append((time.perf_counter() - start) * 1000)
    return out


# -- queries at one size ---------------------------------------------------------------


def measure_size(
    n: int,
    shard_counts: Sequence[int],
    queries: list[tuple[str, np.ndarray]],
    builds: dict[str, object],
) -> dict[str, object]:
    from srmkb import KnowledgeBase
    from srmkb.cluster import ShardedKnowledgeBase

    warm, timed_queries = queries[:WARMUP], queries[WARMUP:]
    before = rss_mb()["rss_mb"]
    single_kb = KnowledgeBase(base_folder(n, 0), create=False, log_interactions=False)
    single = Searcher(single_kb, sharded=False)
    for text, vector in warm:
        single.search(text, vector)
    reference = {text: single.search(text, vector) for text, vector in timed_queries}
    single_growth = rss_mb()["rss_mb"] - before  # before the sharded bases share this process
    single_ms: list[float] = []
    rows: list[dict[str, object]] = []
    phase_rows: list[dict[str, object]] = []
    single_phases = [single.phases(t, v) for t, v in timed_queries[:PHASE_QUERIES]]
    phase_rows.append({"system": "single process", **phase_medians(single_phases)})

    for shards in shard_counts:
        for placement, cluster in (("ray", "local"), ("in-process", None)):
            label = f"{shards} shard{'s' if shards > 1 else ''}, {placement}"
            log(f"{n:,} passages, {label}: opening")
            load = load_average()
            rss_before = rss_mb()["rss_mb"]
            start = time.perf_counter()
            kb = ShardedKnowledgeBase(base_folder(n, shards), cluster=cluster, create=False)
            sharded = Searcher(kb, sharded=True)
            sharded.search(*warm[0])  # the first search loads every shard's indexes
            open_s = time.perf_counter() - start
            for text, vector in warm[1:]:
                sharded.search(text, vector)
            pair_single: list[float] = []
            pair_sharded: list[float] = []
            for block in range(0, len(timed_queries), BLOCK):
                part = timed_queries[block : block + BLOCK]
                pair_single += timed(single, part)
                pair_sharded += timed(sharded, part)
            single_ms += pair_single
            overlaps, order, score_diff = [], 0, 0.0
            for text, vector in timed_queries:
                ids, scores = sharded.search(text, vector)
                ref_ids, ref_scores = reference[text]
                overlaps.append(len(set(ids) & set(ref_ids)) / max(len(ref_ids), 1))
                order += ids == ref_ids
                if len(scores) == len(ref_scores):
                    score_diff = max(score_diff, float(np.max(np.abs(scores - ref_scores))))
                else:
                    score_diff = float("inf")
            phases = [sharded.phases(t, v) for t, v in timed_queries[:PHASE_QUERIES]]
            phase_rows.append({"system": label, **phase_medians(phases)})
            memory: dict[str, object]
            if cluster is None:
                memory = {"process_growth_mb": rss_mb()["rss_mb"] - rss_before}
            else:
                memory = {"actors": [rss_mb(pid) for pid in actor_pids(kb.actors)]}
            counts = kb.fleet.call("count", {i: ((), {}) for i in range(shards)})
            kb.close()
            result = {
                "passages": n,
                "shards": shards,
                "placement": placement,
                "open_and_first_search_s": round(open_s, 2),
                "load_average": load,
                **percentiles(pair_sharded),
                "single_same_blocks": percentiles(pair_single),
                "p50_minus_single_ms": round(
                    float(np.percentile(pair_sharded, 50) - np.percentile(pair_single, 50)), 2
                ),
                "overlap_at_10": round(float(np.mean(overlaps)), 6),
                "same_order": round(order / len(timed_queries), 4),
                "max_abs_score_difference": score_diff,
                "documents_per_shard": [counts[i] for i in sorted(counts)],
                "disk_mb_per_shard": [folder_mb(p) for p in shard_folders(base_folder(n, shards))],
                "memory": memory,
            }
            rows.append(result)
            log(
                f"{n:,} passages, {label}: p50 {result['p50_ms']} ms (single"
                f" {result['single_same_blocks']['p50_ms']} ms), p95 {result['p95_ms']} ms,"
                f" overlap@10 {result['overlap_at_10']}, max |Δscore| {score_diff:.2e},"
                f" memory {memory}"
            )
    single_kb.close()
    return {
        "passages": n,
        "builds": builds,
        "single": {
            **percentiles(single_ms),
            "rss_growth_mb": single_growth,
            "disk_mb": folder_mb(base_folder(n, 0)),
            "threads": THREADS,
        },
        "sharded": rows,
        "phases": phase_rows,
    }


def phase_medians(samples: list[dict[str, float]]) -> dict[str, float]:
    """Each phase's median, and the median of the searches' totals (no bare round trip)."""
    out = {name: round(float(np.median([s[name] for s in samples])), 3) for name in samples[0]}
    totals = [sum(v for name, v in s.items() if name != "bare_round_trip") for s in samples]
    out["total"] = round(float(np.median(totals)), 3)
    return out


def shard_folders(folder: Path) -> list[Path]:
    from srmkb.cluster import ClusterManifest

    return ClusterManifest.read(folder).folders(folder)


def folder_mb(folder: Path) -> int:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6)


# -- ingest with the real model --------------------------------------------------------


def ingest(n_documents: int) -> dict[str, object]:
    """Passages per second of an upsert of SciFact documents, real model, new bases."""
    from srmkb import KnowledgeBase
    from srmkb.cluster import ShardedKnowledgeBase, shard_of
    from srmkb.evaluation import load_beir

    corpus = list(load_beir(PASSAGES.parent).corpus)
    documents = corpus[:n_documents]
    rows = []

    def warm_documents(shards: int) -> list[Any]:
        """A few documents outside the timed ones, at least one per shard."""
        picked, seen = [], set()
        for doc in reversed(corpus[n_documents:]):
            if shard_of(doc.id, shards) not in seen or len(picked) < 4:
                picked.append(doc)
                seen.add(shard_of(doc.id, shards))
            if len(seen) == shards and len(picked) >= 4:
                return picked
        return picked

    def run(label: str, open_base: Callable[[Path], Any], shards: int, **settings: object) -> None:
        with tempfile.TemporaryDirectory(prefix="srmkb-cluster-ingest-") as tmp:
            kb = open_base(Path(tmp) / "kb")
            kb.upsert(warm_documents(shards))  # loads the model(s): not timed
            before = passages_of(kb)
            load = load_average()
            start = time.perf_counter()
            kb.upsert(documents)
            seconds = time.perf_counter() - start
            passages = passages_of(kb) - before
            kb.close()
        rows.append(
            {
                "system": label,
                "documents": len(documents),
                "passages": passages,
                "seconds": round(seconds, 2),
                "passages_per_s": round(passages / seconds, 2),
                "load_average": load,
                **settings,
            }
        )
        log(f"ingest, {label}: {passages} passages in {seconds:.1f} s")

    for threads in sorted({1, THREADS}):
        run(
            f"single process, {threads} thread{'s' if threads > 1 else ''}",
            lambda path, t=threads: KnowledgeBase(
                path, model="minilm", threads=t, log_interactions=False
            ),
            1,
            embedding_workers=1,
            threads_per_worker=threads,
        )
    for shards in (1, 2):
        run(
            f"{shards} shard{'s' if shards > 1 else ''}, ray",
            lambda path, s=shards: ShardedKnowledgeBase(
                path, shards=s, cluster="local", model="minilm"
            ),
            shards,
            embedding_workers=shards,
            threads_per_worker=1,  # each shard's actor: threads=1, OMP_NUM_THREADS=1
        )
    return {"model": "minilm (onnxruntime, int8)", "source": "SciFact corpus", "runs": rows}


def passages_of(kb: Any) -> int:
    index = kb.index
    count = len(index)
    if hasattr(index, "release"):
        index.release()
    return count


# -- the run ----------------------------------------------------------------------------


def query_vectors(n: int) -> list[tuple[str, np.ndarray]]:
    """``n`` SciFact queries and their real MiniLM vectors, embedded before any timing."""
    from _vectors import load_minilm

    texts = read_texts(QUERIES, n)
    model = load_minilm("onnx")
    return [(t, np.asarray(model.embed_query(t), dtype=np.float32)) for t in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--shards", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--queries", type=int, default=300, help="timed queries per base")
    parser.add_argument("--ingest-documents", type=int, default=400, help="SciFact documents")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="build the cached bases again")
    parser.add_argument("--build", nargs=3, metavar=("PASSAGES", "SHARDS", "FOLDER"))
    args = parser.parse_args()
    if args.build:
        n, shards, folder = args.build
        print(json.dumps(build_one(int(n), int(shards), Path(folder))))
        return

    import ray

    from srmkb.models import configure_threads

    record: dict[str, object] = {
        **provenance("cluster-scale", ("numpy", "faiss-cpu", "onnxruntime", "ray")),
        "settings": {
            "queries": args.queries,
            "warmup_queries": WARMUP,
            "block": BLOCK,
            "k": K,
            "mode": "hybrid",
            "dense_index": "SQfp16",
            "coordinator_threads": THREADS,
            "actor_threads": 1,
            "vectors": "stand-in: one of 2,000 real MiniLM vectors plus one of 8,192 noise"
            " rows, both picked by a hash of the text",
            "query_vectors": "real MiniLM (onnxruntime) of SciFact queries, before timing",
        },
    }
    seeds_file()
    builds: dict[int, dict[str, object]] = {}
    for n in args.sizes:
        passages_file(n)
        builds[n] = {
            "single" if shards == 0 else f"{shards} shards": ensure_base(n, shards, args.rebuild)
            for shards in [0, *args.shards]
        }
    log("embedding the queries")
    queries = query_vectors(WARMUP + args.queries)
    configure_threads(THREADS)  # faiss in this process: the single base and in-process shards
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    try:
        record["ray_idle_actor"] = idle_actor_rss()
        record["sizes"] = [measure_size(n, args.shards, queries, builds[n]) for n in args.sizes]
        if not args.skip_ingest:
            record["ingest"] = ingest(args.ingest_documents)
    finally:
        ray.shutdown()
    record["load_average_end"] = load_average()
    out = write_result(record)
    text = table(record, out.name)
    (RESULTS / "cluster-scale-latest.md").write_text(text, encoding="utf-8")
    print(text)


# -- the table --------------------------------------------------------------------------


def goal(record: dict) -> str:  # type: ignore[type-arg]
    for size in record["sizes"]:
        if size["passages"] != GOAL_SIZE:
            continue
        for row in size["sharded"]:
            if row["shards"] == GOAL_SHARDS and row["placement"] == "ray":
                gap = row["p50_minus_single_ms"]
                met = "**met**" if gap <= GOAL_MS else "**not met**"
                return (
                    f"Goal (2 shards at 1M passages, p50 within {GOAL_MS:g} ms of the single"
                    f" process): {met}: {row['p50_ms']} ms on Ray against"
                    f" {row['single_same_blocks']['p50_ms']} ms for the single process in the"
                    f" same blocks ({gap:+.2f} ms)."
                )
    return f"Goal (2 shards at 1M passages on Ray): not measured in this run (sizes {[s['passages'] for s in record['sizes']]})."


def table(record: dict, name: str) -> str:  # type: ignore[type-arg]
    settings = record["settings"]
    idle = record["ray_idle_actor"]["rss_mb"]
    lines = [
        "# A sharded base against one process (issue #23)",
        "",
        f"`results/{name}`: commit {record['git_commit']}"
        + (" + uncommitted changes" if record["git_dirty"] else "")
        + f". Hybrid top {settings['k']} through the index protocol, {settings['queries']}"
        " SciFact queries per base after warm-up, query vectors (real MiniLM) computed before"
        f" timing; float16 exact dense index. Blocks of {settings['block']} queries alternate"
        " with the single process; Δp50 is against the single process in the same blocks."
        f" Single process and in-process shards: {settings['coordinator_threads']} faiss"
        f" threads; each Ray actor: {settings['actor_threads']}. Vectors: "
        f"{settings['vectors']}.",
        "",
        "| passages | system | p50 ms | p95 ms | Δp50 ms | overlap@10 | max abs Δscore |"
        " memory per shard MB | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in record["sizes"]:
        n, single = size["passages"], size["single"]
        lines.append(
            f"| {n:,} | single process | {single['p50_ms']} | {single['p95_ms']} | – | 1.0 | – |"
            f" {single['rss_growth_mb']:,} (RSS growth) | – |"
        )
        for row in size["sharded"]:
            memory = row["memory"]
            if "actors" in memory:
                shown = ", ".join(f"{a['rss_mb']:,}" for a in memory["actors"])
            else:
                shown = f"{memory['process_growth_mb']:,} (all, RSS growth)"
            lines.append(
                f"| {n:,} | {row['shards']} shard{'s' if row['shards'] > 1 else ''},"
                f" {row['placement']} | {row['p50_ms']} | {row['p95_ms']} |"
                f" {row['p50_minus_single_ms']:+.2f} | {row['overlap_at_10']:g} |"
                f" {row['max_abs_score_difference']:.1e} | {shown} |"
                f" {row['load_average'][0] if row['load_average'] else '–'} |"
            )
    lines += [
        "",
        f"A Ray actor that imported srmkb and holds no base: {idle} MB (included in each"
        " actor's figure). Shard memory counts the pages of the memory-mapped index files"
        " it touched.",
        "",
        goal(record),
        "",
        "Where a search's time goes (medians, ms, first"
        f" {PHASE_QUERIES} queries): pin = taking `kb.index` (one round trip to every shard on"
        " Ray), statistics = the collection's BM25 statistics (one round trip), candidates"
        " and fusion = every shard's candidates (one round trip) then pooling and fusing;"
        " bare round trip = `ping` to every actor.",
        "",
        "| passages | system | pin | statistics | candidates and fusion | total | bare round trip |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in record["sizes"]:
        for row in size["phases"]:
            lines.append(
                f"| {size['passages']:,} | {row['system']} | {row['pin']} | {row['statistics']} |"
                f" {row['candidates_and_fusion']} | {row['total']} |"
                f" {row.get('bare_round_trip', '–')} |"
            )
    ingest_record = record.get("ingest")
    if ingest_record:
        lines += [
            "",
            f"Ingest with the real model ({ingest_record['model']}), new bases,"
            f" {ingest_record['source']}; the model loads before timing:",
            "",
            "| system | embedding workers | threads each | passages | seconds | passages/s |"
            " load avg |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in ingest_record["runs"]:
            lines.append(
                f"| {row['system']} | {row['embedding_workers']} | {row['threads_per_worker']} |"
                f" {row['passages']:,} | {row['seconds']} | {row['passages_per_s']} |"
                f" {row['load_average'][0] if row['load_average'] else '–'} |"
            )
    lines += ["", provenance_line(record, load=True), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
