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

import bisect
import csv
import functools
import hashlib
import io
import itertools
import json
import json.scanner
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import yaml
from selectolax.lexbor import LexborNode

from srmkb.documents import Document, IngestError, JSONValue, Visibility
from srmkb.errors import InputError

from ._htmlparse import (
    HTML_SUFFIXES,
    Heading,
    Page,
    PageError,
    Pair,
    decode,
    load_page,
    normalise_language,
    read_bytes,
    render,
)

logger = logging.getLogger(__name__)

STRUCTURED_SUFFIXES = (".json", ".csv", ".yaml", ".yml")

# Synonyms per field, as normalised keys (lower case, no accents, letters and digits
# only), most specific first. The first ones of question and answer are "strong": a
# file is claimed as a FAQ only if each entry has a strong question or a strong answer
# field, so a JSON list of {"title", "text"} documents is not taken for one.
_QUESTION = ("question", "q", "faqquestion", "questiontext", "pregunta", "frage", "vraag",
             "domanda", "pergunta", "query", "title", "faq")  # fmt: skip
_ANSWER = ("answer", "a", "faqanswer", "answertext", "reponse", "response", "reply",
           "solution", "respuesta", "antwort", "antwoord", "risposta", "resposta",
           "text", "body", "content")  # fmt: skip
_STRONG_QUESTION = frozenset(_QUESTION[:9])
_STRONG_ANSWER = frozenset(_ANSWER[:13])
_FIELDS: dict[str, tuple[str, ...]] = {
    "question": _QUESTION,
    "answer": _ANSWER,
    "id": ("id", "faqid", "questionid", "identifier", "uid", "ref", "reference", "key"),
    "category": ("category", "categorie", "categoria", "kategorie", "cat", "section",
                 "topic", "theme", "group", "rubrique"),
    "product": ("product", "produit", "producto", "produkt", "prodotto", "produto"),
    "visibility": ("visibility", "visibilite", "audience", "access"),
    "url": ("url", "link", "href", "uri", "lien", "permalink", "sourceurl", "enlace"),
    "language": ("language", "lang", "locale", "langue", "idioma", "sprache", "lingua"),
    "updated_at": ("updatedat", "updated", "lastupdated", "modified", "modifiedat",
                   "lastmodified", "updatedon", "misajour", "datemaj", "date"),
}  # fmt: skip
_CONTAINERS = ("faqs", "faq", "questions", "items", "entries", "data", "results")
_GROUP_NAMES = ("name", "title", "label")
_INHERITED = ("category", "product", "visibility", "language", "updated_at")
_VISIBILITY = {
    **dict.fromkeys(("public", "external", "customer", "customers", "everyone"), "public"),
    **dict.fromkeys(("internal", "private", "agent", "agents", "staff", "employees"),
                    "internal"),
}  # fmt: skip

_IS_QUESTION = re.compile(r"[?？؟]\s*$")
# "1.2. What is Debian?": numbered sections of a manual chapter, not a FAQ page.
_MANUAL_NUMBER = re.compile(r"^\s*\d+(?:\.\d+)+\.?\s")
_FAQ_TITLE = re.compile(
    r"\b(?:faqs?|frequently asked questions|foire aux questions|questions fr[ée]quentes"
    r"|preguntas frecuentes|h[äa]ufig gestellte fragen|domande frequenti)\b",
    re.IGNORECASE,
)
# Any trace of a FAQ structure in the raw bytes: a question mark ending a heading, a
# <dt>, a <details>, FAQPage markup. Pages without one are not parsed by accepts().
_FAQ_TRACE = re.compile(
    rb"(?:\?|\xef\xbc\x9f|\xd8\x9f)\s*(?:</[a-z]+>\s*)*</h[1-6]\s*>|<dt[\s>]|<details[\s>]"
    rb"|FAQPage",
    re.IGNORECASE,
)
Layout = tuple[Literal["headings", "dl", "details"], int]


