"""Capture: knowledge drafted from resolved cases (knowledge-centred service).

For each resolved case (a CRM connector document: title = subject, or a neutral title and
a *Subject* section for a case with a public resolution; sections *Problem*,
*Resolution*, *Internal notes*), :func:`capture` decides whether the base already
answers it or the case holds new knowledge:

- **Already answered**: the case's resolution says what a document of the base says
  (each sentence of the resolution finds a close line in that document), or quotes it
  amid the agent's own words (see :func:`_already_answered`), or, for a case without a
  resolution, the answer model would answer its problem with confidence. The case is
  linked to that document, and the link counts as a reuse of it in the KPI report.
- **New knowledge**: a draft article is written, or an open draft about the same problem
  takes the case in (see :func:`_matching_draft`). Cases merge on the problem they solve,
  not on the fix: agents word the same fix differently and often solve one problem
  another way, while one generic fix ("escalated to tier 2") serves many problems. A draft
  has the problem as its title, the questions as asked, the environment (product,
  channel), each fix as numbered steps, most used first with its count of cases, and the
  source case ids. It is an ``internal`` document of the base, so agents find it at
  once, and customers only once it is approved (:func:`approve` with ``public=True``);
  :func:`reject` deletes it. Measured on exports with agent-written resolutions:
  benchmarks/results/capture-eval-latest.md.

**Personal data**: every text a draft takes from a case is redacted on the way in
(:func:`srmkb.redact`, plus the caller's ``redactor``), and the draft again as a whole
(see :mod:`srmkb.loop.drafts`, which also holds the review: :func:`list_drafts`,
:func:`approve`, :func:`reject`, re-exported here).

Cases already captured (linked or in a draft) are skipped, so running capture again over
the same export changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..answering.compose import split_sentences
from ..answering.confidence import default_model
from ..documents import Document, JSONValue
from ..index.query import MAX_QUERY_CHARS
from ..models import model_threshold
from ..storage.layout import DRAFTS_WAIT, drafts_lock
from ..text.redaction import Redactor, redact
from .drafts import (
    STATUSES,
    Draft,
    Fix,
    approve,
    list_drafts,
    merge,
    open_drafts,
    reject,
    save_drafts,
)

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

__all__ = [
    "FIX_MARGIN", "LINK_QUOTE", "LINK_SUPPORT", "LINK_WITH_ANSWER", "MERGE_BORDERLINE", "MERGE_BOTH",
    "MERGE_PROBLEM", "MERGE_RESOLUTION", "STATUSES", "CaptureReport", "CaseDecision",
    "approve", "capture", "list_drafts", "merge", "reject",
]  # fmt: skip

# Cosine thresholds on MiniLM's scale; a base with another model compares its cosines with
# the same thresholds on that model's scale (srmkb.models.model_threshold).
LINK_SUPPORT = 0.8  # mean best cosine of the resolution's sentences to a document's lines
LINK_WITH_ANSWER = 0.7  # the same, for the document the answer model cites confidently
# A resolution that quotes a document: one of its sentences of QUOTE_WORDS words or more
# is this close to one of the document's lines, and half of its sentences reach
# LINK_SUPPORT. Agents copy an article's step and write their own lines around it
# ("Advised the customer:", "Case closed."), which pull the mean below LINK_SUPPORT.
LINK_QUOTE = 0.9
QUOTE_WORDS = 5
# Merging (see _matching_draft). Problem: cosine of the case's problem with the closest of
# a draft's. Fix: how well the case's resolution matches one of the draft's fixes, the
# better of the whole-text cosine and sentence support either way (see _fix_fit).
# Chosen on three FAQ sets with agent-written resolutions (benchmarks/capture_eval.py
# --resolutions agent): two questions of one FAQ entry have a median cosine near 0.6, of
# two entries 0.2 to 0.4, but 1% of the latter pass 0.6 to 0.75; a same-question bar of
# 0.7 instead of 0.8 left as many drafts on banking77 and cut purity from 0.99 to 0.95.
MERGE_PROBLEM = 0.8  # the same question, whatever the fix
MERGE_BORDERLINE = 0.4  # below this, two questions are different problems, same fix or not
MERGE_BOTH = 0.6  # from the borderline up: mean of problem and (distinctive) fix
MERGE_RESOLUTION = 0.7  # a resolution that matches a fix this well counts towards it
# A fix is evidence for a draft only when it matches that draft's fixes clearly better
# than any other draft's: a generic fix that fits many drafts says nothing of the problem.
FIX_MARGIN = 0.1
_NOT_CASES: dict[str, JSONValue] = {"source_type": {"ne": "crm"}}


@dataclass(frozen=True)
class CaseDecision:
    """What capture did with one case."""

    case_id: str
    action: str  # 'linked', 'drafted' (new draft), 'merged' (into a draft), 'skipped'
    document_id: str | None  # the linked document or the draft
    support: float  # how well the best document supports the resolution (0–1)
    confidence: float  # the answer model's confidence for the case's problem

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "case_id": self.case_id,
            "action": self.action,
            "document_id": self.document_id,
            "support": round(self.support, 4),
            "confidence": round(self.confidence, 4),
        }


@dataclass
class CaptureReport:
    decisions: list[CaseDecision] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for d in self.decisions if d.action == action)

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": len(self.decisions),
            "linked": self.count("linked"),
            "drafted": self.count("drafted"),
            "merged": self.count("merged"),
            "skipped": self.count("skipped"),
            "drafts": sorted(
                {
                    d.document_id
                    for d in self.decisions
                    if d.action in ("drafted", "merged") and d.document_id
                }
            ),
            "decisions": [d.to_json() for d in self.decisions],
        }


def _case_parts(
    case: Document, redactor: Redactor | None = None
) -> tuple[str, str, str, str, dict[str, str]]:
    """(case id, subject, problem, resolution, environment) of a CRM case document, all
    redacted: the problem is the subject and the customer's words, to match on; a draft
    shows only subjects, since the customer's own words may carry personal data
    redaction misses. A case published with its resolution has a neutral title and its
    subject in an internal *Subject* section."""
    meta = case.metadata
    case_id = str(meta.get("case_id") or case.id)
    by_anchor = {s.anchor: s.text for s in case.sections}
    subject = redact(by_anchor.get("subject", case.title).strip(), redactor=redactor)
    problem_text = redact(
        by_anchor.get("problem", "" if case.sections else case.text), redactor=redactor
    )
    problem = " ".join(p for p in (subject, problem_text.strip()) if p)
    resolution = redact(
        by_anchor.get("resolution") or by_anchor.get("notes") or "", redactor=redactor
    )
    environment = {
        k: redact(str(meta[k]), redactor=redactor)
        for k in ("product", "channel", "category")
        if meta.get(k)
    }
    return case_id, subject or problem[:120], problem, resolution.strip(), environment


def capture(
    kb: KnowledgeBase,
    cases: Iterable[Document],
    *,
    redactor: Redactor | None = None,
    wait: float = DRAFTS_WAIT,
) -> CaptureReport:
    """Link each resolved case to the document that already answers it, or draft new
    knowledge from it (see the module docstring); returns what was done per case.

    ``redactor`` is the caller's own recogniser of personal data (names, addresses), run
    with the built-in redaction on every text a draft takes from a case. The run holds
    the base's drafts lock from reading the drafts to writing them back, waiting at most
    ``wait`` seconds for another capture or review (see :mod:`srmkb.loop.drafts`).
    """
    with drafts_lock(kb.path, wait=wait):
        return _capture(kb, cases, redactor)


def _capture(
    kb: KnowledgeBase, cases: Iterable[Document], redactor: Redactor | None
) -> CaptureReport:
    report = CaptureReport()
    seen = kb.catalog.captured_cases()
    drafts = open_drafts(kb)
    links: list[tuple[str, str, float]] = []
    model = default_model(kb.model_id)
    for case in cases:
        case_id, subject, problem, resolution, environment = _case_parts(case, redactor=redactor)
        if case_id in seen:
            report.decisions.append(CaseDecision(case_id, "skipped", seen[case_id], 0.0, 0.0))
            continue
        seen[case_id] = case.id
        evidence = kb.evidence(_as_query(problem), audience="agent", filters=_NOT_CASES)
        confidence = model.probability(evidence.features) if evidence.document_ids else 0.0
        target, support = _already_answered(
            kb, evidence.document_ids, confidence, resolution, drafts
        )
        if target is not None:
            links.append((case_id, target, confidence))
            seen[case_id] = target
            report.decisions.append(CaseDecision(case_id, "linked", target, support, confidence))
            continue
        problem_vector = kb.embedder.embed_query(problem)
        fit = _fix_fit(kb, resolution, drafts.values())
        draft = _matching_draft(
            drafts.values(), problem_vector, environment.get("product"), fit, kb.model_id
        )
        if draft is None:
            draft = Draft(
                id=f"draft-{_slug(case_id)}",
                cases=[],
                problems=[],
                fixes=[],
                environment=environment,
                language=case.language or "",
                problem_vectors=[],
                created_at=time.time(),
            )
            drafts[draft.id] = draft
            action = "drafted"
        else:
            action = "merged"
        draft.cases.append(case_id)
        draft.problems.append(subject)
        draft.problem_vectors.append(problem_vector)
        if resolution:
            _count_fix(draft, case_id, resolution, fit, kb.model_id)
        draft.changed = True
        report.decisions.append(CaseDecision(case_id, action, draft.id, support, confidence))
    save_drafts(kb, [d for d in drafts.values() if d.changed], links)
    return report


def _already_answered(
    kb: KnowledgeBase,
    ranked: list[str],
    confidence: float,
    resolution: str,
    drafts: dict[str, Draft],
) -> tuple[str | None, float]:
    """The document that already answers a case, if any, and how well it supports the
    case's resolution.

    Support is sentence by sentence: each sentence of the resolution is matched to its
    closest line of the document (cosine), and the mean is taken, so a document that says
    everything the agent wrote scores near 1 and one on the same topic that says other
    things scores far less (a whole-text cosine blurs the two). Candidates are the
    documents closest to the resolution and the one the answer model would cite.
    Linked when support ≥ ``LINK_SUPPORT``; else to the best supported document the
    resolution quotes (see ``LINK_QUOTE``); else, when the answer model is confident, to
    the cited document if its support is ≥ ``LINK_WITH_ANSWER``.
    """
    threshold = default_model(kb.model_id).threshold  # the base's model's own fit
    answerer = ranked[0] if ranked and confidence >= threshold else None
    if answerer in drafts:
        answerer = None
    if not resolution:
        return answerer, 0.0
    candidates = [
        doc_id
        for doc_id, _ in kb.rank_documents(
            _as_query(resolution), k=3, mode="dense", audience="agent", filters=_NOT_CASES
        )
        if doc_id not in drafts
    ]
    if answerer is not None and answerer not in candidates:
        candidates.append(answerer)
    sentences = _lines(resolution)
    said = kb.embed_lines(sentences)
    long_enough = np.array([len(s.split()) >= QUOTE_WORDS for s in sentences])
    support_at, quote_at = (model_threshold(t, kb.model_id) for t in (LINK_SUPPORT, LINK_QUOTE))
    support, quoted = {}, []
    for doc_id in candidates:
        passages = kb.catalog.document_passages(doc_id)
        lines = [line for p in passages for line in _lines(p.text)]
        lines += [passages[0].title] if passages and passages[0].title else []
        if lines:
            closest = (said @ kb.embed_lines(lines).T).max(axis=1)
            support[doc_id] = float(closest.mean())
            if (closest[long_enough] >= quote_at).any() and np.mean(closest >= support_at) >= 0.5:
                quoted.append(doc_id)
    best = max(support, key=lambda d: support[d], default=None)
    if best is not None and support[best] >= support_at:
        return best, support[best]
    if quoted:  # the best supported of the documents it quotes
        best = max(quoted, key=lambda d: support[d])
        return best, support[best]
    with_answer = model_threshold(LINK_WITH_ANSWER, kb.model_id)
    if answerer is not None and support.get(answerer, 0.0) >= with_answer:
        return answerer, support[answerer]
    return None, support[best] if best is not None else 0.0


def _as_query(text: str) -> str:
    """``text`` cut to the longest query the base accepts: a case's description or
    resolution may be longer, and one long case must not stop the capture of an export."""
    return text if len(text) <= MAX_QUERY_CHARS else text[:MAX_QUERY_CHARS]


def _lines(text: str) -> list[str]:
    """Sentences of a text worth matching (three words or more), at most 40."""
    lines = [s for s in split_sentences(text) if len(s.split()) >= 3][:40]
    return lines or [text]


def _fix_fit(kb: KnowledgeBase, resolution: str, drafts: Iterable[Draft]) -> dict[int, float]:
    """How well ``resolution`` matches each fix of the open drafts, by ``id(fix)``.

    The better of the whole-text cosine and sentence support either way: the mean best
    cosine of the resolution's sentences to the fix's steps, or of the fix's steps to the
    resolution's sentences, so that a fix given in part, or with more said around it,
    still matches."""
    if not resolution:
        return {}
    said = kb.embed_lines(_lines(resolution))
    whole = kb.embedder.embed_documents([resolution])[0]
    fit = {}
    for draft in drafts:
        for fix in draft.fixes:
            vector, lines = _fix_vectors(kb, fix)
            cosines = said @ lines.T
            fit[id(fix)] = max(
                float(whole @ vector),
                float(cosines.max(axis=1).mean()),
                float(cosines.max(axis=0).mean()),
            )
    return fit


def _fix_vectors(kb: KnowledgeBase, fix: Fix) -> tuple[np.ndarray, np.ndarray]:
    """A fix's whole-text and step vectors, computed once per capture."""
    if fix.vector is None:
        fix.vector = kb.embedder.embed_documents([fix.text])[0]
    if fix.line_vectors is None:
        fix.line_vectors = kb.embed_lines(_lines(fix.text))
    return fix.vector, fix.line_vectors


