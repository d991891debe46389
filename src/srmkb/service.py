"""HTTP service: the same answers and searches for every channel, over FastAPI.

    srmkb serve --kb DIR [--audience agent|customer] [--host 127.0.0.1] [--port 8000]

Trust comes from the caller's key, never from the request. A key, sent as ``X-API-Key``,
has a role: customer, agent or admin (:class:`Keyring`; ``SRMKB_API_KEY`` is an admin
key). A request without a key is a customer's; a wrong key is refused (401). A request
sees the most its role allows — public documents for customers, internal ones too for
agents and admins — and its ``audience`` field may only narrow that (an agent previewing
the customer view): asking for more is refused (403), not quietly downgraded. Unlogged
requests (``log: false``), the KPI report and writes need an admin key.

``create_app(kb, audience="customer")`` (``srmkb serve --audience customer``) is the
public server: every caller is a customer whatever its key, and the agent page, the
report and the write routes do not exist on it.

:class:`Limits` bound what one request may ask (body bytes, counted as they arrive;
query length; k; filter size; feedback rate). Every error is JSON ``{"error", "type"}``:
4xx for what the caller can fix, 503 while the base is damaged or the model loading,
507 when the disk is full. ``docs/deployment.md`` describes keys, modes and limits.
"""

# No `from __future__ import annotations` here: request models are built per app (their
# limits are the app's), and FastAPI reads endpoint annotations as objects at run time.

import datetime as dt
import hashlib
import hmac
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from ._version import __version__
from .documents import Document
from .errors import (
    DiskFullError,
    FilterError,
    InputError,
    MissingDependencyError,
    SrmkbError,
    StorageError,
)
from .kb import MAX_QUERY_CHARS, KnowledgeBase
from .persistence import is_disk_full

try:
    from fastapi import Depends, FastAPI, Query, Request, Security
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi.routing import APIRoute
    from fastapi.security import APIKeyHeader
    from pydantic import (
        AfterValidator,
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Field,
        WithJsonSchema,
        create_model,
        model_validator,
    )
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as exc:  # pragma: no cover - exercised by the extras test
    raise MissingDependencyError("fastapi", "service") from exc

log = logging.getLogger(__name__)

Role = Literal["customer", "agent", "admin"]
Audience = Literal["customer", "agent"]
Channel = Literal["chat", "email", "voice", "web", "agent"]
ROLES: tuple[Role, ...] = ("customer", "agent", "admin")
KEY_HEADER = "X-API-Key"
API_KEY_ENV = "SRMKB_API_KEY"
API_KEYS_ENV = "SRMKB_API_KEYS"
API_KEYS_FILE_ENV = "SRMKB_API_KEYS_FILE"

# -- keys and roles ----------------------------------------------------------------------