@dataclass(frozen=True)
class _Entry:
    fields: Mapping[str, object]  # as written in the file
    inherited: Mapping[str, object]  # canonical fields from enclosing groups
    line: int | None


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
                return _may_be_faq_page(raw) and faq_layout(load_page(path, raw)) is not None
            if suffix == ".csv":
                head = read_bytes(path)[:65536]
                head = head[: head.rfind(b"\n") + 1] or head  # whole lines only
                header = _csv_rows(_decode(head))
                return _faq_like([dict.fromkeys(next(header, (0, []))[1], "x")])
            data = _load_structured(path)
            return _faq_like([e.fields for e in itertools.islice(_entries(data, {}, None), 100)])
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
            data = _load_structured(path)
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
        entries = list(_entries(data, {}, None))
        yield from self._documents(path, entries, locate=lambda: _entry_lines(path))

    def _read_csv(self, path: Path) -> Iterator[Document | IngestError]:
        rows = _csv_rows(_decode(read_bytes(path)))
        try:
            header_line, header = next(rows, (1, []))
            if not header:
                yield IngestError(str(path), "empty file: no FAQ entries")
                return
            entries = [_Entry(dict(zip(header, row)), {}, line) for line, row in rows]
        except csv.Error as exc:
            yield IngestError(str(path), f"malformed CSV: {exc}")
            return
        if not _faq_like([dict.fromkeys(header, "x")]):
            yield IngestError(
                str(path), f"no question and answer columns in the header {header}", header_line
            )
            return
        yield from self._documents(path, entries)

    def _documents(
        self,
        path: Path,
        entries: list[_Entry],
        locate: Callable[[], list[int | None]] | None = None,
    ) -> Iterator[Document | IngestError]:
        """Documents for the entries; ``locate`` gives each entry's line, called only
        when an error needs one (finding lines costs a slower second parse)."""
        if not entries:
            yield IngestError(str(path), "empty file: no FAQ entries")
            return
        lines: list[int | None] | None = None

        def error(number: int, entry: _Entry, reason: str) -> IngestError:
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
                if _canonical(entry.fields)[0].get("id") is not None:
                    yield error(number, entry, f"duplicate id {doc.id!r}")
                    continue
                doc = replace(doc, id=_unique(doc.id, seen))
            seen.add(doc.id)
            yield doc

    def _document(self, path: Path, source: str, entry: _Entry) -> Document:
        known, extras = _canonical(entry.fields)
        fields = {**{k: v for k, v in entry.inherited.items() if v is not None}, **known}
        question = _text(fields.get("question"))
        answer = _text(fields.get("answer"))
        if not question:
            raise InputError("entry has no question")
        if not answer:
            raise InputError(f"question {_short(question)!r} has no answer")
        product = _text(fields.get("product"))
        explicit = _text(fields.get("id"))
        metadata: dict[str, JSONValue] = {k: _json(v) for k, v in extras.items()}
        metadata.update(source_type="faq")
        for key in ("category", "product"):
            if value := _text(fields.get(key)):
                metadata[key] = value
        return Document(
            id=explicit or _hashed_id(path, question, product),
            title=question,
            text=answer,
            url=_text(fields.get("url")) or "",
            visibility=_visibility(fields.get("visibility"), self.visibility),
            language=normalise_language(_text(fields.get("language"))),
            metadata=metadata,
            updated_at=_text(fields.get("updated_at")) or None,
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
            _Entry(
                {"question": q, "answer": a, "url": _join_anchor(page.url, anchor)},
                {"category": category, "language": page.language, "updated_at": page.updated_at},
                None,
            )
            for q, a, anchor, category in faq_pairs(page, layout)
        ]
        yield from self._documents(path, entries)


# -- FAQ page layout --------------------------------------------------------------------


