"""PDF files: one document per file, sections from the outline or from heading sizes.

Text comes from PDFium (the ``pypdfium2`` package), chosen by measurement: on the Debian
FAQ it gets as many words right as pdfminer.six (99.7 % of the HTML edition's words) at
about twenty times its speed, while pypdf runs words together (24 %);
``benchmarks/pdf_accuracy.py`` has the figures. PDFium gives characters and their boxes;
the layout work here turns them into text a person would read:

* lines are cut where a wide horizontal gap opens (a column gutter, a table cell), then
  each page is ordered by gutters found in the page's horizontal coverage: columns left to
  right, with lines that run across a gutter (titles, wide figures) cutting the page into
  bands read top to bottom;
* running headers and footers (lines at the top or bottom of many pages, page numbers)
  and table-of-contents leader lines are dropped;
* lines are joined into paragraphs, words hyphenated at a line end are joined again;
* sections follow the outline (bookmarks) when there is one, else lines set larger than
  the body text, and every section is cut at page ends so each passage knows its page.

A file that cannot be read gives an :class:`~srmkb.IngestError` naming the file and the
reason (no text layer, encrypted, damaged, not a PDF); ``read`` never raises for bad
input. Pages are loaded and closed one at a time, so only the extracted text of a large
file stays in memory. PDFium is not thread-safe: read one file at a time per process.
"""

from __future__ import annotations

import ctypes
import logging
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from ..documents import Document, IngestError
from ._pdf_lines import as_line, reading_order
from ._pdf_pages import Page, drop_running_lines, line_pitch
from ._pdf_sections import outline_anchors, size_anchors, split_sections
from ._pdf_segments import clean, page_segments

if TYPE_CHECKING:
    from pypdfium2 import PdfBookmark, PdfDocument, PdfPage

logger = logging.getLogger(__name__)

_INSTALL = "reading PDFs needs pypdfium2: pip install 'srmkb[pdf]' (or 'pypdfium2>=5,<6')"
_GENERIC_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - |untitled\b)"
    r"|\.(?:docx?|pdf|exe|indd|qxd|qxp|xlsx?|pptx?|rtf|txt|tmp|dvi|ps|tex|odt|wpd)$",
    re.IGNORECASE,
)
_PDF_DATE = re.compile(
    r"^D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?\s*(?:([Zz+-])(\d{2})?'?(\d{2})?'?)?"
)

_MAX_BOOKMARKS = 5000


