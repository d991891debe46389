"""Speed, memory and size at 10k, 100k and 1M passages: srmkb and its peers.

    python benchmarks/scale.py [--sizes 10000 100000 1000000] [--queries 200]

The passage sets are real text (``_scale_data``: how they are built, and how the 1M
set's vectors are derived from the real 100k embeddings). Each system and size is built
in one fresh process and served from disk in another, so the memory figures (peak and
current RSS from /proc) are each process's own. Query latencies use SciFact's queries.
The first run embeds the 100k passages with MiniLM (about an hour on two shared cores)
into ``~/.cache/srmkb-bench``; later runs reuse them. Writes ``results/scale-<stamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _scale_data as data
from _record import PEER_PACKAGES, load_average, provenance, write_result
from _scale_summary import comparable, ratios
from _timing import Stopwatch

HERE = Path(__file__).resolve().parent
QUERIES = HERE.parent.parent / "shared" / "data" / "beir" / "scifact" / "queries.jsonl"
WORK = HERE.parent / "build" / "bench-scale"
SYSTEMS = ("srmkb", "srmkb-hnsw", "rank-bm25", "bm25s", "faiss", "langchain", "txtai")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def queries(n: int) -> list[str]:
    with open(QUERIES, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle][:n]


# -- preparation (in this process) ------------------------------------------------------


def prepare(sizes: list[int]) -> dict[str, object]:
    """Make sure the texts and vectors exist; measure embedding throughput on a sample."""
    from _vectors import VectorCache, load_minilm

    model = load_minilm()
    cache = VectorCache()
    real = data.real_passages(min(max(sizes), 100_000))
    missing = len(cache.missing(real))
    if missing:
        log(f"embedding {missing} passages with MiniLM once (cached for later runs)")
        done = [0]

        def progress(k: int) -> None:
            done[0] += k
            log(f"  {done[0]}/{missing}")

        cache.fill(real, model.embed_documents, progress=progress)
    pool, _ = data._pool()
    out: dict[str, object] = {
        "passages_embedded_now": missing,
        "pool": {
            "passages": len(pool),
            "mean_words": round(sum(len(t.split()) for t in pool) / len(pool), 1),
        },
    }
    if max(sizes) > 100_000:
        out["calibration"] = data.calibrate(cache, model.embed_documents)
        for n in sizes:
            if n > 100_000:
                data.cached_passages(n)
    # Throughput of the embedding alone, on passages no run has cached (they are not
    # stored), with srmkb's batch size.
    sample = [f"{t} {i}" for i, t in enumerate(real[:512])]
    model.embed_documents(sample[:32])
    with Stopwatch() as sw:
        model.embed_documents(sample)
    out["embedding"] = {
        "sample": len(sample),
        "passages_per_s": round(len(sample) / sw.seconds, 1),
        "mean_words": round(sum(len(t.split()) for t in sample) / len(sample), 1),
    }
    return out


# -- stages (each in a child process) --------------------------------------------------


def run_stage(stage: str, n: int, folder: Path, args: argparse.Namespace, **extra: object) -> dict:  # type: ignore[type-arg]
    cmd = [sys.executable, __file__, "stage", stage, "--size", str(n), "--folder", str(folder)]
    cmd += ["--queries", str(args.queries), "--slow-queries", str(slow_queries(n, args))]
    for key, value in extra.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    log(f"{n}: {stage}")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.stage_timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.stage_timeout} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = proc.stderr.strip().splitlines()[-3:]
        log(f"  failed: {' / '.join(tail)}")
        return {"error": " / ".join(tail) or f"exit {proc.returncode}"}
    result = json.loads(lines[-1][len("RESULT ") :])
    result["stage_wall_s"] = round(time.perf_counter() - start, 1)
    log(f"  {json.dumps(result)[:400]}")
    return result


def batch_size(system: str, n: int, args: argparse.Namespace) -> int:
    """srmkb's upsert batch: the default 256 up to 100k, bulk batches beyond. An HNSW base
    is loaded in one batch: every segment merge rebuilds its HNSW graph, so small
    batches would insert each vector about log8(n) times."""
    if system == "srmkb-hnsw":
        return n
    return args.batch_size if n <= 100_000 else args.bulk_batch_size


def slow_queries(n: int, args: argparse.Namespace) -> int:
    """rank-bm25 scores every passage in Python: few queries at large sizes."""
    return args.slow_queries if n <= 100_000 else args.slow_queries_1m


def stage_main(argv: list[str]) -> None:
    import os

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import _scale_peers as peers
    import _scale_srmkb as srmkb

    p = argparse.ArgumentParser()
    p.add_argument("stage")
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--folder", type=Path, required=True)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--slow-queries", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--hnsw", type=int, default=1)
    p.add_argument("--rebuild-s", type=float, default=None)
    a = p.parse_args(argv)
    n, f, q = a.size, a.folder, queries(a.queries)
    slow = q[: a.slow_queries]
    stages = {
        "srmkb-build": lambda: srmkb.build(n, f / "srmkb", "Flat", a.batch_size),
        "srmkb-serve": lambda: srmkb.serve(n, f / "srmkb", q, f / "exact.json", hnsw=False),
        "srmkb-hnsw-build": lambda: srmkb.build(n, f / "srmkb-hnsw", "HNSW32", a.batch_size),
        "srmkb-hnsw-serve": lambda: srmkb.serve(n, f / "srmkb-hnsw", q, f / "exact.json", True),
        "rank-bm25-build": lambda: peers.rank_bm25_build(n, f / "rank-bm25"),
        "rank-bm25-serve": lambda: peers.rank_bm25_serve(n, f / "rank-bm25", slow),
        "bm25s-build": lambda: peers.bm25s_build(n, f / "bm25s"),
        "bm25s-serve": lambda: peers.bm25s_serve(n, f / "bm25s", q),
        "faiss-build": lambda: peers.faiss_build(n, f / "faiss", bool(a.hnsw)),
        "faiss-serve": lambda: peers.faiss_serve(n, f / "faiss", q, bool(a.hnsw)),
        "langchain-build": lambda: peers.langchain_build(n, f / "langchain"),
        "langchain-serve": lambda: peers.langchain_serve(n, f / "langchain", q, slow, a.rebuild_s),
        "txtai-build": lambda: peers.txtai_build(n, f / "txtai"),
        "txtai-serve": lambda: peers.txtai_serve(n, f / "txtai", q),
    }
    result = stages[a.stage]()
    print("RESULT " + json.dumps(result), flush=True)


# -- one size, all systems -------------------------------------------------------------


def run_size(n: int, args: argparse.Namespace) -> dict[str, dict]:  # type: ignore[type-arg]
    folder = WORK / str(n)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    hnsw = n <= args.hnsw_max
    out: dict[str, dict] = {}  # type: ignore[type-arg]
    for system in args.systems:
        if system == "srmkb-hnsw" and not hnsw:
            out[system] = {"skipped": f"HNSW is built up to {args.hnsw_max} passages"}
            continue
        if system == "txtai" and n > args.txtai_max:
            out[system] = {"skipped": f"txtai is run up to {args.txtai_max} passages"}
            continue
        extra: dict[str, object] = {"batch_size": batch_size(system, n, args), "hnsw": int(hnsw)}
        if system == "faiss":
            extra["hnsw"] = int(n <= args.faiss_hnsw_max)
        build = run_stage(f"{system}-build", n, folder, args, **extra)
        if system == "langchain" and "bm25_build_s" in build:
            extra["rebuild_s"] = build["bm25_build_s"]
        serve = (
            run_stage(f"{system}-serve", n, folder, args, **extra) if "error" not in build else {}
        )
        out[system] = {"build": build, "serve": serve}
        if system != "srmkb":  # srmkb's Flat folder holds exact.json for the HNSW run
            shutil.rmtree(folder / system, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "stage":
        stage_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--queries", type=int, default=200, help="timed queries per system")
    parser.add_argument("--slow-queries", type=int, default=30, help="rank-bm25, LangChain")
    parser.add_argument("--slow-queries-1m", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256, help="srmkb upsert batch")
    parser.add_argument("--bulk-batch-size", type=int, default=10_000, help="beyond 100k")
    parser.add_argument("--hnsw-max", type=int, default=1_000_000)
    parser.add_argument("--faiss-hnsw-max", type=int, default=100_000)
    parser.add_argument("--txtai-max", type=int, default=100_000)
    parser.add_argument("--stage-timeout", type=int, default=2400)
    args = parser.parse_args()
    record: dict[str, object] = {**provenance("scale", PEER_PACKAGES)}
    with Stopwatch() as total:
        record["prepare"] = prepare(args.sizes)
        record["sizes"] = {str(n): run_size(n, args) for n in args.sizes}
    figures = {n: comparable(size) for n, size in record["sizes"].items()}  # type: ignore[attr-defined]
    record["figures"] = figures
    record["ratios"] = {n: ratios(f) for n, f in figures.items()}
    record.update(
        {
            "load_average_end": load_average(),
            "wall_s": round(total.seconds, 1),
            "data": data.__doc__,
            "queries": f"SciFact queries: {args.queries} timed per system; rank-bm25 and"
            f" LangChain's BM25/ensemble {args.slow_queries} (1M: {args.slow_queries_1m})",
            "settings": vars(args),
        }
    )
    print(write_result(record))


if __name__ == "__main__":
    main()
