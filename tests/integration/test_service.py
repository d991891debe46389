"""The HTTP service: audience from keys, limits, one error shape, readiness, concurrent
readers during writes."""

import errno
import hashlib
import json
import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytest.importorskip("fastapi")
import uvicorn
from starlette.testclient import TestClient

from srmkb import DiskFullError, Document, HashingEmbedder, InputError, KnowledgeBase, StorageError
from srmkb.service import Keyring, Limits, create_app

from ..conftest import ROOT

KEY = "test-key-123"  # the admin key, given as SRMKB_API_KEY would give it
AGENT, CUSTOMER = "test-agent-key", "test-customer-key"
REFUND = "Team leads may approve a refund up to 60 days after delivery"


def _docs():
    out = []
    for name in ("faq.jsonl", "articles.jsonl"):
        with open(ROOT / "examples" / "nimbus" / name) as handle:
            out += [Document.from_json(json.loads(line)) for line in handle if line.strip()]
    return out


class Server:
    def __init__(self, app):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("svc") / "kb", model=HashingEmbedder())
    base.upsert(_docs())
    return base


@pytest.fixture(scope="module")
def url(kb):
    app = create_app(kb, api_key=KEY, keys={AGENT: "agent", CUSTOMER: "customer"})
    with Server(app) as base:
        yield base


def _key(key):
    return {"X-API-Key": key} if key else {}


