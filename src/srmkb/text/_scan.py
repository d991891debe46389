"""The folded text as the redaction detectors share it: its runs of digit groups (cards and
phones) found once, and split into groups only when a detector looks inside."""

from __future__ import annotations

import re
from functools import cached_property
from itertools import accumulate

Span = tuple[int, int]

# Digit groups and what people put between them; the two classes never overlap, so a
# run is read once whatever follows it.
RUN_SEP = r"[ \t\r\n./()\-]{1,6}"
_RUN = re.compile(rf"[0-9]+(?:{RUN_SEP}[0-9]+)*")
_BETWEEN = re.compile(r"([^0-9]+)")


class Run:
    """A run of digit groups in the folded text, split when a detector looks inside."""

    def __init__(self, text: str, start: int, stop: int) -> None:
        self.text, self.start, self.stop = text, start, stop
        self.before = text[max(0, start - 2) : start]  # the two characters before the run
        self.after = text[stop : stop + 1]  # the character after it

    def has(self, pattern: re.Pattern[str]) -> bool:
        return pattern.search(self.text, self.start, self.stop) is not None

    @cached_property
    def groups(self) -> list[str]:
        return self._parts[0::2]

    @cached_property
    def seps(self) -> list[str]:
        """``seps[k]`` is between ``groups[k]`` and ``groups[k + 1]``."""
        return self._parts[1::2]

    @cached_property
    def starts(self) -> list[int]:
        """Where each group starts in the text."""
        return list(accumulate(map(len, self._parts), initial=self.start))[0::2]

    def end(self, k: int) -> int:
        return self.starts[k] + len(self.groups[k])

    @cached_property
    def _parts(self) -> list[str]:
        return _BETWEEN.split(self.text[self.start : self.stop])


class Scan:
    """The folded text and the digit runs in it, found once for every detector that needs
    them while the text is unchanged."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def runs(self) -> list[Run]:
        return [Run(self.text, *m.span()) for m in _RUN.finditer(self.text) if len(m[0]) >= 8]
