"""The self-service KPI report: what was asked, what was answered, and where to write next.

Built from the interaction log (searches, answers and their feedback) and the catalog
(documents, CRM cases, capture links). Definitions, so every figure can be checked:

- ``questions``: answer calls in the period; ``answered`` + ``abstained`` = ``questions``.
- ``self_service_resolution``: over self-service interactions (answer calls with
  ``audience="customer"``), the share resolved without escalation: answered, and not
  followed by ``escalated`` or ``not_helpful`` feedback. A declined answer offers a
  hand-over, so it counts as escalated. ``confirmed`` counts those with ``resolved``
  feedback; ``with_feedback`` those with any feedback.
- ``searches``: search calls in the period; ``document_reads``: whole documents read by
  a tool (the MCP server's ``get_document``), counted apart (per channel too): they are
  neither questions nor searches, nor uses of a document below.
- ``zero_result_rate``: over searches and answers (document reads apart), the share that
  gave the asker nothing (a search with no hit, an answer declined).
- ``top_documents``: documents by use (cited by an answer, or first hit of a search), with
  ``helpfulness`` = resolved / (resolved + not_helpful + escalated) over their answers'
  feedback (None without feedback), and ``reuse`` (cases linked to them by capture).
- ``unused_documents``: documents neither cited nor among any search's first three hits.
- ``stale_documents``: documents used in the period whose last update (``updated_at``,
  else the time they were indexed) is more than ``stale_days`` before the period's end.
- ``incidents_by_product``: CRM cases per product (opened in the period when the case
  says when); a product is flagged when its count is over three robust deviations
  above the median product and at least twice the median.
- ``content_gaps``: declined or unhelpful questions grouped by meaning (leader
  clustering on the embedding model's cosine), each with its size, representative
  questions, channels and nearest document (``partly covered`` when that document is
  close in meaning, else ``not covered``), largest first. Only the
  :data:`MAX_GAP_QUESTIONS` most asked distinct questions are clustered;
  ``content_gap_questions`` counts the distinct ones and those clustered.
- ``conflicts``: documents from different sources whose titles ask the same question
  and whose texts disagree: the same sentence gives another value (``facts``: a few such
  values, each with both sentences), or, in one language, the texts have little in
  common. Editions of one content never conflict (:mod:`srmkb.loop.conflicts`).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MissingDependencyError
from ..models import model_threshold
from ..storage.interactions import Interaction
from ..vocabulary import parse_iso
from .conflicts import conflicts

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

# Cosine thresholds on MiniLM's scale; a base with another model compares its cosines with
# the same thresholds on that model's scale (srmkb.models.model_threshold).
GAP_SIMILARITY = 0.6  # cosine at which two unanswered questions ask the same thing
# Distinct unanswered questions the gap analysis embeds and clusters, the most asked first:
# clustering compares every pair, and a busy period logs tens of thousands (50,000 would
# need a 10 GB similarity matrix and minutes of embedding); the others are only counted.
MAX_GAP_QUESTIONS = 2_000
PARTLY_COVERED = 0.45  # cosine of a gap to its nearest document for "partly covered"
SELF_SERVICE_AUDIENCE = "customer"


def build_report(
    kb: KnowledgeBase,
    *,
    since: float | None = None,
    until: float | None = None,
    stale_days: int = 365,
    max_gaps: int = 20,
) -> dict[str, Any]:
    """The KPI report of ``kb`` for interactions with ``since <= time < until``."""
    end = time.time() if until is None else until
    items = kb.audit.interactions(since=since, until=end)
    answers = [i for i in items if i.kind == "answer"]
    searches = [i for i in items if i.kind == "search"]
    reads = sum(1 for i in items if i.kind == "document")
    unanswered = [i for i in answers if not i.answered or i.outcome == "not_helpful"]
    gap_texts, distinct_gaps = _gap_texts(unanswered)
    documents = kb.catalog.document_summaries()
    titles = {d["id"]: d["title"] for d in documents}
    reuse = kb.catalog.reuse_counts()
    answered = [i for i in answers if i.answered]
    nothing = sum(1 for i in answers if not i.answered) + sum(1 for i in searches if not i.results)
    return {
        "period": {"since": _iso(since), "until": _iso(end)},
        "questions": len(answers),
        "answered": len(answered),
        "abstained": len(answers) - len(answered),
        "searches": len(searches),
        "document_reads": reads,
        "feedback": dict(sorted(Counter(i.outcome for i in items if i.outcome).items())),
        "self_service_resolution": _self_service(answers),
        "zero_result_rate": _ratio(nothing, len(answers) + len(searches)),
        "by_channel": _by_channel(items),
        "top_documents": _top_documents(answers, searches, titles, reuse),
        "unused_documents": _unused(answers, searches, documents),
        "stale_documents": _stale(answers, searches, documents, end, stale_days),
        "reuse": dict(sorted(reuse.items(), key=lambda kv: (-kv[1], kv[0]))),
        "incidents_by_product": _incidents(documents, since, end),
        "content_gaps": _gaps(kb, unanswered, gap_texts, max_gaps) if kb.model_id else [],
        "content_gap_questions": {
            "distinct": distinct_gaps,
            "clustered": len(gap_texts) if kb.model_id else 0,
        },
        "conflicts": conflicts(kb, documents) if kb.model_id else [],
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def _self_service(answers: Sequence[Interaction]) -> dict[str, Any]:
    own = [i for i in answers if i.audience == SELF_SERVICE_AUDIENCE]
    resolved = [i for i in own if i.answered and i.outcome not in ("escalated", "not_helpful")]
    return {
        "rate": _ratio(len(resolved), len(own)),
        "resolved": len(resolved),
        "interactions": len(own),
        "confirmed": sum(1 for i in own if i.outcome == "resolved"),
        "with_feedback": sum(1 for i in own if i.outcome),
    }


def _by_channel(items: Sequence[Interaction]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for i in items:
        row = out.setdefault(
            i.channel or "api",
            {"questions": 0, "answered": 0, "abstained": 0, "searches": 0}
            | {"document_reads": 0, "resolved": 0, "escalated": 0, "not_helpful": 0},
        )
        if i.kind == "answer":
            row["questions"] += 1
            row["answered" if i.answered else "abstained"] += 1
        elif i.kind == "search":
            row["searches"] += 1
        elif i.kind == "document":
            row["document_reads"] += 1
        if i.outcome:
            row[i.outcome] += 1
    return dict(sorted(out.items()))


def _uses(answers: Sequence[Interaction], searches: Sequence[Interaction]) -> Counter[str]:
    used: Counter[str] = Counter(i.document_id for i in answers if i.answered and i.document_id)
    used.update(i.results[0] for i in searches if i.results)
    return used


def _top_documents(
    answers: Sequence[Interaction],
    searches: Sequence[Interaction],
    titles: dict[str, str],
    reuse: dict[str, int],
    limit: int = 10,
) -> list[dict[str, Any]]:
    outcomes: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for i in answers:
        if i.answered and i.document_id and i.outcome:
            outcomes[i.document_id][i.outcome] += 1
    out = []
    for doc_id, uses in sorted(_uses(answers, searches).items(), key=lambda kv: (-kv[1], kv[0])):
        seen = outcomes[doc_id]
        rated = sum(seen.values())
        out.append(
            {
                "document_id": doc_id,
                "title": titles.get(doc_id, ""),
                "uses": uses,
                "resolved": seen["resolved"],
                "not_helpful": seen["not_helpful"],
                "escalated": seen["escalated"],
                "helpfulness": _ratio(seen["resolved"], rated),
                "reuse": reuse.get(doc_id, 0),
                "in_base": doc_id in titles,
            }
        )
    return out[:limit]


def _unused(
    answers: Sequence[Interaction],
    searches: Sequence[Interaction],
    documents: Sequence[dict[str, Any]],
    limit: int = 100,
) -> dict[str, Any]:
    seen = {i.document_id for i in answers if i.answered and i.document_id}
    for i in searches:
        seen.update(i.results[:3])
    unused = [d["id"] for d in documents if d["id"] not in seen]
    return {"count": len(unused), "ids": unused[:limit]}


def _stale(
    answers: Sequence[Interaction],
    searches: Sequence[Interaction],
    documents: Sequence[dict[str, Any]],
    end: float,
    stale_days: int,
) -> list[dict[str, Any]]:
    used = _uses(answers, searches)
    cutoff = end - stale_days * 86400
    out = []
    for d in documents:
        if d["id"] not in used:
            continue
        updated = _parse_time(d["updated_at"]) or d["indexed_at"].timestamp()
        if updated < cutoff:
            out.append(
                {
                    "document_id": d["id"],
                    "title": d["title"],
                    "updated": _iso(updated),
                    "days_old": int((end - updated) // 86400),
                    "uses": used[d["id"]],
                }
            )
    return sorted(out, key=lambda r: (-r["uses"], r["document_id"]))


def _parse_time(value: object) -> float | None:
    parsed = parse_iso(value) if isinstance(value, str) and value else None
    return parsed.timestamp() if parsed is not None else None


def _incidents(
    documents: Sequence[dict[str, Any]], since: float | None, end: float
) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    for d in documents:
        meta = d["metadata"]
        if meta.get("source_type") != "crm":
            continue
        opened = _parse_time(meta.get("opened_at"))
        if opened is not None and not ((since or 0.0) <= opened < end):
            continue
        counts[str(meta.get("product") or "(no product)")] += 1
    products = []
    values = np.array(list(counts.values()), dtype=float)
    median = float(np.median(values)) if len(values) else 0.0
    spread = 1.4826 * float(np.median(np.abs(values - median))) if len(values) else 0.0
    for product, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        limit = median + 3 * max(spread, 1.0)
        flagged = len(counts) >= 3 and n > limit and n >= 2 * median
        products.append(
            {
                "product": product,
                "cases": n,
                "flagged": flagged,
                "why": (
                    f"{n} cases against a median of {median:g} per product"
                    f" ({n / median:.1f}x), above the limit of {limit:.1f}"
                    if flagged
                    else None
                ),
            }
        )
    return {"median": median, "products": products}


def _gap_texts(unanswered: Sequence[Interaction]) -> tuple[list[str], int]:
    """The distinct questions to cluster, most asked first (ties: first asked first), at
    most :data:`MAX_GAP_QUESTIONS`; and how many distinct ones there are."""
    asked = Counter(i.question for i in unanswered)
    texts = sorted(asked, key=lambda text: -asked[text])  # stable: first asked first
    return texts[:MAX_GAP_QUESTIONS], len(asked)


def _gaps(
    kb: KnowledgeBase, unanswered: Sequence[Interaction], texts: list[str], limit: int
) -> list[dict[str, Any]]:
    """Content gaps: ``texts`` (the distinct questions of ``unanswered`` to cluster)
    grouped by meaning, each counting every time its questions were asked."""
    if not texts:
        return []
    vectors = kb.embedder.embed_documents(texts)
    clusters = leader_clusters(vectors, model_threshold(GAP_SIMILARITY, kb.model_id))
    by_text: defaultdict[str, list[Interaction]] = defaultdict(list)
    for i in unanswered:
        by_text[i.question].append(i)
    partly = model_threshold(PARTLY_COVERED, kb.model_id)
    gaps = []
    for members in clusters[:limit]:
        asked = [i for m in members for i in by_text[texts[m]]]
        centroid = vectors[members].mean(axis=0)
        order = sorted(members, key=lambda m: (-float(vectors[m] @ centroid), m))
        leader = texts[order[0]]
        nearest = kb.rank_documents(leader, k=1, mode="dense", audience="agent")
        doc_id, cosine = nearest[0] if nearest else (None, 0.0)
        gaps.append(
            {
                "size": len(asked),
                "questions": [texts[m] for m in order[:3]],
                "channels": dict(sorted(Counter(i.channel or "api" for i in asked).items())),
                "declined": sum(1 for i in asked if not i.answered),
                "not_helpful": sum(1 for i in asked if i.answered),
                "nearest_document": doc_id,
                "nearest_similarity": round(float(cosine), 4),
                "coverage": "partly covered" if cosine >= partly else "not covered",
            }
        )
    return sorted(gaps, key=lambda g: -g["size"])


def leader_clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Group unit vectors: the vector with the most neighbours (cosine ≥ ``threshold``)
    leads a cluster of its unassigned neighbours; repeat. No chaining, deterministic.
    Clusters come largest first."""
    n = len(vectors)
    if n == 0:
        return []
    sims = vectors @ vectors.T
    near = sims >= threshold
    free = np.ones(n, dtype=bool)
    clusters = []
    for lead in sorted(range(n), key=lambda i: (-int(near[i].sum()), i)):
        if not free[lead]:
            continue
        members = [lead] + [j for j in np.flatnonzero(near[lead] & free).tolist() if j != lead]
        free[members] = False
        clusters.append(members)
    return sorted(clusters, key=lambda c: (-len(c), c[0]))


