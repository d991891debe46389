"""PDF files: one document per file, sections from the outline or from heading sizes.

Text comes from PDFium (the ``pypdfium2`` package), chosen by measurement: on the Debian
FAQ it gets as many words right as pdfminer.six (99.7 % of the HTML edition's words) at
about twenty times its speed, while pypdf runs words together (24 %);
``benchmarks/pdf_accuracy.py`` has the figures. PDFium gives characters and their boxes;
the layout work here turns them into text a person would read:

* lines are cut where a wide horizontal gap opens (a column gutter, a table cell), then
  each page is ordered by gutters found in the page's horizontal coverage: columns left to
  right, with lines that run across a gutter (titles, wide figures) cutting the page into
  bands read top to bottom;
* running headers and footers (lines at the top or bottom of many pages, page numbers)
  and table-of-contents leader lines are dropped;
* lines are joined into paragraphs, words hyphenated at a line end are joined again;
* sections follow the outline (bookmarks) when there is one, else lines set larger than
  the body text, and every section is cut at page ends so each passage knows its page.

A file that cannot be read gives an :class:`~srmkb.IngestError` naming the file and the
reason (no text layer, encrypted, damaged, not a PDF); ``read`` never raises for bad
input. Pages are loaded and closed one at a time, so only the extracted text of a large
file stays in memory. PDFium is not thread-safe: read one file at a time per process.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from srmkb.documents import Document, IngestError, Section

if TYPE_CHECKING:
    from pypdfium2 import PdfDocument, PdfPage

logger = logging.getLogger(__name__)

_INSTALL = "reading PDFs needs pypdfium2: pip install 'srmkb[pdf]' (or 'pypdfium2>=5,<6')"
_SOFT_HYPHENS = {"\ufffe", "\x02", "\u00ad"}  # PDFium marks a line-end hyphen with U+FFFE
_WORD = re.compile("[^\\s\ufffe\x02\u00ad]+")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ft", "ﬆ": "st", "\xa0": " "}
)
_PAGE_NUMBER = re.compile(
    r"^(?:page|p\.|seite|pág\.?)?\s*[-–(]?\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*[-–)]?"
    r"(?:\s*(?:/|of|sur|de|von)\s*\d{1,5})?$",
    re.IGNORECASE,
)
_TOC_LEADER = re.compile(r"(?:\.\s?){5,}\s*(?:\d{1,5}|[ivxlcdm]{1,7})\s*$", re.IGNORECASE)
_STRAY_ACCENT_CHARS = re.compile("[\u0300-\u036f]")
_STRAY_ACCENT = re.compile("(^|[\\s\\W])[\u0300-\u036f]+")
_URL_CUT = re.compile(r"\bhttps?://\S*[./_#?=&-]$")  # a URL broken at the line end
_BULLET = re.compile(r"^(?:[•◦▪▫■□●○‣⁃∙·\-–—*]|\d{1,3}[.)]|[a-z][.)])\s", re.IGNORECASE)
_GENERIC_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - |untitled\b)"
    r"|\.(?:docx?|pdf|exe|indd|qxd|qxp|xlsx?|pptx?|rtf|txt|tmp|dvi|ps|tex|odt|wpd)$",
    re.IGNORECASE,
)
_PDF_DATE = re.compile(
    r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?"
)

_CHAPTER = re.compile(
    r"^(?:chapter|chapitre|capítulo|kapitel|part|partie|appendix|annexe)"
    r"\s+[\w.]{1,6}$",
    re.IGNORECASE,
)
_NUMBERING = re.compile(r"^\s*(?:[\dIVXLivxl]+|[A-Z])(?:[.\-–][\dA-Za-z]{1,3})*[.)]?\s+")
_MAX_BOOKMARKS = 5000


@dataclass(slots=True)
class _Seg:
    """A run of characters on one line with no wide gap inside (PDF space, y grows up).

    The box comes from PDFium's loose character boxes, which are as tall as the font's
    bounding box and so overlap between lines; ``base`` (baseline) and ``size`` (font size
    in points) are what line spacing and heading sizes are judged by.
    """

    x0: float
    y0: float
    x1: float
    y1: float
    chars: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # PDFium index of each word's start
    letters: int = 0
    hyphen_end: bool = False
    base: float = 0.0
    size: float = 0.0
    upright: bool = True


@dataclass(slots=True)
class _Line:
    """A row of segments in reading order; ``parts`` keeps the segment texts."""

    text: str
    parts: list[str]
    x0: float
    y0: float
    x1: float
    y1: float
    base: float
    size: float
    hyphen_end: bool
    upright: bool = True


def _clean(text: str) -> str:
    """NFC text without ligatures or stray accents (TeX draws some accents apart).

    PDFium hands characters outside the BMP over as UTF-16 halves; they are joined here,
    and a lone half becomes U+FFFD, so the text is always storable.
    """
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = unicodedata.normalize("NFC", text.translate(_LIGATURES))
    return _STRAY_ACCENT.sub(r"\1", text) if _STRAY_ACCENT_CHARS.search(text) else text


# --- characters to segments -------------------------------------------------------------


def _page_segments(page: PdfPage, pdfium_c: ModuleType) -> list[_Seg]:
    """Segments of one page from PDFium's words and their loose boxes.

    Boxes are asked for at each word's first and last character only (PDFium already put
    a space or a line break wherever characters stand apart), which keeps this within a
    few times PDFium's own plain-text speed; font size and baseline are asked for once
    per segment.
    """
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        count = pdfium_c.FPDFText_CountChars(raw)
        text = textpage.get_text_range() if count > 0 else ""
        if len(text) != count:  # characters outside the BMP: fall back to one call each
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(raw, i) or 32) for i in range(count))
        width, height = page.get_size()
        rotation = page.get_rotation()
        if rotation in (90, 270):  # the size is as shown; boxes are in unturned space
            width, height = height, width
        rect = pdfium_c.FS_RECTF()
        box = pdfium_c.FPDFText_GetLooseCharBox
        segs: list[_Seg] = []
        cur: _Seg | None = None
        last_end = 0
        for match in _WORD.finditer(text):
            start, end = match.span()
            between = text[last_end:start]
            last_end = end
            if "\n" in between or "\r" in between:
                cur = None
            if not box(raw, start, rect):
                continue
            x0, y0, x1, y1 = rect.left, rect.bottom, rect.right, rect.top
            if rotation:
                x0, y0, x1, y1 = _rotate(x0, y0, x1, y1, rotation, width, height)
            upright = True
            if end - start > 1 and box(raw, end - 1, rect):
                ex0, ey0, ex1, ey1 = rect.left, rect.bottom, rect.right, rect.top
                if rotation:
                    ex0, ey0, ex1, ey1 = _rotate(ex0, ey0, ex1, ey1, rotation, width, height)
                # Text set sideways (margin stamps, turned table heads) runs up or down.
                upright = abs(ey0 + ey1 - y0 - y1) <= max(abs(ex0 + ex1 - x0 - x1), y1 - y0)
                if ex1 > x1:
                    x1 = ex1
                if ey0 < y0:
                    y0 = ey0
                if ey1 > y1:
                    y1 = ey1
                if ex0 < x0:
                    x0 = ex0
            elif cur is not None and not cur.upright:
                upright = not (x0 < cur.x1 and x1 > cur.x0)  # one more sideways character
            h = y1 - y0
            if h <= 0 or x1 < x0 or not (-width < x0 < 2 * width and -height < y0 < 2 * height):
                continue  # an empty box, or text placed far off the page, which nobody sees
            if not upright:
                if cur is None or cur.upright or not (x0 < cur.x1 and x1 > cur.x0):
                    cur = _Seg(x0, y0, x1, y1, upright=False)
                    segs.append(cur)
                else:
                    cur.chars.append(" ")
                    cur.x0, cur.x1 = min(cur.x0, x0), max(cur.x1, x1)
                    cur.y0, cur.y1 = min(cur.y0, y0), max(cur.y1, y1)
                cur.chars.append(match.group())
                cur.index.append(start)
                continue
            if cur is not None and not cur.upright:
                cur = None
            if cur is not None:
                mid = (y0 + y1) / 2
                # An em, guessed from the characters so far (about two per em).
                em = max(2.0 * (cur.x1 - cur.x0) / cur.letters, 0.3 * h)
                gap = x0 - cur.x1
                if not cur.y0 <= mid <= cur.y1 or gap > 0.9 * em or gap < -em:
                    cur = None
                elif cur.hyphen_end:
                    pass  # a word hyphenated at a line end: glue the halves
                else:
                    cur.chars.append(" ")
            if cur is None:
                cur = _Seg(x0, y0, x1, y1)
                segs.append(cur)
            else:
                if x1 > cur.x1:
                    cur.x1 = x1
                if y0 < cur.y0:
                    cur.y0 = y0
                if y1 > cur.y1:
                    cur.y1 = y1
            cur.chars.append(match.group())
            cur.index.append(start)
            cur.letters += end - start
            cur.hyphen_end = text[end : end + 1] in _SOFT_HYPHENS
        _measure(segs, raw, pdfium_c, rotation, width, height)
        return segs
    finally:
        textpage.close()


def _measure(
    segs: list[_Seg], raw: object, pdfium_c: ModuleType, rotation: int, width: float, height: float
) -> None:
    """Set each segment's baseline and font size (points, text and page matrix applied)."""
    x = ctypes.c_double()
    y = ctypes.c_double()
    matrix = pdfium_c.FS_MATRIX()
    for seg in segs:
        i = seg.index[len(seg.index) // 2]
        size = pdfium_c.FPDFText_GetFontSize(raw, i)
        if pdfium_c.FPDFText_GetMatrix(raw, i, matrix):  # sizes are often set as Tf 1 plus a matrix
            size *= abs(matrix.a * matrix.d - matrix.b * matrix.c) ** 0.5
        if not 0.5 <= size <= 500:  # a broken size: the box height is the next best thing
            size = 0.7 * (seg.y1 - seg.y0)
        seg.size = size
        pdfium_c.FPDFText_GetCharOrigin(raw, i, x, y)
        seg.base = _rotate(x.value, y.value, x.value, y.value, rotation, width, height)[1]
        if not seg.y0 - size <= seg.base <= seg.y1:
            seg.base = seg.y0 + 0.2 * (seg.y1 - seg.y0)


def _rotate(
    x0: float, y0: float, x1: float, y1: float, rotation: int, width: float, height: float
) -> tuple[float, float, float, float]:
    """A box in unrotated page space as shown on a page turned by ``/Rotate``."""
    if rotation == 90:
        return y0, width - x1, y1, width - x0
    if rotation == 180:
        return width - x1, height - y1, width - x0, height - y0
    if rotation == 270:
        return height - y1, x0, height - y0, x1
    return x0, y0, x1, y1


# --- segments to lines in reading order --------------------------------------------------


def _reading_order(segs: list[_Seg], depth: int = 0) -> list[_Line]:
    """Order a page's segments: columns between gutters, bands between spanning lines.

    Without a gutter the region is cut at wide vertical gaps and each block is tried
    again (an XY cut), since a title or abstract running across the columns hides the
    gutter from the whole-page coverage.
    """
    if len(segs) < 4 or depth > 6:
        return _rows(segs)
    gutters = _gutters(segs)
    if gutters:
        return _by_columns(segs, gutters, depth)
    blocks = _horizontal_blocks(segs)
    if len(blocks) > 1:
        return [line for block in blocks for line in _reading_order(block, depth + 1)]
    return _rows(segs)


def _gutters(segs: list[_Seg]) -> list[tuple[float, float]]:
    """Vertical strips of white space between columns of text, left to right.

    Only prose is set in columns: where lines that start with a cased letter rarely start
    in lower case (no sentence runs on from the line above), the page is a table or a
    list, and rows read better than columns.
    """
    starts = [s.chars[0][0] for s in segs if s.chars[0][0].lower() != s.chars[0][0].upper()]
    if len(starts) >= 8 and sum(c.islower() for c in starts) < 0.2 * len(starts):
        return []
    left = min(s.x0 for s in segs)
    right = max(s.x1 for s in segs)
    width = int(right - left) + 1
    if not 40 <= width <= 20000:
        return []
    heights = np.array([s.y1 - s.y0 for s in segs])
    delta = np.zeros(width + 2)  # a difference array: the coverage is its running sum
    np.add.at(delta, np.array([int(s.x0 - left) for s in segs]), heights)
    np.add.at(delta, np.array([int(s.x1 - left) + 1 for s in segs]), -heights)
    total = float(heights.sum())
    low = np.concatenate(([False], np.cumsum(delta[: width + 1]) <= 0.08 * total, [False]))
    runs = np.flatnonzero(np.diff(low.astype(np.int8)))  # starts and ends of low runs
    sizes = sorted(s.size for s in segs)
    min_gap = max(6.0, 0.7 * sizes[len(sizes) // 2])
    found: list[tuple[float, float]] = [
        (left + float(a), left + float(b))
        for a, b in zip(runs[::2], runs[1::2])
        if a > 0 and b <= width and b - a >= min_gap
    ]
    found = [g for g in found if _is_gutter(segs, g, total)]
    # Text columns are wide; a narrow one (section numbers, page numbers, a table's
    # first column) means rows, not columns: drop the gutters around it.
    narrowest = max(12 * sizes[len(sizes) // 2], 0.15 * (right - left))
    while found:
        edges = [left] + [x for g in found for x in g] + [right]
        widths = [edges[2 * k + 1] - edges[2 * k] for k in range(len(found) + 1)]
        k = min(range(len(widths)), key=widths.__getitem__)
        if widths[k] >= narrowest:
            break
        found.pop(k if k < len(found) else k - 1)
    if len(found) > 3:  # five or more "columns" is a table: read it row by row
        return []
    return found


def _is_gutter(segs: list[_Seg], gap: tuple[float, float], total: float) -> bool:
    """A gutter has a good share of text on each side, side by side rather than stacked."""
    mid = (gap[0] + gap[1]) / 2
    lefts = [s for s in segs if s.x1 <= mid]
    rights = [s for s in segs if s.x0 >= mid]
    if not lefts or not rights:
        return False
    if min(sum(s.y1 - s.y0 for s in lefts), sum(s.y1 - s.y0 for s in rights)) < 0.1 * total:
        return False
    lo = max(min(s.y0 for s in lefts), min(s.y0 for s in rights))
    hi = min(max(s.y1 for s in lefts), max(s.y1 for s in rights))
    shorter = min(max(s.y1 for s in side) - min(s.y0 for s in side) for side in (lefts, rights))
    return hi - lo >= 0.3 * shorter


def _by_columns(segs: list[_Seg], gutters: list[tuple[float, float]], depth: int) -> list[_Line]:
    """Read bands top to bottom; in a band, each column top to bottom, left to right."""

    def spans(s: _Seg) -> bool:
        return any(s.x0 < g0 - 2 and s.x1 > g1 + 2 for g0, g1 in gutters)

    def column(s: _Seg) -> int:
        mid = (s.x0 + s.x1) / 2
        return sum(1 for g0, g1 in gutters if mid > (g0 + g1) / 2)

    out: list[_Line] = []
    columns: list[list[_Seg]] = [[] for _ in range(len(gutters) + 1)]
    wide: list[_Seg] = []
    for s in sorted(segs, key=lambda s: -s.y1):
        if spans(s):
            for col in columns:
                out.extend(_reading_order(col, depth + 1))
                col.clear()
            wide.append(s)
        else:
            if wide:
                out.extend(_rows(wide))
                wide = []
            columns[column(s)].append(s)
    out.extend(_rows(wide))
    for col in columns:
        out.extend(_reading_order(col, depth + 1))
    return out


def _horizontal_blocks(segs: list[_Seg]) -> list[list[_Seg]]:
    """Split at vertical white space taller than about two lines."""
    ordered = sorted(segs, key=lambda s: -s.y1)
    sizes = sorted(s.size for s in segs)
    min_gap = 1.6 * sizes[len(sizes) // 2]
    blocks: list[list[_Seg]] = [[ordered[0]]]
    floor = ordered[0].y0
    for s in ordered[1:]:
        if floor - s.y1 > min_gap:
            blocks.append([])
        blocks[-1].append(s)
        floor = min(floor, s.y0)
    return blocks


def _rows(segs: list[_Seg]) -> list[_Line]:
    """Group segments into rows (overlapping around their baselines), read left to right."""
    rows: list[list[_Seg]] = []
    lo = hi = 0.0
    for s in sorted(segs, key=lambda s: -(s.base + 0.7 * s.size)):
        s_lo, s_hi = s.base - 0.25 * s.size, s.base + 0.75 * s.size
        if rows and min(hi, s_hi) - max(lo, s_lo) >= 0.5 * min(hi - lo, s_hi - s_lo):
            rows[-1].append(s)
            lo, hi = min(lo, s_lo), max(hi, s_hi)
            continue
        rows.append([s])
        lo, hi = s_lo, s_hi
    return [_line(sorted(row, key=lambda s: s.x0)) for row in rows]


def _line(row: list[_Seg]) -> _Line:
    parts = [_clean("".join(s.chars)) for s in row]
    main = max(row, key=lambda s: (len(s.index), s.size))
    return _Line(
        text=" ".join(parts),
        parts=parts,
        x0=min(s.x0 for s in row),
        y0=min(s.y0 for s in row),
        x1=max(s.x1 for s in row),
        y1=max(s.y1 for s in row),
        base=main.base,
        size=main.size,
        hyphen_end=row[-1].hyphen_end,
        upright=row[0].upright,
    )


# --- pages to text: running lines, paragraphs --------------------------------------------


@dataclass(slots=True)
class _Page:
    number: int  # 1-based
    height: float
    lines: list[_Line]
    pitch: float = 1.2


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\d+", "#", text.casefold())).strip()


def _margin_lines(page: _Page) -> list[tuple[str, int]]:
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


def _outer_rows(order: list[int], lines: list[_Line], inside: Callable[[_Line], bool]) -> list[int]:
    """Indexes of the first two rows of ``order`` (baselines within half a size)."""
    out: list[int] = []
    rows = 0
    last: _Line | None = None
    for i in order:
        line = lines[i]
        if last is None or abs(line.base - last.base) > 0.5 * max(line.size, last.size):
            rows += 1
            last = line
        if rows > 2 or not inside(line):
            break
        out.append(i)
    return out


def _drop_running_lines(pages: list[_Page]) -> None:
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


def _join(lines: list[_Line], pitch: float) -> str:
    """Reflow lines into paragraphs, with a blank line where the spacing opens up.

    ``pitch`` is the page's usual baseline distance in font sizes; a wider step, a change
    of size or a step up (a new column) starts a paragraph. A word hyphenated at a line
    end is joined again (PDFium marks such hyphens).
    """
    out: list[str] = []
    prev: _Line | None = None
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
            elif _BULLET.match(text):
                sep = "\n"
            else:
                sep = " "
        out.append(sep)
        out.append(text)
        prev = line
    return "".join(out).strip()


def _pitch(lines: list[_Line]) -> float:
    """The usual baseline step between consecutive lines, in font sizes (1.2 if unsure)."""
    steps = sorted(
        (a.base - b.base) / a.size
        for a, b in itertools.pairwise(lines)
        if a.size > 0 and 0.8 * a.size < a.base - b.base < 2.5 * a.size
    )
    return max(1.0, steps[len(steps) // 2]) if len(steps) >= 3 else 1.2


# --- sections ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Anchor:
    """Where a section starts: page index, line index, heading path, heading lines."""

    page: int
    line: int
    heading: tuple[str, ...]
    skip: int = 0  # lines from ``line`` on that print the heading itself


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def _find_heading(
    page: _Page, start: int, title: str, x: float | None, y: float | None
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


def _outline_anchors(pdf: PdfDocument, pdfium_c: ModuleType, pages: list[_Page]) -> list[_Anchor]:
    """Section starts from the bookmarks, in document order; heading paths from nesting."""
    anchors: list[_Anchor] = []
    path: list[str] = []
    pos = (0, 0)
    for n, mark in enumerate(pdf.get_toc()):
        if n >= _MAX_BOOKMARKS:
            logger.warning("outline has over %d bookmarks; the rest are ignored", n)
            break
        title = re.sub(r"\s+", " ", _clean(mark.get_title() or "")).strip()
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
            printed = _join(pages[index].lines[line : line + skip], pages[index].pitch)
            path[-1] = re.sub(r"\s+", " ", printed)
        anchors.append(_Anchor(index, line, tuple(path), skip))
        pos = (index, line + skip)
    return anchors


def _size_anchors(pages: list[_Page]) -> list[_Anchor]:
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
                and not _BULLET.match(line.text)
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
    anchors: list[_Anchor] = []
    path: list[tuple[int, str]] = []
    for p, i, n, size, text in heads:
        level = min(levels.index(size), 3)
        path = [(lv, t) for lv, t in path if lv < level] + [(level, text)]
        anchors.append(_Anchor(p, i, tuple(t for _, t in path), n))
    return anchors


def _sections(pages: list[_Page], anchors: list[_Anchor]) -> list[Section]:
    """Text between consecutive anchors, cut at page ends; heading lines left out."""
    sections: list[Section] = []
    starts = {(a.page, a.line): a for a in anchors}
    heading: tuple[str, ...] = ()
    skip = 0
    for p, page in enumerate(pages):
        chunk: list[_Line] = []
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


def _add(
    sections: list[Section], lines: list[_Line], heading: tuple[str, ...], page: _Page
) -> None:
    text = _join(lines, page.pitch)
    if text:
        sections.append(Section(text=text, heading=heading, page=page.number))


# --- the connector -------------------------------------------------------------------------


class PdfConnector:
    """Reads ``.pdf`` files: one :class:`~srmkb.Document` per file.

    ``root``, when given, makes ids the file's path relative to it (``manuals/a.pdf``), so
    two files of the same name in different folders stay apart; otherwise the id is the
    file name. Either way it does not depend on the current directory or on content, so
    an edited file updates its document rather than adding a new one.
    """

    name = "pdf"

    def __init__(self, *, root: str | Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else None

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() == ".pdf"

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        """Yield the file's document, or an :class:`~srmkb.IngestError` saying why not."""
        path = Path(path)
        where = str(path)
        problem = _precheck(path)
        if problem:
            yield IngestError(where, problem)
            return
        try:
            import pypdfium2 as pdfium
            import pypdfium2.raw as pdfium_c
        except ImportError:
            yield IngestError(where, _INSTALL)
            return
        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            yield IngestError(where, _open_error(exc))
            return
        try:
            yield from self._read_open(path, pdf, pdfium_c)
        except Exception as exc:  # a file that trips the layout code costs only itself
            logger.exception("unexpected failure reading %s", where)
            yield IngestError(where, f"could not read this PDF: {type(exc).__name__}: {exc}")
        finally:
            pdf.close()

    def _read_open(
        self, path: Path, pdf: PdfDocument, pdfium_c: ModuleType
    ) -> Iterator[Document | IngestError]:
        from pypdfium2 import PdfiumError

        where = str(path)
        pages: list[_Page] = []
        failed: list[int] = []
        scanned: list[int] = []  # pages with images and no text
        for index in range(len(pdf)):
            try:
                page = pdf[index]
            except PdfiumError:
                failed.append(index + 1)
                continue
            try:
                segs = _page_segments(page, pdfium_c)
                # Sideways text (a margin stamp, a turned table head) goes after the page's
                # text rather than into the middle of its lines.
                lines = _reading_order([s for s in segs if s.upright])
                lines += [_line([s]) for s in segs if not s.upright]
                pages.append(_Page(index + 1, page.get_size()[1], lines, _pitch(lines)))
                if not lines and _has_images(page, pdfium_c):
                    scanned.append(index + 1)
            finally:
                page.close()
        if failed:
            yield IngestError(where, f"damaged PDF: page(s) {_ranges(failed)} could not be read")
        if not any(page.lines for page in pages):
            if scanned:
                yield IngestError(
                    where,
                    f"no text layer: the PDF's {len(pdf)} page(s) are "
                    "images only (a scan?) and OCR is not available; run OCR "
                    "(for example ocrmypdf) and ingest the result",
                )
            elif pages:
                yield IngestError(where, "no text: the PDF's pages are empty")
            return
        if scanned:
            yield IngestError(
                where,
                f"page(s) {_ranges(scanned)} have no text layer (images "
                "only) and OCR is not available: their content is not indexed",
            )
        meta = pdf.get_metadata_dict(skip_empty=True)
        _drop_running_lines(pages)
        anchors = _outline_anchors(pdf, pdfium_c, pages) or _size_anchors(pages)
        sections = _sections(pages, anchors)
        if not sections:
            yield IngestError(where, "no text left once page headers and footers are removed")
            return
        title = _clean(meta.get("Title", "")).strip()
        if not title or _GENERIC_TITLE.search(title):
            title = (anchors[0].heading[0] if anchors and anchors[0].heading else "") or path.stem
        resolved = path.resolve()
        yield Document(
            id=self._id(path),
            title=title,
            url=resolved.as_uri(),
            language=_language(pdf, pdfium_c),
            metadata={"source_type": "pdf", "pages": len(pdf), "file": path.name},
            sections=tuple(sections),
            updated_at=_iso_date(meta.get("ModDate") or meta.get("CreationDate")),
            source=str(resolved),
        )

    def _id(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.name


def _precheck(path: Path) -> str | None:
    """Reasons found before PDFium opens the file: missing, empty, not a PDF, cut short.

    A file cut short (no ``%%EOF`` in its last kilobyte, trailing blanks aside) is refused
    rather than read in part: PDFium would rebuild what it can, and a document missing
    its end is worse than an error that says to copy the file again. (An early
    ``%%EOF`` does not count: linearised and updated files have several.)
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            return "not a file"
        with open(path, "rb") as handle:
            head = handle.read(1024)
            handle.seek(max(0, size - 4096))
            tail = handle.read().rstrip(b"\x00\t\n\r\f ")[-1024:]
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot open: {exc.strerror or exc}"
    if size == 0:
        return "empty file: no PDF data"
    if b"%PDF-" not in head:
        return "not a PDF file (no %PDF- header)"
    if b"%%EOF" not in tail:
        return "truncated PDF: the file ends before its %%EOF marker (incomplete copy?)"
    return None


def _open_error(exc: Exception) -> str:
    code = getattr(exc, "err_code", None)
    if code == 4:  # FPDF_ERR_PASSWORD
        return "encrypted PDF: it needs a password, which srmkb does not have"
    if code == 6:  # FPDF_ERR_SECURITY
        return "encrypted PDF: unsupported security handler"
    return f"damaged or invalid PDF: PDFium cannot open it ({exc})"


def _has_images(page: PdfPage, pdfium_c: ModuleType) -> bool:
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _language(pdf: PdfDocument, pdfium_c: ModuleType) -> str | None:
    """The catalog's ``/Lang`` as a BCP 47 tag (``fr-CA``), or None."""
    get = getattr(pdfium_c, "FPDFCatalog_GetLanguage", None)  # newer PDFium builds only
    if get is None:
        return None
    buf = (ctypes.c_ushort * 64)()
    n = get(pdf.raw, buf, ctypes.sizeof(buf))
    if n <= 2 or n > ctypes.sizeof(buf):
        return None
    lang = bytes(buf)[: n - 2].decode("utf-16-le", "replace").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", lang):
        return None
    head, *rest = re.split(r"[-_]", lang)
    return "-".join([head.lower(), *(r.upper() if len(r) == 2 else r for r in rest)])


def _iso_date(value: str | None) -> str | None:
    """A PDF date (``D:20230621100955-04'00'``) as ISO 8601, or None when unreadable."""
    m = _PDF_DATE.match((value or "").strip())
    if not m:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = m.groups()
    tz = None
    try:
        if sign in ("Z", "z"):
            tz = timezone.utc
        elif sign:
            offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
            tz = timezone(-offset if sign == "-" else offset)
        stamp = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return stamp.isoformat()


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