# A key travels unchanged in an HTTP header: printable ASCII without spaces.
_KEY_CHARS = re.compile(r"[\x21-\x7e]+")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Keyring:
    """The API keys a service accepts and the role each grants.

    ``keys`` maps a key to its role; ``digests`` maps the hex SHA-256 of a key to its
    role, so that a configuration file need not hold the key itself. Only digests are
    kept, and a key is compared with every one of them in constant time, so neither the
    keys nor which one matched show in timings; keys are never logged.
    """

    def __init__(
        self, keys: Mapping[str, str] | None = None, *, digests: Mapping[str, str] | None = None
    ) -> None:
        self._entries: list[tuple[bytes, Role]] = []
        for i, (key, role) in enumerate((keys or {}).items()):
            self._add(_digest(key, f"keys[{i}]"), role, f"keys[{i}]")
        for i, (digest, role) in enumerate((digests or {}).items()):
            self._add(_from_hex(digest, f"digests[{i}]"), role, f"digests[{i}]")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Keyring":
        """Keys from ``SRMKB_API_KEY`` (an admin key), ``SRMKB_API_KEYS``
        (``role:key,role:key``) and the JSON file named by ``SRMKB_API_KEYS_FILE``."""
        env = os.environ if environ is None else environ
        ring = cls()
        if env.get(API_KEY_ENV):
            ring._add(_digest(env[API_KEY_ENV], API_KEY_ENV), "admin", API_KEY_ENV)
        items = [item.strip() for item in env.get(API_KEYS_ENV, "").split(",")]
        for n, item in enumerate((item for item in items if item), start=1):
            where = f"{API_KEYS_ENV} entry {n}"
            role, sep, key = item.partition(":")
            if not sep:
                raise InputError(f"{where} must look like role:key (roles: {', '.join(ROLES)})")
            ring._add(_digest(key, where), role.strip(), where)
        if env.get(API_KEYS_FILE_ENV):
            for digest, role in cls.from_file(env[API_KEYS_FILE_ENV])._entries:
                ring._add(digest, role, env[API_KEYS_FILE_ENV])
        return ring

    @classmethod
    def from_file(cls, path: str | Path) -> "Keyring":
        """Keys from a JSON file: ``{"keys": [{"key": ..., "role": ...}, {"sha256": ...,
        "role": ...}]}``; ``sha256`` is the hex digest of a key, for files that should not
        hold the key."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot read the key file: {exc}", path=str(path)) from None
        entries = data.get("keys") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise InputError('must be a JSON object {"keys": [...]}', path=str(path))
        ring = cls()
        for i, entry in enumerate(entries):
            where = f"{path}: keys[{i}]"
            if not isinstance(entry, dict) or ("key" in entry) == ("sha256" in entry):
                raise InputError(f'{where} must be an object with "role" and "key" or "sha256"')
            if "key" in entry:
                digest = _digest(entry["key"], where)
            else:
                digest = _from_hex(entry["sha256"], where)
            ring._add(digest, entry.get("role"), where)
        return ring

    def with_key(self, key: str, role: Role) -> "Keyring":
        """A copy of this ring that also accepts ``key`` with ``role``."""
        ring = Keyring()
        ring._entries = list(self._entries)
        ring._add(_digest(key, "key"), role, "key")
        return ring

    def _add(self, digest: bytes, role: object, where: str) -> None:
        if role not in ROLES:
            raise InputError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
        for known, other in self._entries:
            if known == digest and other != role:
                raise InputError(f"{where}: this key is already given the role {other!r}")
        self._entries.append((digest, role))  # type: ignore[arg-type]  # checked above

    def identify(self, key: str) -> tuple[Role, int] | None:
        """The role ``key`` grants and the key's position (an id that is not the key), or
        None for a key this ring does not hold."""
        if not _KEY_CHARS.fullmatch(key):
            return None
        digest = hashlib.sha256(key.encode("ascii")).digest()
        found: tuple[Role, int] | None = None
        for i, (known, role) in enumerate(self._entries):  # all of them: constant time
            if hmac.compare_digest(known, digest):
                found = (role, i)
        return found

    def count(self, role: Role) -> int:
        return sum(1 for _, r in self._entries if r == role)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        counts = ", ".join(f"{role} {self.count(role)}" for role in ROLES)
        return f"Keyring({counts})"


def _digest(key: object, where: str) -> bytes:
    if not isinstance(key, str) or not _KEY_CHARS.fullmatch(key):
        raise InputError(f"{where}: a key must be printable ASCII without spaces")
    return hashlib.sha256(key.encode("ascii")).digest()


def _from_hex(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _SHA256.fullmatch(value.lower()):
        raise InputError(f"{where}: sha256 must be 64 hexadecimal digits")
    return bytes.fromhex(value)


# -- limits ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the service.

    ``Limits.from_env()`` reads each field from ``SRMKB_`` + its name in capitals
    (``SRMKB_MAX_BODY_BYTES``); the OpenAPI schema states the limits in force.
    """

    max_body_bytes: int = 1_000_000  # counted while the body arrives (413)
    max_query_chars: int = 2_000  # query or question (422)
    max_k: int = 100  # hits per search
    max_filter_items: int = 32  # fields in a filter, values in a list
    feedback_burst: int = 20  # feedback requests a client may send at once...
    feedback_per_minute: float = 30.0  # ...and then per minute (429 beyond)

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"limit {item.name} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"limit {item.name} must be positive, got {value!r}")
        if self.max_query_chars > MAX_QUERY_CHARS:
            raise InputError(f"max_query_chars is at most {MAX_QUERY_CHARS:,} (the library's)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: float) -> "Limits":
        """Limits from ``SRMKB_MAX_BODY_BYTES`` etc., then ``overrides`` (None: unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = f"SRMKB_{item.name.upper()}"
            raw = env.get(name)
            if raw:
                kind = float if item.type is float else int
                try:
                    values[item.name] = kind(raw)
                except ValueError:
                    raise InputError(f"{name} must be a number, got {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# -- request and response bodies ---------------------------------------------------------


class _Strict(BaseModel):
    # A string is not a number, 1.0 is not a count, and an unknown field (a misspelt
    # "audiance") is an error rather than ignored.
    model_config = ConfigDict(strict=True, extra="forbid")


def _posix_time(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 date-time, or of a date's midnight (UTC).

    Computed from the parts, so any year from 1 to 9999 with any offset is a time."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("must be an RFC 3339 date-time (2026-03-15T09:30:00Z) or date")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    ordinal = dt.date(int(year), int(month), int(day)).toordinal()  # ValueError: no such day
    seconds = (ordinal - _EPOCH_ORDINAL) * 86400.0
    if hour is not None:
        if int(hour) > 23 or int(minute) > 59 or int(second) > 59:
            raise ValueError("has an hour, minute or second out of range")
        seconds += int(hour) * 3600 + int(minute) * 60 + int(second) + float(fraction or 0)
        if offset not in ("Z", "z"):
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("has a time zone offset out of range")
            seconds -= (1 if offset[0] == "+" else -1) * (hours * 3600 + minutes * 60)
    return seconds


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?",
    re.ASCII,  # 0-9 only, as JSON Schema's formats
)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _check_time(text: str) -> str:
    _posix_time(text)
    return text


Timestamp = Annotated[
    str,
    AfterValidator(_check_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "string", "format": "date"},
            ],
            "description": "RFC 3339 date-time, or a date (its midnight, UTC)",
        }
    ),
]


def _whole(value: Any) -> Any:
    # JSON Schema counts 3.0 as an integer: take it as 3 (3.5, "3" and true stay errors).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Whole = Annotated[int, BeforeValidator(_whole)]
# A language tag: "fr", "fr-CA", "pt_BR".
LanguageTag = Annotated[
    str, Field(max_length=35, pattern=r"^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")
]
# A character that str.strip() keeps (spelt out: regex dialects disagree on \s).
_SEEN = r"[^\t-\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
_SEEN_RE = re.compile(_SEEN)
Scalar = str | int | float | bool | None


def _filters(filters: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The request's filters as :mod:`srmkb.filters` reads them."""
    if filters is None:
        return None
    return {
        name: cond.model_dump(by_alias=True, exclude_unset=True)
        if isinstance(cond, BaseModel)
        else cond
        for name, cond in filters.items()
    }


FieldName = Annotated[str, Field(min_length=1, max_length=200)]
_DEFAULT = Limits()


class Condition(_Strict):
    """A filter condition on one field (see :mod:`srmkb.filters`): one operator or more."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    eq: Scalar = None
    ne: Scalar = None
    gt: Scalar = None
    gte: Scalar = None
    lt: Scalar = None
    lte: Scalar = None
    in_: list[Scalar] = Field(
        default_factory=list, alias="in", max_length=_DEFAULT.max_filter_items
    )

    @model_validator(mode="after")
    def _not_empty(self) -> "Condition":
        if not self.model_fields_set:
            raise ValueError("a condition needs an operator: eq, ne, in, gt, gte, lt or lte")
        return self


_FILTERS = "{field: value | [values] | {operator: value}}; see srmkb.filters"
Filters = Annotated[
    dict[FieldName, Scalar | list[Scalar] | Condition] | None,
    Field(max_length=_DEFAULT.max_filter_items, description=_FILTERS),
]
AudienceField = Annotated[
    Audience | None,
    Field(description="narrow the view below what the key allows (default: the most)"),
]
AsOf = Annotated[Timestamp | None, Field(description="the base as it stood then")]
Log = Annotated[
    bool, Field(description="false (admin key only): a preview that no one asked, unlogged")
]


class SearchRequest(_Strict):
    query: str = Field(max_length=_DEFAULT.max_query_chars)
    k: Whole = Field(10, ge=1, le=_DEFAULT.max_k)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    audience: AudienceField = None
    filters: Filters = None
    channel: str | None = Field(None, max_length=40, description="logged with the search")
    as_of: AsOf = None
    log: Log = True


class AnswerRequest(_Strict):
    question: str = Field(max_length=_DEFAULT.max_query_chars)
    channel: Channel = "chat"
    audience: AudienceField = None
    filters: Filters = None
    as_of: AsOf = None
    language: LanguageTag | None = Field(
        None, description="the asker's language (default: detected)"
    )
    log: Log = True
    previews: list[Channel] = Field(
        default_factory=list,
        max_length=5,
        description="also render the answer for these channels, unlogged (agent key)",
    )


def _request_models(limits: Limits) -> tuple[type[SearchRequest], type[AnswerRequest]]:
    """The search and answer bodies with this app's limits, which their schema states."""
    n = limits.max_filter_items
    values = Annotated[list[Scalar], Field(max_length=n)]
    in_field: Any = Field(default_factory=list, alias="in")
    condition = create_model("Condition", __base__=Condition, in_=(values, in_field))
    filters = Annotated[
        dict[FieldName, Scalar | values | condition] | None,  # type: ignore[valid-type]
        Field(max_length=n, description=_FILTERS),
    ]
    text = Annotated[str, Field(max_length=limits.max_query_chars)]
    k = Field(min(10, limits.max_k), ge=1, le=limits.max_k)
    search = create_model(
        "SearchRequest",
        __base__=SearchRequest,
        query=(text, ...),
        k=(Whole, k),
        filters=(filters, None),
    )
    answer = create_model(
        "AnswerRequest", __base__=AnswerRequest, question=(text, ...), filters=(filters, None)
    )
    return search, answer


_F = TypeVar("_F", bound=Callable[..., Any])


def _body(model: type[BaseModel]) -> Callable[[_F], _F]:
    """Validate the endpoint's ``req`` with ``model``: this app's subclass of the model
    it is annotated with, whose limits are the app's."""

    def swap(endpoint: _F) -> _F:
        endpoint.__annotations__ = {**endpoint.__annotations__, "req": model}
        return endpoint

    return swap


class FeedbackRequest(_Strict):
    interaction_id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,64}$")
    outcome: Literal["resolved", "escalated", "not_helpful"]


