"""Response bodies, and the error responses each route documents in the schema."""

# No `from __future__ import annotations`: FastAPI reads these models' annotations as
# objects to build the OpenAPI schema.

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..vocabulary import Audience, Channel, Outcome, Visibility
from ._keys import KEY_HEADER, Role


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
    visibility: Visibility
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
    outcome: Outcome


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
    """The KPI report; every figure is defined in ``srmkb/loop/report.py``."""

    model_config = ConfigDict(extra="allow")
    period: dict[str, str | None]
    questions: int
    answered: int
    abstained: int
    searches: int
    document_reads: int
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
    400: "the request cannot be carried out as asked: a bad document, or a filter on a"
    " field that no document in the base has (unless its only condition is ne: then every"
    " document passes)",
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
