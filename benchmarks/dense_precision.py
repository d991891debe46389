"""Float16 and quantized dense indexes against exact float32: quality, speed, memory, disk.

    python benchmarks/dense_precision.py [--sets ...] [--sizes 100000] [--hnsw-max 100000]
    python benchmarks/dense_precision.py --sets --sizes 1000000 --hnsw-max 1000000  # scale only
    python benchmarks/dense_precision.py render results/dense-precision-<stamp>.json

Compares ``dense_index`` values: ``"Flat"`` (exact float32, the default), ``"SQfp16"``
(exact scan of float16 codes) and ``"HNSW32,SQ8"`` (a graph over 8-bit codes, candidates
re-scored from float32), with ``"HNSW32"`` for reference.

- Quality: nDCG@10, MRR@10 and recall@100 (dense and hybrid) on the shared BEIR sets
  whose MiniLM vectors are in the benchmark cache (``_vectors``); only the tiny sets in
  ``EMBED_OK`` are embedded when missing. Each factory gets its own base of the same
  vectors; ``top10_same`` is the share of queries whose ranked top 10 is identical to
  ``"Flat"``'s.
- Speed: ``DenseIndex.search`` on RANDOM unit vectors (384 dimensions; random queries
  too), every factory loaded from disk in one process and timed interleaved, query by
  query: no filter, and half the rows allowed (the selector path). recall@10 against
  exact float32.
- Memory: a fresh process per factory loads the saved segment and serves the queries;
  its RSS split into anonymous memory (the process's own) and file pages (memory maps:
  page cache the kernel can reclaim).

Writes ``results/dense-precision-<stamp>.json`` and ``results/dense-precision.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from _record import RESULTS, load_average, provenance, provenance_line, write_result
from _timing import Stopwatch, disk_mb, summary

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
FACTORIES = ("Flat", "SQfp16", "HNSW32,SQ8", "HNSW32")
QUALITY_FACTORIES = ("Flat", "SQfp16")  # every set is under 4,096 passages: HNSW is never used
EMBED_OK = ("hint3-sofmattress", "covidfaq", "banking77")  # tiny: embedded when missing
DIM = 384
MODES = ("dense", "hybrid")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- quality on real vectors -----------------------------------------------------------


def quality(sets: list[str], tmp: Path) -> list[dict[str, object]]:
    from _vectors import CachedEmbedder, VectorCache
    from srmkb import KnowledgeBase
    from srmkb.evaluation import evaluate_run, load_beir

    cache = VectorCache()
    rows: list[dict[str, object]] = []
    for name in sets:
        data = load_beir(BEIR / name)
        strict = name not in EMBED_OK
        embedder = CachedEmbedder(cache, strict=strict)
        queries = list(data.queries.values())
        if strict and cache.missing(queries, query=True):
            log(f"{name}: queries not all cached, skipped")
            continue
        embedder.embed_queries(queries)  # one batch, not one cache file per query
        runs: dict[tuple[str, str], dict[str, list[str]]] = {}
        for factory in QUALITY_FACTORIES:
            folder = tmp / f"{name}-{factory.replace(',', '_')}"
            try:
                kb = KnowledgeBase(folder, model=embedder, dense_index=factory)
                kb.upsert(data.corpus)
            except KeyError:
                log(f"{name}: passages not all cached, skipped")
                break
            for mode in MODES:
                run = {
                    qid: [d for d, _ in kb.rank_documents(text, 100, mode=mode, audience="agent")]  # type: ignore[arg-type]
                    for qid, text in data.queries.items()
                }
                runs[(factory, mode)] = run
                flat = runs[("Flat", mode)]
                same = np.mean([run[q][:10] == flat[q][:10] for q in run])
                metrics = evaluate_run(run, data.qrels)
                row = {
                    "set": name,
                    "factory": factory,
                    "mode": mode,
                    **{k: round(v, 5) for k, v in metrics.items()},
                    "top10_same": round(float(same), 4),
                    "n_docs": len(data.corpus),
                    "n_queries": len(data.queries),
                }
                log(json.dumps(row))
                rows.append(row)
            kb.close()
    return rows


def real_recall(factories: list[str], tmp: Path, n_queries: int) -> dict[str, object]:
    """recall@10 against exact float32 on real MiniLM vectors: every vector in the cache
    (passages and queries of the cached sets) but ``n_queries`` held out as queries.
    Real embeddings cluster; random vectors are the worst case for a graph index."""
    from _vectors import VectorCache
    from srmkb.index.dense import DenseIndex, DenseSegment

    cache = VectorCache()
    everything = np.concatenate([np.load(f) for f in sorted(cache.folder.glob("*.vecs.npy"))])
    everything = everything[np.unique(everything, axis=0, return_index=True)[1]]
    rng = np.random.default_rng(2)
    held = rng.choice(len(everything), n_queries, replace=False)
    base = np.delete(everything, held, axis=0)
    queries = everything[held]
    exact = [np.argsort(-(base @ q))[:10] for q in queries]
    out: dict[str, object] = {"vectors": len(base), "queries": n_queries}
    for factory in factories:
        folder = tmp / f"real-{factory.replace(',', '_')}"
        folder.mkdir()
        DenseSegment.build(base, factory).save(folder, factory)
        index = DenseIndex([DenseSegment.load(folder, factory)], np.ones(len(base), bool))
        found = [index.search(q, 10)[0] for q in queries]
        recall = np.mean(
            [len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(found, exact)]
        )
        out[factory] = round(float(recall), 4)
    log(f"real-vector recall@10: {out}")
    return out


# -- speed and memory on random vectors ------------------------------------------------


def random_unit(n: int, seed: int) -> np.ndarray:
    """``n`` random unit vectors (RANDOM, not embeddings), made in blocks."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        out[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def build_all(n: int, factories: list[str], root: Path) -> dict[str, dict[str, float]]:
    from srmkb.index.dense import DenseSegment

    vectors = random_unit(n, seed=0)
    out: dict[str, dict[str, float]] = {}
    for factory in factories:
        folder = root / factory.replace(",", "_")
        folder.mkdir(parents=True)
        log(f"{n}: building {factory}")
        with Stopwatch() as sw:
            DenseSegment.build(vectors, factory).save(folder, factory)
        out[factory] = {"build_s": round(sw.seconds, 1), "disk_mb": disk_mb(folder)}
    return out


