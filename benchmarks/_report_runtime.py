"""The goals of the runtime issue (onnxruntime, verified weights, a lean index), each read
from the newest result that measured it: ``runtime.py`` (speed, hybrid, quality, size),
``build_speed.py`` and ``bm25_speed.py``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

DEFAULT_INDEX = "SQfp16"  # the exact dense index a new base gets


def _newest(results: Path, prefix: str, key: str) -> tuple[str, dict[str, Any]] | None:
    for path in sorted(results.glob(f"{prefix}-*.json"), reverse=True):
        if not path.stem.split("-")[-1].isdigit():
            continue
        record = json.loads(path.read_text())
        if record.get(key):
            return path.name, record
    return None


def runtime_goals(results: Path) -> list[tuple[str, str, bool | None]]:
    """(goal, figure, met) for each goal; met is None where nothing measured it."""
    out: list[tuple[str, str, bool | None]] = []
    speed = _newest(results, "runtime", "speed")
    if speed:
        name, rec = speed
        onnx, torch = rec["speed"]["onnx"], rec["speed"]["torch"]
        out.append(
            (
                "cold start (import, open, load, first answer) ≤ 1.5 s",
                f"{onnx['cold_start_s']} s (torch {torch['cold_start_s']} s; `{name}`)",
                onnx["cold_start_s"] <= 1.5,
            )
        )
        out.append(
            (
                "ingest throughput not lower than torch's",
                f"{onnx['passages_per_s']} vs {torch['passages_per_s']} passages/s (`{name}`)",
                onnx["passages_per_s"] >= torch["passages_per_s"],
            )
        )
    hybrid = _newest(results, "runtime", "hybrid")
    if hybrid:
        name, rec = hybrid
        rows = {(r["runtime"], r["dense_index"]): r for r in rec["hybrid"]["results"]}
        mine = rows.get(("onnx", DEFAULT_INDEX)) or rows[("onnx", "Flat")]
        flat, torch_ = rows.get(("onnx", "Flat")), rows.get(("torch", "Flat"))
        out.append(
            (
                f"hybrid p50 ≤ 15 ms at {rec['hybrid']['passages']:,} passages, exact, "
                "query embedding included",
                f"{mine['p50_ms']} ms {mine['dense_index']}"
                + (f", {flat['p50_ms']} ms Flat" if flat and flat is not mine else "")
                + (f" (torch, Flat: {torch_['p50_ms']} ms)" if torch_ else "")
                + f"; `{name}`",
                mine["p50_ms"] <= 15,
            )
        )
    size = _newest(results, "runtime", "size")
    if size:
        name, rec = size
        steps = list(rec["size"].items())
        dense = next((mb for label, mb in steps if "dense" in label), None)
        service = next((mb for label, mb in steps if "service" in label), None)
        demo = next((mb for label, mb in steps if "make demo" in label), None)
        out.append(
            (
                "install size of the default extras ≤ 400 MB",
                f"{dense} MB with the default model (`[dense]`), {service} MB with the service;"
                f" {demo} MB with everything `make demo` installs (`{name}`)",
                None if service is None else service <= 400,
            )
        )
    build = _newest(results, "build-speed", "runs")
    if build:
        name, rec = build
        runs = [r for r in rec["runs"] if r["passages"] == 1_000_000]
        mine = [r for r in runs if r["system"] == f"srmkb-{DEFAULT_INDEX}"]
        ref = [r for r in runs if r["system"] == "bm25s"]
        if mine:
            peak = max(r["peak_rss_mb"] for r in mine)
            out.append(
                (
                    "1M build peak RSS ≤ 3 GB (with vectors, embedding excluded)",
                    f"{peak:,} MB ({DEFAULT_INDEX}; `{name}`)",
                    peak <= 3_000,
                )
            )
            if ref:
                # Medians over rounds, as the build table's ratio.
                ratio = statistics.median(r["seconds"] for r in mine) / statistics.median(
                    r["seconds"] for r in ref
                )
                out.append(
                    (
                        "1M build time ≤ 2× bm25s",
                        f"{ratio:.2f}× (`{name}`)",
                        ratio <= 2,
                    )
                )
    quality = _newest(results, "runtime", "quality")
    if quality:
        name, rec = quality
        by = {(r["set"], r["mode"], r["config"]): r["ndcg@10"] for r in rec["quality"]}
        sets = sorted({s for s, _, _ in by})
        worst = max(abs(v - by[(s, m, "torch")]) for (s, m, c), v in by.items() if c != "torch")
        out.append(
            (
                "nDCG@10 unchanged within 0.002 (new bases, and torch-built bases searched"
                " by onnxruntime)",
                f"largest difference {worst:.4f} over {len(sets)} sets (`{name}`)",
                worst <= 0.002,
            )
        )
    bm25 = _newest(results, "bm25-speed", "results")
    if bm25:
        name, rec = bm25
        res = rec["results"]
        mine = res["srmkb"]["scoring_unseen_terms"]["p50_ms"]
        theirs = res["bm25s"]["scoring"]["p50_ms"]
        out.append(
            (
                "BM25 at 100k no slower than bm25s (its quickstart), each query's first run, caches cold",
                f"{mine} vs {theirs} ms p50 (`{name}`)",
                mine <= theirs,
            )
        )
    return out


def runtime_goals_section(results: Path) -> list[str]:
    lines = [
        "## Goals of the runtime issue (onnxruntime, a lean index)",
        "",
        "| goal | figure | met |",
        "|---|---|---|",
    ]
    for goal, figure, met in runtime_goals(results):
        verdict = "not measured" if met is None else ("**met**" if met else "**not met**")
        lines.append(f"| {goal} | {figure} | {verdict} |")
    return lines
