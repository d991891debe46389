"""PDFium's characters to segments: runs of words on one line with no wide gap inside.

Part of the PDF connector (:mod:`srmkb.connectors.pdf`); the layout steps after this one
read only the segments, never PDFium.
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypdfium2 import PdfPage


_SOFT_HYPHENS = {"\ufffe", "\x02", "\u00ad"}  # PDFium marks a line-end hyphen with U+FFFE
_WORD = re.compile("[^\\s\ufffe\x02\u00ad]+")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "ft", "ﬆ": "st", "\xa0": " "}
)
_STRAY_ACCENT_CHARS = re.compile("[\u0300-\u036f]")
_STRAY_ACCENT = re.compile("(^|[\\s\\W])[\u0300-\u036f]+")


@dataclass(slots=True)
class Seg:
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


def clean(text: str) -> str:
    """NFC text without ligatures or stray accents (TeX draws some accents apart).

    PDFium hands characters outside the BMP over as UTF-16 halves; they are joined here,
    and a lone half becomes U+FFFD, so the text is always storable.
    """
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = unicodedata.normalize("NFC", text.translate(_LIGATURES))
    return _STRAY_ACCENT.sub(r"\1", text) if _STRAY_ACCENT_CHARS.search(text) else text


def page_segments(page: PdfPage, pdfium_c: ModuleType) -> list[Seg]:
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
        segs: list[Seg] = []
        cur: Seg | None = None
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
                    cur = Seg(x0, y0, x1, y1, upright=False)
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
                cur = Seg(x0, y0, x1, y1)
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
    segs: list[Seg], raw: object, pdfium_c: ModuleType, rotation: int, width: float, height: float
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
