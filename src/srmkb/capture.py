"""Capture: knowledge drafted from resolved cases (knowledge-centred service).

For each resolved case (a CRM connector document: title = subject, or a neutral title and
a *Subject* section for a case with a public resolution; sections *Problem*,
*Resolution*, *Internal notes*), :func:`capture` decides whether the base already
answers it or the case holds new knowledge:

- **Already answered**: the case's resolution says what a document of the base says
  (each sentence of the resolution finds a close line in that document: see
  :func:`_already_answered`), or, for a case without a resolution, the answer model would
  answer its problem with confidence. The case is linked to that document, and the link counts as a reuse of it
  in the KPI report.
- **New knowledge**: a draft article is written, or an open draft about the same problem
  (same resolution, or the same question asked) takes the case in. A draft has the
  problem as its title, the questions as asked, the environment (product, channel), the
  resolution as numbered steps and the source case ids. It is an ``internal`` document of
  the base, so agents find it at once, and customers only once it is approved
  (:func:`approve` with ``public=True``); :func:`reject` deletes it.

**Personal data**: every text of a draft (title, sections, metadata strings) is redacted
(:func:`srmkb.redact`, plus the caller's ``redactor``), the case ids apart,
which are identifiers. The questions as asked are the customers' subjects, so they stay
internal even in a public article: a public approval shows customers the approver's
problem statement (or a neutral title) and the steps, while the subjects (*Reported as*),
the environment and the source cases are internal sections.

Cases already captured (linked or in a draft) are skipped, so running capture again over
the same export changes nothing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .answers import extract_steps, split_sentences
from .confidence import default_model
from .documents import Document, JSONValue, Section
from .embedders import model_threshold
from .errors import InputError
from .text.redaction import Redactor, redact

if TYPE_CHECKING:
    from .kb import KnowledgeBase

# Cosine thresholds on MiniLM's scale; a base with another model compares its cosines with
# the same thresholds on that model's scale (srmkb.embedders.model_threshold).
LINK_SUPPORT = 0.8  # mean best cosine of the resolution's sentences to a document's lines
LINK_WITH_ANSWER = 0.7  # the same, for the document the answer model cites confidently
MERGE_RESOLUTION = 0.8  # resolution ↔ draft resolution cosine: the same fix
MERGE_PROBLEM = 0.85  # problem ↔ one of a draft's problems: the same question
# Or both fairly close (mean cosine): on the example CRM export, every pair of cases about
# one problem scored ≥ 0.63 and every other pair ≤ 0.53.
MERGE_BOTH = 0.6
STATUSES = ("draft", "approved", "rejected")
_NOT_CASES: dict[str, JSONValue] = {"source_type": {"ne": "crm"}}
# Metadata that holds identifiers, kept as they are (as the CRM connector keeps case ids).
_IDENTIFIERS = frozenset({"cases"})


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


@dataclass
class _Draft:
    id: str
    cases: list[str]
    problems: list[str]
    resolution: str
    environment: dict[str, str]
    language: str
    problem_vectors: list[np.ndarray]
    resolution_vector: np.ndarray | None
    created_at: float
    changed: bool = False

    def document(self) -> Document:
        steps = extract_steps(self.resolution.splitlines()) or [
            s for s in split_sentences(self.resolution) if s.strip()
        ]
        numbered = "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1))
        environment = "\n".join(f"{k}: {v}" for k, v in sorted(self.environment.items()))
        # Section visibility is set for the day the draft is approved as public: only the
        # resolution inherits the document's (see approve).
        sections = [
            Section(
                "\n".join(dict.fromkeys(self.problems)),
                ("Problem",),
                "problem",
                visibility="internal",
            ),
            Section(environment, ("Environment",), "environment", visibility="internal")
            if environment
            else None,
            Section(numbered or self.resolution, ("Resolution",), "resolution"),
            Section(
                "Source cases: " + ", ".join(self.cases),
                ("Source cases",),
                "cases",
                visibility="internal",
            ),
        ]
        draft = Document(
            id=self.id,
            title=self.problems[0],
            visibility="internal",
            language=self.language,
            metadata={
                "source_type": "draft",
                "status": "draft",
                "cases": list(self.cases),
                **(
                    {"product": self.environment["product"]}
                    if "product" in self.environment
                    else {}
                ),
            },
            sections=tuple(s for s in sections if s is not None and s.text.strip()),
            source="capture",
        )
        # Redacted again as a whole: its parts come from cases redacted on the way in (with
        # the caller's redactor), and from drafts stored by an earlier version, whose
        # redaction knew less. The built-in redaction leaves its own output unchanged.
        return _redacted(draft)


def _redact_json(value: JSONValue) -> JSONValue:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v) for k, v in value.items()}
    return value


def _redacted(doc: Document) -> Document:
    """``doc`` with every text redacted: title, sections (the source case ids apart) and
    metadata strings (identifiers apart)."""
    sections = tuple(
        s if s.anchor == "cases" else replace(s, text=redact(s.text)) for s in doc.sections
    )
    metadata = {k: v if k in _IDENTIFIERS else _redact_json(v) for k, v in doc.metadata.items()}
    return replace(
        doc, title=redact(doc.title), text=redact(doc.text), metadata=metadata, sections=sections
    )


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
    kb: KnowledgeBase, cases: Iterable[Document], *, redactor: Redactor | None = None
) -> CaptureReport:
    """Link each resolved case to the document that already answers it, or draft new
    knowledge from it (see the module docstring); returns what was done per case.

    ``redactor`` is the caller's own recogniser of personal data (names, addresses), run
    with the built-in redaction on every text a draft takes from a case.
    """
    report = CaptureReport()
    seen = kb._catalog.captured_cases()
    drafts = _open_drafts(kb)
    links: list[tuple[str, str, float]] = []
    model = default_model(kb.model_id)
    for case in cases:
        case_id, subject, problem, resolution, environment = _case_parts(case, redactor=redactor)
        if case_id in seen:
            report.decisions.append(CaseDecision(case_id, "skipped", seen[case_id], 0.0, 0.0))
            continue
        seen[case_id] = case.id
        evidence = kb._evidence(kb._snapshot, problem, "agent", _NOT_CASES)
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
        resolution_vector = kb.embedder.embed_documents([resolution])[0] if resolution else None
        draft = _matching_draft(drafts.values(), problem_vector, resolution_vector, kb.model_id)
        if draft is None:
            draft = _Draft(
                id=f"draft-{_slug(case_id)}",
                cases=[],
                problems=[],
                resolution=resolution,
                environment=environment,
                language=case.language or "",
                problem_vectors=[],
                resolution_vector=resolution_vector,
                created_at=time.time(),
            )
            drafts[draft.id] = draft
            action = "drafted"
        else:
            action = "merged"
        draft.cases.append(case_id)
        draft.problems.append(subject)
        draft.problem_vectors.append(problem_vector)
        draft.changed = True
        report.decisions.append(CaseDecision(case_id, action, draft.id, support, confidence))
    _save(kb, [d for d in drafts.values() if d.changed], links)
    return report


def _already_answered(
    kb: KnowledgeBase,
    ranked: list[str],
    confidence: float,
    resolution: str,
    drafts: dict[str, _Draft],
) -> tuple[str | None, float]:
    """The document that already answers a case, if any, and how well it supports the
    case's resolution.

    Support is sentence by sentence: each sentence of the resolution is matched to its
    closest line of the document (cosine), and the mean is taken, so a document that says
    everything the agent wrote scores near 1 and one on the same topic that says other
    things scores far less (a whole-text cosine blurs the two). Candidates are the
    documents closest to the resolution and the one the answer model would cite.
    Linked when support ≥ ``LINK_SUPPORT``, or ≥ ``LINK_WITH_ANSWER`` for the cited
    document when the answer model is confident.
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
            resolution, k=3, mode="dense", audience="agent", filters=_NOT_CASES
        )
        if doc_id not in drafts
    ]
    if answerer is not None and answerer not in candidates:
        candidates.append(answerer)
    said = kb._line_vectors(_lines(resolution))
    support = {}
    for doc_id in candidates:
        passages = kb._catalog.document_passages(doc_id)
        lines = [line for p in passages for line in _lines(p.text)]
        lines += [passages[0].title] if passages and passages[0].title else []
        if lines:
            support[doc_id] = float((said @ kb._line_vectors(lines).T).max(axis=1).mean())
    best = max(support, key=lambda d: support[d], default=None)
    if best is not None and support[best] >= model_threshold(LINK_SUPPORT, kb.model_id):
        return best, support[best]
    with_answer = model_threshold(LINK_WITH_ANSWER, kb.model_id)
    if answerer is not None and support.get(answerer, 0.0) >= with_answer:
        return answerer, support[answerer]
    return None, support[best] if best is not None else 0.0