def test_health_ready_and_openapi(url):
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["documents"] == 17
    deadline = time.time() + 20
    while (ready := httpx.get(f"{url}/ready")).status_code != 200 and time.time() < deadline:
        time.sleep(0.05)
    assert ready.json() == {"status": "ready", "model": "srmkb/hashing-256"}
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/search", "/answer", "/documents", "/documents/{document_id}"} <= set(spec["paths"])
    # Every error a route can give is declared, with the one error shape.
    search = spec["paths"]["/search"]["post"]["responses"]
    assert {"200", "401", "403", "413", "422"} <= set(search)
    assert search["403"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")


def test_search_and_answer(url):
    hits = httpx.post(f"{url}/search", json={"query": "blinking red light", "k": 3}).json()["hits"]
    assert hits[0]["document_id"] == "faq-blinking-red"
    answer = httpx.post(
        f"{url}/answer", json={"question": "blinking red light", "channel": "voice"}
    ).json()
    for key in (
        "answered",
        "confidence",
        "text",
        "document_id",
        "citations",
        "steps",
        "interaction_id",
    ):
        assert key in answer


def test_customer_requests_never_return_internal_documents(url):
    q = {"query": REFUND, "k": 20}
    for key in (None, CUSTOMER):
        hits = httpx.post(f"{url}/search", json=q, headers=_key(key)).json()["hits"]
        assert hits and all(h["visibility"] == "public" for h in hits)


@pytest.mark.parametrize("key", [None, CUSTOMER], ids=["anonymous", "customer key"])
def test_the_agent_channel_does_not_widen_a_customers_view(url, key):
    """kb.answer gives the agent channel the agent audience when none is named; the
    service always names its caller's, so a customer asking for it sees public text."""
    body = {"question": REFUND, "channel": "agent"}
    r = httpx.post(f"{url}/answer", json=body, headers=_key(key))
    answer = r.json()
    assert r.status_code == 200 and answer["audience"] == "customer"
    shown = json.dumps({k: v for k, v in answer.items() if k != "question"})
    assert answer["document_id"] != "int-refund-exceptions" and "60 days" not in shown
    agent = httpx.post(f"{url}/answer", json=body, headers=_key(AGENT)).json()
    assert agent["audience"] == "agent" and agent["document_id"] == "int-refund-exceptions"


def test_search_collapses_to_one_hit_per_document(url):
    body = {"query": "router", "k": 6, "collapse": "document"}
    hits = httpx.post(f"{url}/search", json=body).json()["hits"]
    assert len(hits) == 6 and len({h["document_id"] for h in hits}) == 6
    r = httpx.post(f"{url}/search", json={**body, "collapse": "passage"})
    assert r.status_code == 422


def test_a_filter_on_an_unknown_field_is_a_400_naming_the_known_ones(url):
    r = httpx.post(f"{url}/search", json={"query": "refund", "filters": {"categroy": "billing"}})
    assert r.status_code == 400 and r.json()["type"] == "FilterError"
    assert "did you mean 'category'" in r.json()["error"]
    r = httpx.post(f"{url}/answer", json={"question": "refund", "filters": {"categroy": "x"}})
    assert r.status_code == 400 and r.json()["type"] == "FilterError"


@pytest.mark.parametrize("key", [None, CUSTOMER], ids=["anonymous", "customer key"])
def test_the_agent_audience_is_refused_without_an_agent_key(url, key):
    for path, body in (("/search", {"query": REFUND}), ("/answer", {"question": REFUND})):
        r = httpx.post(f"{url}{path}", json={**body, "audience": "agent"}, headers=_key(key))
        assert r.status_code == 403 and r.json()["type"] == "Forbidden", r.text
        assert "60 days" not in r.text


def test_a_request_sees_the_most_its_key_allows_and_may_narrow_it(url):
    for key in (AGENT, KEY):
        hits = httpx.post(f"{url}/search", json={"query": REFUND}, headers=_key(key)).json()
        assert hits["hits"][0]["document_id"] == "int-refund-exceptions"
        narrowed = httpx.post(
            f"{url}/search", json={"query": REFUND, "audience": "customer"}, headers=_key(key)
        ).json()["hits"]
        assert narrowed and all(h["visibility"] == "public" for h in narrowed)
        answer = httpx.post(f"{url}/answer", json={"question": REFUND}, headers=_key(key)).json()
        assert answer["audience"] == "agent"
    wrong = httpx.post(f"{url}/search", json={"query": REFUND}, headers=_key("wrong-key"))
    assert wrong.status_code == 401 and wrong.json() == {
        "error": "wrong X-API-Key",
        "type": "Unauthorized",
    }
    roles = {key: httpx.get(f"{url}/me", headers=_key(key)).json() for key in (None, AGENT, KEY)}
    assert roles == {
        None: {"role": "customer", "audience": "customer"},
        AGENT: {"role": "agent", "audience": "agent"},
        KEY: {"role": "admin", "audience": "agent"},
    }


def test_unlogged_requests_and_the_report_need_an_admin_key(url, kb):
    before = len(kb.audit.interactions())
    for key in (None, CUSTOMER, AGENT):
        for path, body in (("/search", {"query": "x"}), ("/answer", {"question": "x"})):
            r = httpx.post(f"{url}{path}", json={**body, "log": False}, headers=_key(key))
            assert r.status_code == 403 and "admin" in r.json()["error"]
    assert httpx.get(f"{url}/report").status_code == 401
    assert httpx.get(f"{url}/report", headers=_key(AGENT)).status_code == 403
    assert len(kb.audit.interactions()) == before
    r = httpx.post(f"{url}/answer", json={"question": "x", "log": False}, headers=_key(KEY))
    assert r.status_code == 200 and r.json()["interaction_id"] is None
    assert len(kb.audit.interactions()) == before
    report = httpx.get(f"{url}/report", params={"since": "2020-01-01"}, headers=_key(KEY))
    assert report.status_code == 200 and report.json()["period"]["since"].startswith("2020")
    bad = httpx.get(f"{url}/report", params={"sinse": "2020-01-01"}, headers=_key(KEY))
    assert bad.status_code == 422 and "sinse" in bad.json()["error"]


def test_previews_render_other_channels_unlogged_for_agents(url, kb):
    body = {"question": "blinking red light", "previews": ["voice", "email"]}
    assert httpx.post(f"{url}/answer", json=body).status_code == 403
    before = len(kb.audit.interactions())
    answer = httpx.post(f"{url}/answer", json=body, headers=_key(AGENT)).json()
    assert answer["answered"] and set(answer["previews"]) == {"voice", "email"}
    assert "http" not in answer["previews"]["voice"]["text"]
    assert "Source:" in answer["previews"]["email"]["html"]
    assert len(kb.audit.interactions()) == before + 1


def test_writes_need_the_key(url):
    doc = {"documents": [{"id": "svc-1", "text": "Service test document about antennas."}]}
    assert httpx.post(f"{url}/documents", json=doc).status_code == 401
    bad = httpx.post(f"{url}/documents", json=doc, headers={"X-API-Key": "wrong"})
    assert bad.status_code == 401 and bad.json()["type"] == "Unauthorized"
    for key in (AGENT, CUSTOMER):
        r = httpx.post(f"{url}/documents", json=doc, headers=_key(key))
        assert r.status_code == 403 and r.json()["type"] == "Forbidden"
        assert httpx.delete(f"{url}/documents/faq-refund", headers=_key(key)).status_code == 403
    ok = httpx.post(f"{url}/documents", json=doc, headers={"X-API-Key": KEY})
    assert ok.status_code == 200 and ok.json()["added"] == 1
    assert httpx.delete(f"{url}/documents/svc-1").status_code == 401
    gone = httpx.delete(f"{url}/documents/svc-1", headers={"X-API-Key": KEY})
    assert gone.status_code == 200 and gone.json()["deleted"] == 1
    assert httpx.delete(f"{url}/documents/svc-1", headers={"X-API-Key": KEY}).status_code == 404


def test_writes_refused_without_a_configured_key(kb):
    with Server(create_app(kb, api_key="")) as base:
        r = httpx.post(f"{base}/documents", json={"documents": []}, headers={"X-API-Key": ""})
        assert r.status_code == 403 and "SRMKB_API_KEY" in r.json()["error"]


def _refused(r, status=422):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "type"} and body["error"], body
    return body


