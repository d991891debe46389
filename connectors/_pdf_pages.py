"""A page's lines to text: running headers, footers and page numbers dropped, lines
reflowed into paragraphs. Part of the PDF connector."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ._pdf_lines import Line

_PAGE_NUMBER = re.compile(
    r"^(?:page|p\.|seite|pág\.?)?\s*[-–(]?\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*[-–)]?"
    r"(?:\s*(?:/|of|sur|de|von)\s*\d{1,5})?$",
    re.IGNORECASE,
)
_TOC_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*$", re.IGNORECASE)
_URL_CUT = re.compile(r"\bhttps?://\S*[./_#?=&-]$")  # a URL broken at the line end
# A list item's marker: the item starts a line (and never continues a heading).
BULLET = re.compile(r"^(?:[•◦▪▫■□●○‣⁃∙·\-–—*]|\d{1,3}[.)]|[a-z][.)])\s", re.IGNORECASE)


@dataclass(slots=True)
class Page:
    """A page's lines in reading order; ``pitch`` is their usual baseline step in sizes."""

    number: int  # 1-based
    height: float
    lines: list[Line]
    pitch: float = 1.2


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.casefold())).strip()


def _margin_lines(page: Page) -> list[tuple[str, int]]:
    """The lines of the two outermost rows at the top and at the bottom of the page (in
    its outer sixth), and the sideways lines."""
    lines = page.lines
    upright = [i for i, ln in enumerate(lines) if ln.upright]
    top = _outer_rows(
        sorted(upright, key=lambda i: -lines[i].base), lines, lambda ln: ln.y0 >= 0.85 * page.height
    )
    bottom = _outer_rows(
        sorted(upright, key=lambda i: lines[i].base), lines, lambda ln: ln.y1 <= 0.15 * page.height
    )
    side = [i for i in range(len(lines)) if not lines[i].upright]
    return (
        [("top", i) for i in top]
        + [("bottom", i) for i in bottom if i not in top]
        + [("side", i) for i in side]
    )


def _outer_rows(order: list[int], lines: list[Line], inside: Callable[[Line], bool]) -> list[int]:
    """Indexes of the first two rows of ``order`` (baselines within half a size)."""
    out: list[int] = []
    rows = 0
    last: Line | None = None
    for i in order:
        line = lines[i]
        if last is None or abs(line.base - last.base) > 0.5 * max(line.size, last.size):
            rows += 1
            last = line
        if rows > 2 or not inside(line):
            break
        out.append(i)
    return out


def drop_running_lines(pages: list[Page]) -> None:
    """Remove page numbers, headers and footers that repeat, and table of contents lines.

    A margin line is running when it is a bare page number, when one of its parts
    (digits ignored) recurs in the same margin on several pages, or when it sits where
    such lines were found (same margin, height and size): that catches running heads
    whose text changes with the section, as LaTeX books print them.
    """
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        keys = {
            (zone, _key(part)) for zone, i in _margin_lines(page) for part in page.lines[i].parts
        }
        seen.update(keys)
    needed = max(2, len(pages) // 20)
    drop: dict[int, set[int]] = {}
    bands: Counter[tuple[str, int, int]] = Counter()
    for page in pages:
        for zone, i in _margin_lines(page):
            line = page.lines[i]
            repeated = any(
                seen[(zone, k)] >= needed and sum(c.isalpha() for c in k) >= 3
                for k in map(_key, line.parts)
            )
            if repeated or _PAGE_NUMBER.match(line.text.strip()):
                drop.setdefault(page.number, set()).add(i)
                bands[(zone, round(line.base), round(line.size))] += 1
    learned = {band for band, n in bands.items() if n >= 2}
    for page in pages:
        for zone, i in _margin_lines(page):
            line = page.lines[i]
            if any(
                z == zone and abs(line.base - y) <= 1.5 and abs(line.size - size) <= 0.6
                for z, y, size in learned
            ):
                drop.setdefault(page.number, set()).add(i)
    for page in pages:
        gone = drop.get(page.number, set())
        leaders = sum(1 for ln in page.lines if _TOC_LEADER.search(ln.text))
        if leaders >= 5 and leaders >= 0.25 * len(page.lines):
            page.lines = []  # a table of contents page: titles the outline already has
            continue
        page.lines = [
            ln
            for i, ln in enumerate(page.lines)
            if i not in gone and not _TOC_LEADER.search(ln.text)
        ]


def join_lines(lines: list[Line], pitch: float) -> str:
    """Reflow lines into paragraphs, with a blank line where the spacing opens up.

    ``pitch`` is the page's usual baseline distance in font sizes; a wider step, a change
    of size or a step up (a new column) starts a paragraph. A word hyphenated at a line
    end is joined again (PDFium marks such hyphens).
    """
    out: list[str] = []
    prev: Line | None = None
    for line in lines:
        text = line.text.strip()
        if not text:
            continue
        if prev is None:
            sep = ""
        elif not (line.upright and prev.upright):
            sep = "\n\n"
        elif prev.hyphen_end or _URL_CUT.search(prev.text):
            sep = ""
        else:
            size = max(prev.size, line.size)
            step = prev.base - line.base
            if (
                step < 0.5 * size
                or step > 1.3 * pitch * size
                or abs(line.size - prev.size) > 0.15 * size
            ):
                sep = "\n\n"
            elif BULLET.match(text):
                sep = "\n"
            else:
                sep = " "
        out.append(sep)
        out.append(text)
        prev = line
    return "".join(out).strip()


def line_pitch(lines: list[Line]) -> float:
    """The usual baseline step between consecutive lines, in font sizes (1.2 if unsure)."""
    steps = sorted(
        (a.base - b.base) / a.size
        for a, b in itertools.pairwise(lines)
        if a.size > 0 and 0.8 * a.size < a.base - b.base < 2.5 * a.size
    )
    return max(1.0, steps[len(steps) // 2]) if len(steps) >= 3 else 1.2
