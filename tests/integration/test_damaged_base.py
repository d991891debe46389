"""A damaged base is refused with a clear error and never wiped; a damaged log or cache
never blocks search; a full disk is a clear error and leaves the base as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

from srmkb import (
    DiskFullError,
    Document,
    HashingEmbedder,
    KnowledgeBase,
    StorageError,
    check_base,
)
from tests.conftest import srmkb

DOCS = [
    Document(id="wifi", title="Change the Wi-Fi password", text="Open the app, pick Wi-Fi."),
    Document(id="reset", title="Factory reset", text="Hold the reset button for ten seconds."),
    Document(
        id="notes",
        title="Escalation notes",
        text="Internal: escalate router faults to tier two.",
        visibility="internal",
    ),
]


def _files(root: Path) -> dict[str, str]:
    """Every file under ``root`` (SQLite's transient -wal/-shm files aside) and its hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def _segment_files(root: Path) -> dict[str, str]:
    return {k: v for k, v in _files(root).items() if k.startswith("segments/")}


@pytest.fixture
def base(tmp_path: Path) -> Path:
    path = tmp_path / "kb"
    with KnowledgeBase(path, model="hashing") as kb:
        kb.upsert(DOCS[:2])
        kb.upsert(DOCS[2:])
        kb.search("wifi password")  # a logged interaction
    return path


def _one_segment(path: Path) -> Path:
    return next(p for p in (path / "segments").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("damage", ["missing", "empty", "garbage"])
def test_a_damaged_catalog_is_refused_and_nothing_is_deleted(base: Path, damage: str) -> None:
    catalog = base / "catalog.sqlite"
    for extra in ("catalog.sqlite-wal", "catalog.sqlite-shm"):
        (base / extra).unlink(missing_ok=True)
    if damage == "missing":
        catalog.unlink()
    elif damage == "empty":
        catalog.write_bytes(b"")
    else:
        catalog.write_bytes(b"this is not a database " * 100)
    before = _files(base)
    assert _segment_files(base)
    with pytest.raises(StorageError, match=r"catalog\.sqlite"):
        KnowledgeBase(base)
    proc = srmkb("stats", "--kb", str(base), check=False)
    assert proc.returncode != 0 and "catalog.sqlite" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = srmkb("search", "wifi", "--kb", str(base), check=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert _files(base) == before  # no segment deleted, no catalog created or truncated
    report = check_base(base)
    assert not report.ok and not report.searchable
    assert any(p.part == "catalog" for p in report.problems)


def test_a_missing_manifest_is_not_taken_for_a_new_base(base: Path) -> None:
    (base / "manifest.json").unlink()
    before = _files(base)
    with pytest.raises(StorageError, match=r"manifest\.json"):
        KnowledgeBase(base, model="hashing")
    assert _files(base) == before


@pytest.mark.parametrize(
    ("name", "damage"),
    [("dense.faiss", "truncate"), ("lexical_tf.npy", "remove"), ("passage_ids.npy", "truncate")],
)
def test_a_damaged_segment_file_is_named(base: Path, name: str, damage: str) -> None:
    target = _one_segment(base) / name
    if damage == "remove":
        target.unlink()
    else:
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    before = _files(base)
    with pytest.raises(StorageError, match=name.replace(".", r"\.")):
        KnowledgeBase(base)
    assert _files(base) == before
    problems = check_base(base).problems
    assert any(p.part == "segment" and not p.rebuildable for p in problems)


def test_check_finds_a_changed_byte_through_the_checksums(base: Path) -> None:
    assert check_base(base).ok
    target = _one_segment(base) / "lexical_tf.npy"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, still loads: only the checksum tells
    target.write_bytes(bytes(data))
    report = check_base(base)
    assert not report.ok
    assert "lexical_tf.npy" in report.problems[0].message
    with KnowledgeBase(base) as kb:
        assert kb.check().to_json()["ok"] is False


@pytest.mark.parametrize("name", ["interactions.sqlite", "embeddings.sqlite"])
def test_a_damaged_log_or_cache_never_blocks_search(base: Path, name: str) -> None:
    for extra in (f"{name}-wal", f"{name}-shm"):
        (base / extra).unlink(missing_ok=True)
    (base / name).write_bytes(b"garbage " * 512)
    with KnowledgeBase(base) as kb:
        hits = kb.search("factory reset button")
        assert hits[0].document_id == "reset"
        answer = kb.answer("How do I reset it?")
        assert answer.question == "How do I reset it?"
        kb.upsert([Document(id="new", text="A new article about cables.")])
        assert kb.search("cables")[0].document_id == "new"
        report = kb.check()
    assert report.searchable and not report.ok
    (problem,) = report.problems
    assert problem.path.endswith(name) and problem.rebuildable and not problem.blocks_search
    assert (base / name).read_bytes() == b"garbage " * 512  # left for the operator


def test_writes_never_delete_a_folder_the_catalog_does_not_mark(base: Path) -> None:
    stray = base / "segments" / "0123456789abcdef"
    stray.mkdir()
    (stray / "keep.txt").write_text("not srmkb's")
    with KnowledgeBase(base) as kb:
        kb.upsert([Document(id=f"d{i}", text=f"text {i}") for i in range(3)])
        kb.optimize()
    assert (stray / "keep.txt").read_text() == "not srmkb's"
    assert any(p.part == "stray" for p in check_base(base).problems)


def test_merged_segments_are_collected(base: Path) -> None:
    with KnowledgeBase(base) as kb:
        kb.optimize()
        live = {p.name for p in (base / "segments").iterdir()}
        assert len(live) == 1  # the two merged ones are gone
        assert kb.check().ok


def test_optimize_and_writes_after_another_process_committed(base: Path) -> None:
    kb = KnowledgeBase(base)
    kb.search("wifi")
    code = (
        "from srmkb import KnowledgeBase, Document\n"
        f"kb = KnowledgeBase({str(base)!r})\n"
        "kb.upsert([Document(id='other', text='Written by another process about modems.')])\n"
    )
    subprocess.run([os.sys.executable, "-c", code], check=True, timeout=120)
    kb.optimize()  # merged the other process's segment too (was a KeyError)
    assert kb.search("modems")[0].document_id == "other"
    kb.upsert([Document(id="more", text="More about routers.")])
    assert len(kb) == 5 and kb.check().ok
    kb.close()


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    return done.returncode == 0


def test_a_full_disk_is_a_clear_error_and_the_base_stays_whole(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    if not _mount_tmpfs(mount, "3m"):
        pytest.skip("needs root to mount a small tmpfs")
    try:
        path = mount / "kb"
        kb = KnowledgeBase(path, model=HashingEmbedder(dimension=64))
        kb.upsert(DOCS)
        before = [h.passage_id for h in kb.search("router reset wifi", audience="agent")]
        rng = np.random.default_rng(0)
        words = [uuid.UUID(int=int(x)).hex for x in rng.integers(0, 2**62, 3000)]
        big = [
            Document(id=f"big{i}", text=" ".join(words[(i * 50) % 2900 :][:50]) * 8)
            for i in range(400)
        ]
        with pytest.raises(DiskFullError, match="no space left"):
            kb.upsert(big, batch_size=400)
        assert [h.passage_id for h in kb.search("router reset wifi", audience="agent")] == before
        assert len(kb) == 3
        kb.close()
        reopened = KnowledgeBase(path, model=HashingEmbedder(dimension=64))
        assert len(reopened) == 3
        assert [
            h.passage_id for h in reopened.search("router reset wifi", audience="agent")
        ] == before
        report = reopened.check()
        assert report.searchable, report.to_json()
        reopened.close()
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_the_check_command(base: Path) -> None:
    done = srmkb("check", "--kb", str(base))
    assert done.returncode == 0 and "ok" in done.stdout
    (_one_segment(base) / "lexical_rows.npy").unlink()
    before = _files(base)
    done = srmkb("check", "--kb", str(base), check=False)
    assert done.returncode == 1 and "lexical_rows.npy is missing" in done.stdout
    assert "blocks search" in done.stdout
    import json

    data = json.loads(srmkb("check", "--kb", str(base), "--json", check=False).stdout)
    assert data["ok"] is False and data["searchable"] is False
    assert _files(base) == before
    missing = srmkb("check", "--kb", str(base / "nope"), check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