def test_errors_are_json_with_the_right_status(url):
    r = httpx.post(f"{url}/search", json={"query": "x", "filters": {"a": {"like": 1}}})
    assert _refused(r)["type"] == "ValidationError"
    assert (
        "mode"
        in _refused(httpx.post(f"{url}/search", json={"query": "x", "mode": "magic"}))["error"]
    )
    assert (
        "audiance"
        in _refused(httpx.post(f"{url}/search", json={"query": "x", "audiance": 1}))["error"]
    )
    r = httpx.post(
        f"{url}/documents", json={"documents": [{"id": "x"}]}, headers={"X-API-Key": KEY}
    )
    assert "documents.0" in _refused(r)["error"]
    for visibility in ("", None, False, 0, [], {}):
        doc = {"id": "v", "text": "x", "visibility": visibility}
        _refused(httpx.post(f"{url}/documents", json={"documents": [doc]}, headers=_key(KEY)))
    assert _refused(httpx.get(f"{url}/nowhere"), 404)["type"] == "NotFound"
    r = httpx.put(f"{url}/search")
    assert _refused(r, 405)["type"] == "MethodNotAllowed" and "POST" in r.headers["allow"]


@pytest.mark.parametrize(
    "body",
    [
        b'{"query": "x", "k": NaN}',
        b'{"query": "x", "k": Infinity}',
        b'{"query": "x", "k": -Infinity}',
        b'{"query": "x", "k": 1e999}',
        b'{"query": "x", "as_of": NaN}',
        b'{"query": "x", "as_of": "NaN"}',
        b'{"query": "x", "as_of": "2026-02-30"}',
        b'{"query": "\\ud800 lone surrogate"}',
        b'{"query": "x", "filters": {"\\udfff": 1}}',
        b'{"query": "caf\xe9 is not UTF-8"}',
        b'{"query": "x", "k": 101}',
        b'{"query": "x", "k": 0}',
        b'{"query": "x", "k": "3"}',
        b'{"query": "x", "k": 2.5}',
        b'{"query": "x", "audience": "customer", "audience": "agent"}',
        b"[" * 100_000 + b"]" * 100_000,
        b"",
    ],
)
def test_malformed_bodies_are_refused_with_422_not_a_server_error(url, body):
    r = httpx.post(f"{url}/search", content=body, headers={"content-type": "application/json"})
    assert _refused(r)["type"] == "ValidationError"


