"""End-to-end tests of each ``srmkb`` command, run as a user would run them."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..conftest import ROOT, shared_path, srmkb

EXAMPLES = ROOT / "examples" / "nimbus"


@pytest.fixture(scope="module")
def kb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "kb"
    out = srmkb("ingest", str(EXAMPLES), "--kb", str(path), "--model", "hashing", "--json", "-q")
    report = json.loads(out.stdout)
    # 12 + 5 JSONL documents, 4 CSV FAQ entries, 5 questions of an HTML FAQ page, 1 HTML
    # page, 1 PDF manual.
    assert report == {
        "added": 28,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "errors": [],
    }
    return path


def test_search_json(kb):
    out = srmkb("search", "flashing red light", "--kb", str(kb), "-k", "3", "--json")
    result = json.loads(out.stdout)
    hits = result["hits"]
    assert len(result["interaction_id"]) == 32
    assert len(hits) == 3 and hits[0]["document_id"] == "faq-blinking-red"
    for key in (
        "document_id",
        "passage_id",
        "title",
        "section",
        "url",
        "score",
        "snippet",
        "scores",
        "version",
    ):
        assert key in hits[0]


def test_search_audience_and_filters(kb):
    def ids(*extra):
        out = srmkb("search", "refund after 30 days exception", "--kb", str(kb), "--json", *extra)
        return [h["document_id"] for h in json.loads(out.stdout)["hits"]]

    assert "int-refund-exceptions" not in ids()
    assert ids("--audience", "agent")[0] == "int-refund-exceptions"
    assert set(ids("--filter", "category=billing")) <= {
        "faq-refund",
        "faq-warranty",
        "faq-subscription",
    }
    recent = ids(
        "--filter",
        "updated_at>=2026-06-01",
        "--filter",
        "updated_at<2026-07-01",
        "--audience",
        "agent",
    )
    assert set(recent) == {"int-outage-playbook", "faq-subscription"}


def test_search_human_output_and_sections(kb):
    out = srmkb("search", "hold the reset button with a paper clip", "--kb", str(kb), "-k", "1")
    assert "Factory reset a Nimbus router > Steps" in out.stdout
    assert "https://help.nimbus.example/articles/factory-reset" in out.stdout


def test_reingest_is_unchanged_and_sync_deletes(kb, tmp_path):
    out = srmkb("ingest", str(EXAMPLES), "--kb", str(kb), "--json", "-q")
    assert json.loads(out.stdout)["unchanged"] == 28
    src = tmp_path / "src"
    src.mkdir()
    lines = (EXAMPLES / "faq.jsonl").read_text().splitlines()
    (src / "faq.jsonl").write_text("\n".join(lines) + "\n")
    base = tmp_path / "kb2"
    srmkb("ingest", str(src), "--kb", str(base), "--model", "hashing", "-q")
    edited = json.loads(lines[0])
    edited["text"] += " Passwords must have 12 characters."
    (src / "faq.jsonl").write_text("\n".join([json.dumps(edited), *lines[1:-1]]) + "\n")
    out = srmkb("ingest", str(src), "--kb", str(base), "--sync", "--json", "-q")
    assert json.loads(out.stdout) == {
        "added": 0,
        "updated": 1,
        "deleted": 1,
        "unchanged": 10,
        "skipped": 0,
        "errors": [],
    }


def test_malformed_line_is_reported_and_loses_nothing(kb, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok1", "text": "fine"}\n{"id": "broken", \n{"id": "ok2"}\n')
    out = srmkb(
        "ingest",
        str(bad),
        str(tmp_path / "missing.jsonl"),
        "--kb",
        str(kb),
        "--json",
        "-q",
        check=False,
    )
    assert out.returncode == 3
    report = json.loads(out.stdout)
    assert report["added"] == 1
    errors = {(Path(e["path"]).name, e.get("line")) for e in report["errors"]}
    assert errors == {("bad.jsonl", 2), ("bad.jsonl", 3), ("missing.jsonl", None)}
    stats = json.loads(srmkb("stats", "--kb", str(kb), "--json").stdout)
    assert stats["documents"] == 29


def test_answer_json_and_text(kb):
    out = srmkb("answer", "hold the reset button with a paper clip", "--kb", str(kb), "--json")
    answer = json.loads(out.stdout)
    for key in ("answered", "confidence", "text", "document_id", "citations", "steps"):
        assert key in answer
    assert 0.0 <= answer["confidence"] <= 1.0
    out = srmkb("answer", "hold the reset button", "--kb", str(kb), "--channel", "voice")
    assert "http" not in out.stdout.split("\n[")[0]


def test_stats_json(kb):
    stats = json.loads(srmkb("stats", "--kb", str(kb), "--json").stdout)
    for key in ("documents", "passages", "model", "format_version", "size_bytes"):
        assert key in stats
    assert stats["model"] == "srmkb/hashing-256"


def test_errors_are_clear(tmp_path):
    out = srmkb("search", "x", "--kb", str(tmp_path / "none"), check=False)
    assert out.returncode == 1 and "no knowledge base" in out.stderr
    out = srmkb("search", "x", "--kb", str(tmp_path / "none"), "--json", check=False)
    assert json.loads(out.stdout)["type"] == "StorageError"


def test_eval_bm25_json():
    folder = shared_path("data", "beir", "hint3-sofmattress")
    out = srmkb("eval", str(folder), "--mode", "bm25", "--json", "-q")
    result = json.loads(out.stdout)
    for key in (
        "ndcg@10",
        "mrr@10",
        "recall@100",
        "latency_ms",
        "index_seconds",
        "n_docs",
        "n_queries",
    ):
        assert key in result
    assert result["model"] is None  # --mode bm25 builds no dense index
    assert result["n_docs"] == 21 and result["n_queries"] == 253
    assert result["ndcg@10"] > 0.83  # BASELINES.md: bm25s 0.802 without stemming
    assert set(result["latency_ms"]) == {"p50", "p95"}


@pytest.mark.parametrize(
    "args",
    [
        ["search", b"caf\xe9 au lait"],
        ["answer", b"\xff\xfe"],
        ["search", "x", "--filter", b"product=\xe9"],
        ["feedback", b"id\x80", "resolved"],
        ["ingest", b"folder-\xe9"],
    ],
    ids=["query", "question", "filter", "interaction id", "path"],
)
def test_undecodable_arguments_are_one_clear_line_not_a_traceback(kb, args):
    """Bytes that are not UTF-8 on the command line (a Latin-1 terminal, a bad script)."""
    proc = subprocess.run(
        [sys.executable, "-m", "srmkb.cli", *args, "--kb", str(kb)],
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srmkb: error: argument "), lines
    assert "not valid text" in lines[0] and "Traceback" not in lines[0]


def test_serve_customer_only_with_keys_and_limits_from_flags(kb, tmp_path):
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key": "cli-admin-key", "role": "admin"}]}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "srmkb.cli", "serve", "--kb", str(kb), "--port", str(port)]
    command += ["--audience", "customer", "--keys-file", str(keys), "--max-query-chars", "50"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.time() < deadline
                time.sleep(0.1)
        admin = {"X-API-Key": "cli-admin-key"}
        assert httpx.get(f"{url}/me", headers=admin).json() == {
            "role": "admin",
            "audience": "customer",
        }
        body = {"query": "refund after 30 days exception", "audience": "agent"}
        assert httpx.post(f"{url}/search", json=body, headers=admin).status_code == 403
        assert httpx.get(f"{url}/report", headers=admin).status_code == 404
        assert httpx.post(f"{url}/search", json={"query": "x" * 51}).status_code == 422
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert "customer server; keys: 1 admin" in err and "cli-admin-key" not in err


def test_a_file_name_that_is_not_utf8_is_reported_in_valid_json(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.jsonl")  # a Latin-1 file name on a UTF-8 system
    (folder / name).write_text('{"id": "a", "text": "hello"}\n')
    out = srmkb("ingest", str(folder), "--kb", str(tmp_path / "kb"), "--model", "hashing",
                "--json", "-q", check=False)  # fmt: skip
    assert out.returncode == 3
    report = json.loads(out.stdout)
    assert report["errors"][0]["path"].endswith("caf\udce9.jsonl")
    assert "lone surrogate" in report["errors"][0]["error"]


def test_help_describes_srmkb_in_whole_sentences():
    out = srmkb("--help")
    description = out.stdout.split("\n\n")[1]
    assert description.startswith("srmkb ") and description.rstrip().endswith(".")
    assert "--json" in description


def test_every_argument_of_every_command_has_help():
    import argparse

    from srmkb.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) == 13
    assert all(command.help for command in commands._choices_actions)
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in [("srmkb", parser), *commands.choices.items()]
        for action in command._actions
        if action is not commands and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"arguments without help: {missing}"


def test_stats_prints_aligned_name_value_lines(kb):
    lines = srmkb("stats", "--kb", str(kb)).stdout.splitlines()
    fields = dict(line.split(":", 1) for line in lines)
    assert {"documents", "passages", "languages", "model", "size_bytes"} <= set(fields)
    # The values start in one column, after the longest name and its colon.
    assert len({len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}) == 1
    assert fields["documents"].strip().isdigit()
    assert fields["model"].strip() == "srmkb/hashing-256"
    assert "{" not in "\n".join(lines) and "'" not in "\n".join(lines)


def test_a_closed_stdout_is_exit_1_without_a_traceback(kb):
    """``srmkb stats --kb X | head -1``: the reader is gone before srmkb writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "srmkb.cli", "stats", "--kb", str(kb)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_searching_an_empty_base_says_to_ingest_first(tmp_path):
    empty, base = tmp_path / "empty", tmp_path / "kb"
    empty.mkdir()
    srmkb("ingest", str(empty), "--kb", str(base), "--model", "hashing", "-q")
    out = srmkb("search", "reset my router", "--kb", str(base), check=False)
    assert out.returncode == 1 and out.stdout == ""
    assert "holds no documents yet" in out.stderr and "srmkb ingest" in out.stderr
    out = srmkb("search", "reset my router", "--kb", str(base), "--json", check=False)
    assert out.returncode == 1 and json.loads(out.stdout)["type"] == "StorageError"


def test_a_failed_ingest_leaves_no_base_behind(tmp_path):
    missing = srmkb("ingest", str(tmp_path / "nope"), "--kb", str(tmp_path / "a"), check=False)
    assert missing.returncode == 1 and "no such file or folder" in missing.stderr
    assert not (tmp_path / "a").exists()
    unknown = srmkb(
        "ingest",
        "examples/nimbus",
        "--kb",
        str(tmp_path / "b" / "kb"),
        "--model",
        "nope",
        check=False,
    )
    assert unknown.returncode == 1 and "unknown model" in unknown.stderr
    assert not (tmp_path / "b").exists()
