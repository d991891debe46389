"""Answers: one source selected once, then rendered for each channel.

Consistency across channels comes from the order of work: :func:`select` picks the
source document, its passage, its sentences and its steps once; :func:`render` only
reformats that selection for chat, e-mail, voice, web or an agent. Every sentence of an
answer is copied from the base (extractive); nothing is generated. srmkb's own words (the
refusal, "Source:", voice prompts) are in the asker's language (:mod:`srmkb.answering.messages`),
and an answer quoting a document in another language says so.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..documents import JSONValue
from ..storage.records import PassageRecord
from ..text.analysis import FRENCH_STOPWORDS, Analyzer, analyzer_for
from ..text.blocks import (
    Unit,
    block_html,
    item_text,
    line_kind,
    plain_text,
    sentences_of_line,
    units,
)
from ..vocabulary import Channel
from .messages import language_name, phrase, spoken_number
from .voice import speakable

_STEP = re.compile(r"^\s*(?:(?:step|étape)\s*)?(\d{1,2})\s*[.):-]\s+(.+)$", re.IGNORECASE)
_NUMBERING = re.compile(r"^\d{1,3}(?:\.\d{1,3}){0,5}\.?\s+")  # "9.1.1. " before a heading
# Length budgets of the short channels: a chat answer's text (a block it quotes included),
# the sentences of a voice answer, and the blocks it reads out (a few short lines, no
# table).
_CHAT_CHARS = 320
_VOICE_UNITS = 2
_VOICE_ITEMS = 5
_VOICE_LIST_CHARS = 200
# Words that say nothing of a question's topic, left out when matching it with a section.
_FUNCTION_WORDS = (
    frozenset(
        "a an and are at be by can do does for from how i in is it my of on or the this to what"
        " when where which who why with you your".split()
    )
    | FRENCH_STOPWORDS
)


@dataclass(frozen=True)
class Citation:
    """Where an answer comes from."""

    document_id: str
    title: str
    url: str
    page: int | None = None
    passage_id: str = ""

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "url": self.url,
            "page": self.page,
            "passage_id": self.passage_id,
        }


@dataclass(frozen=True)
class Related:
    """Another document worth a look (for agents: resolved cases among them)."""

    document_id: str
    title: str
    url: str
    internal: bool = False

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "url": self.url,
            "internal": self.internal,
        }


@dataclass(frozen=True)
class Selection:
    """The channel-independent content of an answer."""

    document_id: str
    version: int
    title: str
    url: str
    passage_ids: tuple[str, ...]
    units: tuple[Unit, ...]  # sentences, each announcing one with its block
    steps: tuple[str, ...]
    citation: Citation
    internal: bool
    internal_notes: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    related_cases: tuple[Related, ...] = ()
    language: str = "en"  # of the source document


@dataclass(frozen=True)
class Answer:
    """An answer to one question on one channel, or a reasoned refusal.

    ``answered`` is False when the base holds no answer the model is confident of; the
    text then offers a hand-over to an agent. ``confidence`` is the calibrated
    probability that the cited document answers the question. ``language`` is the
    asker's (srmkb's own words are in it); ``source_language`` the cited document's,
    and when they differ the text says so.
    """

    question: str
    answered: bool
    confidence: float
    channel: Channel
    audience: str
    text: str
    html: str | None = None
    document_id: str | None = None
    document_version: int | None = None
    passage_ids: tuple[str, ...] = ()
    citations: tuple[Citation, ...] = ()
    steps: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    related_cases: tuple[Related, ...] = ()
    internal_notes: tuple[str, ...] = ()
    internal: bool = False
    handover: bool = False
    interaction_id: str | None = None
    language: str = "en"
    source_language: str | None = None
    metadata: dict[str, JSONValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSONValue]:
        return {
            "question": self.question,
            "answered": self.answered,
            "confidence": round(self.confidence, 4),
            "channel": self.channel,
            "audience": self.audience,
            "text": self.text,
            "html": self.html,
            "document_id": self.document_id,
            "document_version": self.document_version,
            "passage_ids": list(self.passage_ids),
            "citations": [c.to_json() for c in self.citations],
            "steps": list(self.steps),
            "related": [r.to_json() for r in self.related],
            "related_cases": [r.to_json() for r in self.related_cases],
            "internal_notes": list(self.internal_notes),
            "internal": self.internal,
            "handover": self.handover,
            "interaction_id": self.interaction_id,
            "language": self.language,
            "source_language": self.source_language,
        }


def split_sentences(text: str) -> list[str]:
    """Sentences of a passage, keeping list lines as their own sentences."""
    out: list[str] = []
    for line in text.splitlines():
        for piece in sentences_of_line(line):
            # "1. Plug it in" must not split after the list number.
            if out and re.fullmatch(r"\d{1,2}[.)]", out[-1]):
                out[-1] = f"{out[-1]} {piece}"
            else:
                out.append(piece)
    return out


def own_heading(section: str) -> str:
    """A passage's own heading, the last of its section path, without its number
    ("9.1. How can I keep my Debian system current?" -> "How can I keep ...")."""
    return _NUMBERING.sub("", section.rsplit(" > ", 1)[-1].strip(), count=1)


def extract_steps(lines: Sequence[str]) -> list[str]:
    """Numbered steps ("1. Do this", "Step 2: that"), in order, when the text has two or more."""
    steps: list[tuple[int, str]] = []
    for line in lines:
        for piece in re.split(r"\s+(?=\d{1,2}\.\s)", line):
            match = _STEP.match(piece)
            if match:
                steps.append((int(match.group(1)), match.group(2).strip()))
    # Keep the first run that counts up from 1.
    run: list[str] = []
    expected = 1
    for number, text in steps:
        if number == expected:
            run.append(text)
            expected += 1
        elif run:
            break
    return run if len(run) >= 2 else []


def select(
    passages: Sequence[PassageRecord],
    best: PassageRecord,
    *,
    audience: str,
    related: Sequence[Related] = (),
    related_cases: Sequence[Related] = (),
    question: str | None = None,
) -> Selection:
    """Choose what to say from the best passage and the rest of its document.

    The answer is the best passage, extended to the other passages of its section so a
    procedure split across passages stays whole. A section that ends announcing what
    follows ("Several packages are available for this purpose:") and whose list is its
    subsections gets their headings as that list. Steps come from that section, or else
    from the first section of the document that holds a numbered procedure and shares a
    word (stemmed) with the ``question``: a page's intro answers "which ports?", and its
    procedure for reserving an address does not. Internal passages of the document are
    shown to agents only, as notes.
    """
    visible = [p for p in passages if audience == "agent" or p.visibility == "public"]
    section = [p for p in visible if p.section == best.section]
    if best not in section:
        section = [best]
    text = "\n".join(p.text for p in section if p.visibility == best.visibility)
    said = units(text)
    if said and said[-1].dangling:
        said[-1] = _with_subsections(said[-1], visible, best.section)
    steps = tuple(extract_steps(text.splitlines()))
    if not steps:  # the procedure may sit in another section of the same source
        analyzer = analyzer_for(best.language)
        asked = _topic_terms(analyzer, question) if question else None
        for name in dict.fromkeys(p.section for p in visible):
            text = "\n".join(p.text for p in visible if p.section == name)
            found = extract_steps(text.splitlines())
            if found and (asked is None or asked & _topic_terms(analyzer, f"{name}\n{text}")):
                steps = tuple(found)
                break
    notes: tuple[str, ...] = ()
    if audience == "agent":
        notes = tuple(p.text for p in passages if p.visibility == "internal" and p.id != best.id)
    return Selection(
        document_id=best.document_id,
        version=best.version,
        title=best.title,
        url=best.url,
        passage_ids=tuple(p.id for p in section),
        units=tuple(said),
        steps=steps,
        citation=Citation(best.document_id, best.title, best.url, best.page, best.id),
        internal=best.visibility == "internal",
        internal_notes=notes,
        related=tuple(related),
        related_cases=tuple(related_cases),
        language=best.language,
    )


def _with_subsections(unit: Unit, passages: Sequence[PassageRecord], section: str) -> Unit:
    """``unit`` with the headings of ``section``'s subsections as its list, when it has
    subsections (it is then the sentence that announces them)."""
    prefix = f"{section} > " if section else ""
    names = [
        p.section[len(prefix) :].split(" > ")[0]
        for p in passages
        if p.section != section and p.section.startswith(prefix)
    ]
    headings = [own_heading(name) for name in dict.fromkeys(names)]
    return replace(unit, block=tuple(f"- {h}" for h in headings if h))


def _topic_terms(analyzer: Analyzer, text: str) -> set[str]:
    """The stemmed terms of ``text`` less function words."""
    words = " ".join(w for w in re.findall(r"\w+", text.lower()) if w not in _FUNCTION_WORDS)
    return set(analyzer.analyze(words))


def render(selection: Selection, channel: str, language: str = "en") -> tuple[str, str | None]:
    """The answer text (and HTML for e-mail and web) for one channel, framed in the
    asker's ``language``; the quoted sentences stay in the document's.

    Chat and voice say less than the other channels (:data:`_CHAT_CHARS`, two sentences
    and short lists read out) and quote a block in short (a list's items without their
    paragraphs); every channel takes a sentence that announces a list, table or code
    with all of it, or stops before that sentence.
    """
    steps = list(selection.steps)
    told = [unit.outline for unit in _told(selection.units, steps)]
    if not told and not steps:
        told = [unit.outline for unit in selection.units[:1]]
    source = selection.citation
    notice = _language_notice(selection.language, language)
    if channel == "chat":
        parts = [plain_text(_extent(told, chars=_CHAT_CHARS, short=True))]
        if steps:
            parts.append("\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)))
        if source.url:
            parts.append(phrase("more", language, url=source.url))
        return _with_notice(notice, "\n".join(p for p in parts if p)), None
    if channel == "voice":
        said = selection.language  # quoted text is read as the language it is written in
        kept = _extent(told, count=_VOICE_UNITS, fits=_read_out, short=True)
        spoken = [speakable(_spoken(u), said) for u in kept]
        if steps:
            if len(steps) == 1:
                spoken.append(phrase("one_step", language))
            else:
                spoken.append(phrase("steps", language, n=spoken_number(len(steps), language)))
            first = phrase("step", language, n=spoken_number(1, language), text="").strip()
            spoken.append(f"{first} {speakable(steps[0], said)}")
            if len(steps) > 1:
                spoken.append(phrase("next", language))
        return _with_notice(notice, " ".join(s for s in spoken if s)), None
    whole = _extent(selection.units)
    body = "\n".join(line for unit in whole for line in unit.lines)
    cited = phrase("source", language, title=source.title)
    if channel == "email":
        text = f"{body}\n\n{cited}" + (f" <{source.url}>" if source.url else "")
        return _with_notice(notice, text), _html(selection, whole, language, notice)
    if channel == "web":
        return _with_notice(notice, body), _html(selection, whole, language, notice)
    if channel == "agent":
        parts = [body]
        if selection.internal_notes:
            parts.append(
                phrase("internal_notes", language) + "\n" + "\n".join(selection.internal_notes)
            )
        if selection.related_cases:
            parts.append(
                phrase("related_cases", language)
                + "\n"
                + "\n".join(f"- {c.title} ({c.document_id})" for c in selection.related_cases)
            )
        parts.append(f"{cited} {source.url}".rstrip())
        return _with_notice(notice, "\n\n".join(parts)), None
    raise ValueError(f"unknown channel {channel!r}")


def _is_step(line: str, steps: Sequence[str]) -> bool:
    match = _STEP.match(line)
    return match is not None and match.group(2).strip() in steps


def _told(said: Sequence[Unit], steps: Sequence[str]) -> list[Unit]:
    """The units chat and voice say before the steps, which they give apart.

    Numbered lines outside a block are left out (the steps are among them). A sentence
    that announces the steps ends the text, so the steps follow it.
    """
    out: list[Unit] = []
    for unit in said:
        if _STEP.match(unit.sentence):
            continue
        if unit.block and any(_is_step(line, steps) for line in unit.block):
            out.append(Unit(unit.sentence))
            break
        out.append(unit)
    return out


def _extent(
    said: Sequence[Unit],
    *,
    chars: int | None = None,
    count: int | None = None,
    fits: Callable[[Unit], bool] | None = None,
    short: bool = False,
) -> list[Unit]:
    """The first units of ``said`` within a budget of ``chars`` and ``count`` units.

    A unit is taken whole or not at all, and the text stops at the first one that does
    not fit (a block that ``fits`` refuses, or that overflows ``chars``: its announcing
    sentence is left out with it). A last sentence that announces a block the text lacks
    is left out. A ``short`` answer ends with the first block it quotes (what follows a
    list often describes its last item); when nothing fits, it takes the first unit
    whole all the same rather than say nothing.
    """
    out: list[Unit] = []
    size = 0
    for unit in said:
        if count is not None and len(out) >= count:
            break
        if unit.block and fits is not None and not fits(unit):
            break
        if chars is not None and out and size + unit.size > chars:
            break
        if chars is not None and not out and unit.block and unit.size > chars:
            break
        out.append(unit)
        size += unit.size + 1
        if short and unit.block:
            break
    while out and out[-1].dangling:
        out.pop()
    if not out and short:
        return [unit for unit in said[:1] if not unit.dangling]
    return out


def _read_out(unit: Unit) -> bool:
    """Whether a voice answer can read ``unit``'s block: a few short lines, no table."""
    items = [item_text(line) for line in unit.block]
    return (
        all(line_kind(line) != "row" for line in unit.block)
        and len(items) <= _VOICE_ITEMS
        and sum(len(item) for item in items) <= _VOICE_LIST_CHARS
    )