# -- HTML ----------------------------------------------------------------------------------


def report(
    kb: KnowledgeBase,
    *,
    since: float | None = None,
    until: float | None = None,
    stale_days: int = 365,
    html: str | Path | None = None,
) -> dict[str, Any]:
    """The report of :func:`build_report`; ``html`` also writes it as a page with plots."""
    result = build_report(kb, since=since, until=until, stale_days=stale_days)
    if html is not None:
        items = kb.audit.interactions(since=since, until=until)
        Path(html).write_text(render_html(result, items), encoding="utf-8")
    return result


def render_html(report: dict[str, Any], interactions: Sequence[Interaction]) -> str:
    """A self-contained HTML page: the figures, and plots embedded as PNG."""
    esc = html.escape
    rows = "".join(
        f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>"
        for k, v in (
            ("Period", f"{report['period']['since'] or 'start'} – {report['period']['until']}"),
            ("Questions", report["questions"]),
            ("Answered", report["answered"]),
            ("Declined", report["abstained"]),
            ("Searches", report["searches"]),
            ("Documents read by tools", report["document_reads"]),
            ("Self-service resolution", report["self_service_resolution"]["rate"]),
            ("Zero-result rate", report["zero_result_rate"]),
        )
    )
    gaps = "".join(
        f"<li><b>{g['size']}</b> × {esc(' / '.join(g['questions']))} — {esc(g['coverage'])}"
        f" (nearest: {esc(str(g['nearest_document']))})</li>"
        for g in report["content_gaps"]
    )
    products = "".join(
        f"<li>{esc(p['product'])}: {p['cases']}{' — <b>flagged</b>: ' + esc(p['why']) if p['flagged'] else ''}</li>"
        for p in report["incidents_by_product"]["products"]
    )
    conflicts = "".join(
        f"<li>{esc(' vs '.join(c['documents']))}: {esc(c['why'])}</li>" for c in report["conflicts"]
    )
    plots = "".join(
        f'<img alt="{esc(name)}" src="data:image/png;base64,{png}">'
        for name, png in _plots(report, interactions)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>srmkb report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "th{text-align:left;padding-right:1em}img{max-width:100%}</style></head><body>"
        f"<h1>Self-service report</h1><table>{rows}</table>{plots}"
        f"<h2>Content gaps</h2><ol>{gaps or '<li>none</li>'}</ol>"
        f"<h2>Incidents by product</h2><ul>{products or '<li>no CRM cases</li>'}</ul>"
        f"<h2>Conflicting documents</h2><ul>{conflicts or '<li>none</li>'}</ul>"
        "</body></html>"
    )


