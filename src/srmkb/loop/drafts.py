"""Drafts: the articles capture writes from resolved cases, and their review.

A draft is an ``internal`` document of the base (``source_type`` ``draft``) with the
problem as its title, the questions as asked (*Problem*), the environment (product,
channel), the fixes agents used as numbered steps and the source case ids; the catalog
keeps its status and cases. One problem often has more than one fix: each is its own
*Resolution* section, most used first, with the number of cases that used it, and the
metadata ``fixes`` keeps which cases used which, so a draft reread from the base
(:func:`open_drafts`) counts on where it left off. :func:`approve` publishes it
(``public=True``: customers see it too), :func:`reject` deletes it, :func:`merge` folds
drafts of one problem into one.

**Personal data**: every text of a draft (title, sections, metadata strings) is redacted
(:func:`srmkb.redact`, plus the caller's ``redactor`` on the way in), the case ids apart,
which are identifiers. The questions as asked are the customers' subjects, so they stay
internal even in a public article: a public approval shows customers the approver's
problem statement (or a neutral title) and the steps, while the subjects (*Reported as*),
the environment and the source cases are internal sections.

**One at a time**: capture and each review decision read the drafts and write them back
holding the base's drafts lock (:func:`srmkb.storage.layout.drafts_lock`), so two
reviewers, or a reviewer and a capture, never act on the same draft at once: the second
finds the draft as the first left it ("already approved"). Each waits ``wait`` seconds
for the lock, then raises :class:`~srmkb.errors.BusyError` having changed nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from ..answering.compose import extract_steps, split_sentences
from ..documents import Document, JSONValue, Section
from ..errors import InputError
from ..storage.layout import DRAFTS_WAIT, drafts_lock
from ..storage.records import DraftInfo
from ..text.redaction import redact
from ..vocabulary import DRAFT_STATUSES, check_choice

if TYPE_CHECKING:
    from ..kb import KnowledgeBase

STATUSES = DRAFT_STATUSES  # ("draft", "approved", "rejected", "merged")
# Metadata that holds identifiers, kept as they are (as the CRM connector keeps case ids):
# the source cases, and per fix the cases that used it.
_IDENTIFIERS = frozenset({"cases", "fixes"})
_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s+")


@dataclass
class Fix:
    """One way a draft's problem was solved: its steps, the cases that used it, and the
    vectors capture compares a new case's resolution with (filled on first use)."""

    steps: list[str]
    cases: list[str]
    vector: np.ndarray | None = None
    line_vectors: np.ndarray | None = None

    @classmethod
    def from_text(cls, text: str, cases: list[str]) -> Fix:
        """A fix from a resolution as written (numbered steps, or sentences)."""
        lines = [_NUMBER.sub("", line).strip() for line in text.splitlines()]
        steps = extract_steps(text.splitlines()) or [
            s for line in lines for s in split_sentences(line) if s.strip()
        ]
        return cls(steps=steps or [text.strip()], cases=cases)

    @property
    def text(self) -> str:
        return "\n".join(self.steps)

    def numbered(self) -> str:
        return "\n".join(f"{n}. {s}" for n, s in enumerate(self.steps, 1))


@dataclass
class Draft:
    """An open draft as capture works on it: its parts, and their vectors to merge by."""

    id: str
    cases: list[str]
    problems: list[str]
    fixes: list[Fix]
    environment: dict[str, str]
    language: str
    problem_vectors: list[np.ndarray]
    created_at: float  # POSIX time, as the catalog stores it (listed: DraftInfo.created_at)
    changed: bool = False

    def ranked_fixes(self) -> list[Fix]:
        """Fixes with steps, most used first (the earlier first among equals)."""
        return sorted((f for f in self.fixes if f.text.strip()), key=lambda f: -len(f.cases))

    def document(self) -> Document:
        fixes = self.ranked_fixes()
        environment = "\n".join(f"{k}: {v}" for k, v in sorted(self.environment.items()))
        # Section visibility is set for the day the draft is approved as public: only the
        # resolution sections inherit the document's (see approve).
        if len(fixes) == 1:
            resolutions = [Section(fixes[0].numbered(), ("Resolution",), "resolution")]
        else:
            resolutions = [
                Section(
                    fix.numbered(),
                    ("Resolution", f"Fix {n}: used in {_cases(len(fix.cases))}"),
                    "resolution" if n == 1 else f"resolution-{n}",
                )
                for n, fix in enumerate(fixes, 1)
            ]
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
            *resolutions,
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
                "fixes": [list(f.cases) for f in fixes],
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


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


