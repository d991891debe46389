"""The connector protocol and the dispatcher over files and folders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from srmkb.documents import Document, IngestError


@runtime_checkable
class Connector(Protocol):
    """Reads one kind of source file into documents.

    A connector may also name the suffixes it reads in a ``suffixes`` tuple (lower case,
    with the dot). :func:`read_paths` reports a file in a folder that has one of them but
    that no connector accepts, instead of skipping it as it does other files.
    """

    name: str

    def accepts(self, path: Path) -> bool:
        """Whether this connector reads ``path`` (by suffix and, where needed, content)."""
        ...

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        """Yield the file's documents, and an :class:`IngestError` for each bad part."""
        ...


def registered_connectors(root: Path | None = None) -> list[Connector]:
    """The connectors ``srmkb ingest`` tries, most specific first.

    ``root`` is the folder ids of pages and PDFs are made relative to, so a base built
    from a checkout elsewhere keeps the same ids.
    """
    from .crm import CrmConnector
    from .faq import FaqConnector
    from .html import HtmlConnector
    from .jsonl import JsonlConnector
    from .pdf import PdfConnector

    return [
        CrmConnector(),
        JsonlConnector(),
        FaqConnector(),
        HtmlConnector(root=root),
        PdfConnector(root=root),
    ]


# Files larger than this are refused: a knowledge source of that size is almost always an
# export or a scan by mistake, and reading it whole would cost the batch its memory.
MAX_FILE_BYTES = 32 * 1024 * 1024


def read_paths(
    paths: Iterable[str | Path],
    connectors: list[Connector] | None = None,
    *,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> Iterator[Document | IngestError]:
    """Documents from every file under ``paths``, each read by the first connector that
    accepts it. Missing paths and files no connector reads are reported, not raised; in
    a folder, only files whose suffix no connector reads (notes, images) are skipped.

    Without ``connectors``, each path gets the registered ones with that path (a folder)
    or its parent (a file) as the root of page and PDF ids.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield IngestError(str(path), "no such file or directory")
            continue
        chosen = connectors
        if chosen is None:
            chosen = registered_connectors(path if path.is_dir() else path.parent)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if file.name.startswith("."):
                continue
            try:
                size = file.stat().st_size
            except OSError as exc:
                yield IngestError(str(file), f"cannot read: {exc.strerror or exc}")
                continue
            if size > max_file_bytes:
                yield IngestError(
                    str(file),
                    f"file is {size / 2**20:.1f} MB, over the {max_file_bytes / 2**20:.0f} MB"
                    " limit (srmkb ingest --max-file-mb raises it)",
                )
                continue
            connector = next((c for c in chosen if c.accepts(file)), None)
            if connector is not None:
                yield from connector.read(file)
                continue
            # A file some connector would read by its name, but not by its content, is
            # broken input; any other file in a folder (notes, images) is not ours.
            suffix = file.suffix.lower()
            tried = [c.name for c in chosen if suffix in getattr(c, "suffixes", ())]
            if tried:
                yield IngestError(str(file), _unrecognised(file, tried))
            elif not path.is_dir():  # a file named explicitly must be readable
                yield IngestError(str(file), "no connector reads this kind of file")


def _unrecognised(path: Path, tried: list[str]) -> str:
    """Why the connectors that read files named like ``path`` all turned it down."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    if not head.strip():
        why = "empty"
    elif b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16
        why = "binary data, not text"
    else:
        why = f"its content is not what the {' or '.join(tried)} connector reads"
    return f"no connector recognises this file: {why}"
