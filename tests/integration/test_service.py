"""The HTTP service: reads, auth on writes, JSON errors, concurrent readers during writes."""

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytest.importorskip("fastapi")
import uvicorn

from srmkb import Document, HashingEmbedder, KnowledgeBase
from srmkb.service import create_app

from ..conftest import ROOT

KEY = "test-key-123"


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
    with Server(create_app(kb, api_key=KEY)) as base:
        yield base


def test_health_and_openapi(url):
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["documents"] == 17
    spec = httpx.get(f"{url}/openapi.json").json()
    assert {"/search", "/answer", "/documents", "/documents/{document_id}"} <= set(spec["paths"])


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
    q = {"query": "Team leads may approve a refund up to 60 days after delivery", "k": 20}
    hits = httpx.post(f"{url}/search", json=q).json()["hits"]
    assert all(h["visibility"] == "public" for h in hits)
    hits = httpx.post(f"{url}/search", json={**q, "audience": "agent"}).json()["hits"]
    assert hits[0]["document_id"] == "int-refund-exceptions"


def test_writes_need_the_key(url):
    doc = {"documents": [{"id": "svc-1", "text": "Service test document about antennas."}]}
    assert httpx.post(f"{url}/documents", json=doc).status_code == 401
    bad = httpx.post(f"{url}/documents", json=doc, headers={"X-API-Key": "wrong"})
    assert bad.status_code == 401 and bad.json()["type"] == "Unauthorized"
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


def test_errors_are_json_with_the_right_status(url):
    r = httpx.post(f"{url}/search", json={"query": "x", "filters": {"a": {"like": 1}}})
    assert r.status_code == 400 and r.json()["type"] == "FilterError"
    r = httpx.post(f"{url}/search", json={"query": "x", "mode": "magic"})
    assert r.status_code == 422
    r = httpx.post(
        f"{url}/documents", json={"documents": [{"id": "x"}]}, headers={"X-API-Key": KEY}
    )
    assert r.status_code == 400 and "documents[0]" in r.json()["error"]


def test_concurrent_readers_see_consistent_state_during_ingest(url):
    """Readers run while a writer adds documents in batches; each read is whole."""
    batch = 20
    new = [
        {"id": f"bulk-{i}", "title": f"Bulk {i}", "text": f"zebra topic number {i} for readers"}
        for i in range(120)
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
                    f"{url}/search", json={"query": "zebra topic", "k": 200, "mode": "bm25"}
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
    assert seen and max(seen) <= 120
    assert (
        len(
            httpx.post(
                f"{url}/search", json={"query": "zebra topic", "k": 200, "mode": "bm25"}
            ).json()["hits"]
        )
        == 120
    )