def _is_resolution(anchor: str) -> bool:
    return anchor == "resolution" or re.fullmatch(r"resolution-\d+", anchor) is not None


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


def _environment(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a draft's *Environment* section."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def open_drafts(kb: KnowledgeBase) -> dict[str, Draft]:
    """Drafts not yet approved or rejected, with their vectors, to merge new cases into."""
    out = {}
    for row in kb.catalog.drafts(status="draft"):
        doc = kb.get(row.id)
        if doc is not None:
            draft = _draft(doc, row)
            draft.problem_vectors = [kb.embedder.embed_query(p) for p in draft.problems]
            out[doc.id] = draft
    return out


def _draft(doc: Document, row: DraftInfo) -> Draft:
    """A stored draft as capture works on it, without its vectors."""
    by_anchor = {s.anchor: s.text for s in doc.sections}
    return Draft(
        id=doc.id,
        cases=list(row.cases),
        problems=[p for p in by_anchor.get("problem", doc.title).split("\n") if p.strip()],
        fixes=_fixes(doc, list(row.cases)),
        environment=_environment(by_anchor.get("environment", "")),
        language=doc.language or "",
        problem_vectors=[],
        created_at=row.created_at.timestamp(),
    )


def _fixes(doc: Document, cases: list[str]) -> list[Fix]:
    """A stored draft's fixes, in the order shown, with the cases that used each. A draft
    stored before fixes were counted has one, used by all its cases."""
    texts = [s.text for s in doc.sections if _is_resolution(s.anchor)]
    stored = doc.metadata.get("fixes")
    used: list[list[str]] = []
    if isinstance(stored, list) and len(stored) == len(texts):
        used = [[str(c) for c in ids] if isinstance(ids, list) else [] for ids in stored]
    else:
        used = [cases] + [[] for _ in texts[1:]]
    return [Fix.from_text(text, ids) for text, ids in zip(texts, used)]


def save_drafts(
    kb: KnowledgeBase, drafts: list[Draft], links: list[tuple[str, str, float]]
) -> None:
    """Write changed drafts to the base and catalog, with the cases linked by capture."""
    documents = [d.document() for d in drafts]
    if documents:
        kb.upsert(documents)
    kb.catalog.save_drafts(
        [(d.id, doc.title, d.cases, d.created_at) for d, doc in zip(drafts, documents)], links
    )


def list_drafts(kb: KnowledgeBase, status: str | None = None) -> list[DraftInfo]:
    """Drafts, newest first, optionally of one status, each with its source cases and
    when it was created and decided (UTC datetimes; ``to_json`` writes ISO 8601)."""
    if status is not None:
        check_choice("status", status, STATUSES)
    return kb.catalog.drafts(status=status)


def approve(
    kb: KnowledgeBase,
    draft_id: str,
    *,
    public: bool = False,
    title: str | None = None,
    problem: str | None = None,
    wait: float = DRAFTS_WAIT,
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
    with drafts_lock(kb.path, wait=wait):
        published = _published(_pending(kb, draft_id), public, title, problem)
        kb.upsert([published])
        kb.catalog.decide_draft(draft_id, "approved")
    return published


def _published(doc: Document, public: bool, title: str | None, problem: str | None) -> Document:
    """The article a pending draft becomes (see :func:`approve`)."""
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
        elif _is_resolution(s.anchor):
            sections.append(Section(s.text, s.heading, s.anchor))
        else:  # environment, source cases, and anything else a draft may hold
            sections.append(Section(s.text, s.heading, s.anchor, s.page, "internal"))
    meta = {**doc.metadata, "source_type": "captured", "status": "approved"}
    if public:  # case ids are internal: a customer's hit carries the document's metadata
        meta.pop("cases", None)
        meta.pop("fixes", None)
    return _redacted(  # the approver's texts too
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


def reject(kb: KnowledgeBase, draft_id: str, *, wait: float = DRAFTS_WAIT) -> None:
    """Discard a draft: its document leaves the base (its history stays until purged)."""
    with drafts_lock(kb.path, wait=wait):
        _pending(kb, draft_id)
        kb.delete([draft_id])
        kb.catalog.decide_draft(draft_id, "rejected")


def merge(
    kb: KnowledgeBase, into: str, others: Sequence[str], *, wait: float = DRAFTS_WAIT
) -> Document:
    """Merge drafts about one problem into the draft ``into``, for a reviewer who finds
    that capture kept one problem apart: questions as different as two entries' and
    fixes that differ (see the ``MERGE_*`` constants of :mod:`srmkb.loop.capture`).

    ``into`` gains the others' cases, questions and fixes: a fix with the same steps
    counts their cases, another one becomes an alternative, ranked by its cases as
    capture ranks them; environment values it lacks are added. The others leave the
    base and are marked ``merged``; their cases count as captured by ``into``. Every
    draft named must be pending (a clear error otherwise, and nothing changes).
    """
    names = list(dict.fromkeys(others))
    if not names:
        raise InputError("name at least one draft to merge into " + repr(into))
    if into in names:
        raise InputError(f"draft {into!r} cannot be merged into itself")
    with drafts_lock(kb.path, wait=wait):
        rows = {r.id: r for r in kb.catalog.drafts()}  # read once for every draft named
        target, *merged = (_draft(_pending(kb, name, rows), rows[name]) for name in (into, *names))
        _fold(target, merged)
        save_drafts(kb, [target], [])
        kb.delete(names)
        for name in names:
            kb.catalog.decide_draft(name, "merged")
        published = kb.get(into)  # as this merge left it
    assert published is not None
    return published


def _fold(target: Draft, merged: Sequence[Draft]) -> None:
    """``target`` with the cases, questions, fixes and environment of ``merged``."""
    for draft in merged:
        target.cases = list(dict.fromkeys([*target.cases, *draft.cases]))
        target.problems = list(dict.fromkeys([*target.problems, *draft.problems]))
        for fix in draft.fixes:
            same = next((f for f in target.fixes if f.steps == fix.steps), None)
            if same is None:
                target.fixes.append(Fix(list(fix.steps), list(fix.cases)))
            else:
                same.cases[:] = dict.fromkeys([*same.cases, *fix.cases])
        for key, value in draft.environment.items():
            target.environment.setdefault(key, value)


def _pending(
    kb: KnowledgeBase, draft_id: str, rows: dict[str, DraftInfo] | None = None
) -> Document:
    """The document of a pending draft; ``rows``: every draft of the catalog, by id."""
    if rows is None:
        rows = {r.id: r for r in kb.catalog.drafts()}
    if draft_id not in rows:
        raise InputError(f"no draft {draft_id!r}; list them with srmkb drafts list")
    if rows[draft_id].status != "draft":
        raise InputError(f"draft {draft_id!r} is already {rows[draft_id].status}")
    doc = kb.get(draft_id)
    if doc is None:
        raise InputError(f"draft {draft_id!r} has no document in the base")
    return doc


_NEUTRAL_TITLES = {"en": ("Solution", "Support article"),
                   "fr": ("Solution", "Article d'aide")}  # fmt: skip
_PLACEHOLDER = re.compile(r"\[[A-Z]+\]")  # [EMAIL], [PHONE]…: what redaction leaves


def _neutral_title(doc: Document) -> str:
    """A public title that holds none of the customers' words: product and category."""
    environment = next((s.text for s in doc.sections if s.anchor == "environment"), "")
    values = _environment(environment)
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


def _first_line(text: str, limit: int = 120) -> str:
    """The first line of ``text``, cut at a word under ``limit`` characters."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
