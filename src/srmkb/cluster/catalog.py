"""The catalog of a sharded base, as the knowledge loop reads and writes it.

Documents live in the shards; capture's own records (drafts and the links of resolved
cases to the documents that answered them) are not a document's, so they live once, at
the base's root, in ``capture.sqlite`` (an ordinary catalog file: the same schema, the
same code). :class:`ShardedCatalog` answers the catalog calls of :mod:`srmkb.loop`:
document reads from the shard that holds the document, summaries from every shard,
capture's records from the root file, which the first draft or link creates.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from ..storage.catalog import Catalog
from ..storage.records import DraftInfo, PassageRecord
from .fleet import Fleet, same
from .routing import shard_of

__all__ = ["CAPTURE", "ShardedCatalog"]

CAPTURE = "capture.sqlite"


class ShardedCatalog:
    """The catalog calls of :mod:`srmkb.loop` over the shards of ``fleet`` and the
    capture records at ``root``."""

    def __init__(self, root: Path, fleet: Fleet) -> None:
        self.path = root / CAPTURE
        self._fleet = fleet
        self._own: Catalog | None = None
        self._lock = threading.Lock()

    def _capture(self, create: bool) -> Catalog | None:
        """The root's capture records; None when none was written yet and ``create`` is
        False (reading never creates the file)."""
        with self._lock:
            if self._own is None and (create or self.path.is_file()):
                self._own = Catalog(self.path, create=not self.path.is_file())
            return self._own

    # -- documents, from the shards ----------------------------------------------------

    def document_passages(self, document_id: str) -> list[PassageRecord]:
        i = shard_of(document_id, self._fleet.size)
        found = self._fleet.call("current_passages", {i: ((document_id,), {})})
        return cast(list[PassageRecord], found[i])

    def document_summaries(self) -> list[dict[str, Any]]:
        """Every shard's current documents (see :meth:`Catalog.document_summaries`),
        by id."""
        found = self._fleet.call("document_summaries", same(range(self._fleet.size)))
        rows = [row for part in found.values() for row in part]
        return sorted(rows, key=lambda row: str(row["id"]))

    # -- capture's records, at the root ------------------------------------------------

    def drafts(self, status: str | None = None) -> list[DraftInfo]:
        own = self._capture(False)
        return [] if own is None else own.drafts(status=status)

    def captured_cases(self) -> dict[str, str]:
        own = self._capture(False)
        return {} if own is None else own.captured_cases()

    def reuse_counts(self) -> dict[str, int]:
        own = self._capture(False)
        return {} if own is None else own.reuse_counts()

    def save_drafts(
        self,
        drafts: Sequence[tuple[str, str, list[str], float]],
        links: Sequence[tuple[str, str, float]],
    ) -> None:
        own = self._capture(True)
        assert own is not None
        own.save_drafts(drafts, links)

    def decide_draft(self, draft_id: str, status: str) -> None:
        own = self._capture(True)
        assert own is not None
        own.decide_draft(draft_id, status)

    def close(self) -> None:
        with self._lock:
            if self._own is not None:
                self._own.close()
                self._own = None
