"""Run ``srmkb eval`` on every shared BEIR set in each mode; write JSON and a table.

    python benchmarks/eval_sets.py [--sets covidfaq scifact ...] [--modes bm25 hybrid]

Each (set, mode) runs the real command line, so the figures are what a user gets. The
dense and hybrid runs of a set share one base (``--kb``), so the corpus is embedded
once. Results go to ``benchmarks/results/eval-<date>.json`` and the table to
``benchmarks/results/eval-latest.md``. This is a cross-check of ``quality.py`` (which
runs srmkb and the peers in one process, from cached vectors) through the CLI; it is not
part of ``make bench``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _record import RESULTS, provenance, write_result

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "beir"
ENGLISH = ["covidfaq", "cranfield", "banking77", "hint3-sofmattress", "scifact"]


def run_eval(folder: Path, mode: str, kb: Path | None) -> dict[str, object]:
    cmd = [sys.executable, "-m", "srmkb.cli", "eval", str(folder), "--json", "-q"]
    cmd += ["--answers"] if mode == "answers" else ["--mode", mode]
    if kb is not None:
        cmd += ["--kb", str(kb)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=ENGLISH)
    parser.add_argument("--modes", nargs="+", default=["bm25", "dense", "hybrid"])
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    answers: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="srmkb-bench-") as tmp:
        for name in args.sets:
            for mode in args.modes:
                kb = None if mode == "bm25" else Path(tmp) / f"{name}-dense"
                result = run_eval(SHARED / name, mode, kb)
                print(json.dumps(result), flush=True)
                rows.append(result)
            if (SHARED / name / "queries_oos.jsonl").exists():
                result = run_eval(SHARED / name, "answers", Path(tmp) / f"{name}-dense")
                print(json.dumps(result), flush=True)
                answers.append(result)
    record = {
        **provenance("eval", ("sentence-transformers", "faiss-cpu", "torch")),
        "results": rows,
        "answers": answers,
    }
    write_result(record)
    commit = str(record["git_commit"])
    (RESULTS / "eval-latest.md").write_text(table(rows, commit))
    print(table(rows, commit))


def table(rows: list[dict[str, object]], commit: str) -> str:
    by = {(r["set"], r["mode"]): r for r in rows}
    sets = list(dict.fromkeys(str(r["set"]) for r in rows))
    lines = [
        f"nDCG@10 per shared set through `srmkb eval` (srmkb {commit}).",
        "",
        "| set | srmkb bm25 | srmkb dense | srmkb hybrid | hybrid − best single | hybrid p50 ms |",
        "|---|---|---|---|---|---|",
    ]
    for s in sets:
        b, d, h = (by.get((s, m), {}).get("ndcg@10") for m in ("bm25", "dense", "hybrid"))
        margin = f"{h - max(b, d):+.4f}" if None not in (b, d, h) else "–"
        lat = by.get((s, "hybrid"), {}).get("latency_ms", {}).get("p50", "–")
        cells = [s, b, d, h, margin, lat]
        lines.append("| " + " | ".join("–" if c is None else str(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
