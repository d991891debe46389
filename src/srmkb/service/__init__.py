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

# The modules, in the order a request meets them: _keys (who calls), _limits (what one
# request may ask), _http (JSON errors, strict bodies), _requests and _responses (the
# bodies and their schema), _app (the routes, create_app, serve).

from ..errors import MissingDependencyError

try:
    import fastapi  # noqa: F401  # brings pydantic and starlette
except ImportError as exc:  # pragma: no cover - exercised by the extras test
    raise MissingDependencyError("fastapi", "service") from exc

from ..vocabulary import Audience, Channel
from ._app import create_app, serve
from ._keys import (
    API_KEY_ENV,
    API_KEYS_ENV,
    API_KEYS_FILE_ENV,
    KEY_HEADER,
    ROLES,
    Keyring,
    Role,
)
from ._limits import BodyLimit, Limits
from ._requests import (
    AnswerRequest,
    AsOf,
    AudienceField,
    Condition,
    DocumentIn,
    DocumentsRequest,
    FeedbackRequest,
    FieldName,
    Filters,
    LanguageTag,
    Log,
    Scalar,
    SearchRequest,
    SectionIn,
    Timestamp,
    Whole,
)
from ._responses import (
    AnswerBody,
    CallerBody,
    CitationBody,
    ErrorBody,
    FeedbackBody,
    HealthBody,
    HitBody,
    IngestErrorBody,
    PreviewBody,
    ReadyBody,
    RelatedBody,
    ReportBody,
    SearchBody,
    WriteBody,
)

__all__ = [
    "API_KEYS_ENV",
    "API_KEYS_FILE_ENV",
    "API_KEY_ENV",
    "KEY_HEADER",
    "ROLES",
    "AnswerBody",
    "AnswerRequest",
    "AsOf",
    "Audience",
    "AudienceField",
    "BodyLimit",
    "CallerBody",
    "Channel",
    "CitationBody",
    "Condition",
    "DocumentIn",
    "DocumentsRequest",
    "ErrorBody",
    "FeedbackBody",
    "FeedbackRequest",
    "FieldName",
    "Filters",
    "HealthBody",
    "HitBody",
    "IngestErrorBody",
    "Keyring",
    "LanguageTag",
    "Limits",
    "Log",
    "PreviewBody",
    "ReadyBody",
    "RelatedBody",
    "ReportBody",
    "Role",
    "Scalar",
    "SearchBody",
    "SearchRequest",
    "SectionIn",
    "Timestamp",
    "Whole",
    "WriteBody",
    "create_app",
    "serve",
]
