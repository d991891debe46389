"""The service against its own OpenAPI schema: schemathesis generates valid and invalid
requests for every route, anonymously and with each role's key, and every check must
pass: no server error, only documented status codes and content types, responses that
match their schema, schema-valid requests accepted and invalid ones refused,
authentication enforced where the schema requires it."""

import json
import os
import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, settings  # noqa: E402

from srmkb import Document, HashingEmbedder, KnowledgeBase  # noqa: E402
from srmkb.service import Limits, create_app  # noqa: E402

from ..conftest import ROOT  # noqa: E402

ADMIN, AGENT, CUSTOMER = "schema-admin-key", "schema-agent-key", "schema-customer-key"

# schemathesis' pytest integration needs the schema when the module is collected (its
# lazy fixture loader fails under pytest 9), so the app is made here, over an empty base
# in a temporary folder; the fixture below fills the base and removes the folder.
_FOLDER = tempfile.TemporaryDirectory(prefix="srmkb-schema-")
_KB = KnowledgeBase(Path(_FOLDER.name) / "kb", model=HashingEmbedder())
_KEYS = {ADMIN: "admin", AGENT: "agent", CUSTOMER: "customer"}
# A generous feedback rate: these checks are about the schema, not the rate limit.
_LIMITS = Limits(feedback_burst=100_000)
_APP = create_app(_KB, keys=_KEYS, limits=_LIMITS)
_PUBLIC = create_app(_KB, keys=_KEYS, limits=_LIMITS, audience="customer")
# About 45 s on two cores; SRMKB_SCHEMA_EXAMPLES=500 for a deeper run.
EXAMPLES = settings(
    max_examples=int(os.environ.get("SRMKB_SCHEMA_EXAMPLES", "50")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


# A search or an answer may filter on any field name the schema allows, but one that no
# document in the base has is a 400 (FilterError): a misspelt field must not silently
# match nothing. No schema can list a base's fields, which change with its documents.
_ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
_FILTERED = {
    "include-path": ["/search", "/answer"],
    "checks": {"positive_data_acceptance": {"expected-statuses": [*_ACCEPTED, "400"]}},
}


def _schema(key=None, app=_APP):
    """The schema as schemathesis reads it, sending ``key`` as the ApiKey scheme's key:
    declared so, the key is known for what it is (removing it makes a request invalid
    on routes that need one; on the others it is optional)."""
    auth = {"auth": {"openapi": {"ApiKey": {"api_key": key}}}} if key else {}
    config = schemathesis.Config.from_dict({**auth, "operations": [_FILTERED]})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.fixture(scope="module", autouse=True)
def base():
    with open(ROOT / "examples" / "nimbus" / "faq.jsonl") as handle:
        _KB.upsert(Document.from_json(json.loads(line)) for line in handle if line.strip())
    yield _KB
    _KB.close()
    _FOLDER.cleanup()


@_schema().parametrize()
@EXAMPLES
def test_anonymous_requests(case):
    case.call_and_validate()


@_schema(CUSTOMER).parametrize()
@EXAMPLES
def test_customer_key_requests(case):
    case.call_and_validate()


@_schema(AGENT).parametrize()
@EXAMPLES
def test_agent_key_requests(case):
    case.call_and_validate()


@_schema(ADMIN).parametrize()
@EXAMPLES
def test_admin_key_requests(case):
    case.call_and_validate()


@_schema(ADMIN, app=_PUBLIC).parametrize()
@EXAMPLES
def test_admin_key_requests_to_the_public_server(case):
    case.call_and_validate()


def test_every_role_was_exercised(base):
    """The keys reached the service: agents' and admins' requests saw the agent
    audience, and admins' writes went through."""
    audiences = {item.audience for item in base.audit.interactions()}
    assert audiences == {"customer", "agent"}
    assert len(base) > 12
