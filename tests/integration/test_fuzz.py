"""Damaged and hostile input: reading never raises or hangs, ingesting loses nothing.

Two parts. A seeded fuzz test mutates real files (PDFs, HTML pages, CRM exports, FAQs)
byte-wise: truncation, flipped bits, inserted NUL or garbage runs, zeroed blocks,
duplicated chunks. Reading each mutant must give only documents and errors, within a
time limit, and ingesting them all into a base that already holds the clean originals
must not raise or lose any of them. Then the bad inputs users send (an encrypted PDF,
empty files, binary junk under a text suffix, Latin-1 without a declared encoding, a
file of 50 MB) go through ``srmkb ingest --json`` in one batch with good files: each is
reported with its path and a reason, and the good files are ingested.

The tests at the end pin down wrong behaviour found while writing these tests (a bad
line, document or file that cost its whole file or batch, or vanished without an error).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from srmkb import Document, HashingEmbedder, IngestError, KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.text.chunking import chunk_document

from ..conftest import ROOT, shared_path, srmkb

SEED = 20261125
MUTANTS_PER_FILE = 13  # x 12 files: 156 mutants
TIME_LIMIT = 20.0  # seconds to read one file; the slowest mutant takes about 0.3 s

SHARED_SOURCES = [
    ("pdfs", "2023-06-20-PV.pdf"),
    ("pdfs", "cupertino_usd_4-6-16.pdf"),
    ("pdfs", "word365_structure.pdf"),
    ("debian-faq", "en", "debian-faq.en.pdf"),
    ("html-help", "libreoffice-help", "en-US", "shared_doc_save.html"),
    ("html-help", "libreoffice-help", "fr", "shared_protection.html"),
    ("debian-faq", "en", "kernel.en.html"),
    ("debian-faq", "en", "pkg-basics.en.html"),
]
EXAMPLE_SOURCES = [
    ROOT / "examples" / "crm" / "cases.csv",
    ROOT / "examples" / "crm" / "cases.jsonl",
    ROOT / "examples" / "nimbus" / "faq.jsonl",
    ROOT / "examples" / "nimbus" / "faq.csv",
]


# -- mutations --------------------------------------------------------------------------


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def flip_bits(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 64)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def insert_garbage(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    size = rng.choice([1, 16, 512, 8192])
    run = b"\x00" * size if rng.random() < 0.5 else rng.randbytes(size)
    return data[:at] + run + data[at:]


def zero_block(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data))
    size = min(rng.choice([64, 1024, 16384]), len(data) - at)
    return data[:at] + b"\x00" * size + data[at + size :]


def duplicate_chunk(rng: random.Random, data: bytes) -> bytes:
    start = rng.randrange(len(data))
    chunk = data[start : start + rng.randint(1, max(1, len(data) // 4))]
    at = rng.randrange(len(data) + 1)
    return data[:at] + chunk + data[at:]


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    truncate,
    flip_bits,
    insert_garbage,
    zero_block,
    duplicate_chunk,
]


def sources() -> list[Path]:
    return [shared_path("data", "docs", *parts) for parts in SHARED_SOURCES] + EXAMPLE_SOURCES


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> list[Path]:
    """Mutated copies of each source, named ``m07-flip_bits-<name>``: the names differ
    from the originals', so pages, PDFs and FAQ files without ids of their own get ids of
    their own. Every mutation is used on every file; a third of the mutants get a second
    one."""
    folder = tmp_path_factory.mktemp("mutants")
    paths = []
    for source in sources():
        data = source.read_bytes()
        for k in range(MUTANTS_PER_FILE):
            rng = random.Random(f"{SEED}:{source.name}:{k}")
            mutation = MUTATIONS[k % len(MUTATIONS)]
            mutated = mutation(rng, data)
            if mutated and rng.random() < 0.3:
                mutated = rng.choice(MUTATIONS)(rng, mutated)
            path = folder / f"m{k:02d}-{mutation.__name__}-{source.name}"
            path.write_bytes(mutated)
            paths.append(path)
    return paths


# -- reading mutants ----------------------------------------------------------------------


@dataclass
class Reading:
    items: list[object] = field(default_factory=list)
    error: BaseException | None = None
    seconds: float = 0.0
    finished: bool = False


def read_with_limit(path: Path) -> Reading:
    """``read_paths([path])`` in a thread; ``finished`` is False if it ran out of time.

    One thread at a time: PDFium is not thread-safe. A thread that runs out of time
    cannot be stopped; the caller reads nothing more.
    """
    reading = Reading()

    def run() -> None:
        try:
            reading.items = list(read_paths([path]))
        except BaseException as exc:  # reported by the test, with the file's name
            reading.error = exc
        reading.finished = True

    start = time.perf_counter()
    thread = threading.Thread(target=run, name=f"read {path.name}", daemon=True)
    thread.start()
    thread.join(TIME_LIMIT)
    reading.seconds = time.perf_counter() - start
    return reading


@pytest.fixture(scope="module")
def readings(mutants) -> dict[Path, Reading]:
    out: dict[Path, Reading] = {}
    for path in mutants:
        out[path] = reading = read_with_limit(path)
        if not reading.finished:
            break
    return out


def test_reading_mutants_never_raises_nor_hangs(mutants, readings):
    assert len(mutants) >= 150
    problems = []
    for path, reading in readings.items():
        if not reading.finished:
            problems.append(f"{path.name}: still reading after {TIME_LIMIT:.0f} s")
        elif reading.error is not None:
            problems.append(f"{path.name}: raised {reading.error!r}")
        for item in reading.items:
            if isinstance(item, IngestError):
                if item.path != str(path) or not item.error.strip():
                    problems.append(f"{path.name}: error without its path or reason: {item}")
                # The PDF connector's last-resort handler: a bug in its layout code.
                if item.error.startswith("could not read this PDF"):
                    problems.append(f"{path.name}: {item.error}")
            elif not isinstance(item, Document):
                problems.append(f"{path.name}: yielded {type(item).__name__}")
    assert problems == []
    assert len(readings) == len(mutants)
    # The mutations are not all fatal: mutants give documents as well as errors.
    kinds = Counter(type(i).__name__ for r in readings.values() for i in r.items)
    assert kinds["Document"] > 100 and kinds["IngestError"] > 50, kinds


def test_ingesting_mutants_loses_nothing(tmp_path, readings):
    kb = KnowledgeBase(tmp_path / "kb", model=HashingEmbedder())
    originals: dict[str, Document] = {}
    for source in sources():
        for item in read_paths([source]):
            assert isinstance(item, Document), item
            originals[item.id] = item
    assert len(kb.upsert(originals.values()).added) == len(originals)

    produced = [i for r in readings.values() for i in r.items if isinstance(i, Document)]
    report = kb.upsert(produced)
    assert report.errors == ()

    # CRM cases and documents with ids of their own (JSON Lines, FAQ ids) come back from
    # mutants under the same id: those are updates. Every other original is untouched.
    touched = {d.id for d in produced}
    for doc_id, original in originals.items():
        stored = kb.get(doc_id)
        assert stored is not None, f"{doc_id} was lost"
        if doc_id not in touched:
            assert stored.content_hash() == original.content_hash(), doc_id
    # Every document of the base is searchable, and the indexes hold exactly its passages.
    snap = kb.index.snapshot
    live = Counter(str(d) for d in snap.document_ids[snap.live])
    assert set(live) == set(originals) | touched
    for doc_id in live:
        stored = kb.get(doc_id)
        assert stored is not None
        assert live[doc_id] == len(chunk_document(stored, max_words=kb.manifest.max_words))
        words = re.findall(r"\w+", f"{stored.title} {stored.full_text}")[:8]
        hits = kb.search(" ".join(words), mode="bm25", filters={"id": doc_id}, audience="agent")
        assert hits and {h.document_id for h in hits} == {doc_id}, (doc_id, words)
    kb.close()


# -- bad input through the command line --------------------------------------------------


def ingest(folder: Path, kb: Path) -> tuple[int, dict[str, Any]]:
    """``srmkb ingest folder --json``: the exit code and the report (a traceback fails)."""
    proc = srmkb(
        "ingest", str(folder), "--kb", str(kb), "--model", "hashing", "--json", "-q", check=False
    )
    assert proc.returncode in (0, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def encrypted_pdf(path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(shared_path("data", "docs", "pdfs", "2023-06-20-PV.pdf"))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner")
    with open(path, "wb") as handle:
        writer.write(handle)


def junk(seed: str, size: int = 4096) -> bytes:
    """An image renamed: a PNG signature, then random bytes."""
    return b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(size)


LATIN1_PAGE = (
    "<html><head><title>Café crème</title></head><body><h1>Café crème</h1>"
    "<p>Le café est très chaud : attendez qu'il refroidisse. Ça déçoit, mais c'est sûr.</p>"
    "</body></html>"
)

# What each bad file must be reported as (the reason, as a pattern).
BAD = {
    "encrypted.pdf": r"encrypted",
    "empty.html": r"empty",
    "empty.pdf": r"empty",
    "empty.jsonl": r"empty",
    "junk.html": r"binary",
    "junk.pdf": r"not a PDF",
    "junk.jsonl": r"UTF-8",
    "latin1.jsonl": r"UTF-8",  # JSON text is UTF-8 (RFC 8259)
    "big.html": r"50\.0 MB, over the 32 MB limit.*--max-file-mb",
}


def test_bad_inputs_are_reported_and_the_rest_ingested(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    # Good files: 1 page, 1 PDF, 4 FAQ entries, 25 resolved cases (5 more are open).
    docs = shared_path("data", "docs")
    shutil.copyfile(docs / "debian-faq" / "en" / "kernel.en.html", folder / "kernel.en.html")
    shutil.copyfile(docs / "pdfs" / "2023-06-20-PV.pdf", folder / "minutes.pdf")
    shutil.copyfile(ROOT / "examples" / "nimbus" / "faq.csv", folder / "faq.csv")
    shutil.copyfile(ROOT / "examples" / "crm" / "cases.csv", folder / "cases.csv")
    # Latin-1 without a declared encoding, where the format allows a guess: read right.
    (folder / "latin1.html").write_bytes(LATIN1_PAGE.encode("latin-1"))
    (folder / "latin1-faq.csv").write_bytes(
        "question,answer\nOù est le café ?,À côté de la crème brûlée.\n".encode("latin-1")
    )
    # Bad files.
    encrypted_pdf(folder / "encrypted.pdf")
    for suffix in ("html", "pdf", "jsonl"):
        (folder / f"empty.{suffix}").write_bytes(b"")
        (folder / f"junk.{suffix}").write_bytes(junk(suffix))
    (folder / "latin1.jsonl").write_bytes(
        '{"id": "latin", "text": "Le café est très chaud."}\n'.encode("latin-1")
    )
    with open(folder / "big.html", "wb") as handle:  # sparse: written in no time
        handle.write(b"<html><body><p>A page of 50 MB.</p>")
        handle.seek(50 * 2**20 - 14)
        handle.write(b"</body></html>")
    assert (folder / "big.html").stat().st_size == 50 * 2**20

    code, report = ingest(folder, tmp_path / "kb")
    assert code == 3
    errors = {Path(e["path"]).name: e for e in report["errors"]}
    assert sorted(errors) == sorted(BAD)
    for name, reason in BAD.items():
        assert errors[name]["path"] == str(folder / name)
        assert re.search(reason, errors[name]["error"]), errors[name]
    assert (report["added"], report["skipped"]) == (1 + 1 + 4 + 25 + 2, 5)

    kb = KnowledgeBase(tmp_path / "kb")
    for doc_id in ("kernel.en.html", "minutes.pdf", "faq-fr-voyant-orange", "case-00104801"):
        assert doc_id in kb
    page = kb.get("latin1.html")
    assert page is not None and page.title == "Café crème"
    assert "très chaud" in page.full_text and "déçoit" in page.full_text
    hits = kb.search("crème brûlée", mode="bm25")
    assert hits[0].title == "Où est le café ?"
    kb.close()


# -- wrong behaviour found by these tests ------------------------------------------------


def test_unreadable_structured_files_in_a_folder_are_reported(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "good.jsonl").write_text('{"id": "good", "text": "A fine document."}\n')
    for suffix in ("csv", "json", "yaml"):
        (folder / f"empty.{suffix}").write_bytes(b"")
    (folder / "junk.csv").write_bytes(junk("csv"))
    code, report = ingest(folder, tmp_path / "kb")
    names = sorted(Path(e["path"]).name for e in report["errors"])
    assert names == ["empty.csv", "empty.json", "empty.yaml", "junk.csv"]
    assert code == 3 and report["added"] == 1


def test_latin1_crm_export_is_read_or_reported(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    (folder / "export.csv").write_bytes(
        "case_id,status,subject,description,resolution\n"
        "7,closed,Café renversé,Du café sur le routeur,Remplacé sous garantie.\n".encode("latin-1")
    )
    _, report = ingest(folder, tmp_path / "kb")
    errors = [Path(e["path"]).name for e in report["errors"]]
    assert report["added"] == 1 or errors == ["export.csv"], report


@pytest.mark.parametrize(
    "sections",
    [[{"text": "a", "page": "iv"}], [{"text": "a", "heading": 5}], ["a plain string"]],
    ids=["page-not-a-number", "heading-a-number", "section-not-an-object"],
)
def test_jsonl_line_with_malformed_sections_is_reported(tmp_path, sections):
    folder = tmp_path / "batch"
    folder.mkdir()
    bad = {"id": "bad", "text": "t", "sections": sections}
    lines = [{"id": "ok1", "text": "fine"}, bad, {"id": "ok2", "text": "also fine"}]
    (folder / "docs.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    code, report = ingest(folder, tmp_path / "kb")
    assert code == 3 and report["added"] == 2
    assert [(Path(e["path"]).name, e.get("line")) for e in report["errors"]] == [("docs.jsonl", 2)]


@pytest.mark.parametrize(
    "line",
    [
        r'{"id": "bad", "text": "A cut emoji: \ud83d."}',
        '{"id": "bad", "text": "t", "sections": [{"text": "a", "page": 1e30}]}',
    ],
    ids=["lone-surrogate", "page-too-large"],
)
def test_document_the_base_cannot_store_is_reported(tmp_path, line):
    folder = tmp_path / "batch"
    folder.mkdir()
    good = '{"id": "ok1", "text": "fine"}\n', '{"id": "ok2", "text": "also fine"}\n'
    (folder / "docs.jsonl").write_text(good[0] + line + "\n" + good[1])
    code, report = ingest(folder, tmp_path / "kb")
    assert code == 3 and report["added"] == 2
    assert [Path(e["path"]).name for e in report["errors"]] == ["docs.jsonl"]


def test_one_bad_byte_costs_only_its_line(tmp_path):
    lines = (ROOT / "examples" / "nimbus" / "faq.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == 12
    lines[-1] = lines[-1].replace(b'"text": "', b'"text": "caf\xe9 ', 1)  # Latin-1 "é"
    path = tmp_path / "faq.jsonl"
    path.write_bytes(b"".join(lines))
    items = list(read_paths([path]))
    assert sum(isinstance(i, Document) for i in items) == 11
    assert [(e.line, e.error) for e in items if isinstance(e, IngestError)] == [
        (12, "not UTF-8 text")
    ]
