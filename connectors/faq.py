"""FAQs: one document per question and answer, from JSON, CSV, YAML or an HTML FAQ page.

Structured files hold a list of entries (or ``{"faqs": [...]}``, groups such as
``{"category": "Billing", "questions": [...]}``, or ``{"Billing": [...]}``) with a
question, an answer and optionally category, product, visibility, id, url, language and
updated_at. Field names are matched loosely: case, accents and punctuation are ignored
and common synonyms are known (``q``/``a``, ``Question``/``Réponse``, ``updated``...);
other fields go to ``metadata`` as they are.

HTML FAQ pages are read when they look like one (:func:`faq_layout`): questions as
headings with the answer below, ``<dt>``/``<dd>`` pairs, or ``<details>``/``<summary>``.
A manual chapter whose numbered sections happen to be questions ("1.2. What is
Debian?") is left to the HTML connector, which keeps it as one sectioned document.

Ids: the entry's own id when it has one, else ``<file stem>-<hash>`` of the file name,
product and question, so re-reading a file gives the same ids and editing an answer is
an update, not a new document. An entry without question or answer is reported with its
line and the rest of the file is read.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import yaml

from ..documents import Document, IngestError, JSONValue, Visibility
from ..errors import InputError
from ._faq_entries import Entry, as_json, as_text, as_visibility, canonical, faq_like, walk_entries
from ._faq_files import csv_rows, decode_text, entry_lines, load_structured
from ._faq_page import Layout, faq_layout, faq_pairs, may_be_faq_page
from ._html_decode import PageError
from ._html_page import HTML_SUFFIXES, load_page, normalise_language, read_bytes

__all__ = ["STRUCTURED_SUFFIXES", "FaqConnector", "Layout", "faq_layout", "faq_pairs"]

logger = logging.getLogger(__name__)

STRUCTURED_SUFFIXES = (".json", ".csv", ".yaml", ".yml")


class FaqConnector:
    """Reads FAQ files (JSON, CSV, YAML) and FAQ pages (HTML) into one document per
    question; :meth:`accepts` checks the content, so try it before the HTML connector."""

    name = "faq"
    suffixes = STRUCTURED_SUFFIXES + HTML_SUFFIXES

    def __init__(self, *, visibility: Visibility = "public") -> None:
        self.visibility: Visibility = visibility

    def accepts(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        if suffix not in self.suffixes:
            return False
        try:
            if suffix in HTML_SUFFIXES:
                raw = read_bytes(path)
                return may_be_faq_page(raw) and faq_layout(load_page(path, raw)) is not None
            if suffix == ".csv":
                head = read_bytes(path)[:65536]
                head = head[: head.rfind(b"\n") + 1] or head  # whole lines only
                header = csv_rows(decode_text(head))
                return faq_like([dict.fromkeys(next(header, (0, []))[1], "x")])
            data = load_structured(path)
            return faq_like([e.fields for e in itertools.islice(walk_entries(data, {}, None), 100)])
        except (PageError, ValueError, yaml.YAMLError, csv.Error, RecursionError):
            return False

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        suffix = path.suffix.lower()
        try:
            if suffix in HTML_SUFFIXES:
                yield from self._read_page(path)
            elif suffix == ".csv":
                yield from self._read_csv(path)
            else:
                yield from self._read_structured(path)
        except PageError as exc:
            yield IngestError(str(path), exc.reason)
        except RecursionError:
            yield IngestError(str(path), "nested too deeply to read")

    # -- structured files -------------------------------------------------------------

    def _read_structured(self, path: Path) -> Iterator[Document | IngestError]:
        try:
            data = load_structured(path)
        except json.JSONDecodeError as exc:
            yield IngestError(str(path), f"malformed JSON: {exc.msg}", exc.lineno)
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            yield IngestError(str(path), f"malformed YAML: {_first_line(exc)}", line)
            return
        if data is None:
            yield IngestError(str(path), "empty file: no FAQ entries")
            return
        entries = list(walk_entries(data, {}, None))
        yield from self._documents(path, entries, locate=lambda: entry_lines(path))

    def _read_csv(self, path: Path) -> Iterator[Document | IngestError]:
        rows = csv_rows(decode_text(read_bytes(path)))
        try:
            header_line, header = next(rows, (1, []))
            if not header:
                yield IngestError(str(path), "empty file: no FAQ entries")
                return
            entries = [Entry(dict(zip(header, row)), {}, line) for line, row in rows]
        except csv.Error as exc:
            yield IngestError(str(path), f"malformed CSV: {exc}")
            return
        if not faq_like([dict.fromkeys(header, "x")]):
            yield IngestError(
                str(path), f"no question and answer columns in the header {header}", header_line
            )
            return
        yield from self._documents(path, entries)

    def _documents(
        self,
        path: Path,
        entries: list[Entry],
        locate: Callable[[], list[int | None]] | None = None,
    ) -> Iterator[Document | IngestError]:
        """Documents for the entries; ``locate`` gives each entry's line, called only
        when an error needs one (finding lines costs a slower second parse)."""
        if not entries:
            yield IngestError(str(path), "empty file: no FAQ entries")
            return
        lines: list[int | None] | None = None

        def error(number: int, entry: Entry, reason: str) -> IngestError:
            nonlocal lines
            line = entry.line
            if line is None and locate is not None:
                lines = locate() if lines is None else lines
                line = lines[number - 1] if number <= len(lines) else None
            # Parsed pages and non-object items have no line: say which entry instead.
            return IngestError(str(path), reason if line else f"entry {number}: {reason}", line)

        seen: set[str] = set()
        source = str(path.resolve())
        for number, entry in enumerate(entries, start=1):
            try:
                doc = self._document(path, source, entry)
            except InputError as exc:
                yield error(number, entry, exc.reason)
                continue
            if doc.id in seen:
                if canonical(entry.fields)[0].get("id") is not None:
                    yield error(number, entry, f"duplicate id {doc.id!r}")
                    continue
                doc = replace(doc, id=_unique(doc.id, seen))
            seen.add(doc.id)
            yield doc

    def _document(self, path: Path, source: str, entry: Entry) -> Document:
        known, extras = canonical(entry.fields)
        fields = {**{k: v for k, v in entry.inherited.items() if v is not None}, **known}
        question = as_text(fields.get("question"))
        answer = as_text(fields.get("answer"))
        if not question:
            raise InputError("entry has no question")
        if not answer:
            raise InputError(f"question {_short(question)!r} has no answer")
        product = as_text(fields.get("product"))
        explicit = as_text(fields.get("id"))
        metadata: dict[str, JSONValue] = {k: as_json(v) for k, v in extras.items()}
        metadata.update(source_type="faq")
        for key in ("category", "product"):
            if value := as_text(fields.get(key)):
                metadata[key] = value
        return Document(
            id=explicit or _hashed_id(path, question, product),
            title=question,
            text=answer,
            url=as_text(fields.get("url")) or "",
            visibility=as_visibility(fields.get("visibility"), self.visibility),
            language=normalise_language(as_text(fields.get("language"))),
            metadata=metadata,
            updated_at=as_text(fields.get("updated_at")) or None,
            source=source,
        )

    # -- HTML FAQ pages ---------------------------------------------------------------

    def _read_page(self, path: Path) -> Iterator[Document | IngestError]:
        page = load_page(path)
        layout = faq_layout(page)
        if layout is None:
            yield IngestError(
                str(path), "not a FAQ page (no question headings, <dl> or <details> pairs)"
            )
            return
        entries = [
            Entry(
                {"question": q, "answer": a, "url": _join_anchor(page.url, anchor)},
                {"category": category, "language": page.language, "updated_at": page.updated_at},
                None,
            )
            for q, a, anchor, category in faq_pairs(page, layout)
        ]
        yield from self._documents(path, entries)


def _hashed_id(path: Path, question: str, product: str) -> str:
    key = "\x1f".join((path.name, product, " ".join(question.split()).casefold()))
    return f"{path.stem}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:12]}"


def _unique(doc_id: str, seen: set[str]) -> str:
    n = 2
    while f"{doc_id}-{n}" in seen:
        n += 1
    logger.debug("repeated question: %s becomes %s-%d", doc_id, doc_id, n)
    return f"{doc_id}-{n}"


def _join_anchor(url: str, anchor: str) -> str:
    return f"{url.split('#')[0]}#{anchor}" if anchor else url


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