def test_limits_refuse_large_bodies_and_long_queries(url):
    long = {"query": "router " * 400}  # 2,800 characters: over the 2,000 default
    assert "query" in _refused(httpx.post(f"{url}/search", json=long))["error"]
    assert (
        "question"
        in _refused(httpx.post(f"{url}/answer", json={"question": long["query"]}))["error"]
    )
    filters = {"filters": {f"f{i}": i for i in range(33)}}  # over 32 fields
    _refused(httpx.post(f"{url}/search", json={"query": "x", **filters}))
    big = json.dumps({"query": "x" * 1_500_000}).encode()
    r = httpx.post(f"{url}/search", content=big, headers={"content-type": "application/json"})
    assert _refused(r, 413)["type"] == "PayloadTooLarge"

    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"query": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    r = httpx.post(f"{url}/search", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert _refused(r, 413)["type"] == "PayloadTooLarge"
    assert httpx.get(f"{url}/health").status_code == 200


def test_concurrent_readers_see_consistent_state_during_ingest(url):
    """Readers run while a writer adds documents in batches; each read is whole."""
    batch = 20
    new = [
        {"id": f"bulk-{i}", "title": f"Bulk {i}", "text": f"zebra topic number {i} for readers"}
        for i in range(80)  # k is at most 100 (the default limit): every one fits
    ]
    stop = threading.Event()
    seen: list[int] = []

    def writer():
        for start in range(0, len(new), batch):
            payload = {"documents": new[start : start + batch]}
            r = httpx.post(f"{url}/documents", json=payload, headers={"X-API-Key": KEY}, timeout=60)
            assert r.status_code == 200
        stop.set()

    def reader():
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                hits = client.post(
                    f"{url}/search", json={"query": "zebra topic", "k": 100, "mode": "bm25"}
                ).json()["hits"]
                ids = [h["document_id"] for h in hits]
                assert len(ids) == len(set(ids))
                # Batches commit whole: a reader sees a multiple of the batch size.
                assert len(ids) % batch == 0, len(ids)
                seen.append(len(ids))

    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(reader) for _ in range(4)] + [pool.submit(writer)]
        for f in futures:
            f.result(timeout=300)
    assert seen and max(seen) <= 80
    assert (
        len(
            httpx.post(
                f"{url}/search", json={"query": "zebra topic", "k": 100, "mode": "bm25"}
            ).json()["hits"]
        )
        == 80
    )


@pytest.fixture
def client(tmp_path):
    base = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    base.upsert(_docs())
    limits = Limits(feedback_burst=6, feedback_per_minute=6)
    app = create_app(base, keys={KEY: "admin", AGENT: "agent"}, limits=limits)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield base, test_client


def test_feedback_counts_once_per_outcome_and_is_rate_limited(client):
    _, c = client
    first = c.post("/answer", json={"question": "blinking red light"}).json()["interaction_id"]
    feedback = {"interaction_id": first, "outcome": "resolved"}
    assert c.post("/feedback", json=feedback).json() == feedback
    assert _refused(c.post("/feedback", json=feedback), 409)["type"] == "Conflict"
    assert c.post("/feedback", json={**feedback, "outcome": "escalated"}).status_code == 200
    unknown = {"interaction_id": "0" * 32, "outcome": "resolved"}
    assert _refused(c.post("/feedback", json=unknown), 404)["type"] == "NotFound"
    # Six requests at once per client, then one every ten seconds.
    statuses = [c.post("/feedback", json=unknown).status_code for _ in range(4)]
    assert statuses == [404, 404, 429, 429]
    r = c.post("/feedback", json=unknown)
    assert _refused(r, 429)["type"] == "TooManyRequests"
    assert 1 <= int(r.headers["retry-after"]) <= 10
    # Another client (here: a key) has its own bucket.
    assert c.post("/feedback", json=unknown, headers=_key(AGENT)).status_code == 404


def test_a_full_disk_gives_507_and_a_damaged_base_503(client, monkeypatch):
    base, c = client

    def full(*args, **kwargs):
        raise DiskFullError("no space left on the device; nothing was committed")

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def damaged(*args, **kwargs):
        raise StorageError("segment 01ab is damaged")

    doc = {"documents": [{"id": "n", "text": "new"}]}
    for fault in (full, no_space):
        monkeypatch.setattr(base, "upsert", fault)
        r = c.post("/documents", json=doc, headers=_key(KEY))
        assert _refused(r, 507)["type"] == "DiskFullError"
    monkeypatch.setattr(base, "search", damaged)
    assert _refused(c.post("/search", json={"query": "x"}), 503)["type"] == "StorageError"
    monkeypatch.setattr(base, "answer", lambda *a, **k: 1 / 0)
    body = _refused(c.post("/answer", json={"question": "x"}), 500)
    assert body == {"error": "internal server error", "type": "InternalError"}


