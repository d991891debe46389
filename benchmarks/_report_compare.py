"""Two lines per peer: how srmkb compares, from the newest quality and scale results."""

from __future__ import annotations

from typing import Any

from _report_retrieval import Result, fmt, quality_wins, scale_figures


def _size(figures: dict[str, Any]) -> str | None:
    """The size the comparison quotes: 100k when it ran, else the largest."""
    if "100000" in figures:
        return "100000"
    return max(figures, key=int) if figures else None


def _x(peer_value: float | None, mine: float | None) -> str:
    """'12× faster' / '0.5× the speed' style ratio of two latencies or sizes."""
    if not peer_value or not mine:
        return "–"
    return f"{fmt(peer_value / mine)}×"


def comparison_section(quality: Result, scale: Result) -> list[str]:
    rows = quality[1]["results"] if quality else []
    figures = scale_figures(scale[1]) if scale else {}
    n = _size(figures)
    f = figures.get(n, {}) if n else {}
    me, hn = f.get("srmkb", {}), f.get("srmkb-hnsw", {})
    at = f"at {int(n):,} passages" if n else ""

    def wins(peer: str, mine: str = "srmkb hybrid") -> str:
        won, total = quality_wins(rows, peer, mine)
        return f"{won}/{total}" if total else "–"

    def get(system: str, metric: str) -> float | None:
        return f.get(system, {}).get(metric)

    lines = ["## srmkb against each peer", ""]
    lines += [
        f"- **rank-bm25**: srmkb's BM25 {at} is {_x(get('rank-bm25', 'bm25_p50'), me.get('bm25_p50'))}"
        f" faster (p50 {fmt(me.get('bm25_p50'))} vs {fmt(get('rank-bm25', 'bm25_p50'))} ms) and saves"
        f" to open formats instead of a pickle.  \n  Quality: srmkb hybrid ≥ rank-bm25 on"
        f" {wins('rank-bm25')} sets (srmkb BM25 alone: {wins('rank-bm25', 'srmkb bm25')});"
        f" rank-bm25 builds faster ({fmt(get('rank-bm25', 'build_s'))} vs {fmt(me.get('build_s'))} s)"
        " but cannot add a document without rebuilding.",
        f"- **bm25s**: in the scale run, on srmkb's tokens and with query terms seen in the"
        f" warm-up, srmkb's BM25 scoring {at} runs at"
        f" {_x(get('bm25s', 'bm25_p50'), me.get('bm25_p50'))} bm25s's speed (p50"
        f" {fmt(me.get('bm25_p50'))} vs {fmt(get('bm25s', 'bm25_p50'))} ms; above 1× is faster;"
        " against its quickstart on terms no query used, the BM25 query speed section); bm25s"
        f" builds in {fmt(get('bm25s', 'build_s'))} s vs {fmt(me.get('build_s'))} s and takes"
        f" {fmt(get('bm25s', 'disk_mb'))} MB on disk (srmkb, with vectors and text:"
        f" {fmt(me.get('disk_mb'))} MB).  \n  Quality: srmkb hybrid ≥ bm25s on {wins('bm25s')}"
        f" sets, srmkb BM25 alone on {wins('bm25s', 'srmkb bm25')} (bm25s as its quickstart:"
        " PyStemmer's stemmer and the corpus language's stop words); bm25s has no"
        " incremental add or delete.",
        f"- **LangChain** (`EnsembleRetriever` = `BM25Retriever` + `FAISS`): srmkb's hybrid"
        f" {at} is {_x(get('langchain', 'hybrid_p50'), me.get('hybrid_p50'))} faster (p50"
        f" {fmt(me.get('hybrid_p50'))} vs {fmt(get('langchain', 'hybrid_p50'))} ms, embedding"
        f" included), reopens in {fmt(me.get('reopen_s'))} s vs {fmt(get('langchain', 'reopen_s'))} s"
        f" and adds a document in {fmt(me.get('add_one_ms'))} ms vs"
        f" {fmt(get('langchain', 'add_one_ms'))} ms (BM25Retriever must be rebuilt).  \n"
        f"  Quality: srmkb hybrid ≥ the ensemble on {wins('LangChain ensemble')} sets and ≥"
        f" LangChain's FAISS retriever on {wins('LangChain FAISS')}.",
        f"- **txtai** (hybrid `Embeddings`): srmkb's hybrid {at} is"
        f" {_x(get('txtai', 'hybrid_p50'), me.get('hybrid_p50'))} faster (p50"
        f" {fmt(me.get('hybrid_p50'))} vs {fmt(get('txtai', 'hybrid_p50'))} ms); txtai adds a"
        f" document in {fmt(get('txtai', 'add_one_ms'))} ms (srmkb {fmt(me.get('add_one_ms'))} ms)"
        f" and takes {fmt(get('txtai', 'disk_mb'))} MB on disk (srmkb {fmt(me.get('disk_mb'))} MB).  \n"
        f"  Quality: srmkb hybrid ≥ txtai hybrid on {wins('txtai hybrid')} sets.",
        f"- **faiss** (what srmkb's dense side runs on): exact search {at} p50"
        f" {fmt(me.get('dense_exact_p50'))} ms in srmkb vs {fmt(get('faiss', 'dense_exact_p50'))} ms"
        f" in bare faiss; HNSW {fmt(hn.get('dense_hnsw_p50'))} vs {fmt(get('faiss', 'dense_hnsw_p50'))}"
        f" ms (recall@10 {fmt(hn.get('hnsw_recall'))} vs {fmt(get('faiss', 'hnsw_recall'))}).  \n"
        "  srmkb adds filters before top-k, deletions, BM25, fusion and storage around the"
        " same index; the difference is that work plus the row mapping.",
    ]
    return lines
