"""FAQ pages: whether an HTML page holds questions and answers, and how (question
headings, ``<dt>``/``<dd>`` pairs or ``<details>``), and its entries. Part of the FAQ
connector (:mod:`srmkb.connectors.faq`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from selectolax.lexbor import LexborNode

from ._html_page import Page
from ._html_render import Heading, Pair, render

_IS_QUESTION = re.compile(r"[?？؟]\s*$")
# "1.2. What is Debian?": numbered sections of a manual chapter, not a FAQ page.
_MANUAL_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)+\.?\s")
_FAQ_TITLE = re.compile(
    r"\b(?:faqs?|frequently asked questions|foire aux questions|questions fr[ée]quentes"
    r"|preguntas frecuentes|h[äa]ufig gestellte fragen|domande frequenti)\b",
    re.IGNORECASE,
)
# Any trace of a FAQ structure in the raw bytes: a question mark ending a heading, a
# <dt>, a <details>, FAQPage markup. Pages without one are not parsed by accepts().
_FAQ_TRACE = re.compile(
    rb"(?:\?|\xef\xbc\x9f|\xd8\x9f)\s*(?:</[a-z]+>\s*)*</h[1-6]\s*>|<dt[\s>]|<details[\s>]"
    rb"|FAQPage",
    re.IGNORECASE,
)
Layout = tuple[Literal["headings", "dl", "details"], int]


def may_be_faq_page(data: bytes) -> bool:
    """A quick look at the bytes before parsing, so that the HTML connector's pages cost
    little more when the FAQ connector is asked first."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: the pattern can't see it
        return True
    return _FAQ_TRACE.search(data) is not None


def faq_layout(page: Page) -> Layout | None:
    """How the page holds its questions, or None if it is not a FAQ page.

    Candidates: ``<details>`` with a ``<summary>``, ``<dt>`` terms, and the headings of
    each level. A candidate qualifies with at least two questions (text ending in "?")
    that are a majority of its items; a page titled "FAQ" or marked up as a schema.org
    FAQPage needs only one, and a third. Headings numbered like a manual's sections
    ("1.2.") disqualify a level unless the page says it is a FAQ. The candidate with
    the most questions wins.
    """
    relaxed = page.faq_markup or bool(_FAQ_TITLE.search(page.title))
    candidates: list[tuple[int, Layout]] = []

    def consider(texts: list[str], layout: Layout) -> None:
        questions = sum(1 for t in texts if _IS_QUESTION.search(t))
        enough = (
            questions >= 1 and 3 * questions >= len(texts)
            if relaxed
            else (questions >= 2 and 2 * questions > len(texts))
        )
        manual = 2 * sum(1 for t in texts if _MANUAL_NUMBER.match(t)) > len(texts)
        if enough and (relaxed or not manual):
            candidates.append((questions, layout))

    root = page.root
    summaries = [d.css_first("summary") for d in root.css("details")]
    consider([_plain(s) for s in summaries if s is not None], ("details", 0))
    consider([_plain(dt) for dt in root.css("dl > dt")], ("dl", 0))
    for level in range(1, 7):
        consider([_plain(h) for h in root.css(f"h{level}")], ("headings", level))
    if not candidates:
        return None
    order = {"details": 0, "dl": 1, "headings": 2}
    return max(candidates, key=lambda c: (c[0], -order[c[1][0]]))[1]


def _plain(node: LexborNode) -> str:
    return " ".join((node.text() or "").split())


def faq_pairs(page: Page, layout: Layout) -> Iterator[tuple[str, str, str, str | None]]:
    """``(question, answer, anchor, category)`` for each entry of a FAQ page; the
    category is the heading above the questions, if any (not the page's title)."""
    kind, level = layout
    blocks = render(page.root, pairs=None if kind == "headings" else kind)
    title = page.title.casefold()
    category: str | None = None
    current: list[str] | None = None
    question, anchor, current_category = "", "", None
    for block in blocks:
        if isinstance(block, Heading) and (kind != "headings" or block.level < level):
            if current is not None:
                yield question, "\n\n".join(current), anchor, current_category
                current = None
            # A heading above the questions names their category; the page's own
            # heading (an h1, or the title repeated) does not.
            category = None if block.level == 1 or block.text.casefold() == title else block.text
        elif isinstance(block, Heading) and block.level == level:
            if current is not None:
                yield question, "\n\n".join(current), anchor, current_category
            question, anchor, current_category, current = block.text, block.anchor, category, []
        elif isinstance(block, Pair):
            if kind == "headings":
                if current is not None:
                    current.append(f"{block.question}\n{block.answer}")
            else:
                yield block.question, block.answer, block.anchor, category
        elif current is not None:
            current.append(block.text if isinstance(block, Heading) else block)
    if current is not None:
        yield question, "\n\n".join(current), anchor, current_category