def speed(n: int, factories: list[str], root: Path, n_queries: int) -> dict[str, object]:
    """Interleaved latency of every factory, and recall@10 against exact float32."""
    from srmkb.index.dense import DenseIndex, DenseSegment

    queries = random_unit(n_queries, seed=1)
    live = np.ones(n, dtype=bool)
    half = np.zeros(n, dtype=bool)
    half[::2] = True
    sparse = np.zeros(n, dtype=bool)
    sparse[::100] = True
    scopes = (("all", None), ("half", half), ("1%", sparse))
    indexes = {
        f: DenseIndex([DenseSegment.load(root / f.replace(",", "_"), f)], live) for f in factories
    }
    exact = {s: [] for s, _ in scopes}  # type: ignore[var-annotated]
    found: dict[tuple[str, str], list[np.ndarray]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    for i, q in enumerate(queries):
        for scope, allowed in scopes:
            for f, index in indexes.items():
                start = time.perf_counter()
                rows, _ = index.search(q, 10, allowed)
                if i >= 3:  # warm-up
                    times.setdefault((f, scope), []).append((time.perf_counter() - start) * 1000)
                found.setdefault((f, scope), []).append(rows)
            sims = indexes["Flat"].segments[0].vectors @ q
            if allowed is not None:
                sims = np.where(allowed, sims, -np.inf)
            exact[scope].append(np.argsort(-sims)[:10])
    out: dict[str, object] = {}
    for f in factories:
        out[f] = {
            scope: {
                **summary(times[(f, scope)]),
                "recall@10": round(
                    float(
                        np.mean(
                            [
                                len(set(a.tolist()) & set(b.tolist())) / 10
                                for a, b in zip(found[(f, scope)], exact[scope])
                            ]
                        )
                    ),
                    4,
                ),
            }
            for scope, _ in scopes
        }
    return out


def memory(n: int, factories: list[str], root: Path, n_queries: int) -> dict[str, object]:
    """RSS of a fresh process that loads each factory's segment and serves queries."""
    out: dict[str, object] = {}
    for f in factories:
        cmd = [sys.executable, __file__, "serve", str(root / f.replace(",", "_")), f]
        cmd += [str(n_queries)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[f] = json.loads(proc.stdout.strip().splitlines()[-1])
        log(f"{n}: {f} serving: {out[f]}")
    return out


def _status() -> dict[str, float]:
    names = {"VmRSS": "rss_mb", "RssAnon": "anon_mb", "RssFile": "file_mb", "VmHWM": "peak_mb"}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in names:
            out[names[key]] = round(int(line.split()[1]) / 1024, 1)
    return out


def _resident_by_file(folder: str) -> dict[str, float]:
    """MB of each mapped file under ``folder`` resident in this process (smaps). The
    kernel maps pages around each one touched (fault-around), so a few random rows
    read show as more than their bytes."""
    out: dict[str, float] = {}
    name = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if head and "-" in head[0] and len(head) >= 5:  # a mapping's header line
            name = head[5] if len(head) > 5 and head[5].startswith(folder) else None
        elif name and line.startswith("Rss:"):
            key = Path(name).name
            out[key] = round(out.get(key, 0.0) + int(head[1]) / 1024, 1)
    return out


def serve_main(folder: str, factory: str, n_queries: int) -> None:
    from srmkb.index.dense import DenseIndex, DenseSegment

    before = _status()
    with Stopwatch() as load:
        segment = DenseSegment.load(Path(folder), factory)
    index = DenseIndex([segment], np.ones(segment.n_passages, dtype=bool))
    loaded = _status()
    for q in random_unit(n_queries, seed=1):
        index.search(q, 10)
    after = _status()
    result = {
        "load_s": round(load.seconds, 3),
        "before_load": before,
        "after_load": loaded,
        "serving": after,
        "delta_rss_mb": round(after["rss_mb"] - before["rss_mb"], 1),
        "delta_anon_mb": round(after["anon_mb"] - before["anon_mb"], 1),
        "resident_by_file_mb": _resident_by_file(folder),
    }
    print(json.dumps(result))


# -- report ------------------------------------------------------------------------------


def render(record: dict, path: Path) -> str:  # type: ignore[type-arg]
    lines = [
        "# Dense precision: float16 and quantized indexes against exact float32",
        "",
        f"Generated by `python benchmarks/dense_precision.py` into `results/{path.name}`."
        " Reproduce with the command below; quality needs the MiniLM vectors in"
        " `~/.cache/srmkb-bench` (tiny sets are embedded when missing).",
        "",
        "## Quality (real MiniLM vectors)",
        "",
        "nDCG@10 per set; Δ is the factory minus `Flat`; `same` is the share of queries"
        " whose ranked top 10 documents equal `Flat`'s.",
        "",
        "| set | mode | Flat | SQfp16 | Δ | same |",
        "|---|---|---|---|---|---|",
    ]
    by = {(r["set"], r["mode"], r["factory"]): r for r in record["quality"]}
    for s, m in dict.fromkeys((r["set"], r["mode"]) for r in record["quality"]):
        flat = by[(s, m, "Flat")]
        cells = [s, m, f"{flat['ndcg@10']:.4f}"]
        for f in QUALITY_FACTORIES[1:]:
            r = by.get((s, m, f))
            if r is None:
                cells += ["", "", ""]
                continue
            delta = r["ndcg@10"] - flat["ndcg@10"]
            cells += [f"{r['ndcg@10']:.4f}", f"{delta:+.4f}", f"{r['top10_same']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    deltas = [
        abs(by[(s, m, "SQfp16")]["ndcg@10"] - by[(s, m, "Flat")]["ndcg@10"])
        for s, m, f in by
        if f == "SQfp16"
    ]
    if deltas:
        lines += [
            "",
            f"Largest |Δ nDCG@10| of `SQfp16` over {len(deltas)} set × mode pairs:"
            f" {max(deltas):.4f} (the default's bar: 0.002). On a set of a few hundred"
            " queries one query whose top 10 changes moves nDCG@10 by up to 1/queries.",
        ]
    real = record["real_recall"]
    lines += [
        "",
        "`SQfp16` scores the float16 vectors on every path. The graph indexes are left out"
        " here: every set is under 4,096 passages, which the exact path serves; their"
        " recall is measured next.",
        "",
        f"## recall@10 against exact float32 on real vectors ({real['vectors']:,} MiniLM"
        f" vectors from the benchmark cache, {real['queries']} held out as queries)",
        "",
        "| " + " | ".join(f for f in real if f not in ("vectors", "queries")) + " |",
        "|" + "---|" * (len(real) - 2),
        "| "
        + " | ".join(str(v) for f, v in real.items() if f not in ("vectors", "queries"))
        + " |",
    ]
    if record.get("quality_from"):
        lines += ["", f"The tables above are those of `results/{record['quality_from']}`."]
    if record.get("sizes_from") and record.get("quality_from"):
        measured = ", ".join(f"{int(n):,}" for n in record["sizes"] if n not in record["kept"])
        lines += [
            "",
            f"Measured in this run: {measured} vectors; the other sizes are those of"
            f" `results/{record['sizes_from']}`.",
        ]
    elif record.get("sizes_from"):
        lines += ["", f"The tables below are those of `results/{record['sizes_from']}`."]
    for n, size in record["sizes"].items():
        lines += [
            "",
            f"## {int(n):,} RANDOM unit vectors ({DIM} dimensions; random queries)",
            "",
            "Latency: `DenseIndex.search`, k=10, factories interleaved query by query in one"
            " process (p50 ms); `half`, `1%`: that share of the rows allowed (a filter or"
            " deletions, through the selector). Memory: a fresh process that loads the segment and serves the"
            " queries (MB): `anon` is its own memory, `file` the memory-mapped files' pages"
            " it touched (page cache, reclaimable), by file where measured.",
            "",
            "| factory | p50 all | p50 half | p50 1% | recall@10 all | recall@10 half |"
            " RSS | anon | file | by file | disk MB | build s |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for f, built in size["build"].items():
            sp = size["speed"][f]
            mem = size["memory"][f]
            delta_anon = mem["delta_anon_mb"]
            lines.append(
                f"| {f} | {sp['all']['p50_ms']} | {sp['half']['p50_ms']} | {sp['1%']['p50_ms']} |"
                f" {sp['all']['recall@10']} | {sp['half']['recall@10']} |"
                f" {mem['delta_rss_mb']} | {delta_anon} |"
                f" {mem['serving']['file_mb'] - mem['before_load']['file_mb']:.1f} |"
                f" {', '.join(f'{k} {v}' for k, v in mem.get('resident_by_file_mb', {}).items())} |"
                f" {built['disk_mb']} | {built['build_s']} |"
            )
        for f in size.get("skipped", []):
            lines.append(f"| {f} | skipped above --hnsw-max | | | | | | | | | | |")
    lines += [
        "",
        f"OpenBLAS threads (the `Flat` matrix-vector product): {record.get('openblas_threads', 'default')};"
        " faiss scans one query on one thread.",
        "",
        provenance_line(record, load=True),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "render":  # the markdown again, from a JSON
        path = Path(sys.argv[2])
        (RESULTS / "dense-precision.md").write_text(render(json.loads(path.read_text()), path))
        return
    sets = sorted(p.name for p in BEIR.iterdir() if (p / "corpus.jsonl").exists())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=sets)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--factories", nargs="+", default=list(FACTORIES))
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest HNSW build")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    record: dict[str, object] = {**provenance("dense-precision"), "sizes": {}}
    record["openblas_threads"] = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    if args.sets:
        with tempfile.TemporaryDirectory(prefix="srmkb-dense-") as tmp:
            record["quality"] = quality(args.sets, Path(tmp))
            record["real_recall"] = real_recall(args.factories, Path(tmp), 300)
    else:  # scale only (``--sets`` with no set): keep the latest quality tables
        for previous in sorted(RESULTS.glob("dense-precision-*.json"), reverse=True):
            old = json.loads(previous.read_text())
            if old.get("quality"):
                record["quality"], record["real_recall"] = old["quality"], old["real_recall"]
                record["quality_from"] = previous.name
                # and the sizes this run does not measure, from that same run
                kept = {n: t for n, t in old.get("sizes", {}).items() if int(n) not in args.sizes}
                if kept:
                    record["sizes"], record["sizes_from"] = dict(kept), previous.name
                    record["kept"] = sorted(kept)
                break
    for n in args.sizes:
        factories = [f for f in args.factories if n <= args.hnsw_max or "HNSW" not in f]
        if "Flat" not in factories:
            factories.insert(0, "Flat")  # the exact reference
        with tempfile.TemporaryDirectory(prefix="srmkb-dense-") as tmp:
            built = build_all(n, factories, Path(tmp))
            record["sizes"][str(n)] = {  # type: ignore[index]
                "data": "RANDOM unit vectors and queries (seeded), not embeddings",
                "build": built,
                "speed": speed(n, factories, Path(tmp), args.queries),
                "memory": memory(n, factories, Path(tmp), args.queries),
                "skipped": [f for f in args.factories if f not in factories],
            }
    if not args.sizes:  # quality only: keep the latest scale tables, and say where from
        earlier = sorted(RESULTS.glob("dense-precision-*.json"))
        for previous in reversed(earlier):
            old = json.loads(previous.read_text())
            if old.get("sizes"):
                record["sizes"], record["sizes_from"] = old["sizes"], previous.name
                break
    record["load_average_end"] = load_average()
    path = write_result(record)
    (RESULTS / "dense-precision.md").write_text(render(record, path))
    print(path)
    print(
        f"reproduce: cd {HERE.parent} && python benchmarks/dense_precision.py "
        + " ".join(sys.argv[1:])
    )


if __name__ == "__main__":
    main()
