"""CRM case exports (CSV, JSON Lines): each resolved case becomes an internal document.

A case is knowledge once it is resolved: what the customer reported, what fixed it, and
what the agents noted on the way. Reading an export:

- **Columns** are found by name, case- and accent-insensitively, among synonyms (see
  ``SYNONYMS``: ``id``/``ticket_id``/``case_number`` for the case id,
  ``description``/``customer_message`` for the messages, ``notes``/``agent_notes``,
  ``solution``/``resolution``, ``created``/``opened_at``, ``closed``/``resolved_at``…).
  ``mapping={"case_id": "Ticket #", "customer_messages": ["Msg 1", "Msg 2"]}`` names
  other exports' columns, by the canonical fields in ``FIELDS``. Customer messages,
  notes and resolution may span several columns (``Message 1``, ``Message 2``) or, in
  JSON, be a list of strings or of objects with a ``text``/``body`` field; they are
  joined in order. Other columns (customer name, e-mail…) are never read.
- **Status**: only cases whose status is in ``resolved_statuses`` (default
  ``DEFAULT_RESOLVED_STATUSES``: resolved, closed, solved, done, fixed, completed,
  résolu, fermé, clos, clôturé, terminé…, compared without case or accents) become
  documents; ``resolved_statuses=None`` takes every case, for exports already filtered.
  The others are *skipped*, not errors: :attr:`CrmConnector.skipped` counts them and
  :attr:`CrmConnector.reads` holds one :class:`CrmReadStats` per file read.
- **Document**: id ``case-<case id>``, title the subject, sections *Problem* (customer
  messages), *Resolution* and *Internal notes*, ``updated_at`` the closed date in ISO
  8601, ``metadata`` with ``source_type="crm"``, ``case_id``, ``status``, ``product``,
  ``channel``, ``category``, ``priority``, ``opened_at``, ``closed_at`` and
  ``complaint``.
- **Visibility**: internal notes and complaints are internal, always: a customer must
  never see them. By default the whole case is internal too (agent knowledge).
  ``public_resolutions=True`` makes only the *Resolution* section public, for cases that
  are not complaints; the customer's own words (subject and messages) stay internal,
  since they may carry personal data that redaction cannot recognise (names,
  addresses). A document's title goes with every passage of it, so a public case gets a
  neutral title (``Resolution: <product> – <category>``, in French for a French case,
  leaving out a value in which personal data was found) and its subject moves to an
  internal *Subject* section (anchor ``subject``), where agents still find it. Metadata
  goes with every hit, customers' too: keep free text out of the mapped columns. A
  complaint is a case whose category/type says so (``COMPLAINT_CATEGORIES``) or whose
  text contains one of ``complaint_keywords`` (default ``DEFAULT_COMPLAINT_KEYWORDS``:
  complain…, réclamation, plainte, ombudsman, médiateur, mise en demeure, legal
  action…).
- **Personal data** (e-mail, phone, card, IBAN…) is redacted by
  :func:`srmkb.text.redaction.redact_with_counts` in the subject, every section and every
  metadata string (status, product, channel, category, priority), before the document
  exists; ``redactor=`` adds the caller's own recogniser (names, addresses, customer
  numbers). The case id is an identifier and is kept as it is; dates and the language
  are parsed, never copied. :attr:`CrmReadStats.redacted` counts what was replaced.
- **Bad input**: a row without a case id or without any text, a short (truncated) or
  overlong row, a malformed JSON line, a duplicate case id, is an :class:`IngestError`
  with its line number; the rest of the file goes on. An empty, unreadable or
  unrecognisable file is one error.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..documents import Document, IngestError, JSONValue, Section
from ..errors import InputError
from ..text.redaction import Redactor, redact_with_counts
from ._crm_columns import FIELDS, MULTI, SYNONYMS, ColumnFinder
from ._crm_rows import Record, csv_records, delimiter, jsonl_records
from ._crm_values import case_language, fold, iso_date, status_key

__all__ = [
    "COMPLAINT_CATEGORIES",
    "DEFAULT_COMPLAINT_KEYWORDS",
    "DEFAULT_RESOLVED_STATUSES",
    "FIELDS",
    "SYNONYMS",
    "CrmConnector",
    "CrmReadStats",
]

logger = logging.getLogger(__name__)

DEFAULT_RESOLVED_STATUSES: frozenset[str] = frozenset({
    "resolved", "closed", "solved", "done", "fixed", "completed", "complete",
    "closed resolved", "closed complete", "résolu", "résolue", "fermé", "fermée", "clos",
    "clôturé", "clôturée", "terminé", "terminée", "traité", "traitée",
})  # fmt: skip
COMPLAINT_CATEGORIES: frozenset[str] = frozenset(
    {"complaint", "complaints", "réclamation", "réclamations", "plainte", "plaintes"}
)
_COMPLAINT_FOLDED = frozenset(fold(c) for c in COMPLAINT_CATEGORIES)
DEFAULT_COMPLAINT_KEYWORDS: tuple[str, ...] = (
    "complain", "réclamation", "plainte", "ombudsman", "médiateur", "mediator",
    "mise en demeure", "formal notice", "legal action",
)  # fmt: skip

_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass(frozen=True)
class CrmReadStats:
    """What one :meth:`CrmConnector.read` of a file found: rows, documents, skips, errors."""

    path: str
    rows: int = 0  # records read as cases: documents, skipped and rejected ones
    documents: int = 0
    skipped: int = 0
    errors: int = 0
    skipped_statuses: Mapping[str, int] = field(default_factory=dict)
    redacted: Mapping[str, int] = field(default_factory=dict)


class CrmConnector:
    """Reads CRM case exports; resolved cases become (internal) documents.

    Not thread-safe: the counters are per instance. Use one instance per ingest run and
    read :attr:`skipped` or :attr:`reads` once the documents are consumed.

    ``redactor`` is the caller's own recogniser (``str -> str``, for names, addresses or
    customer numbers the built-in detectors cannot know); it sees every text of a case
    that the built-in redaction sees.
    """

    name = "crm"
    suffixes = tuple(_SUFFIXES)

    def __init__(
        self,
        *,
        mapping: Mapping[str, str | Sequence[str]] | None = None,
        resolved_statuses: Iterable[str] | None = DEFAULT_RESOLVED_STATUSES,
        public_resolutions: bool = False,
        complaint_keywords: Iterable[str] = DEFAULT_COMPLAINT_KEYWORDS,
        dayfirst: bool = True,
        url_template: str = "",
        encoding: str = "utf-8-sig",
        redactor: Redactor | None = None,
    ) -> None:
        self._columns = ColumnFinder(mapping)
        self._resolved = (
            None if resolved_statuses is None else {status_key(s) for s in resolved_statuses}
        )
        self.public_resolutions = public_resolutions
        words = [re.escape(fold(k)) for k in complaint_keywords if k.strip()]
        self._complaint = re.compile(rf"\b(?:{'|'.join(words)})") if words else None
        self.dayfirst = dayfirst
        if url_template:
            try:
                url_template.format(case_id="x")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"url_template may use only {{case_id}}: {exc}") from None
        self.url_template = url_template
        self.encoding = encoding
        self.redactor = redactor
        self.reads: list[CrmReadStats] = []

    @property
    def skipped(self) -> int:
        """Cases skipped as not resolved, over every file this instance has read."""
        return sum(r.skipped for r in self.reads)

    def accepts(self, path: Path) -> bool:
        """A ``.csv``/``.tsv``/``.jsonl``/``.ndjson`` file whose first record has a case id,
        a status (unless every status is taken) and some case text.

        The first record is decoded leniently: column names are nearly always ASCII, so
        an export in another encoding than :attr:`encoding` is still recognised, and
        :meth:`read` reports it with what to do instead of it being skipped unseen.
        """
        kind = _SUFFIXES.get(path.suffix.lower())
        if kind is None:
            return False
        try:
            with open(path, "rb") as handle:
                raw = next((line for line in handle if line.strip()), b"")
            head = raw.decode(self.encoding, errors="replace")
            if kind == "csv":
                names = next(csv.reader([head], delimiter=delimiter(head)), [])
            else:
                data = json.loads(head)
                names = list(data) if isinstance(data, dict) else []
        except (OSError, ValueError, csv.Error):
            return False
        found = self._columns(names)
        return (
            "case_id" in found
            and ("status" in found or self._resolved is None)
            and any(f in found for f in MULTI)
        )

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        """Yield a document per resolved case and an error per bad row or file."""
        source = str(path.resolve())
        counts: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        redacted: Counter[str] = Counter()
        seen: dict[str, int] = {}
        try:
            records = (
                jsonl_records(path, self.encoding, self._columns)
                if _SUFFIXES.get(path.suffix.lower()) == "jsonl"
                else csv_records(path, self.encoding, self._columns)
            )
            for item in records:
                if isinstance(item, IngestError):
                    counts["errors"] += 1
                    yield item
                    continue
                line, record = item
                counts["rows"] += 1
                out = self._document(record, path, line, source, seen, redacted)
                if isinstance(out, str):  # the status of a case that is not resolved
                    statuses[out] += 1
                    continue
                counts["documents" if isinstance(out, Document) else "errors"] += 1
                yield out
        finally:
            stats = CrmReadStats(
                path=str(path),
                rows=counts["rows"],
                documents=counts["documents"],
                skipped=sum(statuses.values()),
                errors=counts["errors"],
                skipped_statuses=dict(statuses),
                redacted=dict(redacted),
            )
            self.reads.append(stats)
            logger.info(
                "%s: %d cases, %d documents, %d skipped as not resolved %s, %d errors, redacted %s",
                path,
                stats.rows,
                stats.documents,
                stats.skipped,
                dict(statuses),
                stats.errors,
                dict(redacted) or "nothing",
            )

    def _document(
        self,
        record: Record,
        path: Path,
        line: int,
        source: str,
        seen: dict[str, int],
        redacted: Counter[str],
    ) -> Document | IngestError | str:
        """The case's document, an error, or its status when it is skipped."""
        case_id = (record.get("case_id") or [""])[0].strip()
        if not case_id:
            return IngestError(str(path), "row has no case id", line)
        status = " ".join((record.get("status") or [""])[0].split()).lower()
        if self._resolved is not None and status_key(status) not in self._resolved:
            # Counted in the read's stats and logged: redacted too, not counted as redacted
            # since it never enters the base.
            return redact_with_counts(status, redactor=self.redactor)[0] or "(none)"
        if case_id in seen:
            return IngestError(
                str(path), f"duplicate case id {case_id!r} (first on line {seen[case_id]})", line
            )

        def clean(text: str) -> str:
            out, counts = redact_with_counts(text, redactor=self.redactor)
            redacted.update(counts)
            return out

        def cell(key: str) -> str:
            return (record.get(key) or [""])[0].strip()

        def one(key: str) -> str:
            return clean(cell(key))

        subject = one("subject")
        parts = {k: clean("\n\n".join(record.get(k, []))) for k in MULTI}
        if not (subject or any(parts.values())):
            return IngestError(str(path), f"case {case_id!r} has no text", line)
        seen[case_id] = line

        category = one("category")
        scanned = fold(" ".join([subject, category, *parts.values()]))
        complaint = fold(category) in _COMPLAINT_FOLDED or bool(
            self._complaint and self._complaint.search(scanned)
        )
        public = self.public_resolutions and not complaint and bool(parts["resolution"])
        language = case_language((record.get("language") or [""])[0])
        product = one("product")
        title = subject or f"Case {case_id}"
        if public:  # the title goes with the public passage: never the customer's words
            # A product or category in which redaction found something was typed by a
            # person, not picked from a list: it stays out of the public title.
            title = _neutral_title(
                language,
                product if product == cell("product") else "",
                category if category == cell("category") else "",
            )
        # The subject, the problem and the notes are internal whatever the document's
        # visibility; the resolution inherits it, so public_resolutions publishes that
        # section only.
        candidates = (
            Section(subject if public else "", ("Subject",), "subject", visibility="internal"),
            Section(parts["customer_messages"], ("Problem",), "problem", visibility="internal"),
            Section(parts["resolution"], ("Resolution",), "resolution"),
            Section(parts["notes"], ("Internal notes",), "notes", visibility="internal"),
        )
        sections = tuple(s for s in candidates if s.text)
        dates: dict[str, str | None] = {}
        for key in ("opened_at", "closed_at"):
            raw = (record.get(key) or [""])[0].strip()
            dates[key] = iso_date(raw, self.dayfirst) if raw else None
            if raw and dates[key] is None:
                # Logs outlive the base's retention: no personal data in them either.
                shown = redact_with_counts(raw, redactor=self.redactor)[0]
                logger.warning(
                    "%s:%d: case %s: %s %r is not a date", path, line, case_id, key, shown
                )
        metadata: dict[str, JSONValue] = {
            "source_type": "crm",
            "case_id": case_id,
            "status": clean(status),
        }
        for key, value in (
            ("product", product),
            ("channel", one("channel")),
            ("category", category),
            ("priority", one("priority")),
        ):
            if value:
                metadata[key] = value
        metadata.update({k: v for k, v in dates.items() if v})
        metadata["complaint"] = complaint
        try:
            return Document(
                id=f"case-{case_id}",
                title=title,
                url=self.url_template.format(case_id=quote(case_id, safe=""))
                if self.url_template
                else "",
                visibility="public" if public else "internal",
                language=language,
                metadata=metadata,
                sections=sections,
                updated_at=dates["closed_at"],
                source=source,
            )
        except InputError as exc:  # text the base cannot store, e.g. a lone surrogate
            return IngestError(str(path), exc.reason, line)


_NEUTRAL_TITLES = {"en": ("Resolution", "Resolution of a support case"),
                   "fr": ("Résolution", "Résolution d'un cas client")}  # fmt: skip


def _neutral_title(language: str | None, product: str, category: str) -> str:
    """The public title of a case: what it is about, never what the customer wrote."""
    prefix, bare = _NEUTRAL_TITLES.get(language or "en", _NEUTRAL_TITLES["en"])
    about = " – ".join(v for v in (product, category) if v)
    if not about:
        return bare
    return f"{prefix} : {about}" if language == "fr" else f"{prefix}: {about}"
