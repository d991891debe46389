"""Segments to lines in reading order: columns between gutters, bands between lines that
run across them, rows left to right. Part of the PDF connector."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._pdf_segments import Seg, clean


@dataclass(slots=True)
class Line:
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


def reading_order(segs: list[Seg], depth: int = 0) -> list[Line]:
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
        return [line for block in blocks for line in reading_order(block, depth + 1)]
    return _rows(segs)


def _gutters(segs: list[Seg]) -> list[tuple[float, float]]:
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


def _is_gutter(segs: list[Seg], gap: tuple[float, float], total: float) -> bool:
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


def _by_columns(segs: list[Seg], gutters: list[tuple[float, float]], depth: int) -> list[Line]:
    """Read bands top to bottom; in a band, each column top to bottom, left to right."""

    def spans(s: Seg) -> bool:
        return any(s.x0 < g0 - 2 and s.x1 > g1 + 2 for g0, g1 in gutters)

    def column(s: Seg) -> int:
        mid = (s.x0 + s.x1) / 2
        return sum(1 for g0, g1 in gutters if mid > (g0 + g1) / 2)

    out: list[Line] = []
    columns: list[list[Seg]] = [[] for _ in range(len(gutters) + 1)]
    wide: list[Seg] = []
    for s in sorted(segs, key=lambda s: -s.y1):
        if spans(s):
            for col in columns:
                out.extend(reading_order(col, depth + 1))
                col.clear()
            wide.append(s)
        else:
            if wide:
                out.extend(_rows(wide))
                wide = []
            columns[column(s)].append(s)
    out.extend(_rows(wide))
    for col in columns:
        out.extend(reading_order(col, depth + 1))
    return out


def _horizontal_blocks(segs: list[Seg]) -> list[list[Seg]]:
    """Split at vertical white space taller than about two lines."""
    ordered = sorted(segs, key=lambda s: -s.y1)
    sizes = sorted(s.size for s in segs)
    min_gap = 1.6 * sizes[len(sizes) // 2]
    blocks: list[list[Seg]] = [[ordered[0]]]
    floor = ordered[0].y0
    for s in ordered[1:]:
        if floor - s.y1 > min_gap:
            blocks.append([])
        blocks[-1].append(s)
        floor = min(floor, s.y0)
    return blocks


def _rows(segs: list[Seg]) -> list[Line]:
    """Group segments into rows (overlapping around their baselines), read left to right."""
    rows: list[list[Seg]] = []
    lo = hi = 0.0
    for s in sorted(segs, key=lambda s: -(s.base + 0.7 * s.size)):
        s_lo, s_hi = s.base - 0.25 * s.size, s.base + 0.75 * s.size
        if rows and min(hi, s_hi) - max(lo, s_lo) >= 0.5 * min(hi - lo, s_hi - s_lo):
            rows[-1].append(s)
            lo, hi = min(lo, s_lo), max(hi, s_hi)
            continue
        rows.append([s])
        lo, hi = s_lo, s_hi
    return [as_line(sorted(row, key=lambda s: s.x0)) for row in rows]


def as_line(row: list[Seg]) -> Line:
    parts = [clean("".join(s.chars)) for s in row]
    main = max(row, key=lambda s: (len(s.index), s.size))
    return Line(
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
