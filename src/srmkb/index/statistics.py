"""BM25's collection statistics, so that parts of a collection can score as one.

BM25 reads the collection through a few numbers: per group of passages (a language, or
``"*"`` for all) the passage count and total length, the document count and total
length, and each query term's document frequency at both levels. A part of a base (a
segment, a shard) gives its own with :meth:`srmkb.index.LocalIndex.statistics`; the
parts' statistics add up (``a + b``), and each part ranks with the sum
(``search(..., statistics=total)``), so its scores are those the whole collection gives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["GroupStatistics", "LexicalStatistics"]


@dataclass(frozen=True)
class GroupStatistics:
    """The statistics of one group of passages, for one query's terms."""

    passages: int = 0
    passage_length: float = 0.0
    documents: int = 0
    document_length: float = 0.0
    df: Mapping[str, int] = field(default_factory=dict)  # passages holding each term
    document_df: Mapping[str, int] = field(default_factory=dict)  # documents holding it

    @property
    def avgdl(self) -> float:
        return max(self.passage_length / self.passages if self.passages else 1.0, 1e-9)

    @property
    def document_avgdl(self) -> float:
        return max(self.document_length / self.documents if self.documents else 1.0, 1e-9)

    def __add__(self, other: GroupStatistics) -> GroupStatistics:
        return GroupStatistics(
            self.passages + other.passages,
            self.passage_length + other.passage_length,
            self.documents + other.documents,
            self.document_length + other.document_length,
            dict(Counter(self.df) + Counter(other.df)),
            dict(Counter(self.document_df) + Counter(other.document_df)),
        )


@dataclass(frozen=True)
class LexicalStatistics:
    """Statistics per group: ``"*"`` (every live passage) and each language."""

    groups: Mapping[str, GroupStatistics] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with live passages, most passages first (ties by name)."""
        found = [(g, s.passages) for g, s in self.groups.items() if g != "*" and s.passages]
        return tuple(g for g, _ in sorted(found, key=lambda item: (-item[1], item[0])))

    @property
    def shares(self) -> dict[str, float]:
        """Each language's share of the live passages."""
        total = max(sum(self.groups[g].passages for g in self.languages), 1)
        return {g: self.groups[g].passages / total for g in self.languages}

    def __add__(self, other: LexicalStatistics) -> LexicalStatistics:
        names = dict.fromkeys([*self.groups, *other.groups])
        empty = GroupStatistics()
        return LexicalStatistics(
            {g: self.groups.get(g, empty) + other.groups.get(g, empty) for g in names}
        )
