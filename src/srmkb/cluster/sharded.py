"""The shards of a base, one version each, ranked as one index.

A :class:`ShardedIndex` is an :class:`~srmkb.index.Index` over shards: it pins one
version of every shard, then ranks a query in two rounds (see
:mod:`srmkb.index.candidates`):

1. every shard's BM25 statistics for the query, summed: the collection's (per language:
   passage and document counts and lengths, document frequencies);
2. every shard's candidates, ranked with those statistics and the dense vector the
   collection decides on (:func:`~srmkb.index.candidates.dense_vector`), the audience,
   filters and ``as_of`` applied inside each shard before its top ``k``;

then pools the candidates and selects and fuses them once, with the code a single base
runs (:func:`~srmkb.index.candidates.select`), so the ranking and its scores are those
of one base holding every document. Records are read from the pinned versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from ..errors import SrmkbError
from ..index import Query, Ranking
from ..index.candidates import (
    Candidates,
    background_languages,
    dense_vector,
    select,
)
from ..index.filters import Filters, check_fields, validate
from ..index.protocol import check_search
from ..index.statistics import LexicalStatistics
from ..storage.records import PassageRecord
from ..vocabulary import Audience, Mode
from .fleet import Fleet, same
from .routing import shard_of
from .shard import Pinned, ShardInfo

__all__ = ["ShardedIndex"]


class ShardedIndex:
    """One version of a sharded base: a pinned version of each of its shards."""

    def __init__(
        self,
        fleet: Fleet,
        info: ShardInfo,
        *,
        as_of: float | None = None,
    ) -> None:
        self._fleet = fleet
        self._info = info
        self._as_of = as_of
        everyone = range(fleet.size)
        self._pins: dict[int, Pinned] = fleet.call("pin", same(everyone, as_of))
        self._tokens = {i: pin.token for i, pin in self._pins.items()}
        self._located: dict[str, int] = {}  # passage id -> shard, from this version's rankings
        counts: dict[str, int] = {}
        for pin in self._pins.values():
            for language, n in pin.languages.items():
                counts[language] = counts.get(language, 0) + n
        self._counts = counts

    @property
    def generation(self) -> int:
        """The sum of the shards' generations: it grows with every commit to any."""
        return sum(pin.generation for pin in self._pins.values())

    @property
    def generations(self) -> tuple[int, ...]:
        """Each shard's generation in this version."""
        return tuple(self._pins[i].generation for i in range(self._fleet.size))

    @property
    def as_of(self) -> float | None:
        return self._as_of

    @property
    def languages(self) -> tuple[str, ...]:
        found = sorted(self._counts.items(), key=lambda item: (-item[1], item[0]))
        return tuple(language for language, n in found if n)

    def __len__(self) -> int:
        return sum(pin.passages for pin in self._pins.values())

    def __repr__(self) -> str:
        return f"ShardedIndex(shards={self._fleet.size}, generations={self.generations})"

    def release(self) -> None:
        """Let the shards drop this version (they also drop old ones on their own)."""
        self._fleet.notify("release", {i: ((t,), {}) for i, t in self._tokens.items()})

    # -- ranking -----------------------------------------------------------------------

    def statistics(self, query: Query) -> LexicalStatistics:
        vector = None  # BM25's statistics need no vector
        found = self._fleet.call("statistics", self._each(query.text, vector))
        return _sum(found[i] for i in range(self._fleet.size))

    def search(
        self,
        query: Query,
        k: int,
        *,
        mode: Mode = "hybrid",
        audience: Audience = "customer",
        filters: Filters | None = None,
        statistics: LexicalStatistics | None = None,
    ) -> Ranking:
        check_search(k, mode, audience, filters)
        if not len(self) or not query.text.strip():
            return Ranking.empty()
        info = self._info
        if mode != "bm25" and info.model_id is None:
            raise SrmkbError("this sharded base has no dense index; search it with mode='bm25'")
        total = statistics if statistics is not None else self.statistics(query)
        qvec = query.vector if mode != "bm25" else None
        dvec = None
        if qvec is not None:
            counts = {g: total.groups[g].passages for g in total.languages}
            backgrounds = background_languages(counts)
            if mode == "hybrid" and info.model_languages is None and backgrounds:
                # Each language's background is a sample of the whole base's rows
                # (Snapshot.by_language), which the shards cannot draw alike yet.
                raise SrmkbError(
                    "hybrid search of a sharded base holding several languages with a"
                    f" multilingual model ({', '.join(backgrounds)}) is not supported yet;"
                    " search it with mode='bm25' or 'dense', or use one base"
                )
            dvec = dense_vector(
                query,
                qvec,
                query_means=info.query_means,
                model_languages=info.model_languages,
                backgrounds=backgrounds,
                languages=total.languages,
            )
        options = {
            "mode": mode,
            "audience": audience,
            "filters": filters,
            "statistics": total,
            "dense_vector": dvec,
        }
        requests = {
            i: ((token, query.text, qvec, int(k)), options) for i, token in self._tokens.items()
        }
        found = self._fleet.call("candidates", requests)
        parts = [found[i] for i in range(self._fleet.size)]
        pooled = Candidates.pool(parts)
        best = select(
            pooled,
            query,
            int(k),
            mode,
            model_languages=info.model_languages,
            cosine_map=info.cosine_map,
        )
        shard = np.concatenate([np.full(len(p), i, dtype=np.int64) for i, p in enumerate(parts)])
        passage_ids = pooled.keys[best.index]
        self._located.update(zip(passage_ids.tolist(), shard[best.index].tolist()))
        return Ranking(
            passage_ids=passage_ids,
            document_ids=pooled.documents[best.index],
            scores=best.scores,
            parts=best.parts,
            coverage=best.coverage,
            query_vector=best.query_vector,
        )

    def check_filters(self, filters: Filters | None) -> None:
        """Raise :class:`~srmkb.FilterError` for a malformed filter or one on a field
        no document of any shard has (in this version, or an earlier one it shows)."""
        if not filters:
            return
        validate(filters)
        found = self._fleet.call("fields", {i: ((t,), {}) for i, t in self._tokens.items()})
        check_fields(filters, frozenset().union(*found.values()))

    # -- records -----------------------------------------------------------------------

    def passages(self, ids: Sequence[str]) -> dict[str, PassageRecord]:
        wanted: dict[int, list[str]] = {}
        unknown = []
        for pid in ids:
            if pid in self._located:
                wanted.setdefault(self._located[pid], []).append(pid)
            else:
                unknown.append(pid)
        requests: dict[int, tuple[tuple[object, ...], dict[str, object]]] = {
            i: ((self._tokens[i], found), {}) for i, found in wanted.items()
        }
        if unknown:  # not ranked by this version: any shard may hold it
            for i in range(self._fleet.size):
                requests[i] = ((self._tokens[i], [*wanted.get(i, []), *unknown]), {})
        out: dict[str, PassageRecord] = {}
        for records in self._fleet.call("passages", requests).values():
            out.update(cast(dict[str, PassageRecord], records))
        return out

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        i = shard_of(document_id, self._fleet.size)
        found = self._fleet.call("document_passages", {i: ((self._tokens[i], document_id), {})})
        return cast(list[PassageRecord], found[i])

    def at(self, when: float) -> ShardedIndex:
        return ShardedIndex(self._fleet, self._info, as_of=when)

    def _each(
        self, text: str, vector: np.ndarray | None
    ) -> dict[int, tuple[tuple[object, ...], dict[str, object]]]:
        return {i: ((token, text, vector), {}) for i, token in self._tokens.items()}


def _sum(parts: object) -> LexicalStatistics:
    total = LexicalStatistics()
    for part in cast(Sequence[LexicalStatistics], parts):
        total = total + part
    return total