def _lines(text: str) -> list[str]:
    """Sentences of a text worth matching (three words or more), at most 40."""
    lines = [s for s in split_sentences(text) if len(s.split()) >= 3][:40]
    return lines or [text]


def _matching_draft(
    drafts: Iterable[_Draft],
    problem: np.ndarray,
    resolution: np.ndarray | None,
    model_id: str | None = None,
) -> _Draft | None:
    same_fix_at, same_question_at, both_at = (
        model_threshold(t, model_id) for t in (MERGE_RESOLUTION, MERGE_PROBLEM, MERGE_BOTH)
    )
    best, best_score = None, float("-inf")
    for draft in drafts:
        same_fix = (
            float(resolution @ draft.resolution_vector)
            if resolution is not None and draft.resolution_vector is not None
            else 0.0
        )
        same_question = max((float(problem @ v) for v in draft.problem_vectors), default=0.0)
        both = (same_fix + same_question) / 2
        if same_fix >= same_fix_at or same_question >= same_question_at or both >= both_at:
            score = max(same_fix, same_question, both)
            if score > best_score:
                best, best_score = draft, score
    return best


def _open_drafts(kb: KnowledgeBase) -> dict[str, _Draft]:
    """Drafts not yet approved or rejected, with their vectors, to merge new cases into."""
    out = {}
    for row in kb._catalog.drafts(status="draft"):
        doc = kb.get(row["id"])
        if doc is None:
            continue
        by_anchor = {s.anchor: s.text for s in doc.sections}
        problems = [p for p in by_anchor.get("problem", doc.title).split("\n") if p.strip()]
        resolution = by_anchor.get("resolution", "")
        environment = dict(
            line.split(": ", 1)
            for line in by_anchor.get("environment", "").splitlines()
            if ": " in line
        )
        out[doc.id] = _Draft(
            id=doc.id,
            cases=list(row["cases"]),
            problems=problems,
            resolution=resolution,
            environment=environment,
            language=doc.language or "",
            problem_vectors=list(kb.embedder.embed_documents(problems)) if problems else [],
            resolution_vector=kb.embedder.embed_documents([resolution])[0] if resolution else None,
            created_at=row["created_at"],
        )
    return out


