"""The FastAPI application: who may call which route, and the routes themselves."""

# No `from __future__ import annotations` here: request models are built per app (their
# limits are the app's), and FastAPI reads endpoint annotations as objects at run time.

import logging
import math
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from .._version import __version__
from ..errors import InputError, MissingDependencyError, SrmkbError
from ..kb import KnowledgeBase
from ..storage.layout import is_disk_full
from ..vocabulary import AUDIENCES, Audience, check_choice
from ._http import _KINDS, _error, _HTTPError, _status_of, _StrictRoute, _validation_message
from ._keys import API_KEY_ENV, API_KEYS_ENV, KEY_HEADER, Keyring, Role
from ._limits import BodyLimit, Limits, _TokenBuckets
from ._requests import (
    AnswerRequest,
    DocumentsRequest,
    FeedbackRequest,
    SearchRequest,
    Timestamp,
    _body,
    _filters,
    _posix_time,
    _request_models,
)
from ._responses import (
    AnswerBody,
    CallerBody,
    FeedbackBody,
    HealthBody,
    ReadyBody,
    ReportBody,
    SearchBody,
    WriteBody,
    _errors,
)

# The package's name, as before it was split into modules: log configurations name it.
log = logging.getLogger("srmkb.service")

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
    check_choice("audience", audience, AUDIENCES)
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
            collapse=req.collapse,
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
        if not recorded:
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
