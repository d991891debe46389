"""A bounded load test of the service as deployed: a uvicorn server in its own process on
127.0.0.1, customer readers searching and asking, an admin flipping a document between
public and internal through POST /documents, and another process ingesting into the same
base directory, all at once for about 20 seconds. No request may fail with a server error,
and no customer response may ever hold internal text: the internal versions carry a
marker word that appears nowhere else."""

import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap
import threading
import time

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from srmkb import Document, HashingEmbedder, KnowledgeBase

from ..conftest import ROOT

ADMIN = "load-admin-key"
MARKER = "quokkavault"  # only in internal text
SECONDS = 20.0
MAX_REQUESTS = 4_000  # per reader: a bound if the server is much faster than expected
QUERIES = [
    "refund exception approval",
    f"{MARKER} escalation policy",
    "router light blinking red",
    "flip policy for warranty escalations",
    MARKER,
]


def _flip(internal: bool, n: int) -> dict:
    if internal:
        text = f"Escalation policy {n}: {MARKER} approvals above the warranty limit."
        return {"id": "flip-policy", "title": "Flip policy", "text": text, "visibility": "internal"}
    text = f"Escalation policy {n}: ask for a warranty escalation in the help centre."
    return {"id": "flip-policy", "title": "Flip policy", "text": text}


# The other process: internal documents with the marker, public ones, and documents it
# flips between the two under the same ids, in small commits.
INGEST = textwrap.dedent(
    f"""
    import sys, time
    from srmkb import Document, KnowledgeBase
    kb = KnowledgeBase(sys.argv[1], create=False)
    deadline, n = time.time() + float(sys.argv[2]), 0
    while time.time() < deadline:
        kb.upsert([
            Document(id=f"ext-internal-{{n % 7}}", title="Escalation notes",
                     text=f"Warranty escalation {{n}}: {MARKER} override code.",
                     visibility="internal"),
            Document(id=f"ext-public-{{n % 7}}", title="Escalation guide",
                     text=f"Warranty escalation {{n}}: contact the help centre."),
            # The same ids turned internal and back again, as a re-ingest would.
            Document(id=f"ext-flip-{{n % 3}}", title="Warranty escalation",
                     text=(f"Warranty escalation {{n}}: {MARKER} override code." if n % 2
                           else f"Warranty escalation {{n}}: contact the help centre."),
                     visibility="internal" if n % 2 else "public"),
        ])
        n += 1
        time.sleep(0.05)
    print(n)
    """
)


@pytest.fixture
def base(tmp_path):
    path = tmp_path / "kb"
    kb = KnowledgeBase(path, model=HashingEmbedder())
    docs = []
    for name in ("faq.jsonl", "articles.jsonl"):
        with open(ROOT / "examples" / "nimbus" / name) as handle:
            docs += [Document.from_json(json.loads(line)) for line in handle if line.strip()]
    kb.upsert([*docs, Document.from_json(_flip(False, 0))])
    kb.close()
    return path


@pytest.fixture
def server(base, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "server.log", "w")
    env = {**os.environ, "SRMKB_API_KEY": ADMIN}
    command = [sys.executable, "-m", "srmkb.cli", "serve", "--kb", str(base), "--port", str(port)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            assert time.time() < deadline, "the server did not get ready"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_customers_never_see_internal_text_under_concurrent_writes(base, server, capsys):
    deadline = time.time() + SECONDS
    latencies: dict[str, list[float]] = {"search": [], "answer": [], "write": []}
    statuses: dict[int, int] = {}
    leaks: list[str] = []
    lock = threading.Lock()

    def record(kind: str, started: float, response: httpx.Response) -> None:
        with lock:
            latencies[kind].append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    def reader(n: int) -> None:
        path, field = ("/search", "query") if n % 2 == 0 else ("/answer", "question")
        with httpx.Client(base_url=server, timeout=30) as client:
            for i in range(MAX_REQUESTS):
                if time.time() > deadline:
                    return
                body = {field: QUERIES[(n + i) % len(QUERIES)]}
                if path == "/search":
                    body["k"] = 20
                started = time.perf_counter()
                r = client.post(path, json=body)
                record(path[1:], started, r)
                shown = r.json()
                shown.pop("question", None)  # an answer repeats the question asked
                if MARKER in json.dumps(shown):
                    leaks.append(f"{path} {body}: {r.text[:300]}")

    def writer() -> None:
        headers = {"X-API-Key": ADMIN}
        with httpx.Client(base_url=server, timeout=60, headers=headers) as client:
            for n in range(1, MAX_REQUESTS):
                if time.time() > deadline:
                    break
                started = time.perf_counter()
                r = client.post("/documents", json={"documents": [_flip(n % 2 == 1, n)]})
                record("write", started, r)
            # End on the internal version: an agent must find it (the marker is indexed).
            client.post("/documents", json={"documents": [_flip(True, 0)]})

    ingest = subprocess.Popen(
        [sys.executable, "-c", INGEST, str(base), str(SECONDS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 120)
    out, err = ingest.communicate(timeout=120)

    with capsys.disabled():
        print(
            f"\nload test, {SECONDS:.0f} s on 127.0.0.1: statuses {dict(sorted(statuses.items()))}"
        )
        for kind, values in latencies.items():
            if values:
                ms = sorted(v * 1000 for v in values)
                p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
                print(
                    f"  {kind:6} {len(ms):5} requests, {len(ms) / SECONDS:6.1f}/s,"
                    f" p50 {statistics.median(ms):6.1f} ms, p95 {p95:6.1f} ms"
                )
        print(f"  other process: {out.strip() or 0} commits of 3 documents")

    assert ingest.returncode == 0, err[-2000:]
    assert not [s for s in statuses if s >= 500], statuses
    assert not leaks, leaks[:3]
    assert set(statuses) == {200}, statuses
    assert len(latencies["write"]) > 5 and int(out) > 5
    admin = {"X-API-Key": ADMIN}
    agent = httpx.post(f"{server}/search", json={"query": MARKER}, headers=admin).json()["hits"]
    assert {"flip-policy", "ext-internal-0"} <= {h["document_id"] for h in agent}
    # The server picked up the other process's commits by itself.
    query = {"query": "warranty escalation help centre guide"}
    public = httpx.post(f"{server}/search", json=query).json()["hits"]
    assert any(h["document_id"].startswith("ext-public-") for h in public)