def _save(kb: KnowledgeBase, drafts: list[_Draft], links: list[tuple[str, str, float]]) -> None:
    documents = [d.document() for d in drafts]
    if documents:
        kb.upsert(documents)
    now = time.time()
    with kb._catalog.transaction() as db:
        for d, doc in zip(drafts, documents):
            db.execute(
                "INSERT INTO drafts(id, status, title, cases, created_at) VALUES(?, 'draft', ?, ?, ?)"
                " ON CONFLICT(id) DO UPDATE SET cases = excluded.cases, title = excluded.title",
                (d.id, doc.title, json.dumps(d.cases), d.created_at),
            )
        db.executemany(
            "INSERT OR IGNORE INTO case_links VALUES(?, ?, ?, ?)",
            [(case, doc, round(conf, 6), now) for case, doc, conf in links],
        )


def list_drafts(kb: KnowledgeBase, status: str | None = None) -> list[dict[str, Any]]:
    """Drafts, newest first, optionally of one status."""
    if status is not None and status not in STATUSES:
        raise InputError(f"status must be one of {STATUSES}, got {status!r}")
    return kb._catalog.drafts(status=status)


def approve(
    kb: KnowledgeBase,
    draft_id: str,
    *,
    public: bool = False,
    title: str | None = None,
    problem: str | None = None,
) -> Document:
    """Publish a draft as a document of the base (``public``: customers see it too).

    A draft's problem is what customers wrote (their cases' subjects): it stays internal,
    as *Reported as*, with the environment and the source cases. Customers see the title,
    ``problem`` (the problem as the approver states it, as a public *Problem* section)
    and the resolution's steps. The title is ``title``, else the first line of
    ``problem``, else, for a public article, a neutral one from the product and category
    (``Solution: nimbus-router – Billing``); an internal one keeps the draft's title.
    Everything published is redacted again, the approver's texts too: a draft stored by
    an earlier version was redacted by detectors that knew less.
    """
    doc = _pending(kb, draft_id)
    statement = (problem or "").strip()
    heading = " ".join((title or "").split())
    if not heading and statement:
        heading = _first_line(statement)
    if not heading:
        heading = _neutral_title(doc) if public else doc.title
    sections = [Section(statement, ("Problem",), "problem")] if statement else []
    for s in doc.sections:
        if s.anchor == "problem":  # the customers' subjects
            sections.append(Section(s.text, ("Reported as",), "reported", visibility="internal"))
        elif s.anchor == "resolution":
            sections.append(Section(s.text, s.heading, s.anchor))
        else:  # environment, source cases, and anything else a draft may hold
            sections.append(Section(s.text, s.heading, s.anchor, s.page, "internal"))
    meta = {**doc.metadata, "source_type": "captured", "status": "approved"}
    if public:  # case ids are internal: a customer's hit carries the document's metadata
        meta.pop("cases", None)
    published = _redacted(  # the approver's texts too
        Document(
            id=doc.id,
            title=heading,
            visibility="public" if public else "internal",
            language=doc.language,
            metadata=meta,
            sections=tuple(sections),
            source=doc.source,
        )
    )
    kb.upsert([published])
    _decide(kb, draft_id, "approved")
    return published


