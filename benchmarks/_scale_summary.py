"""Comparable figures from a scale result: one value per (system, metric), and ratios.

``scale.py`` records each stage's raw output; this flattens it into the figures that
can be set side by side (the same thing measured the same way) and divides each peer's
by srmkb's. A ratio above 1 means srmkb is faster or smaller.
"""

from __future__ import annotations

from typing import Any

# metric: (label, unit); lower is better for all but recall.
METRICS: dict[str, tuple[str, str]] = {
    "bm25_p50": ("BM25 scoring + top 10, p50", "ms"),
    "bm25_p95": ("BM25 scoring + top 10, p95", "ms"),
    "bm25_e2e_p50": ("BM25 search end to end, p50", "ms"),
    "dense_exact_p50": ("dense exact search (vector given), p50", "ms"),
    "dense_exact_p95": ("dense exact search (vector given), p95", "ms"),
    "dense_hnsw_p50": ("dense HNSW search (vector given), p50", "ms"),
    "dense_hnsw_p95": ("dense HNSW search (vector given), p95", "ms"),
    "hnsw_recall": ("HNSW recall@10 against exact", ""),
    "dense_e2e_p50": ("dense search with query embedding, p50", "ms"),
    "hybrid_p50": ("hybrid search with query embedding, p50", "ms"),
    "hybrid_p95": ("hybrid search with query embedding, p95", "ms"),
    "hybrid_given_p50": ("hybrid search, query vector given, p50", "ms"),
    "embed_p50": ("query embedding alone, p50", "ms"),
    "build_s": ("index build (embedding excluded)", "s"),
    "rss_build_mb": ("peak RSS while building (inputs included)", "MB"),
    "rss_serving_mb": ("RSS serving: reopened from disk, after queries (process)", "MB"),
    "rss_index_mb": ("RSS added by the index: serving RSS − RSS before reopening", "MB"),
    "disk_mb": ("size on disk", "MB"),
    "reopen_s": ("reopen + first query (model load excluded)", "s"),
    "add_one_ms": ("add one document to the base (embedding included), p50", "ms"),
}
SYSTEM_LABELS = {
    "srmkb": "srmkb",
    "srmkb-hnsw": "srmkb HNSW",
    "rank-bm25": "rank-bm25",
    "bm25s": "bm25s",
    "faiss": "faiss",
    "langchain": "LangChain",
    "txtai": "txtai",
}
# Which srmkb figure a peer's is compared with.
HNSW_METRICS = {"dense_hnsw_p50", "dense_hnsw_p95", "hnsw_recall"}


def _get(d: Any, *path: str) -> float | None:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return float(d) if isinstance(d, (int, float)) else None


