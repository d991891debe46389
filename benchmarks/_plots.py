"""PNG plots for the benchmarks README (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from _scale_summary import SYSTEM_LABELS

Figures = dict[str, dict[str, dict[str, float]]]  # size -> system -> metric -> value


def quality(rows: list[dict[str, object]], systems: list[str], path: Path) -> None:
    """Grouped bars: nDCG@10 per set, one bar per system."""
    sets = list(dict.fromkeys(str(r["set"]) for r in rows))
    value = {(r["set"], r["system"]): float(r["ndcg@10"]) for r in rows}  # type: ignore[arg-type]
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(max(8, 1.4 * len(sets)), 4.5))
    for i, system in enumerate(systems):
        xs = [j + i * width for j in range(len(sets))]
        ys = [value.get((s, system), 0.0) for s in sets]
        ax.bar(xs, ys, width, label=system, hatch="//" if system.startswith("srmkb") else None)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(sets))])
    ax.set_xticklabels(sets, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("nDCG@10")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, 1.15))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _lines(ax, figures: Figures, series: list[tuple[str, str, str]], title: str, unit: str) -> None:  # type: ignore[no-untyped-def]
    """One line per (system, metric, label) over the sizes where it was measured."""
    sizes = sorted(figures, key=int)
    for system, metric, label in series:
        points = [
            (int(n), figures[n][system][metric])
            for n in sizes
            if metric in figures[n].get(system, {})
        ]
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", label=label or SYSTEM_LABELS.get(system, system))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages")
    ax.set_ylabel(unit)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)


def latency(figures: Figures, path: Path) -> None:
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    _lines(
        axes[0],
        figures,
        [
            ("srmkb", "bm25_p50", "srmkb scoring"),
            ("bm25s", "bm25_p50", "bm25s scoring"),
            ("rank-bm25", "bm25_p50", "rank-bm25 scoring"),
            ("srmkb", "bm25_e2e_p50", "srmkb search (hits included)"),
            ("langchain", "bm25_e2e_p50", "LangChain BM25Retriever"),
        ],
        "BM25 query p50",
        "ms",
    )
    _lines(
        axes[1],
        figures,
        [
            ("srmkb", "dense_exact_p50", "srmkb exact"),
            ("faiss", "dense_exact_p50", "faiss exact"),
            ("srmkb-hnsw", "dense_hnsw_p50", "srmkb HNSW"),
            ("faiss", "dense_hnsw_p50", "faiss HNSW"),
        ],
        "dense search p50 (query vector given)",
        "ms",
    )
    _lines(
        axes[2],
        figures,
        [
            ("srmkb", "hybrid_p50", "srmkb"),
            ("srmkb-hnsw", "hybrid_p50", "srmkb HNSW"),
            ("langchain", "hybrid_p50", "LangChain EnsembleRetriever"),
            ("txtai", "hybrid_p50", "txtai hybrid"),
            ("srmkb", "embed_p50", "query embedding alone"),
        ],
        "hybrid query p50 (query embedding included)",
        "ms",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def memory(figures: Figures, path: Path) -> None:
    systems = ["srmkb", "srmkb-hnsw", "rank-bm25", "bm25s", "faiss", "langchain", "txtai"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, metric, title in (
        (axes[0], "rss_serving_mb", "RSS serving (whole process)"),
        (axes[1], "rss_index_mb", "RSS added by the index"),
        (axes[2], "disk_mb", "size on disk"),
    ):
        _lines(ax, figures, [(s, metric, "") for s in systems], title, "MB")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
