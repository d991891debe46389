"""Sections of a PDF: from its outline (bookmarks) when it has one, else from lines set
larger than the body text; every section is cut at page ends. Part of the PDF connector."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from ..documents import Section
from ._pdf_lines import Line
from ._pdf_pages import BULLET, Page, join_lines
from ._pdf_segments import clean

if TYPE_CHECKING:
    from pypdfium2 import PdfBookmark


_CHAPTER = re.compile(
    r"^(?:chapter|chapitre|capítulo|kapitel|part|partie|appendix|annexe)"
    r"\s+[\w.]{1,6}$",
    re.IGNORECASE,
)
_NUMBERING = re.compile(r"^\s*(?:[\dIVXLivxl]+|[A-Z])(?:[.\-–][\dA-Za-z]{1,3})*[.)]?\s+")


@dataclass(slots=True)
class Anchor:
    """Where a section starts: page index, line index, heading path, heading lines."""

    page: int
    line: int
    heading: tuple[str, ...]
    skip: int = 0  # lines from ``line`` on that print the heading itself


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _find_heading(
    page: Page, start: int, title: str, x: float | None, y: float | None
) -> tuple[int, int]:
    """The line where ``title`` is printed on ``page`` (from ``start``), and its line count.

    The title may be printed with other numbering ("III-A" in the outline, "A." on the
    page), so it is also looked for without its own. Failing that, the section starts
    at the first line below and right of the bookmark's target point, else at ``start``.
    """
    lines = page.lines
    bare = _NUMBERING.sub("", title)
    for want in dict.fromkeys(w for w in (_norm(title), _norm(bare)) if len(w) >= 3):
        for j in range(start, len(lines)):
            got = ""
            for k in range(j, min(j + 4, len(lines))):
                got += _norm(lines[k].text)
                if want in got and len(got) <= len(want) + 12:
                    while j < k and want in "".join(_norm(ln.text) for ln in lines[j + 1 : k + 1]):
                        j += 1  # the window began with the end of the previous paragraph
                    if j > start and _CHAPTER.match(lines[j - 1].text.strip()):
                        return j - 1, k - j + 2  # "Chapter 3" printed above the title
                    return j, k - j + 1
                if len(got) >= len(want) + 12:
                    break
    if y is not None:
        for j in range(start, len(lines)):
            if lines[j].y1 <= y + 3 and (x is None or lines[j].x1 > x):
                return j, 0
    return start, 0


def outline_anchors(
    marks: Iterable[PdfBookmark], pdfium_c: ModuleType, pages: list[Page]
) -> list[Anchor]:
    """Section starts from the bookmarks, in document order; heading paths from nesting."""
    anchors: list[Anchor] = []
    path: list[str] = []
    pos = (0, 0)
    for mark in marks:
        title = re.sub(r"\s+", " ", clean(mark.get_title() or "")).strip()
        path = [*path[: mark.level], title]
        dest = mark.get_dest()
        index = dest.get_index() if dest is not None else None
        if not title or index is None or not 0 <= index < len(pages) or index < pos[0]:
            continue
        x = y = None
        mode, view = dest.get_view()
        if mode == pdfium_c.PDFDEST_VIEW_XYZ and len(view) >= 2:
            x, y = (float(view[0]) or None), (float(view[1]) or None)
        start = pos[1] if index == pos[0] else 0
        line, skip = _find_heading(pages[index], start, title, x, y)
        if skip:  # the heading as printed keeps its numbering ("7.2", "Chapter 3")
            printed = join_lines(pages[index].lines[line : line + skip], pages[index].pitch)
            path[-1] = re.sub(r"\s+", " ", printed)
        anchors.append(Anchor(index, line, tuple(path), skip))
        pos = (index, line + skip)
    return anchors


def size_anchors(pages: list[Page]) -> list[Anchor]:
    """Section starts at lines set larger than the body text; bigger sizes nest outer.

    A heading is one to three such lines in a row, alone on their rows (a larger table
    cell is no heading) and under 150 characters; a longer run is emphasised text.
    """
    weights: Counter[float] = Counter()
    for page in pages:
        for line in page.lines:
            weights[round(line.size * 2) / 2] += len(line.text)
    if not weights:
        return []
    body = weights.most_common(1)[0][0]
    runs: list[tuple[int, int, int, float]] = []  # page, first line, line count, size
    for p, page in enumerate(pages):
        for i, line in enumerate(page.lines):
            size = round(line.size * 2) / 2
            if not (size >= 1.2 * body and len(line.parts) == 1 and line.upright):
                continue
            last = runs[-1] if runs else None
            if (
                last is not None
                and last[0] == p
                and last[1] + last[2] == i
                and last[3] == size
                and not _NUMBERING.match(line.text)
                and not BULLET.match(line.text)
            ):
                runs[-1] = (p, last[1], last[2] + 1, size)
            else:
                runs.append((p, i, 1, size))
    heads = []
    for p, i, n, size in runs:
        text = " ".join(ln.text.strip() for ln in pages[p].lines[i : i + n])
        if n <= 3 and len(text) <= 150 and sum(c.isalpha() for c in text) >= 3:
            heads.append((p, i, n, size, text))
    levels = sorted({size for _, _, _, size, _ in heads}, reverse=True)
    anchors: list[Anchor] = []
    path: list[tuple[int, str]] = []
    for p, i, n, size, text in heads:
        level = min(levels.index(size), 3)
        path = [(lv, t) for lv, t in path if lv < level] + [(level, text)]
        anchors.append(Anchor(p, i, tuple(t for _, t in path), n))
    return anchors


def split_sections(pages: list[Page], anchors: list[Anchor]) -> list[Section]:
    """Text between consecutive anchors, cut at page ends; heading lines left out."""
    sections: list[Section] = []
    starts = {(a.page, a.line): a for a in anchors}
    heading: tuple[str, ...] = ()
    skip = 0
    for p, page in enumerate(pages):
        chunk: list[Line] = []
        for i, line in enumerate(page.lines):
            anchor = starts.get((p, i))
            if anchor is not None:
                _add(sections, chunk, heading, page)
                chunk = []
                heading, skip = anchor.heading, anchor.skip
            if skip:
                skip -= 1
                continue
            chunk.append(line)
        _add(sections, chunk, heading, page)
    return sections


def _add(sections: list[Section], lines: list[Line], heading: tuple[str, ...], page: Page) -> None:
    text = join_lines(lines, page.pitch)
    if text:
        sections.append(Section(text=text, heading=heading, page=page.number))
