"""Request bodies: strict pydantic models whose limits, per app, the schema states."""

# No `from __future__ import annotations`: pydantic and FastAPI read these annotations
# as objects, and _request_models builds each app's models from them at run time.

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

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

from ..documents import Document
from ..vocabulary import Audience, Channel, Collapse, Mode, Outcome, Visibility
from ._limits import Limits


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
    """The request's filters as :mod:`srmkb.index.filters` reads them."""
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
    """A filter condition on one field (see :mod:`srmkb.index.filters`): one operator or more."""

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


_FILTERS = "{field: value | [values] | {operator: value}}; see srmkb.index.filters"
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
    mode: Mode = "hybrid"
    audience: AudienceField = None
    filters: Filters = None
    channel: str | None = Field(None, max_length=40, description="logged with the search")
    as_of: AsOf = None
    log: Log = True
    collapse: Collapse | None = Field(
        None, description="document: one hit per document, its best passage"
    )


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
    outcome: Outcome


class SectionIn(_Strict):
    text: str = ""
    heading: str | list[str] | None = None
    anchor: str = ""
    page: Annotated[Annotated[int, Field(ge=1, le=10**9)] | None, BeforeValidator(_whole)] = None
    visibility: Visibility | None = Field(None, description="null: the document's")


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
    visibility: Visibility = "public"
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
