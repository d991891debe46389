"""Index build time and peak memory at 100k and 1M passages: srmkb against bm25s.

    python benchmarks/build_speed.py [--sizes 100000 1000000] [--rounds 2]

Each build runs in a fresh process, and the passages stream from a JSON Lines file as a
batch ingest reads its sources, so the peak RSS (VmHWM) is the build's own, not that of
a list of every text held by the benchmark. Systems:

- ``srmkb-bm25``: ``KnowledgeBase(dense=False)``, ``upsert`` in batches of 10,000;
- ``srmkb-Flat`` and ``srmkb-SQfp16``: the same with vectors, exact float32 or float16.
  Embedding is excluded: a stand-in embedder returns, per text, a real MiniLM vector
  (of 2,000, chosen by a hash of the text) plus seeded noise, renormalised, computed
  batch by batch as a model would;
- ``bm25s``: its quickstart (``bm25s.tokenize`` with English stop words and PyStemmer's
  stemmer, then ``BM25().index``), tokenizing included; it needs every text in memory,
  so its peak includes them.

Rounds interleave the systems so that each sees the same machine load. The passages are
the scale sets of ``_scale_data`` (real text). Writes ``results/build-speed-<stamp>.json``
and ``results/build-speed-latest.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from _record import RESULTS, provenance, provenance_line, write_result

HERE = Path(__file__).resolve().parent
SYSTEMS = ("srmkb-bm25", "srmkb-Flat", "srmkb-SQfp16", "bm25s")
SEEDS = 2_000
BATCH = 10_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data -------------------------------------------------------------------------------


def passages_file(n: int) -> Path:
    """The scale set of ``n`` passages as JSON Lines in the benchmark cache."""
    import _scale_data as data

    path = data.SCALE_CACHE / f"passages-{n}.jsonl"
    if not path.exists():
        texts = data.cached_passages(n)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            for text in texts:
                handle.write(json.dumps(text) + "\n")
        tmp.replace(path)
    return path


def seeds_file() -> Path:
    """Real MiniLM vectors (onnxruntime) of the first SEEDS passages of the scale set."""
    import _scale_data as data
    from _vectors import CachedEmbedder, VectorCache

    path = data.SCALE_CACHE / f"seed-vectors-{SEEDS}.npy"
    if not path.exists():
        vectors = CachedEmbedder(VectorCache(runtime="onnx")).embed_documents(
            data.real_passages(SEEDS)
        )
        np.save(path, np.asarray(vectors, dtype=np.float32))
    return path


def stream(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


class StandInEmbedder:
    """Per text: a real vector picked by a hash of the text, plus noise picked by the same
    hash from a fixed pool, renormalised (MiniLM's model id, so the base is an ordinary
    MiniLM base). A text's vector is its own whatever batch it comes in, and it costs a
    hash and a copy (0.2 s per 100k texts, where drawing fresh noise per text took 1.4 s
    that the build's time then counted as if srmkb spent it)."""

    POOL = 8192  # noise rows: 2,000 seeds × 8,192 noises, far more vectors than texts

    def __init__(self, seeds: np.ndarray, sigma: float = 0.75) -> None:
        from _vectors import MINILM_ID

        self.model_id = MINILM_ID
        self.dimension = int(seeds.shape[1])
        self.seeds, self.sigma = seeds, sigma
        noise = np.random.default_rng(0).standard_normal((self.POOL, self.dimension))
        self.noise = (noise * (sigma / np.sqrt(self.dimension))).astype(np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = np.asarray(
            [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest()) for t in texts],
            dtype=np.uint64,
        ).reshape(-1)
        seeds = len(self.seeds)
        picks = (keys % np.uint64(seeds)).astype(np.int64)
        noise = ((keys // np.uint64(seeds)) % np.uint64(self.POOL)).astype(np.int64)
        out = self.seeds[picks] + self.noise[noise]
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out.astype(np.float32, copy=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


# -- one build, in its own process ------------------------------------------------------


def build_one(system: str, path: Path, folder: Path) -> dict[str, float]:
    start = time.perf_counter()
    if system == "bm25s":
        import bm25s
        import Stemmer

        texts = list(stream(path))
        tokens = bm25s.tokenize(
            texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), show_progress=False
        )
        bm25s.BM25().index(tokens, show_progress=False)
    else:
        from srmkb import Document, KnowledgeBase

        dense = system != "srmkb-bm25"
        kb = KnowledgeBase(
            folder,
            dense=dense,
            model=StandInEmbedder(np.load(seeds_file())) if dense else None,
            dense_index=system.removeprefix("srmkb-") if dense else "Flat",
            log_interactions=False,
        )
        documents = (
            Document(id=f"p{i}", text=t, language="en") for i, t in enumerate(stream(path))
        )
        kb.upsert(documents, batch_size=BATCH)
        kb.close()
    seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 1024)}


# -- the run ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--one", nargs=3, metavar=("SYSTEM", "PASSAGES", "FOLDER"))
    args = parser.parse_args()
    if args.one:
        system, path, folder = args.one
        print(json.dumps(build_one(system, Path(path), Path(folder))))
        return
    seeds_file()
    runs: list[dict[str, object]] = []
    for n in args.sizes:
        path = passages_file(n)
        for round_ in range(args.rounds):
            for system in args.systems:
                with tempfile.TemporaryDirectory(prefix="srmkb-build-") as tmp:
                    command = [sys.executable, __file__, "--one", system, str(path), tmp + "/kb"]
                    done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise SystemExit(f"{system} at {n} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                runs.append({"passages": n, "round": round_, "system": system, **result})
                log(json.dumps(runs[-1]))
    record = {**provenance("build-speed", ("bm25s", "faiss-cpu", "numpy")), "runs": runs}
    out = write_result(record)
    (RESULTS / "build-speed-latest.md").write_text(table(record, out.name), encoding="utf-8")
    print(table(record, out.name))


def table(record: dict, name: str) -> str:  # type: ignore[type-arg]
    runs = record["runs"]
    lines = [
        "# Index build at 100k and 1M passages: srmkb against bm25s",
        "",
        f"`results/{name}`: commit {record['git_commit']}"
        + (" + uncommitted changes" if record["git_dirty"] else "")
        + ". Each build in a fresh process, passages streamed from JSON Lines (bm25s holds "
        "them all), embedding excluded; median over rounds. Goals at 1M: build time "
        "≤ 2× bm25s's, peak RSS ≤ 3 GB.",
        "",
        "| passages | system | build s | peak RSS MB | build ÷ bm25s |",
        "|---|---|---|---|---|",
    ]
    for n in dict.fromkeys(r["passages"] for r in runs):
        median = {
            system: (
                statistics.median(
                    r["seconds"] for r in runs if r["passages"] == n and r["system"] == system
                ),
                max(r["peak_rss_mb"] for r in runs if r["passages"] == n and r["system"] == system),
            )
            for system in dict.fromkeys(r["system"] for r in runs if r["passages"] == n)
        }
        reference = median.get("bm25s", (None, None))[0]
        for system, (seconds, peak) in median.items():
            ratio = f"{seconds / reference:.2f}×" if reference else "–"
            lines.append(f"| {n:,} | {system} | {seconds:.1f} | {peak:,} | {ratio} |")
    lines += ["", provenance_line(record, load=True), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
