"""The connector protocol: what every connector is, whatever it reads.

This module imports no connector; :mod:`srmkb.connectors.registry` knows which ones
there are and which reads which file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..documents import Document, IngestError


@runtime_checkable
class Connector(Protocol):
    """Reads one kind of source file into documents.

    A connector may also name the suffixes it reads in a ``suffixes`` tuple (lower case,
    with the dot). :func:`~srmkb.connectors.read_paths` reports a file in a folder that
    has one of them but that no connector accepts, instead of skipping it as it does
    other files.
    """

    name: str

    def accepts(self, path: Path) -> bool:
        """Whether this connector reads ``path`` (by suffix and, where needed, content)."""
        ...

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        """Yield the file's documents, and an :class:`IngestError` for each bad part."""
        ...
