"""HTTP service: the same answers and searches for every channel, over FastAPI.

    srmkb serve --kb DIR [--host 127.0.0.1] [--port 8000]

Reads are open; writes (``POST /documents``, ``DELETE /documents/{id}``) and the KPI
report (``GET /report``: it quotes users' questions) need the key in ``SRMKB_API_KEY``
sent as the ``X-API-Key`` header, and are refused altogether when no key is set. Every
search and answer is logged with an ``interaction_id``; ``POST /feedback`` records what
followed it. Errors are JSON ``{"error", "type"}`` with a fitting status. ``GET /`` is
the agent desktop page; ``GET /docs`` the OpenAPI documentation.

Requests run in FastAPI's thread pool against one :class:`KnowledgeBase`: each reader
works on the snapshot current when it started, so a writer ingesting in parallel never
shows a reader a half-applied change.
"""

from __future__ import annotations

import hmac
import os
from importlib import resources
from typing import Any, Literal

from .documents import Document
from .errors import FilterError, InputError, MissingDependencyError, SrmkbError, StorageError
from .kb import KnowledgeBase

try:
    from fastapi import Depends, FastAPI, Header, Request
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, Field
except ImportError as exc:  # pragma: no cover - exercised by the extras test
    raise MissingDependencyError("fastapi", "service") from exc

API_KEY_ENV = "SRMKB_API_KEY"


class SearchRequest(BaseModel):
    query: str
    k: int = Field(10, ge=1, le=1000)
    mode: Literal["hybrid", "bm25", "dense"] = "hybrid"
    audience: Literal["customer", "agent"] = "customer"
    filters: dict[str, Any] | None = None
    channel: str | None = Field(None, max_length=40, description="logged with the search")
    as_of: str | None = Field(None, description="ISO 8601: search the base as it stood then")


class AnswerRequest(BaseModel):
    question: str
    channel: Literal["chat", "email", "voice", "web", "agent"] = "chat"
    audience: Literal["customer", "agent"] = "customer"
    filters: dict[str, Any] | None = None
    as_of: str | None = Field(None, description="ISO 8601: answer from the base as it was")
    language: str | None = Field(
        None, max_length=20, description="the asker's language (default: detected)"
    )
    log: bool = Field(True, description="false for a preview that no one asked: not logged")


class FeedbackRequest(BaseModel):
    interaction_id: str
    outcome: Literal["resolved", "escalated", "not_helpful"]


class DocumentsRequest(BaseModel):
    documents: list[dict[str, Any]]


def create_app(kb: KnowledgeBase, *, api_key: str | None = None) -> FastAPI:
    """The FastAPI application serving ``kb``.

    ``api_key`` defaults to the ``SRMKB_API_KEY`` environment variable, read once here.
    """
    # An empty key counts as no key: writes are then refused, never open to "".
    key = (api_key if api_key is not None else os.environ.get(API_KEY_ENV)) or None
    app = FastAPI(
        title="srmkb",
        description="One cited answer for every channel, from one knowledge base.",
        version=kb.stats()["srmkb_version"],  # type: ignore[arg-type]
    )

    def require_key(x_api_key: str | None = Header(default=None)) -> None:
        if key is None:
            raise _HTTPError(403, f"writes are disabled: start the service with {API_KEY_ENV} set")
        if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), key.encode()):
            raise _HTTPError(401, "missing or wrong X-API-Key")

    @app.exception_handler(_HTTPError)
    async def http_error(_: Request, exc: _HTTPError) -> JSONResponse:
        return JSONResponse({"error": exc.message, "type": exc.kind}, status_code=exc.status)

    @app.exception_handler(SrmkbError)
    async def srmkb_error(_: Request, exc: SrmkbError) -> JSONResponse:
        status = 400 if isinstance(exc, (InputError, FilterError)) else 500
        if isinstance(exc, StorageError):
            status = 503
        return JSONResponse({"error": str(exc), "type": type(exc).__name__}, status_code=status)

    @app.get("/health")
    def health() -> dict[str, Any]:
        stats = kb.stats()
        return {
            "status": "ok",
            "documents": stats["documents"],
            "passages": stats["passages"],
            "model": stats["model"],
        }

    @app.post("/search")
    def search(req: SearchRequest) -> dict[str, Any]:
        hits = kb.search(
            req.query,
            req.k,
            mode=req.mode,
            filters=req.filters,
            audience=req.audience,
            channel=req.channel,
            as_of=req.as_of,
        )
        return {"interaction_id": hits.interaction_id, "hits": [h.to_json() for h in hits]}

    @app.post("/answer")
    def answer(req: AnswerRequest) -> dict[str, Any]:
        result = kb.answer(
            req.question,
            channel=req.channel,
            audience=req.audience,
            filters=req.filters,
            as_of=req.as_of,
            language=req.language,
            log=req.log,
        )
        return result.to_json()

    @app.post("/feedback")
    def feedback(req: FeedbackRequest) -> dict[str, Any]:
        if kb.audit.get(req.interaction_id) is None:
            raise _HTTPError(404, f"no interaction {req.interaction_id!r} in the log")
        kb.feedback(req.interaction_id, req.outcome)
        return {"interaction_id": req.interaction_id, "outcome": req.outcome}

    @app.get("/report", dependencies=[Depends(require_key)])
    def report(since: str | None = None, until: str | None = None) -> dict[str, Any]:
        return kb.report(since=since, until=until)

    @app.post("/documents", dependencies=[Depends(require_key)])
    def add_documents(req: DocumentsRequest) -> dict[str, Any]:
        docs = []
        for i, data in enumerate(req.documents):
            try:
                docs.append(Document.from_json(data))
            except InputError as exc:
                raise _HTTPError(400, f"documents[{i}]: {exc}") from None
        return kb.upsert(docs).to_json()

    @app.delete("/documents/{document_id}", dependencies=[Depends(require_key)])
    def delete_document(document_id: str) -> dict[str, Any]:
        report = kb.delete([document_id])
        if not report.deleted:
            raise _HTTPError(404, f"no document {document_id!r}")
        return report.to_json()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def agent_page() -> str:
        return resources.files("srmkb").joinpath("agent.html").read_text(encoding="utf-8")

    return app


class _HTTPError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(
            status, "Error"
        )


def serve(kb: KnowledgeBase, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service until interrupted."""
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("uvicorn", "service") from exc
    uvicorn.run(create_app(kb), host=host, port=port, log_level="info")
