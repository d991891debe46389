"""Where a hybrid query's time goes at 100k passages (pyinstrument); and an add's.

    python benchmarks/profile_hybrid.py [--size 100000] [--queries 200] [--adds 10]

Builds the scale set's base (``_scale_data``, precomputed vectors, exact dense index),
reopens it with the real MiniLM model, warms it up, then profiles ``kb.search(q,
mode="hybrid")`` over SciFact queries. Then it profiles adding documents one at a time
(``upsert([doc])``, each followed by one search, which pays for the new snapshot).
Writes both profiles as text (``results/profile-hybrid-<size>-<stamp>.txt``) and, in
``results/profile-hybrid-<stamp>.json``, the share of the time spent in each step.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from _record import RESULTS, load_average, provenance, write_result
from _scale_data import extra_passages, scale_set
from _timing import Stopwatch
from _vectors import LookupEmbedder, load_minilm
from srmkb import Document, KnowledgeBase

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / "build" / "bench-profile"
QUERIES = HERE.parent.parent / "shared" / "data" / "beir" / "scifact" / "queries.jsonl"
# The steps of a hybrid search, by the function that does each (name, file stem).
STEPS = {
    "query embedding": ("embed_query", "embedders"),
    "BM25: query analysis": ("analyze", "analysis"),
    "BM25: scoring": ("scores", "lexical"),
    "dense: top 100": ("search", "dense"),
    "dense: scores of candidates": ("scores_of", "dense"),
    "fusion: query language": ("_query_languages", "retrieval"),
    "fusion": ("fuse", "fusion"),
    "hits from SQLite": ("_hits", "kb"),
    "audit log record": ("record", "audit"),
}


def frames(frame: object) -> Iterator[object]:
    yield frame
    for child in getattr(frame, "children", []):
        yield from frames(child)


def step_times(root: object) -> dict[str, float]:
    """Inclusive seconds per step, outermost frames only (no double counting)."""
    out = dict.fromkeys(STEPS, 0.0)

    def walk(frame: object, inside: set[str]) -> None:
        name = getattr(frame, "function", "") or ""
        stem = Path(getattr(frame, "file_path", "") or "").stem
        here = set(inside)
        for step, (function, module) in STEPS.items():
            if name == function and stem == module and step not in inside:
                out[step] += float(getattr(frame, "time", 0.0))
                here.add(step)
        for child in getattr(frame, "children", []):
            walk(child, here)

    walk(root, set())
    return out


def add_steps(root: object) -> dict[str, float]:
    """Inclusive seconds of each call made directly by ``upsert``/``_commit_unique``, and
    of the search that follows each add."""
    out: dict[str, float] = {}
    parents = {"upsert", "_commit_unique", "_commit", "_commit_or_split"}

    def walk(frame: object) -> None:
        name = getattr(frame, "function", "") or ""
        for child in getattr(frame, "children", []):
            child_name = getattr(child, "function", "") or ""
            if name in parents and child_name not in parents:
                out[child_name] = out.get(child_name, 0.0) + float(getattr(child, "time", 0.0))
            elif name == "profile_adds" and child_name == "search":
                out["search after the add"] = out.get("search after the add", 0.0) + float(
                    getattr(child, "time", 0.0)
                )
            walk(child)

    walk(root)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def profile_adds(kb: KnowledgeBase, texts: list[str], query: str) -> None:
    for i, text in enumerate(texts):
        kb.upsert([Document(id=f"added{i}", text=text, language="en")])
        kb.search(query, k=10, mode="hybrid")


def build(n: int, folder: Path) -> float:
    texts, vectors = scale_set(n)
    shutil.rmtree(folder, ignore_errors=True)
    with Stopwatch() as sw:
        kb = KnowledgeBase(folder, model=LookupEmbedder(texts, vectors, None))
        kb.upsert(Document(id=f"p{i}", text=t, language="en") for i, t in enumerate(texts))
        kb.close()
    return sw.seconds


def main() -> None:
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--adds", type=int, default=10)
    args = parser.parse_args()
    with open(QUERIES, encoding="utf-8") as handle:
        queries = [json.loads(line)["text"] for line in handle][: args.queries]
    folder = WORK / str(args.size)
    build_s = build(args.size, folder)
    model = load_minilm()
    kb = KnowledgeBase(folder, model=model, create=False)
    for q in queries[:10]:
        kb.search(q, mode="hybrid")
    profiler = Profiler(interval=0.0005)
    with Stopwatch() as sw:
        profiler.start()
        for q in queries:
            kb.search(q, k=10, mode="hybrid")
        profiler.stop()
    session = profiler.last_session
    adds = extra_passages(args.size, args.adds)
    add_profiler = Profiler(interval=0.0005)
    with Stopwatch() as add_sw:
        add_profiler.start()
        profile_adds(kb, adds, queries[0])
        add_profiler.stop()
    kb.close()
    shutil.rmtree(folder, ignore_errors=True)
    add_root = add_profiler.last_session.root_frame()
    add_total = float(add_root.time) if add_root else add_sw.seconds
    root = session.root_frame()
    total = float(root.time) if root else sw.seconds
    steps = step_times(root)
    steps["other (Python glue, NumPy set operations, top-k)"] = max(
        total - sum(steps.values()), 0.0
    )
    record = {
        **provenance("profile-hybrid", ("pyinstrument", "numpy", "faiss-cpu", "torch")),
        "load_average_end": load_average(),
        "size": args.size,
        "queries": len(queries),
        "build_s": round(build_s, 1),
        "mean_ms_per_query": round(sw.seconds * 1000 / len(queries), 2),
        "steps_ms_per_query": {k: round(v * 1000 / len(queries), 3) for k, v in steps.items()},
        "steps_share": {k: round(v / total, 4) for k, v in steps.items()},
        "adds": len(adds),
        "add_then_search_ms_mean": round(add_sw.seconds * 1000 / max(len(adds), 1), 1),
        "add_steps_ms_per_add": {
            k: round(v * 1000 / max(len(adds), 1), 2) for k, v in add_steps(add_root).items()
        },
        "add_steps_share": {k: round(v / add_total, 4) for k, v in add_steps(add_root).items()},
    }
    path = write_result(record)
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    text += "\n\nAdding documents one at a time, each followed by a search:\n"
    text += add_profiler.output_text(unicode=True, color=False, show_all=False)
    profile = RESULTS / f"{path.stem.replace('profile-hybrid', f'profile-hybrid-{args.size}')}.txt"
    profile.write_text(text)
    print(json.dumps(record["steps_share"], indent=2))
    print(path, profile)


if __name__ == "__main__":
    main()