def _spoken(unit: Unit) -> str:
    """A unit as one sentence to read out: its list's items after its sentence."""
    if not unit.block:
        return unit.sentence
    items = [item_text(line).rstrip(".;,") for line in unit.block]
    return f"{unit.sentence} {', '.join(items)}."


def _language_notice(source: str, asker: str) -> str:
    """The sentence saying the answer quotes a document in another language, or ""."""
    if source in ("", "und") or asker in ("", "und") or source == asker:
        return ""
    return phrase("other_language", asker, name=language_name(source, asker))


def _with_notice(notice: str, text: str) -> str:
    return f"{notice}\n{text}" if notice else text


def refusal(channel: str, language: str = "en") -> tuple[str, str | None]:
    """What to say when the base has no confident answer: decline and offer an agent (on
    the agent channel, the reader is one: point to the related content instead)."""
    if channel == "voice":
        return phrase("declined_voice", language), None
    if channel == "agent":
        return phrase("declined_agent", language), None
    text = phrase("declined", language)
    if channel in ("email", "web"):
        return text, f'<div class="srmkb-answer srmkb-declined"><p>{html.escape(text)}</p></div>'
    return text, None


def declined(
    question: str, confidence: float, channel: str, audience: str, language: str = "en"
) -> Answer:
    """The answer that declines and offers a hand-over to an agent, in ``language``."""
    text, markup = refusal(channel, language)
    return Answer(
        question=question,
        answered=False,
        confidence=confidence,
        channel=channel,  # type: ignore[arg-type]
        audience=audience,
        text=text,
        html=markup,
        handover=True,
        language=language,
    )


def _html(selection: Selection, said: Sequence[Unit], language: str, notice: str) -> str:
    steps = selection.steps
    out = ['<div class="srmkb-answer">']
    if notice:
        out.append(f'<p class="srmkb-language">{html.escape(notice)}</p>')
    out.append(f'<div lang="{html.escape(selection.language, quote=True)}">')
    for unit in said:
        if not _is_step(unit.sentence, steps):
            out.append(f"<p>{html.escape(unit.sentence)}</p>")
        out.extend(block_html([line for line in unit.block if not _is_step(line, steps)]))
    if selection.steps:
        out.append(
            "<ol>" + "".join(f"<li>{html.escape(s)}</li>" for s in selection.steps) + "</ol>"
        )
    c = selection.citation
    link = (
        f'<a href="{html.escape(c.url, quote=True)}">{html.escape(c.title)}</a>'
        if c.url
        else html.escape(c.title)
    )
    page = f" ({phrase('page', language, page=c.page)})" if c.page else ""
    source = phrase("source", language, title="\0").replace("\0", link)
    out.append("</div>")
    out.append(f'<p class="srmkb-source">{source}{page}</p>')
    out.append("</div>")
    return "\n".join(out)