def test_ready_only_once_the_model_is_loaded(tmp_path):
    gate = threading.Event()

    class SlowModel(KnowledgeBase):
        @property
        def embedder(self):
            gate.wait(20)  # as a real model takes seconds to load
            return super().embedder

    with KnowledgeBase(tmp_path / "kb", model=HashingEmbedder()) as built:
        built.upsert(_docs()[:2])
    slow = SlowModel(tmp_path / "kb", model=HashingEmbedder())
    with TestClient(create_app(slow, keys={})) as c:
        assert c.get("/health").json()["status"] == "ok"
        assert _refused(c.get("/ready"), 503) == {
            "error": "the embedding model is loading",
            "type": "NotReady",
        }
        gate.set()
        deadline = time.time() + 10
        while c.get("/ready").status_code != 200:
            assert time.time() < deadline
            time.sleep(0.02)


def test_a_public_server_has_no_agent_routes_and_no_agent_view(kb):
    app = create_app(kb, keys={KEY: "admin", AGENT: "agent"}, audience="customer")
    assert set(app.openapi()["paths"]) == {
        "/health",
        "/ready",
        "/me",
        "/search",
        "/answer",
        "/feedback",
    }
    with TestClient(app) as c:
        for key in (None, AGENT, KEY):
            hits = c.post("/search", json={"query": REFUND}, headers=_key(key)).json()["hits"]
            assert hits and all(h["visibility"] == "public" for h in hits)
            r = c.post("/search", json={"query": REFUND, "audience": "agent"}, headers=_key(key))
            assert _refused(r, 403)["error"] == "this server answers customers only"
            r = c.post("/answer", json={"question": REFUND, "log": False}, headers=_key(key))
            assert _refused(r, 403)["type"] == "Forbidden"
            assert c.get("/me", headers=_key(key)).json()["audience"] == "customer"
        for method, path in (("GET", "/"), ("GET", "/report"), ("DELETE", "/documents/faq-refund")):
            assert c.request(method, path, headers=_key(KEY)).status_code == 404
        r = c.post("/documents", json={"documents": []}, headers=_key(KEY))
        assert r.status_code == 404
        assert c.post("/search", json={"query": "x"}, headers=_key("wrong")).status_code == 401


def test_keys_come_from_the_environment_and_a_file_never_shown(tmp_path, caplog):
    file = tmp_path / "keys.json"
    digest = hashlib.sha256(b"file-agent-key").hexdigest()
    file.write_text(
        json.dumps({"keys": [{"sha256": digest, "role": "agent"}, {"key": "k3", "role": "admin"}]})
    )
    env = {
        "SRMKB_API_KEY": "legacy-admin",
        "SRMKB_API_KEYS": "customer:c1, agent:a:with:colons,",
        "SRMKB_API_KEYS_FILE": str(file),
    }
    ring = Keyring.from_env(env)
    assert [
        ring.identify(k) and ring.identify(k)[0]
        for k in ("legacy-admin", "c1", "a:with:colons", "file-agent-key", "k3", "nope", "")
    ] == ["admin", "customer", "agent", "agent", "admin", None, None]
    assert repr(ring) == "Keyring(customer 1, agent 2, admin 2)"
    for bad, message in (
        ({"SRMKB_API_KEYS": "agent"}, "role:key"),
        ({"SRMKB_API_KEYS": "boss:k"}, "role must be one of"),
        ({"SRMKB_API_KEYS": "agent:k,admin:k"}, "already given the role"),
        ({"SRMKB_API_KEYS": "agent:has space"}, "printable ASCII"),
        ({"SRMKB_API_KEYS_FILE": str(tmp_path / "missing.json")}, "cannot read"),
    ):
        with pytest.raises(InputError, match=message) as err:
            Keyring.from_env(bad)
        assert "has space" not in str(err.value)
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(_small_kb(tmp_path), keys=ring)) as c:
        assert c.get("/me", headers=_key("file-agent-key")).json()["role"] == "agent"
        assert c.get("/me", headers=_key("wrong-key-value")).status_code == 401
    assert "file-agent-key" not in caplog.text and "wrong-key-value" not in caplog.text


def _small_kb(tmp_path):
    base = KnowledgeBase(tmp_path / "small", model=HashingEmbedder())
    base.upsert(_docs()[:3])
    return base