def _may_be_faq_page(data: bytes) -> bool:
    """A quick look at the bytes before parsing, so that the HTML connector's pages cost
    little more when the FAQ connector is asked first."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: the pattern can't see it
        return True
    return _FAQ_TRACE.search(data) is not None


def faq_layout(page: Page) -> Layout | None:
    """How the page holds its questions, or None if it is not a FAQ page.

    Candidates: ``<details>`` with a ``<summary>``, ``<dt>`` terms, and the headings of
    each level. A candidate qualifies with at least two questions (text ending in "?")
    that are a majority of its items; a page titled "FAQ" or marked up as a schema.org
    FAQPage needs only one, and a third. Headings numbered like a manual's sections
    ("1.2.") disqualify a level unless the page says it is a FAQ. The candidate with
    the most questions wins.
    """
    relaxed = page.faq_markup or bool(_FAQ_TITLE.search(page.title))
    candidates: list[tuple[int, Layout]] = []

    def consider(texts: list[str], layout: Layout) -> None:
        questions = sum(1 for t in texts if _IS_QUESTION.search(t))
        enough = (
            questions >= 1 and 3 * questions >= len(texts)
            if relaxed
            else (questions >= 2 and 2 * questions > len(texts))
        )
        manual = 2 * sum(1 for t in texts if _MANUAL_NUMBER.match(t)) > len(texts)
        if enough and (relaxed or not manual):
            candidates.append((questions, layout))

    root = page.root
    summaries = [d.css_first("summary") for d in root.css("details")]
    consider([_plain(s) for s in summaries if s is not None], ("details", 0))
    consider([_plain(dt) for dt in root.css("dl > dt")], ("dl", 0))
    for level in range(1, 7):
        consider([_plain(h) for h in root.css(f"h{level}")], ("headings", level))
    if not candidates:
        return None
    order = {"details": 0, "dl": 1, "headings": 2}
    return max(candidates, key=lambda c: (c[0], -order[c[1][0]]))[1]


def _plain(node: LexborNode) -> str:
    return " ".join((node.text() or "").split())


def faq_pairs(page: Page, layout: Layout) -> Iterator[tuple[str, str, str, str | None]]:
    """``(question, answer, anchor, category)`` for each entry of a FAQ page; the
    category is the heading above the questions, if any (not the page's title)."""
    kind, level = layout
    blocks = render(page.root, pairs=None if kind == "headings" else kind)
    title = page.title.casefold()
    category: str | None = None
    current: list[str] | None = None
    question, anchor, current_category = "", "", None
    for block in blocks:
        if isinstance(block, Heading) and (kind != "headings" or block.level < level):
            if current is not None:
                yield question, "\n\n".join(current), anchor, current_category
                current = None
            # A heading above the questions names their category; the page's own
            # heading (an h1, or the title repeated) does not.
            category = None if block.level == 1 or block.text.casefold() == title else block.text
        elif isinstance(block, Heading) and block.level == level:
            if current is not None:
                yield question, "\n\n".join(current), anchor, current_category
            question, anchor, current_category, current = block.text, block.anchor, category, []
        elif isinstance(block, Pair):
            if kind == "headings":
                if current is not None:
                    current.append(f"{block.question}\n{block.answer}")
            else:
                yield block.question, block.answer, block.anchor, category
        elif current is not None:
            current.append(block.text if isinstance(block, Heading) else block)
    if current is not None:
        yield question, "\n\n".join(current), anchor, current_category


# -- structured file helpers ------------------------------------------------------------


def _decode(data: bytes) -> str:
    return decode(data)[0]


def _load_structured(path: Path) -> object:
    """The data in a JSON or YAML file."""
    text = _decode(read_bytes(path))
    return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)


def _entry_lines(path: Path) -> list[int | None]:
    """The line where each entry of a JSON or YAML file starts, in :func:`_entries`
    order: a second, slower parse that records positions, run only for error messages."""
    text = _decode(read_bytes(path))
    lines: dict[int, int] = {}
    if path.suffix.lower() == ".json":
        data, lines = _json_with_lines(text)
    else:
        data = yaml.safe_load(text)
        _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader), data, lines, set())
    return [entry.line for entry in _entries(data, {}, lines)]


def _json_with_lines(text: str) -> tuple[object, dict[int, int]]:
    # The json module reports no positions; its pure-Python scanner takes a hook for
    # objects, which records where each starts. Slower than the C scanner, but FAQ
    # files are small and the line makes an error message actionable.
    starts = [m.start() for m in re.finditer("\n", text)]
    lines: dict[int, int] = {}
    decoder = json.JSONDecoder()
    parse_object = decoder.parse_object  # type: ignore[attr-defined]

    def record(s_and_end: tuple[str, int], *args: object) -> tuple[object, int]:
        obj, end = parse_object(s_and_end, *args)
        lines[id(obj)] = bisect.bisect_left(starts, s_and_end[1]) + 1
        return obj, end

    decoder.parse_object = record  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text), lines