def _matching_draft(
    drafts: Iterable[Draft],
    problem: np.ndarray,
    product: str | None,
    fit: dict[int, float],
    model_id: str | None = None,
) -> Draft | None:
    """The open draft about the case's problem, if any.

    Problem first: a draft of another product is another problem; a question as close
    as ``MERGE_PROBLEM`` to one of the draft's is the same problem whatever its fix; from
    ``MERGE_BORDERLINE`` up, the fix may tip the balance (mean of the two cosines
    ``MERGE_BOTH`` or more), but only a distinctive one: a fix that matches this draft's
    fixes ``FIX_MARGIN`` better than any other draft's. Below the borderline, two
    questions are two problems even with one fix text. The draft scoring best
    (problem plus distinctive fix) takes the case.
    """
    same_question_at, borderline_at, both_at = (
        model_threshold(t, model_id) for t in (MERGE_PROBLEM, MERGE_BORDERLINE, MERGE_BOTH)
    )
    # Margins and means are differences of cosines: on another model's scale, scaled alike.
    scale = model_threshold(1.0, model_id) - model_threshold(0.0, model_id)
    drafts = list(drafts)
    fixes = [max((fit.get(id(f), 0.0) for f in d.fixes), default=0.0) for d in drafts]
    best, best_score = None, float("-inf")
    for n, draft in enumerate(drafts):
        if _other_product(product, draft.environment.get("product")):
            continue
        same_question = max((float(problem @ v) for v in draft.problem_vectors), default=0.0)
        if same_question < borderline_at:
            continue
        runner_up = max((f for m, f in enumerate(fixes) if m != n), default=0.0)
        fix = fixes[n] if fixes[n] - runner_up >= FIX_MARGIN * scale else 0.0
        if same_question >= same_question_at or (same_question + fix) / 2 >= both_at:
            score = same_question + fix
            if score > best_score:
                best, best_score = draft, score
    return best


def _other_product(case: str | None, draft: str | None) -> bool:
    """Whether a case and a draft name different products (both must name one)."""
    if not case or not draft:
        return False
    return " ".join(case.casefold().split()) != " ".join(draft.casefold().split())


def _count_fix(
    draft: Draft, case_id: str, resolution: str, fit: dict[int, float], model_id: str | None
) -> None:
    """Count the case towards the draft's fix its resolution matches best, or add its
    resolution as a new alternative fix."""
    same_fix_at = model_threshold(MERGE_RESOLUTION, model_id)
    best = max(draft.fixes, key=lambda f: fit.get(id(f), 0.0), default=None)
    if best is not None and fit.get(id(best), 0.0) >= same_fix_at:
        best.cases.append(case_id)
    else:
        draft.fixes.append(Fix.from_text(resolution, [case_id]))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "case"