class SectionIn(_Strict):
    text: str = ""
    heading: str | list[str] | None = None
    anchor: str = ""
    page: Annotated[Annotated[int, Field(ge=1, le=10**9)] | None, BeforeValidator(_whole)] = None
    visibility: Literal["public", "internal"] | None = Field(
        None, description="null: the document's"
    )


_SEEN_TEXT: Any = {"type": "string", "pattern": _SEEN}


class DocumentIn(_Strict):
    """A document to upsert (the JSON Lines ingest format); it needs some text: a text,
    a title or a section text that is not blank."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["text"], "properties": {"text": _SEEN_TEXT}},
                {"required": ["title"], "properties": {"title": _SEEN_TEXT}},
                {
                    "required": ["sections"],
                    "properties": {
                        "sections": {
                            "contains": {"required": ["text"], "properties": {"text": _SEEN_TEXT}}
                        }
                    },
                },
            ]
        }
    )
    id: str = Field(pattern=_SEEN, max_length=1000)
    text: str = ""
    title: str = ""
    url: str = ""
    visibility: Literal["public", "internal"] = "public"
    language: LanguageTag | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    sections: list[SectionIn] = Field(default_factory=list)
    updated_at: Timestamp | None = None
    source: str = ""

    @model_validator(mode="after")
    def _has_text(self) -> "DocumentIn":
        texts = [self.text, self.title, *(s.text for s in self.sections)]
        if not any(_SEEN_RE.search(t) for t in texts):
            raise ValueError("a document needs a text, a title or a section text")
        return self

    def document(self) -> Document:
        data = self.model_dump(exclude_unset=True)
        data["sections"] = [s.model_dump(exclude_unset=True) for s in self.sections]
        return Document.from_json(data)


class DocumentsRequest(_Strict):
    documents: list[DocumentIn]


class ErrorBody(BaseModel):
    error: str = Field(description="what went wrong and what to do")
    type: str = Field(description="the kind of error, e.g. Forbidden or InputError")


class HitBody(BaseModel):
    document_id: str
    version: int | None
    passage_id: str
    title: str
    section: str
    url: str
    page: int | None
    score: float
    scores: dict[str, float]
    snippet: str
    visibility: Literal["public", "internal"]
    language: str
    metadata: dict[str, Any]


class SearchBody(BaseModel):
    interaction_id: str | None = Field(description="null when the search was not logged")
    hits: list[HitBody]


class CitationBody(BaseModel):
    document_id: str
    title: str
    url: str
    page: int | None
    passage_id: str


class RelatedBody(BaseModel):
    document_id: str
    title: str
    url: str
    internal: bool


class PreviewBody(BaseModel):
    text: str
    html: str | None


class AnswerBody(BaseModel):
    question: str
    answered: bool
    confidence: float
    channel: Channel
    audience: Audience
    text: str
    html: str | None
    document_id: str | None
    document_version: int | None
    passage_ids: list[str]
    citations: list[CitationBody]
    steps: list[str]
    related: list[RelatedBody]
    related_cases: list[RelatedBody]
    internal_notes: list[str]
    internal: bool
    handover: bool
    interaction_id: str | None
    language: str
    source_language: str | None
    previews: dict[str, PreviewBody] = Field(description="the channels asked in previews")


class FeedbackBody(BaseModel):
    interaction_id: str
    outcome: Literal["resolved", "escalated", "not_helpful"]


class IngestErrorBody(BaseModel):
    path: str
    error: str
    line: int | None = None


class WriteBody(BaseModel):
    added: int
    updated: int
    deleted: int
    unchanged: int
    skipped: int
    errors: list[IngestErrorBody]


class ReportBody(BaseModel):
    """The KPI report; every figure is defined in ``srmkb/report.py``."""

    model_config = ConfigDict(extra="allow")
    period: dict[str, str | None]
    questions: int
    answered: int
    abstained: int
    searches: int
    feedback: dict[str, int]
    self_service_resolution: dict[str, Any]
    zero_result_rate: float | None
    by_channel: dict[str, dict[str, int]]
    top_documents: list[dict[str, Any]]
    unused_documents: dict[str, Any]
    stale_documents: list[dict[str, Any]]
    reuse: dict[str, int]
    incidents_by_product: dict[str, Any]
    content_gaps: list[dict[str, Any]]
    conflicts: list[dict[str, Any]]


class HealthBody(BaseModel):
    status: Literal["ok"]
    documents: int
    model: str | None


class ReadyBody(BaseModel):
    status: Literal["ready"]
    model: str | None


class CallerBody(BaseModel):
    role: Role
    audience: Audience = Field(description="the most this key may see on this server")


_WHY = {
    400: "the request cannot be carried out as asked (a bad document or filter)",
    401: f"the {KEY_HEADER} key is wrong, or this route needs one",
    403: "the key's role does not allow this",
    404: "no such interaction or document",
    409: "this outcome is already recorded for this interaction",
    413: "the body is larger than the server accepts",
    422: "the request does not follow the schema",
    429: "too many requests from this client; retry after Retry-After seconds",
    503: "the base is damaged or unreadable, or the model is loading",
    507: "the disk is full; nothing was written",
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {"model": ErrorBody, "description": _WHY[status]}
        if status == 429:
            out[status]["headers"] = {
                "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
            }
    return out


# -- errors ------------------------------------------------------------------------------


class _HTTPError(Exception):
    def __init__(
        self, status: int, message: str, *, kind: str | None = None, headers: Any = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or _KINDS.get(status, "Error")
        self.headers = headers


_KINDS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "ValidationError",
    429: "TooManyRequests",
    503: "NotReady",
}


def _error(status: int, message: str, kind: str, headers: Any = None) -> JSONResponse:
    return JSONResponse({"error": message, "type": kind}, status_code=status, headers=headers)


def _status_of(exc: SrmkbError) -> int:
    if isinstance(exc, DiskFullError):
        return 507
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, (InputError, FilterError)):
        return 400
    return 500


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p)[:40] for p in err.get("loc", ()) if p != "body") or "body"
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "JSON decode error")
            parts.append(f"the body is not valid JSON: {reason}")
        else:
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


# -- strict bodies -----------------------------------------------------------------------


def _strict_json(body: bytes) -> Any:
    """Parse a request body as strict JSON: UTF-8, no NaN or Infinity (Python's json
    takes them, JSON does not), no number too large for a float, no lone surrogate, no
    key twice in an object (which of the two would count is anyone's guess)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError("the body is not UTF-8", "", exc.start) from None

    def constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not a JSON number", text, 0)

    def number(raw: str) -> float:
        value = float(raw)
        if not math.isfinite(value):
            raise json.JSONDecodeError(f"{raw[:20]} is too large a number", text, 0)
        return value

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data = dict(pairs)
        if len(data) != len(pairs):
            raise json.JSONDecodeError("an object has the same key twice", text, 0)
        return data

    try:
        data = json.loads(
            text, parse_constant=constant, parse_float=number, object_pairs_hook=unique
        )
    except (RecursionError, ValueError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(f"cannot be read ({type(exc).__name__})", text, 0) from None
    if _SURROGATE_ESCAPE.search(text):
        _check_unicode(data, text)
    return data


# "\ud83d\ude00" is one character, a lone "\ud83d" none: only escapes can produce one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_unicode(data: Any, text: str) -> None:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise json.JSONDecodeError(
                    "a string holds a lone surrogate (half of a character)", text, 0
                ) from None


class _StrictRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = _strict_json(await self.body())
        return self._json


class _StrictRoute(APIRoute):
    """Routes whose JSON bodies are parsed by :func:`_strict_json` and that refuse query
    parameters they do not declare (a misspelt ``?sinse=`` is an error, not ignored)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - known)
            if unknown:
                names = ", ".join(repr(name[:40]) for name in unknown[:3])
                raise _HTTPError(422, f"unknown query parameter {names}", kind="ValidationError")
            return await handler(_StrictRequest(request.scope, request.receive))

        return strict


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class BodyLimit:
    """ASGI middleware that refuses a body larger than ``limit`` bytes (413) as it
    arrives, before anything buffers or parses it, with or without Content-Length."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"the body is larger than {self.limit:,} bytes"
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit():
                    await _send_error(send, 400, "Content-Length is not a number", "BadRequest")
                    return
                if len(value) > 15 or int(value) > self.limit:
                    await _send_error(send, 413, too_large, "PayloadTooLarge")
                    return
        received = 0
        started = refused = False

        async def counted() -> Any:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if not started and not refused:
                        refused = True
                        await _send_error(send, 413, too_large, "PayloadTooLarge")
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the application's reply to a body cut short is not sent
            started = True
            await send(message)

        await self.app(scope, counted, guarded)


async def _send_error(send: Any, status: int, message: str, kind: str) -> None:
    body = json.dumps({"error": message, "type": kind}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -- per-client feedback rate ------------------------------------------------------------


class _TokenBuckets:
    """One token bucket per client: ``burst`` requests at once, then ``per_minute``."""

    def __init__(self, burst: int, per_minute: float, clients: int = 10_000) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.clients = clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when ``client`` may go on, else the seconds until it may."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.pop(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.clients:  # forget the longest idle
                self._buckets.popitem(last=False)
            return wait


# -- readiness ---------------------------------------------------------------------------


class _Readiness:
    """Loads the embedding model once, in the background, and says when it is loaded."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.ready = kb.model_id is None  # a BM25-only base has no model to wait for
        self.error: str | None = None
        self._started = False
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._started or self.ready:
                return
            self._started = True
        threading.Thread(target=self._load, name="srmkb-model-load", daemon=True).start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            self.kb.embedder.embed_query("warm up")
        except Exception as exc:
            log.exception("the embedding model did not load")
            self.error = f"{type(exc).__name__}: {exc}"
            return
        self.ready = True
        log.info("embedding model loaded in %.1f s", time.perf_counter() - started)


# -- the application ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Caller:
    role: Role
    keyed: bool  # sent a key
    client: str  # whose rate a request counts against: a key's position or an address


def create_app(
    kb: KnowledgeBase,
    *,
    api_key: str | None = None,
    keys: Keyring | Mapping[str, str] | None = None,
    audience: Audience = "agent",
    limits: Limits | None = None,
) -> FastAPI:
    """The FastAPI application serving ``kb``.

    ``keys`` (a :class:`Keyring`, or a mapping of key to role) and ``api_key`` (an admin
    key) configure who may do what; with neither, keys come from the environment
    (:meth:`Keyring.from_env`). ``audience="customer"`` makes the public server: no
    agent view, no agent page, no report, no writes. ``limits`` defaults to
    :meth:`Limits.from_env`.
    """
    if api_key is None and keys is None:
        ring = Keyring.from_env()
    else:
        ring = keys if isinstance(keys, Keyring) else Keyring(keys)
        if api_key:
            ring = ring.with_key(api_key, "admin")
    if audience not in ("customer", "agent"):
        raise InputError(f"audience must be 'customer' or 'agent', got {audience!r}")
    public = audience == "customer"
    limits = limits or Limits.from_env()
    search_body, answer_body = _request_models(limits)
    feedback_rate = _TokenBuckets(limits.feedback_burst, limits.feedback_per_minute)
    readiness = _Readiness(kb)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        readiness.start()  # /health answers at once; /ready once the model is loaded
        yield

    app = FastAPI(
        title="srmkb",
        description=(
            "One cited answer for every channel, from one knowledge base."
            + (" Public server: customers only." if public else "")
        ),
        version=__version__,
        lifespan=lifespan,
    )
    app.router.route_class = _StrictRoute
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)
    key_header = APIKeyHeader(
        name=KEY_HEADER,
        scheme_name="ApiKey",
        auto_error=False,
        description="a customer, agent or admin key; none: a customer",
    )
    # Added to the ApiKey requirement of routes where a key is optional (none: customer).
    optional_key: dict[str, Any] = {"security": [{}]}

    def caller(request: Request, key: str | None = Security(key_header)) -> _Caller:
        address = request.client.host if request.client else "unknown"
        if not key:
            return _Caller("customer", False, f"address {address}")
        found = ring.identify(key)
        if found is None:
            raise _HTTPError(401, f"wrong {KEY_HEADER}")
        role, position = found
        return _Caller(role, True, f"key {position}")

    Caller = Annotated[_Caller, Depends(caller)]  # noqa: N806

    def admin(who: Caller) -> _Caller:
        if who.role == "admin":
            return who
        if ring.count("admin") == 0:
            raise _HTTPError(
                403, f"no admin key is configured: set {API_KEY_ENV} or {API_KEYS_ENV}"
            )
        if not who.keyed:
            raise _HTTPError(401, f"this route needs an admin key in {KEY_HEADER}")
        raise _HTTPError(403, f"this route needs an admin key (this key's role: {who.role})")

    Admin = Annotated[_Caller, Depends(admin)]  # noqa: N806

    def audience_of(who: _Caller, asked: Audience | None, log: bool) -> Audience:
        """The request's audience: the most its key allows, or less when asked."""
        most: Audience = "agent" if who.role != "customer" and not public else "customer"
        if asked == "agent" and most == "customer":
            if public:
                raise _HTTPError(403, "this server answers customers only")
            raise _HTTPError(403, f"the agent audience needs an agent or admin {KEY_HEADER}")
        if not log and (public or who.role != "admin"):
            raise _HTTPError(403, "log: false (an unlogged request) needs an admin key")
        return asked or most

    @app.exception_handler(_HTTPError)
    async def http_error(_: Request, exc: _HTTPError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.kind, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc), "ValidationError")

    @app.exception_handler(StarletteHTTPException)
    async def starlette_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _KINDS.get(exc.status_code, "Error")
        return _error(exc.status_code, str(exc.detail), kind, getattr(exc, "headers", None))

    @app.exception_handler(SrmkbError)
    async def srmkb_error(_: Request, exc: SrmkbError) -> JSONResponse:
        status = _status_of(exc)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return _error(status, str(exc), type(exc).__name__)

    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def os_error(_: Request, exc: Exception) -> JSONResponse:
        if is_disk_full(exc):
            log.error("disk full: %s", exc)
            return _error(507, f"no space left on the device: {exc}", "DiskFullError")
        log.error("server fault", exc_info=exc)
        return _error(500, "internal server error", "InternalError")

    @app.exception_handler(Exception)
    async def fault(_: Request, exc: Exception) -> JSONResponse:
        return _error(500, "internal server error", "InternalError")

    @app.get("/health", response_model=HealthBody)
    def health() -> dict[str, Any]:
        """Liveness: the process answers (cheap; the model may still be loading)."""
        return {"status": "ok", "documents": len(kb), "model": kb.model_id}

    @app.get("/ready", response_model=ReadyBody, responses=_errors(503))
    def ready() -> dict[str, Any]:
        """Readiness: 200 once the embedding model is loaded, 503 before."""
        if not readiness.ready:
            why = readiness.error or "the embedding model is loading"
            raise _HTTPError(503, why, kind="NotReady")
        return {"status": "ready", "model": kb.model_id}

    @app.get("/me", response_model=CallerBody, responses=_errors(401), openapi_extra=optional_key)
    def me(who: Caller) -> dict[str, Any]:
        """The role of the key sent (none: customer) and the most it may see here."""
        return {"role": who.role, "audience": audience_of(who, None, True)}

    reads = _errors(400, 401, 403, 413, 422, 503)

    @app.post("/search", response_model=SearchBody, responses=reads, openapi_extra=optional_key)
    @_body(search_body)
    def search(req: SearchRequest, who: Caller) -> dict[str, Any]:
        """The k best passages for the query, for the key's audience."""
        hits = kb.search(
            req.query,
            req.k,
            mode=req.mode,
            filters=_filters(req.filters),
            audience=audience_of(who, req.audience, req.log),
            channel=req.channel,
            as_of=None if req.as_of is None else _posix_time(req.as_of),
            log=req.log,
        )
        return {"interaction_id": hits.interaction_id, "hits": [h.to_json() for h in hits]}

    @app.post("/answer", response_model=AnswerBody, responses=reads, openapi_extra=optional_key)
    @_body(answer_body)
    def answer(req: AnswerRequest, who: Caller) -> dict[str, Any]:
        """One cited answer for the channel, or a reasoned refusal with a hand-over."""
        seen = audience_of(who, req.audience, req.log)
        if req.previews and (public or who.role == "customer"):
            raise _HTTPError(403, f"previews need an agent or admin {KEY_HEADER}")
        options: dict[str, Any] = {
            "audience": seen,
            "filters": _filters(req.filters),
            "as_of": None if req.as_of is None else _posix_time(req.as_of),
            "language": req.language,
        }
        result = kb.answer(req.question, channel=req.channel, log=req.log, **options)
        previews = {}
        for channel in dict.fromkeys(req.previews):
            # Renderings of the interaction logged above, not questions anyone asked.
            other = kb.answer(req.question, channel=channel, log=False, **options)
            previews[channel] = {"text": other.text, "html": other.html}
        return {**result.to_json(), "previews": previews}

    @app.post(
        "/feedback",
        response_model=FeedbackBody,
        responses=_errors(401, 404, 409, 413, 422, 429, 503, 507),
        openapi_extra=optional_key,
    )
    def feedback(req: FeedbackRequest, who: Caller) -> dict[str, Any]:
        """Record what followed a search or answer; each outcome counts once."""
        wait = feedback_rate.take(who.client)
        if wait:
            raise _HTTPError(
                429,
                "too much feedback from this client; retry later",
                headers={"Retry-After": str(math.ceil(wait))},
            )
        try:
            recorded = kb.feedback(req.interaction_id, req.outcome)
        except InputError as exc:
            raise _HTTPError(404, str(exc)) from None
        if recorded is False:
            raise _HTTPError(409, f"{req.outcome!r} is already recorded for this interaction")
        return {"interaction_id": req.interaction_id, "outcome": req.outcome}

    if public:
        return app

    @app.get("/report", response_model=ReportBody, responses=_errors(401, 403, 422, 503))
    def report(
        _: Admin,
        since: Annotated[Timestamp | None, Query()] = None,
        until: Annotated[Timestamp | None, Query(description="exclusive")] = None,
    ) -> dict[str, Any]:
        """The self-service KPI report (admin key: it quotes users' questions)."""
        return kb.report(
            since=None if since is None else _posix_time(since),
            until=None if until is None else _posix_time(until),
        )

    @app.post(
        "/documents",
        response_model=WriteBody,
        responses=_errors(400, 401, 403, 413, 422, 503, 507),
    )
    def add_documents(req: DocumentsRequest, _: Admin) -> dict[str, Any]:
        """Add or update documents (admin key)."""
        docs = []
        for i, item in enumerate(req.documents):
            try:
                docs.append(item.document())
            except InputError as exc:
                raise _HTTPError(400, f"documents[{i}]: {exc}") from None
        return kb.upsert(docs).to_json()

    @app.delete(
        "/documents/{document_id:path}",
        response_model=WriteBody,
        responses=_errors(401, 403, 404, 422, 503, 507),
    )
    def delete_document(document_id: str, _: Admin) -> dict[str, Any]:
        """Delete a document (admin key)."""
        result = kb.delete([document_id])
        if not result.deleted:
            raise _HTTPError(404, f"no document {document_id!r}")
        return result.to_json()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def agent_page() -> HTMLResponse:
        page = resources.files("srmkb").joinpath("agent.html").read_text(encoding="utf-8")
        # Not to be framed by another site (the page holds an agent's key once signed in).
        headers = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
        return HTMLResponse(page, headers={**headers, "X-Content-Type-Options": "nosniff"})

    return app


def serve(
    kb: KnowledgeBase,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    audience: Audience = "agent",
    keys: Keyring | None = None,
    limits: Limits | None = None,
) -> None:
    """Run the service until interrupted."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("uvicorn", "service") from exc
    ring = keys if keys is not None else Keyring.from_env()
    app = create_app(kb, keys=ring, audience=audience, limits=limits)
    log.info("serving %s to %s callers with %r", kb.path, audience, ring)
    uvicorn.run(app, host=host, port=port, log_level="info")