def _yaml_lines(node: object, data: object, out: dict[int, int], seen: set[int]) -> None:
    # Walk the composed nodes beside the loaded data; ``seen`` stops alias loops.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        out[id(data)] = node.start_mark.line + 1
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in data:
                _yaml_lines(value, data[key.value], out, seen)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for item_node, item in zip(node.value, data):
            _yaml_lines(item_node, item, out, seen)


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each non-blank row; the delimiter is the header line's most
    frequent of ``, ; tab |`` (Excel in French locales writes ``;``)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t|", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 0
    for row in reader:
        start, line = line + 1, reader.line_num
        if any(cell.strip() for cell in row):
            yield start, row


def _entries(data: object, inherited: Mapping[str, object], lines: dict[int, int] | None,
             seen: set[int] | None = None) -> Iterator[_Entry]:  # fmt: skip
    """The FAQ entries in loaded JSON/YAML data, with fields inherited from groups.

    ``seen`` makes each list and object count once: YAML aliases can repeat one many
    times over ("billion laughs").
    """
    seen = set() if seen is None else seen
    if id(data) in seen:
        return
    seen.add(id(data))
    line = (lines or {}).get(id(data))
    if isinstance(data, list):
        for item in data:
            if isinstance(item, Mapping):
                yield from _entries(item, inherited, lines, seen)
            else:
                yield _Entry({}, inherited, None)
        return
    if not isinstance(data, Mapping):
        yield _Entry({}, inherited, line)
        return
    keys = {_norm_key(k): k for k in data}
    container = next(
        (keys[c] for c in _CONTAINERS if c in keys and isinstance(data[keys[c]], list)), None
    )
    if container is None and _faq_like([data]):
        yield _Entry(data, inherited, line)
    elif container is not None:
        known, _ = _canonical({k: v for k, v in data.items() if k != container})
        name = next((data[keys[n]] for n in _GROUP_NAMES if n in keys), None)
        group = {**inherited, **{k: v for k, v in known.items() if k in _INHERITED}}
        if "category" not in known and isinstance(name, str) and len(seen) > 1:
            group["category"] = name  # a named group; a file's own title is no category
        yield from _entries(data[container], group, lines, seen)
    elif data and all(isinstance(v, list) for v in data.values()):  # {"Billing": [...]}
        for key, value in data.items():
            yield from _entries(value, {**inherited, "category": str(key)}, lines, seen)
    else:
        yield _Entry(data, inherited, line)


def _faq_like(items: list[Mapping[str, object]]) -> bool:
    """Whether most items have a strong question field or a strong answer field, and
    both a question and an answer field."""

    def ok(item: Mapping[str, object]) -> bool:
        keys = {_norm_key(k) for k in item}
        has_q, has_a = bool(keys & set(_QUESTION)), bool(keys & set(_ANSWER))
        strong = bool(keys & _STRONG_QUESTION) or bool(keys & _STRONG_ANSWER)
        return has_q and has_a and strong

    return bool(items) and 2 * sum(1 for i in items if ok(i)) > len(items)


def _canonical(fields: Mapping[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split an entry into known fields (by canonical name) and the rest."""
    by_key: dict[str, str] = {}
    for key in fields:
        by_key.setdefault(_norm_key(key), str(key))
    known: dict[str, object] = {}
    used: set[str] = set()
    for name, synonyms in _FIELDS.items():
        for synonym in synonyms:
            original = by_key.get(synonym)
            if original is not None and original not in used and _text(fields[original]):
                known[name] = fields[original]
                used.add(original)
                break
    extras = {
        str(k): v for k, v in fields.items() if str(k) not in used and v not in (None, "", [], {})
    }
    return known, extras


@functools.lru_cache(maxsize=4096)
def _norm_key(key: object) -> str:
    folded = unicodedata.normalize("NFKD", str(key)).casefold()
    return "".join(c for c in folded if c.isalnum())


def _text(value: object) -> str:
    if value is None or isinstance(value, Mapping):
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "\n\n".join(t for t in (_text(v) for v in value) if t)
    return str(value).strip()


def _json(value: object) -> JSONValue:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)


def _visibility(value: object, default: Visibility) -> Visibility:
    text = _text(value).casefold()
    if not text:
        return default
    if text not in _VISIBILITY:  # never guess "public" for a label we don't know
        raise InputError(f"unknown visibility {text!r}; use 'public' or 'internal'")
    return _VISIBILITY[text]  # type: ignore[return-value]


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
