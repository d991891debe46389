"""Which connector reads which file, and the reader of files and folders built on that.

Each kind of source has one connector, named by its ``name``: ``crm`` (case exports),
``jsonl`` (JSON Lines documents), ``faq`` (FAQ files and FAQ pages), ``html`` (pages)
and ``pdf``. Several kinds share a suffix (a ``.csv`` is a CRM export or a FAQ, a
``.jsonl`` cases or documents, an ``.html`` file a FAQ page or another page), so a file
goes to the first connector, in the order of :func:`kinds`, that accepts it by suffix
and content: the most specific first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from ..documents import Document, IngestError
from ._base import Connector
from .crm import CrmConnector
from .faq import FaqConnector
from .html import HtmlConnector
from .jsonl import JsonlConnector
from .pdf import PdfConnector

# A connector of each kind, given the folder that page and PDF ids are relative to;
# in the order they are tried.
_FACTORIES: dict[str, Callable[[Path | None], Connector]] = {
    "crm": lambda root: CrmConnector(),
    "jsonl": lambda root: JsonlConnector(),
    "faq": lambda root: FaqConnector(),
    "html": lambda root: HtmlConnector(root=root),
    "pdf": lambda root: PdfConnector(root=root),
}

# Files larger than this are refused: a knowledge source of that size is almost always an
# export or a scan by mistake, and reading it whole would cost the batch its memory.
MAX_FILE_BYTES = 32 * 1024 * 1024


def kinds() -> tuple[str, ...]:
    """The kinds of source srmkb reads, in the order they are tried (for ``choices=``)."""
    return tuple(_FACTORIES)


def registered_connectors(
    root: str | Path | None = None, *, kinds: Iterable[str] | None = None
) -> list[Connector]:
    """The connectors ``srmkb ingest`` tries, most specific first.

    ``root`` is the folder ids of pages and PDFs are made relative to, so a base built
    from a checkout elsewhere keeps the same ids. ``kinds`` keeps only those kinds (in
    the usual order); an unknown one is a :class:`ValueError` that names the known ones.
    """
    wanted = set(_FACTORIES) if kinds is None else set(kinds)
    unknown = sorted(wanted - set(_FACTORIES))
    if unknown:
        known = ", ".join(_FACTORIES)
        raise ValueError(f"unknown connector kind(s) {', '.join(unknown)}; known: {known}")
    folder = Path(root) if root is not None else None
    return [make(folder) for kind, make in _FACTORIES.items() if kind in wanted]


def connector_for(
    path: str | Path, connectors: Sequence[Connector] | None = None
) -> Connector | None:
    """The connector that reads the file at ``path``, or None when none accepts it.

    It is the first of ``connectors`` that accepts the file; without them, the first of
    the registered ones, with the file's folder as the root of page and PDF ids.
    """
    path = Path(path)
    chosen = registered_connectors(path.parent) if connectors is None else connectors
    return next((c for c in chosen if c.accepts(path)), None)


def read_paths(
    paths: Iterable[str | Path],
    connectors: Sequence[Connector] | None = None,
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
            connector = connector_for(file, chosen)
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