class PdfConnector:
    """Reads ``.pdf`` files: one :class:`~srmkb.Document` per file.

    ``root``, when given, makes ids the file's path relative to it (``manuals/a.pdf``), so
    two files of the same name in different folders stay apart; otherwise the id is the
    file name. Either way it does not depend on the current directory or on content, so
    an edited file updates its document rather than adding a new one.
    """

    name = "pdf"
    suffixes = (".pdf",)

    def __init__(self, *, root: str | Path | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else None

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        """Yield the file's document, or an :class:`~srmkb.IngestError` saying why not."""
        path = Path(path)
        where = str(path)
        problem = _precheck(path)
        if problem:
            yield IngestError(where, problem)
            return
        try:
            import pypdfium2 as pdfium
            import pypdfium2.raw as pdfium_c
        except ImportError:
            yield IngestError(where, _INSTALL)
            return
        try:
            pdf = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as exc:
            yield IngestError(where, _open_error(exc))
            return
        try:
            yield from self._read_open(path, pdf, pdfium_c)
        except Exception as exc:  # a file that trips the layout code costs only itself
            logger.exception("unexpected failure reading %s", where)
            yield IngestError(where, f"could not read this PDF: {type(exc).__name__}: {exc}")
        finally:
            pdf.close()

    def _read_open(
        self, path: Path, pdf: PdfDocument, pdfium_c: ModuleType
    ) -> Iterator[Document | IngestError]:
        from pypdfium2 import PdfiumError

        where = str(path)
        pages: list[Page] = []
        failed: list[int] = []
        scanned: list[int] = []  # pages with images and no text
        for index in range(len(pdf)):
            try:
                page = pdf[index]
            except PdfiumError:
                failed.append(index + 1)
                continue
            try:
                segs = page_segments(page, pdfium_c)
                # Sideways text (a margin stamp, a turned table head) goes after the page's
                # text rather than into the middle of its lines.
                lines = reading_order([s for s in segs if s.upright])
                lines += [as_line([s]) for s in segs if not s.upright]
                pages.append(Page(index + 1, page.get_size()[1], lines, line_pitch(lines)))
                if not lines and _has_images(page, pdfium_c):
                    scanned.append(index + 1)
            finally:
                page.close()
        if failed:
            yield IngestError(where, f"damaged PDF: page(s) {_ranges(failed)} could not be read")
        if not any(page.lines for page in pages):
            if scanned:
                yield IngestError(
                    where,
                    f"no text layer: the PDF's {len(pdf)} page(s) are "
                    "images only (a scan?) and OCR is not available; run OCR "
                    "(for example ocrmypdf) and ingest the result",
                )
            elif pages:
                yield IngestError(where, "no text: the PDF's pages are empty")
            return
        if scanned:
            yield IngestError(
                where,
                f"page(s) {_ranges(scanned)} have no text layer (images "
                "only) and OCR is not available: their content is not indexed",
            )
        meta = pdf.get_metadata_dict(skip_empty=True)
        drop_running_lines(pages)
        anchors = outline_anchors(_bookmarks(pdf), pdfium_c, pages) or size_anchors(pages)
        sections = split_sections(pages, anchors)
        if not sections:
            yield IngestError(where, "no text left once page headers and footers are removed")
            return
        title = clean(meta.get("Title", "")).strip()
        if not title or _GENERIC_TITLE.search(title):
            title = (anchors[0].heading[0] if anchors and anchors[0].heading else "") or path.stem
        resolved = path.resolve()
        yield Document(
            id=self._id(path),
            title=title,
            url=resolved.as_uri(),
            language=_language(pdf, pdfium_c),
            metadata={"source_type": "pdf", "pages": len(pdf), "file": path.name},
            sections=tuple(sections),
            updated_at=_iso_date(meta.get("ModDate") or meta.get("CreationDate")),
            source=str(resolved),
        )

    def _id(self, path: Path) -> str:
        if self.root is not None:
            try:
                return path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                pass
        return path.name


def _bookmarks(pdf: PdfDocument) -> Iterator[PdfBookmark]:
    """The outline's bookmarks in document order, the first ``_MAX_BOOKMARKS`` of them."""
    for n, mark in enumerate(pdf.get_toc()):
        if n >= _MAX_BOOKMARKS:
            logger.warning("outline has over %d bookmarks; the rest are ignored", n)
            break
        yield mark


def _precheck(path: Path) -> str | None:
    """Reasons found before PDFium opens the file: missing, empty, not a PDF, cut short.

    A file cut short (no ``%%EOF`` in its last kilobyte, trailing blanks aside) is refused
    rather than read in part: PDFium would rebuild what it can, and a document missing
    its end is worse than an error that says to copy the file again. (An early
    ``%%EOF`` does not count: linearised and updated files have several.)
    """
    try:
        size = path.stat().st_size
        if not path.is_file():
            return "not a file"
        with open(path, "rb") as handle:
            head = handle.read(1024)
            handle.seek(max(0, size - 4096))
            tail = handle.read().rstrip(b"\x00\t\n\r\f ")[-1024:]
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot open: {exc.strerror or exc}"
    if size == 0:
        return "empty file: no PDF data"
    if b"%PDF-" not in head:
        return "not a PDF file (no %PDF- header)"
    if b"%%EOF" not in tail:
        return "truncated PDF: the file ends before its %%EOF marker (incomplete copy?)"
    return None


def _open_error(exc: Exception) -> str:
    code = getattr(exc, "err_code", None)
    if code == 4:  # FPDF_ERR_PASSWORD
        return "encrypted PDF: it needs a password, which srmkb does not have"
    if code == 6:  # FPDF_ERR_SECURITY
        return "encrypted PDF: unsupported security handler"
    return f"damaged or invalid PDF: PDFium cannot open it ({exc})"


def _has_images(page: PdfPage, pdfium_c: ModuleType) -> bool:
    return any(True for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))


def _language(pdf: PdfDocument, pdfium_c: ModuleType) -> str | None:
    """The catalog's ``/Lang`` as a BCP 47 tag (``fr-CA``), or None."""
    get = getattr(pdfium_c, "FPDFCatalog_GetLanguage", None)  # newer PDFium builds only
    if get is None:
        return None
    buf = (ctypes.c_ushort * 64)()
    n = get(pdf.raw, buf, ctypes.sizeof(buf))
    if n <= 2 or n > ctypes.sizeof(buf):
        return None
    lang = bytes(buf)[: n - 2].decode("utf-16-le", "replace").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*", lang):
        return None
    head, *rest = re.split(r"[-_]", lang)
    return "-".join([head.lower(), *(r.upper() if len(r) == 2 else r for r in rest)])


def _iso_date(value: str | None) -> str | None:
    """A PDF date (``D:20230621100955-04'00'``) as ISO 8601, or None when unreadable."""
    m = _PDF_DATE.match((value or "").strip())
    if not m:
        return None
    year, month, day, hour, minute, second, sign, tz_h, tz_m = m.groups()
    tz = None
    try:
        if sign in ("Z", "z"):
            tz = timezone.utc
        elif sign:
            offset = timedelta(hours=int(tz_h or 0), minutes=int(tz_m or 0))
            tz = timezone(-offset if sign == "-" else offset)
        stamp = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return stamp.isoformat()


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` as ``"1-3, 7"``."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