def _plots(report: dict[str, Any], interactions: Sequence[Interaction]) -> list[tuple[str, str]]:
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "report") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = []
    per_day: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for i in interactions:
        day = i.time.date().isoformat()  # a UTC datetime: the day in UTC
        per_day[day][i.channel or "api"] += 1
    if per_day:
        days = sorted(per_day)
        channels = sorted({c for d in per_day.values() for c in d})
        fig, ax = plt.subplots(figsize=(7, 3))
        bottom = np.zeros(len(days))
        for channel in channels:
            values = np.array([per_day[d][channel] for d in days], dtype=float)
            ax.bar(days, values, bottom=bottom, label=channel)
            bottom += values
        ax.set_title("Interactions by day and channel")
        ax.legend(fontsize=8)
        out.append(("volume by day and channel", _png(fig)))
    channels = report["by_channel"]
    if channels:
        fig, ax = plt.subplots(figsize=(7, 3))
        names = list(channels)
        ax.bar(names, [channels[n]["answered"] for n in names], label="answered")
        ax.bar(
            names,
            [channels[n]["abstained"] for n in names],
            bottom=[channels[n]["answered"] for n in names],
            label="declined",
        )
        ax.set_title("Answered versus declined")
        ax.legend(fontsize=8)
        out.append(("answered versus declined", _png(fig)))
    gaps = report["content_gaps"][:8]
    if gaps:
        fig, ax = plt.subplots(figsize=(7, 3))
        labels = [g["questions"][0][:50] for g in gaps][::-1]
        ax.barh(labels, [g["size"] for g in gaps][::-1])
        ax.set_title("Largest content gaps")
        fig.tight_layout()
        out.append(("largest content gaps", _png(fig)))
    return out


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
