"""From a ranking to what a caller sees: hits of a search, or one answer for a channel.

The audience is checked again here, when a passage is rendered: a customer never sees
an internal passage, nor the case metadata of a resolved case, whatever ranked it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from ..documents import Hit
from ..index.filters import Filters
from ..index.protocol import Index, Ranking, StaleRead
from ..index.query import Query
from ..storage.interactions import AuditLog
from ..storage.records import PassageRecord
from ..text.language import primary_language
from ..vocabulary import CHANNELS, Audience, Channel, check_choice
from .compose import Answer, Related, declined, render, select
from .confidence import ConfidenceModel, default_model
from .evidence import Evidence, LineVectors, gather

log = logging.getLogger(__name__)

# Metadata of case-derived documents a customer may see: the rest (case id, channel,
# status, priority, dates, complaint...) was typed by agents or customers about one case.
_CASE_SOURCES = frozenset({"crm", "draft", "captured"})
_CUSTOMER_CASE_FIELDS = frozenset({"source_type", "product", "category", "language"})
_RELATED = 3


def visible(record: PassageRecord, audience: str) -> bool:
    """Checked again when a passage is rendered: a customer never sees internal text."""
    if audience == "agent":
        return True
    if record.visibility != "public":
        log.error("passage %s (%s) withheld from a customer", record.id, record.visibility)
        return False
    return True


def shown_metadata(metadata: dict[str, object], audience: str) -> dict[str, object]:
    """A document's metadata as the audience may see it."""
    if audience == "agent" or metadata.get("source_type") not in _CASE_SOURCES:
        return metadata
    return {k: v for k, v in metadata.items() if k in _CUSTOMER_CASE_FIELDS}


def snippet(text: str, limit: int = 300) -> str:
    """The first ``limit`` characters of a passage, cut at a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + "…"


def hits(index: Index, ranking: Ranking, audience: Audience, *, final: bool) -> list[Hit]:
    """The hits of a ranking, read from the version that ranked them; a passage a newer
    commit removed raises :class:`StaleRead` unless ``final`` (then it is left out)."""
    pids = ranking.passage_ids.tolist()
    records = index.passages(pids)
    if not final and len(records) < len(set(pids)):
        raise StaleRead
    out = []
    for i, pid in enumerate(pids):
        rec = records.get(pid)
        if rec is None or not visible(rec, audience):
            continue
        out.append(
            Hit(
                document_id=rec.document_id,
                passage_id=pid,
                title=rec.title,
                section=rec.section,
                url=rec.url,
                score=float(ranking.scores[i]),
                snippet=snippet(rec.text),
                scores={name: float(v[i]) for name, v in ranking.parts.items()},
                page=rec.page,
                visibility=rec.visibility,  # type: ignore[arg-type]
                language=rec.language,
                metadata=shown_metadata(rec.metadata, audience),  # type: ignore[arg-type]
                version=rec.version,
                text=rec.text,
            )
        )
    return out


def answer(
    index: Index,
    query: Query,
    lines: LineVectors,
    model: ConfidenceModel,
    *,
    threshold: float,
    channel: Channel,
    audience: Audience,
    filters: Filters | None,
    language: str | None,
    final: bool,
) -> Answer:
    """Answer ``query`` from ``index`` for one channel, or decline below ``threshold``."""
    evidence = gather(index, query, lines, audience=audience, filters=filters, final=final)
    asker = primary_language(language) if language else query.answer_language(index.languages)
    confidence = model.probability(evidence.features) if evidence.document_ids else 0.0
    if not evidence.document_ids or confidence < threshold:
        return declined(query.text, confidence, channel, audience, asker)
    return _compose(index, query.text, evidence, confidence, channel, audience, asker, final)


def answering(
    model_id: str | None,
    facts: Query,
    lines: LineVectors,
    *,
    channel: Channel,
    audience: Audience | None,
    filters: Filters | None,
    threshold: float | None,
    language: str | None,
    model: ConfidenceModel | None = None,
) -> Callable[[Index, bool], Answer]:
    """What an answer is checked and set with (the channel, its default audience: the
    agent's on the agent channel, the model's cut), as a call answering from one version
    of an index (``final``: see :func:`answer`); one local or sharded base alike.
    ``model`` is the base's own calibrated confidence model, by default the shipped one
    for ``model_id``."""
    check_choice("channel", channel, CHANNELS)
    seen: Audience = audience or ("agent" if channel == "agent" else "customer")
    model = model or default_model(model_id)
    cut = model.cut(threshold)

    def run(index: Index, final: bool) -> Answer:
        return answer(
            index,
            facts,
            lines,
            model,
            threshold=cut,
            channel=channel,
            audience=seen,
            filters=filters,
            language=language,
            final=final,
        )

    return run


def logged(answer: Answer, audit: AuditLog, channel: str | None = None) -> Answer:
    """``answer`` logged in ``audit`` (under ``channel``, by default the answer's), with
    the id of its interaction."""
    interaction = audit.record(
        kind="answer",
        audience=answer.audience,
        question=answer.question,
        channel=channel or answer.channel,
        document_id=answer.document_id,
        document_version=answer.document_version,
        confidence=round(answer.confidence, 6),
        answered=answer.answered,
        results=[answer.document_id] if answer.document_id else [],
    )
    return replace(answer, interaction_id=interaction)


def _compose(
    index: Index,
    question: str,
    evidence: Evidence,
    confidence: float,
    channel: Channel,
    audience: Audience,
    language: str,
    final: bool,
) -> Answer:
    pids = evidence.ranking.passage_ids.tolist()
    doc_id = evidence.document_ids[0]
    passages = index.document_passages(doc_id)
    best = next((p for p in passages if p.id == pids[0]), None)
    if best is None or not visible(best, audience):
        # Changed since this version was taken: rank again, or decline on the last try.
        if not final:
            raise StaleRead
        return declined(question, 0.0, channel, audience, language)
    # Other documents of the ranking, best first; resolved cases apart (agents only).
    firsts: dict[str, str] = {}
    for pid, d in zip(pids, evidence.document_ids):
        if d != doc_id and d not in firsts:
            firsts[d] = pid
    records = index.passages(list(firsts.values()))
    if not final and len(records) < len(firsts):
        raise StaleRead
    related: list[Related] = []
    cases: list[Related] = []
    for pid in firsts.values():  # best first
        rec = records.get(pid)
        if rec is None or not visible(rec, audience):
            continue
        item = Related(rec.document_id, rec.title, rec.url, rec.visibility == "internal")
        if rec.metadata.get("source_type") == "crm":
            if audience == "agent" and len(cases) < _RELATED:
                cases.append(item)
        elif len(related) < _RELATED:
            related.append(item)
    selection = select(
        passages, best, audience=audience, related=related, related_cases=cases, question=question
    )
    text, markup = render(selection, channel, language)
    return Answer(
        question=question,
        answered=True,
        confidence=confidence,
        channel=channel,
        audience=audience,
        text=text,
        html=markup,
        document_id=selection.document_id,
        document_version=selection.version,
        passage_ids=selection.passage_ids,
        citations=(selection.citation,),
        steps=selection.steps,
        related=selection.related,
        related_cases=selection.related_cases,
        internal_notes=selection.internal_notes,
        internal=selection.internal,
        language=language,
        source_language=selection.language,
    )