def comparable(size: dict[str, Any]) -> dict[str, dict[str, float]]:
    """{system: {metric: value}} for the systems of one size that ran."""
    out: dict[str, dict[str, float | None]] = {}
    for system in ("srmkb", "srmkb-hnsw"):
        b, s = size.get(system, {}).get("build", {}), size.get(system, {}).get("serve", {})
        lat = s.get("latency", {})
        dense = "dense_hnsw" if system == "srmkb-hnsw" else "dense_exact"
        out[system] = {
            "bm25_p50": _get(lat, "bm25_scoring", "p50_ms"),
            "bm25_p95": _get(lat, "bm25_scoring", "p95_ms"),
            "bm25_e2e_p50": _get(lat, "bm25_e2e", "p50_ms"),
            f"{dense}_p50": _get(lat, "dense_search", "p50_ms"),
            f"{dense}_p95": _get(lat, "dense_search", "p95_ms"),
            "hnsw_recall": _get(s, "hnsw_recall@10"),
            "dense_e2e_p50": _get(lat, "dense_e2e", "p50_ms"),
            "hybrid_p50": _get(lat, "hybrid_e2e", "p50_ms"),
            "hybrid_p95": _get(lat, "hybrid_e2e", "p95_ms"),
            "hybrid_given_p50": _get(lat, "hybrid_given_vector", "p50_ms"),
            "embed_p50": _get(lat, "query_embedding", "p50_ms"),
            "build_s": _get(b, "build_s"),
            "rss_build_mb": _get(b, "rss_peak_mb"),
            "rss_serving_mb": _get(s, "rss_now_mb"),
            "rss_index_mb": _index_rss(s),
            "disk_mb": _get(b, "disk_mb"),
            "reopen_s": _get(s, "reopen_s"),
            "add_one_ms": _get(s, "add_one", "p50_ms"),
        }
    for system in ("rank-bm25", "bm25s"):
        b, s = size.get(system, {}).get("build", {}), size.get(system, {}).get("serve", {})
        out[system] = {
            "bm25_p50": _get(s, "latency", "bm25_scoring", "p50_ms"),
            "bm25_p95": _get(s, "latency", "bm25_scoring", "p95_ms"),
            "build_s": _get(b, "build_s"),
            "rss_build_mb": _get(b, "rss_peak_mb"),
            "rss_serving_mb": _get(s, "rss_now_mb"),
            "rss_index_mb": _index_rss(s),
            "disk_mb": _get(b, "disk_mb"),
            "reopen_s": _get(s, "reopen_s"),
            "add_one_ms": _ms(_get(b, "build_s")),  # no incremental add: a rebuild
        }
    b, s = size.get("faiss", {}).get("build", {}), size.get("faiss", {}).get("serve", {})
    out["faiss"] = {
        "dense_exact_p50": _get(s, "latency", "dense_search_flat", "p50_ms"),
        "dense_exact_p95": _get(s, "latency", "dense_search_flat", "p95_ms"),
        "dense_hnsw_p50": _get(s, "latency", "dense_search_hnsw", "p50_ms"),
        "dense_hnsw_p95": _get(s, "latency", "dense_search_hnsw", "p95_ms"),
        "hnsw_recall": _get(s, "hnsw_recall@10"),
        "build_s": _get(b, "flat_build_s"),
        "disk_mb": _get(b, "flat_disk_mb"),
        "rss_serving_mb": _get(s, "rss_flat_mb"),
        "rss_index_mb": _index_rss(s, "rss_flat_mb"),
        "reopen_s": _get(s, "flat_reopen_s"),
    }
    b, s = size.get("langchain", {}).get("build", {}), size.get("langchain", {}).get("serve", {})
    out["langchain"] = {
        "bm25_e2e_p50": _get(s, "latency", "bm25_e2e", "p50_ms"),
        "dense_e2e_p50": _get(s, "latency", "dense_e2e", "p50_ms"),
        "hybrid_p50": _get(s, "latency", "hybrid_e2e", "p50_ms"),
        "hybrid_p95": _get(s, "latency", "hybrid_e2e", "p95_ms"),
        "build_s": _get(b, "build_s"),
        "rss_build_mb": _get(b, "rss_peak_mb"),
        "rss_serving_mb": _get(s, "rss_now_mb"),
        "rss_index_mb": _index_rss(s),
        "disk_mb": _get(b, "disk_mb"),
        "reopen_s": _get(s, "reopen_s"),
        "add_one_ms": _get(s, "add_one_ms"),
    }
    b, s = size.get("txtai", {}).get("build", {}), size.get("txtai", {}).get("serve", {})
    out["txtai"] = {
        "hybrid_p50": _get(s, "latency", "hybrid_e2e", "p50_ms"),
        "hybrid_p95": _get(s, "latency", "hybrid_e2e", "p95_ms"),
        "build_s": _get(b, "build_s"),
        "rss_build_mb": _get(b, "rss_peak_mb"),
        "rss_serving_mb": _get(s, "rss_now_mb"),
        "rss_index_mb": _index_rss(s),
        "disk_mb": _get(b, "disk_mb"),
        "reopen_s": _get(s, "reopen_s"),
        "add_one_ms": _get(s, "add_one", "p50_ms"),
    }
    return {
        system: {k: v for k, v in values.items() if v is not None}
        for system, values in out.items()
        if any(v is not None for v in values.values())
    }


def _index_rss(serve: dict[str, Any], key: str = "rss_now_mb") -> float | None:
    now, before = _get(serve, key), _get(serve, "rss_before_open_mb")
    return None if now is None or before is None else round(now - before, 1)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def ratios(figures: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{peer: {metric: peer / srmkb}} where both ran; recall is left out."""
    out: dict[str, dict[str, float]] = {}
    for peer, values in figures.items():
        if peer.startswith("srmkb"):
            continue
        for metric, value in values.items():
            if metric == "hnsw_recall":
                continue
            ref_system = "srmkb-hnsw" if metric in HNSW_METRICS else "srmkb"
            ref = figures.get(ref_system, {}).get(metric)
            if ref:
                out.setdefault(peer, {})[metric] = round(value / ref, 2)
    return out