_NEUTRAL_TITLES = {"en": ("Solution", "Support article"),
                   "fr": ("Solution", "Article d'aide")}  # fmt: skip


def _neutral_title(doc: Document) -> str:
    """A public title that holds none of the customers' words: product and category."""
    environment = next((s.text for s in doc.sections if s.anchor == "environment"), "")
    values = dict(line.split(": ", 1) for line in environment.splitlines() if ": " in line)
    language = doc.language if doc.language in _NEUTRAL_TITLES else "en"
    prefix, bare = _NEUTRAL_TITLES[language]
    # A value that held personal data was typed by a person, not picked from a list.
    about = " – ".join(
        v
        for v in (values.get("product"), values.get("category"))
        if v and not _PLACEHOLDER.search(v)
    )
    if not about:
        return bare
    return f"{prefix} : {about}" if language == "fr" else f"{prefix}: {about}"


_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")  # [EMAIL], [PHONE]…: what redaction leaves


def _first_line(text: str, limit: int = 120) -> str:
    """The first line of ``text``, cut at a word under ``limit`` characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def reject(kb: KnowledgeBase, draft_id: str) -> None:
    """Discard a draft: its document leaves the base (its history stays until purged)."""
    _pending(kb, draft_id)
    kb.delete([draft_id])
    _decide(kb, draft_id, "rejected")


def _pending(kb: KnowledgeBase, draft_id: str) -> Document:
    rows = {r["id"]: r for r in kb._catalog.drafts()}
    if draft_id not in rows:
        raise InputError(f"no draft {draft_id!r}; list them with srmkb drafts list")
    if rows[draft_id]["status"] != "draft":
        raise InputError(f"draft {draft_id!r} is already {rows[draft_id]['status']}")
    doc = kb.get(draft_id)
    if doc is None:
        raise InputError(f"draft {draft_id!r} has no document in the base")
    return doc


def _decide(kb: KnowledgeBase, draft_id: str, status: str) -> None:
    with kb._catalog.transaction() as db:
        db.execute(
            "UPDATE drafts SET status = ?, decided_at = ? WHERE id = ?",
            (status, time.time(), draft_id),
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "case"
