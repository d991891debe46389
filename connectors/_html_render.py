"""Page content to blocks: headings with their anchors, paragraphs of normalised text
(lists as lines, tables as ``a | b`` rows, ``<pre>`` verbatim) and, for FAQ pages,
question/answer pairs. Part of the HTML and FAQ connectors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from selectolax.lexbor import LexborNode

HEADINGS = "h1, h2, h3, h4, h5, h6"
_BLOCK = frozenset(
    "address article aside blockquote body center dd details dialog div dl dt fieldset"
    " figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr legend li main"
    " nav ol p pre section summary table tbody thead tfoot tr td th caption ul html".split()
)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


@dataclass(frozen=True)
class Pair:
    """A question and its answer, from ``<dt>``/``<dd>`` or ``<details>``/``<summary>``."""

    question: str
    answer: str
    anchor: str


Block = Heading | Pair | str
PairMode = Literal["dl", "details"]


def render(root: LexborNode, *, pairs: PairMode | None = None) -> list[Block]:
    """The content under ``root`` as headings, paragraphs and (with ``pairs``) Q/A pairs."""
    renderer = _Renderer(pairs)
    renderer.children(root)
    renderer.paragraph()
    return renderer.blocks


def heading_text(node: LexborNode) -> str:
    return norm_space(" ".join(_lines(node)))


def heading_anchor(node: LexborNode) -> str:
    """Where a heading can be linked to: its id, an anchor inside it, the id of an
    element it opens, or an empty ``<a name>`` just before it."""
    anchor = node.attributes.get("id")
    if anchor:
        return anchor
    for inner in node.css("[id], a[name]"):
        if value := inner.attributes.get("id") or inner.attributes.get("name"):
            return value
    level: LexborNode | None = node
    while level is not None and level.tag not in ("body", "html"):
        if level is not node:
            first = level.css_first(HEADINGS)
            if first is None or first.mem_id != node.mem_id:
                break
            if value := level.attributes.get("id"):
                return value
        if value := _preceding_anchor(level):
            return value
        level = level.parent
    return ""


def _preceding_anchor(node: LexborNode) -> str:
    sibling = node.prev
    while sibling is not None:
        if sibling.is_text_node and not (sibling.text_content or "").strip():
            sibling = sibling.prev
            continue
        if sibling.tag == "a" and not sibling.text(strip=True):
            attrs = sibling.attributes
            if value := attrs.get("id") or attrs.get("name"):
                return value
            sibling = sibling.prev
            continue
        return ""
    return ""


def norm_space(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\u200b", "")).strip()


def _lines(node: LexborNode, *, skip: str = "") -> list[str]:
    """The text under ``node`` as lines, paragraphs included, headings as plain lines;
    children tagged ``skip`` are left out."""
    sub = _Renderer(pairs=None)
    sub.children(node, skip=skip)
    sub.paragraph()
    out: list[str] = []
    for block in sub.blocks:
        if isinstance(block, Heading):
            out.append(block.text)
        elif isinstance(block, str):
            out.extend(block.split("\n"))
    return [line for line in out if line.strip()]


class _Renderer:
    """Walks elements into blocks; inline text is gathered into the current line."""

    def __init__(self, pairs: PairMode | None) -> None:
        self.pairs = pairs
        self.blocks: list[Block] = []
        self.lines: list[str] = []
        self.line: list[str] = []

    def newline(self) -> None:
        text = norm_space("".join(self.line))
        if text:
            self.lines.append(text)
        self.line = []

    def paragraph(self) -> None:
        self.newline()
        if self.lines:
            self.blocks.append("\n".join(self.lines))
            self.lines = []

    def children(self, node: LexborNode, *, skip: str = "") -> None:
        for child in node.iter(include_text=True):
            if child.is_text_node:
                self.line.append(child.text_content or "")
            elif child.is_element_node and child.tag != skip:
                self.element(child)

    def element(self, node: LexborNode) -> None:
        tag = node.tag
        if tag == "br":
            self.newline()
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.paragraph()
            text = heading_text(node)
            if text:
                self.blocks.append(Heading(int(tag[1]), text, heading_anchor(node)))
        elif tag == "pre":
            self.paragraph()
            lines = [line.rstrip() for line in (node.text(deep=True) or "").split("\n")]
            text = "\n".join(lines).strip("\n")
            if text.strip():
                self.blocks.append(text)
        elif tag in ("ul", "ol", "menu"):
            self.newline()
            self.list_items(node, ordered=tag == "ol")
        elif tag == "table" and node.css_first(HEADINGS) is None:
            self.paragraph()
            self.table(node)
            self.paragraph()
        elif tag == "dl" and self.pairs == "dl":
            self.paragraph()
            self.dl_pairs(node)
        elif tag == "details" and self.pairs == "details" and node.css_first("summary"):
            self.paragraph()
            self.details_pair(node)
        elif tag == "dd":
            self.newline()
            self.lines.extend("  " + line for line in _lines(node))
        elif tag in ("dt", "li", "tr", "summary", "caption"):
            self.newline()
            self.children(node)
            self.newline()
        elif tag in ("td", "th"):
            self.children(node)
            self.line.append(" ")
        elif tag in _BLOCK:
            self.paragraph()
            self.children(node)
            self.paragraph()
        else:
            self.children(node)

    def list_items(self, node: LexborNode, *, ordered: bool) -> None:
        number = 0
        for item in node.iter():
            if item.tag != "li":
                self.lines.extend(_lines(item))
                continue
            number += 1
            marker = f"{number}. " if ordered else "- "
            lines = _lines(item)
            if lines:
                self.lines.append(marker + lines[0])
                self.lines.extend("  " + line for line in lines[1:])

    def table(self, node: LexborNode) -> None:
        for caption in node.iter():
            if caption.tag == "caption" and (text := " ".join(_lines(caption))):
                self.lines.append(text)
        for row in _rows(node):
            cells = [" ".join(_lines(cell)) for cell in row.iter() if cell.tag in ("td", "th")]
            filled = [cell for cell in cells if cell]
            # Empty cells keep columns aligned, except beside a lone value (a note box's
            # icon cell, a section row), where " | Note" would only be noise.
            if len(filled) > 1:
                self.lines.append(" | ".join(cells))
            elif filled:
                self.lines.append(filled[0])

    def dl_pairs(self, node: LexborNode) -> None:
        question: list[str] = []
        anchor = ""
        answer: list[str] = []

        def flush() -> None:
            if question:
                self.blocks.append(Pair(" / ".join(question), "\n".join(answer), anchor))

        for child in node.iter():
            if child.tag == "dt":
                if answer:
                    flush()
                    question, answer, anchor = [], [], ""
                if text := heading_text(child):
                    question.append(text)
                    anchor = anchor or heading_anchor(child)
            elif child.tag == "dd":
                answer.extend(_lines(child))
        flush()

    def details_pair(self, node: LexborNode) -> None:
        summary = node.css_first("summary")
        assert summary is not None  # checked by the caller
        question = heading_text(summary)
        anchor = node.attributes.get("id") or heading_anchor(summary)
        answer = "\n".join(_lines(node, skip="summary"))
        self.blocks.append(Pair(question, answer, anchor or ""))


def _rows(table: LexborNode) -> Iterator[LexborNode]:
    """A table's own rows in order, not those of tables nested in its cells."""
    for child in table.iter():
        if child.tag == "tr":
            yield child
        elif child.tag in ("thead", "tbody", "tfoot"):
            yield from (row for row in child.iter() if row.tag == "tr")
