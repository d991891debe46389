"""Sentences, and the blocks they introduce: a list, a table or code after a sentence
that announces it ("Several packages are available for this purpose:"); a block as
plain text and as HTML.

An answer cut at a sentence must not end on such a sentence and leave its block out.
Connectors keep a block's structure as lines (list items as ``- ``, ``• `` or ``1. ``
lines, table rows as ``a | b``, ``<pre>`` lines verbatim), so the block is the run of
such lines after the announcing sentence, and :func:`units` keeps the two together:
an answer takes a unit whole or stops before it. Each line is looked at a bounded
number of times and no pattern repeats a group inside another, so the cost is linear
in the text, which is cut at :data:`MAX_CHARS`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

MAX_CHARS = 200_000

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-ÖØ-Þ0-9«\"'(])")
_MARKER_ONLY = re.compile(r"\d{1,2}[.)]")
_ITEM = re.compile(r"\s*(?:[-*•▪◦‣–]|\d{1,2}[.)])\s+\S")
_MARKER = re.compile(r"\s*(?:[-*•▪◦‣–]|\d{1,2}[.)])\s+")
_CLOSERS = "\"'”’»)]} \t"
_PROSE_END = ".!?:…"
# The last words of a sentence that announce what follows (besides a final colon).
_ANNOUNCING_LAST = frozenset(
    "below follows ci-dessous ci-après suivant suivante suivants suivantes".split()
)
_ANNOUNCING_PAIRS = frozenset({("the", "following"), ("as", "follows"), ("les", "suivants")})

LineKind = Literal["item", "row", "code", "continuation", "prose"]


@dataclass(frozen=True)
class Unit:
    """One sentence, or a sentence that introduces a block, with the block's lines.

    ``introduces`` is True for a sentence that announces a block; ``block`` holds that
    block's lines (empty when the text has none after it: the unit is then dangling).
    """

    sentence: str
    block: tuple[str, ...] = ()
    introduces: bool = False

    @property
    def lines(self) -> tuple[str, ...]:
        return (self.sentence, *self.block)

    @property
    def dangling(self) -> bool:
        """An announcing sentence whose block is missing: never the end of an answer."""
        return self.introduces and not self.block

    @property
    def outline(self) -> Unit:
        """The unit with its block in short: a list's items without their paragraphs (an
        item that announces code keeps it), another block without its prose lines (a
        definition list's descriptions). What a short answer quotes; :attr:`block` is
        what a page shows."""
        kinds = [line_kind(line) for line in self.block]
        if "item" in kinds:
            lines: list[str] = []
            follows = False  # the code an item announces
            for line, kind in zip(self.block, kinds):
                if kind == "item":
                    lines.append(line)
                    follows = introduces(line)
                elif kind == "code" and follows:
                    lines.append(line)
                else:
                    follows = False
        else:
            lines = [line for line, kind in zip(self.block, kinds) if kind in ("row", "code")]
        return Unit(self.sentence, tuple(lines), self.introduces)

    @property
    def size(self) -> int:
        """Characters it takes, one line break or space between lines."""
        return sum(len(line) + 1 for line in self.lines) - 1


def sentences_of_line(line: str) -> list[str]:
    """The sentences of one line of text."""
    return [s.strip() for s in _SENTENCE.split(line.strip()) if s.strip()]


def introduces(sentence: str) -> bool:
    """Whether ``sentence`` announces a block: it ends with a colon, or with "the
    following ...", "as follows", "below" (or their French equivalents)."""
    text = sentence.rstrip(_CLOSERS)
    if text.endswith((":", "：")):
        return True
    if not text.endswith("."):
        return False
    words = [w.strip(".,;!?\"'()«»“”").lower() for w in text[-80:].split()[-5:]]
    if words and words[-1] in _ANNOUNCING_LAST:
        return True
    return any(pair in _ANNOUNCING_PAIRS for pair in pairwise(words))


def line_kind(line: str) -> LineKind:
    """What a line of a passage is: a list item, a table row, code (or another line that
    is not a sentence: a caption, a term), an indented sentence (an item's paragraph, a
    term's description), or prose."""
    if _ITEM.match(line):
        return "item"
    if " | " in line or line.lstrip().startswith("|"):
        return "row"
    if not line.rstrip(_CLOSERS).endswith(tuple(_PROSE_END)):
        return "code"
    return "continuation" if line[:1].isspace() else "prose"


def item_text(line: str) -> str:
    """A list item without its marker ("- ", "• ", "2. ")."""
    match = _MARKER.match(line)
    return line[match.end() :].strip() if match else line.strip()


def units(text: str) -> list[Unit]:
    """The sentences of ``text``, each announcing sentence with the block after it.

    A block runs over the following item, row, code and indented lines; one or two prose
    lines between two list items (an item's paragraph that lost its indentation) stay in
    it. Lines that are not in a block are split into sentences, as
    :func:`sentences_of_line` does.
    """
    lines = _joined_markers([line.rstrip() for line in text[:MAX_CHARS].splitlines()])
    kinds = [line_kind(line) for line in lines]
    out: list[Unit] = []
    i = 0
    while i < len(lines):
        sentences = sentences_of_line(lines[i])
        out.extend(Unit(s) for s in sentences[:-1])
        last = sentences[-1]
        if not introduces(last):
            out.append(Unit(last))
            i += 1
            continue
        end = _block_end(lines, kinds, i + 1)
        out.append(Unit(last, tuple(lines[i + 1 : end]), True))
        i = end
    return out


def plain_text(said: Sequence[Unit]) -> str:
    """Units as plain text: sentences run on, a block's lines each on a line of its own."""
    lines: list[str] = []
    run: list[str] = []
    for unit in said:
        run.append(unit.sentence)
        if unit.block:
            lines.append(" ".join(run))
            lines.extend(unit.block)
            run = []
    if run:
        lines.append(" ".join(run))
    return "\n".join(lines)


def block_html(lines: Sequence[str]) -> list[str]:
    """A block's lines as HTML: runs of list items, table rows, code and other lines."""
    out: list[str] = []
    run: list[str] = []
    for i, line in enumerate(lines):
        run.append(line)
        kind = line_kind(line)
        if i + 1 < len(lines) and line_kind(lines[i + 1]) == kind:
            continue
        if kind == "item":
            tag = "ol" if run[0].lstrip()[:1].isdigit() else "ul"
            items = "".join(f"<li>{html.escape(item_text(x))}</li>" for x in run)
            out.append(f"<{tag}>{items}</{tag}>")
        elif kind == "row":
            out.append("<table>" + "".join(_row_html(x) for x in run) + "</table>")
        elif kind == "code":
            out.append(f"<pre>{html.escape(chr(10).join(run))}</pre>")
        else:
            out.extend(f"<p>{html.escape(x.strip())}</p>" for x in run)
        run = []
    return out


def _row_html(line: str) -> str:
    cells = line.strip().strip("|").split("|")
    return "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in cells) + "</tr>"


def _joined_markers(lines: list[str]) -> list[str]:
    """Non-empty lines, a lone list number ("1." on its own line) joined to the next."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        if out and _MARKER_ONLY.fullmatch(out[-1].strip()):
            out[-1] = f"{out[-1].strip()} {line.strip()}"
        else:
            out.append(line)
    return out


def _block_end(lines: list[str], kinds: list[LineKind], start: int) -> int:
    """The end (exclusive) of the block that starts at ``start``."""
    end = start
    has_item = False
    while end < len(lines):
        if kinds[end] != "prose":
            has_item = has_item or kinds[end] == "item"
            end += 1
            continue
        # At most two prose lines inside a list, when an item follows them; an
        # announcing line starts a unit of its own.
        after = end
        while after < min(end + 2, len(lines)) and kinds[after] == "prose":
            if introduces(sentences_of_line(lines[after])[-1]):
                return end
            after += 1
        if not (has_item and after < len(lines) and kinds[after] == "item"):
            return end
        end = after
    return end
