"""Text folding for the redaction detectors, and positions mapped back to the original.

The detectors read a folded copy of the text (Unicode NFKC, digits of every script as ASCII,
every dash as ``-``, every space as a space, zero-width characters and soft hyphens dropped);
:class:`Origin` maps what they find back, so only the personal data changes in the original.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache

_INVISIBLE = frozenset("\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKC", char):
        if ch.isascii():
            out.append(ch)
        elif ch in _INVISIBLE:
            continue
        elif (digit := unicodedata.decimal(ch, None)) is not None:
            out.append(str(digit))  # Arabic-Indic, Devanagari… (NFKC keeps them)
        elif unicodedata.category(ch) == "Pd" or ch == "\u2212":
            out.append("-")
        elif ch in "\u0085\u2028\u2029":
            out.append("\n")
        elif ch.isspace():
            out.append(" ")
        elif ch in "\u00b7\u2027\u2219":  # middle dots, as between digit groups
            out.append(".")
        elif ch in "\u2044\u2215":
            out.append("/")
        else:
            out.append(ch)
    return "".join(out)


def fold(text: str) -> tuple[str, Origin | None]:
    """The folded text, and where its characters come from in ``text`` (None when each
    character folds to one: positions agree)."""
    if text.isascii():
        return text, None
    table = {c: f for c in set(text) if not c.isascii() and (f := _fold_char(c)) != c}
    if not table:
        return text, None
    changing = re.compile(f"[{re.escape(''.join(table))}]")
    if all(len(f) == 1 for f in table.values()):
        return changing.sub(lambda m: table[m[0]], text), None
    pieces: list[str] = []
    origin = Origin()
    last = 0
    for match in changing.finditer(text):
        start, folded = match.start(), table[match[0]]
        origin.add(text[last:start], last, True)
        origin.add(folded, start, len(folded) == 1)
        pieces += [text[last:start], folded]
        last = start + 1
    origin.add(text[last:], last, True)
    pieces.append(text[last:])
    return "".join(pieces), origin


class Origin:
    """Positions in the folded text mapped back to the original, piece by piece: a piece
    of characters that fold one to one, or what one character expanded to ("ﬁ": "fi")."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # where each piece starts in the folded text
        self._origins: list[int] = []  # and in the original
        self._even: list[bool] = []
        self._length = 0

    def add(self, folded: str, origin: int, even: bool) -> None:
        if folded:
            self._starts.append(self._length)
            self._origins.append(origin)
            self._even.append(even)
            self._length += len(folded)

    def __call__(self, pos: int) -> int:
        """The original character that folded character ``pos`` comes from."""
        k = bisect_right(self._starts, pos) - 1
        return self._origins[k] + (pos - self._starts[k] if self._even[k] else 0)
