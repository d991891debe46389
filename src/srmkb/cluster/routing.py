"""Which shard holds a document, and the manifest that records the shards.

A document goes to shard ``blake2b(id) mod N``: a stable hash (Python's ``hash`` of a
string changes with every process), so every process, on every machine, routes an id to
the same shard, and a document's passages and versions always live together. The
manifest (``cluster.json``, JSON) names the routing and the shards' folders; each shard
is an ordinary srmkb base that :class:`srmkb.KnowledgeBase` opens alone.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .._version import __version__
from ..errors import InputError, StorageError
from ..storage.layout import CLUSTER_MANIFEST

__all__ = ["MANIFEST", "ROUTING", "ClusterManifest", "route", "shard_of"]

MANIFEST = CLUSTER_MANIFEST
ROUTING = "blake2b-8:mod"  # 8-byte blake2b of the UTF-8 id, big-endian, modulo the shards
FORMAT_VERSION = 1

_T = TypeVar("_T")


def shard_of(document_id: str, shards: int) -> int:
    """The shard (0 … ``shards`` − 1) that holds ``document_id``."""
    if shards < 1:
        raise InputError(f"a sharded base needs at least one shard, got {shards}")
    digest = hashlib.blake2b(document_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def route(items: Iterable[tuple[str, _T]], shards: int) -> list[list[_T]]:
    """``items`` (id, item) sorted into one list per shard, in their order."""
    out: list[list[_T]] = [[] for _ in range(shards)]
    for key, item in items:
        out[shard_of(key, shards)].append(item)
    return out


@dataclass(frozen=True)
class ClusterManifest:
    """A sharded base's manifest: its format, routing and shard folders (relative)."""

    shards: tuple[str, ...]
    routing: str = ROUTING
    format_version: int = FORMAT_VERSION
    srmkb_version: str = __version__

    @classmethod
    def new(cls, shards: int) -> ClusterManifest:
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise InputError(f"shards must be a whole number of at least 1, got {shards!r}")
        return cls(tuple(f"shard-{i:03d}" for i in range(shards)))

    def folders(self, base: Path) -> list[Path]:
        return [base / name for name in self.shards]

    def write(self, base: Path) -> None:
        """Write the manifest atomically (a temporary file renamed over it)."""
        data = {
            "format_version": self.format_version,
            "srmkb_version": self.srmkb_version,
            "routing": self.routing,
            "shards": list(self.shards),
        }
        tmp = base / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, base / MANIFEST)

    @classmethod
    def read(cls, base: Path) -> ClusterManifest:
        path = base / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(
                shards=tuple(str(s) for s in data["shards"]),
                routing=str(data["routing"]),
                format_version=int(data["format_version"]),
                srmkb_version=str(data.get("srmkb_version", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StorageError(
                f"{path} cannot be read as a sharded base's manifest: {exc}"
            ) from exc
        if manifest.format_version > FORMAT_VERSION or manifest.routing != ROUTING:
            raise StorageError(
                f"{path}: format {manifest.format_version}, routing {manifest.routing!r}:"
                " written by a newer srmkb; upgrade srmkb to open it"
            )
        if not manifest.shards:
            raise StorageError(f"{path} names no shard")
        return manifest
