"""End-to-end tests of each ``srmkb`` command, run as a user would run them."""

import datetime as dt
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
    out = srmkb("ingest", str(bad), "--kb", str(kb), "--json", "-q", check=False)
    assert out.returncode == 3
    report = json.loads(out.stdout)
    assert report["added"] == 1
    errors = {(Path(e["path"]).name, e.get("line")) for e in report["errors"]}
    assert errors == {("bad.jsonl", 2), ("bad.jsonl", 3)}
    stats = json.loads(srmkb("stats", "--kb", str(kb), "--json").stdout)
    assert stats["documents"] == 29


def test_a_missing_path_is_an_error_before_anything_is_written(kb, tmp_path):
    """A typo among the paths stops the ingest before it reads the others: an ingest
    that went ahead would, with --sync, delete what the misspelt path holds."""
    extra = tmp_path / "extra.jsonl"
    extra.write_text('{"id": "extra", "text": "not to be ingested"}\n')
    before = json.loads(srmkb("stats", "--kb", str(kb), "--json").stdout)
    missing = str(tmp_path / "missing.jsonl")
    out = srmkb("ingest", str(extra), missing, "--kb", str(kb), "--sync", "--json", check=False)
    assert out.returncode == 1
    error = json.loads(out.stdout)
    assert error["type"] == "InputError" and f"no such file or folder: {missing}" in error["error"]
    after = json.loads(srmkb("stats", "--kb", str(kb), "--json").stdout)
    assert after["documents"] == before["documents"]


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
    assert len(commands.choices) == 14
    assert all(command.help for command in commands._choices_actions)
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in [("srmkb", parser), *commands.choices.items()]
        for action in command._actions
        if action is not commands and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert not missing, f"arguments without help: {missing}"


def test_every_help_text_is_a_sentence_that_states_the_default():
    import argparse

    from srmkb.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    texts = [("srmkb", parser.description)]
    texts += [(c.dest, c.help) for c in commands._choices_actions]
    for name, command in commands.choices.items():
        texts.append((name, command.description))
        for action in command._actions:
            help_text = action.help % {"default": action.default}
            texts.append((f"{name} {action.option_strings or action.dest}", help_text))
            if action.default not in (None, False, [], argparse.SUPPRESS):
                assert f"(default: {action.default})" in help_text, (name, help_text)
    bad = [
        (name, text)
        for name, text in texts
        if not (text[0].isupper() or text.startswith("srmkb")) or not text.endswith(".")
    ]
    assert not bad, f"help that is not a sentence: {bad}"
    out = srmkb("ingest", "--help").stdout
    assert "How many documents are committed together (default: 256)." in " ".join(out.split())


def test_mcp_help_and_the_audience_from_the_command_line():
    out = srmkb("mcp", "--help")
    text = " ".join(out.stdout.split())
    assert "--audience {customer,agent}" in text and "(default: customer)" in text
    assert "--transport {stdio,streamable-http}" in text and "never by a tool call" in text
    bad = srmkb("mcp", "--kb", "x", "--audience", "admin", check=False)
    assert bad.returncode == 2 and "invalid choice: 'admin'" in bad.stderr


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
    proc = _closed_stdout("stats", "--kb", str(kb))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr


def test_searching_an_empty_base_says_to_ingest_first(tmp_path):
    empty, base = tmp_path / "empty", tmp_path / "kb"
    empty.mkdir()
    srmkb("ingest", str(empty), "--kb", str(base), "--model", "hashing", "-q")
    out = srmkb("search", "reset my router", "--kb", str(base), check=False)
    assert out.returncode == 1 and out.stdout == ""
    assert "the base is empty" in out.stderr and "srmkb ingest" in out.stderr
    out = srmkb("search", "reset my router", "--kb", str(base), "--json", check=False)
    assert out.returncode == 1 and json.loads(out.stdout)["type"] == "StorageError"
    out = srmkb("answer", "how do I reset my router", "--kb", str(base), check=False)
    assert out.returncode == 1 and "the base is empty" in out.stderr


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


def _closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``srmkb`` with a stdout whose reader is gone (``srmkb ... | head -1``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "srmkb.cli", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write)


def test_a_search_piped_into_head_ends_without_a_traceback(kb):
    proc = _closed_stdout("search", "router light", "--kb", str(kb), "-k", "10")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    head = subprocess.run(
        f"{sys.executable} -m srmkb.cli search 'router light' --kb {kb} -k 10 | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert head.stdout.startswith(" 1. [") and head.stdout.count("\n") == 1
    assert "Traceback" not in head.stderr


def test_collapse_gives_one_hit_per_document(kb):
    def ids(*extra):
        out = srmkb("search", "router", "--kb", str(kb), "-k", "8", "--json", *extra)
        return [h["document_id"] for h in json.loads(out.stdout)["hits"]]

    assert len(set(ids())) < 8  # the manual and the help pages hold several passages each
    collapsed = ids("--collapse")
    assert len(collapsed) == len(set(collapsed)) == 8


def test_a_filter_on_an_unknown_field_names_the_known_ones(kb):
    out = srmkb("search", "refund", "--kb", str(kb), "--filter", "categroy=billing", check=False)
    assert out.returncode == 1 and out.stdout == ""
    assert "'categroy'" in out.stderr and "did you mean 'category'" in out.stderr
    out = srmkb("search", "refund", "--kb", str(kb), "--filter", "categroy=billing", "--json",
                check=False)  # fmt: skip
    assert json.loads(out.stdout)["type"] == "FilterError"


def test_ingest_shows_a_progress_bar_with_a_total(tmp_path):
    out = srmkb("ingest", str(EXAMPLES), "--kb", str(tmp_path / "kb"), "--model", "hashing")
    assert "/28 [" in out.stderr and "0doc " not in out.stderr
    assert out.stdout.startswith("28 added")


def test_report_and_as_of_read_relative_dates(kb):
    out = srmkb("report", "--kb", str(kb), "--since", "last week", "--until", "today", "--json")
    period = json.loads(out.stdout)["period"]
    today = dt.datetime.now(dt.timezone.utc).date()
    assert period["since"].startswith((today - dt.timedelta(days=7)).isoformat())
    assert period["until"].startswith((today + dt.timedelta(days=1)).isoformat())
    out = srmkb("report", "--kb", str(kb), "--since", "2026-03-01", "--until", "2026-03-31",
                "--json")  # fmt: skip
    assert json.loads(out.stdout)["period"]["until"].startswith("2026-04-01")
    hits = json.loads(
        srmkb("search", "router", "--kb", str(kb), "--as-of", "3 days ago", "--json").stdout
    )["hits"]
    assert hits == []  # three days ago, the base did not exist
    for option in ("--since", "--until"):
        bad = srmkb("report", "--kb", str(kb), option, "blah", check=False)
        assert bad.returncode == 1
        assert f"{option}: cannot read 'blah' as a date" in bad.stderr
        assert "Traceback" not in bad.stderr and f"{option[2:]} 'blah'" not in bad.stderr
    bad = srmkb("search", "router", "--kb", str(kb), "--as-of", "someday", check=False)
    assert "--as-of: cannot read 'someday' as a date" in bad.stderr and "as_of" not in bad.stderr


def test_mcp_serves_with_the_operators_audience(monkeypatch, tmp_path):
    import types

    from srmkb.cli import main

    calls = []
    fake = types.SimpleNamespace(serve=lambda path, **options: calls.append((path, options)))
    monkeypatch.setitem(sys.modules, "srmkb.integrations.mcp", fake)
    argv = ["mcp", "--kb", str(tmp_path), "--audience", "agent", "--transport", "streamable-http"]
    assert main([*argv, "--port", "9001"]) == 0
    assert calls == [
        (
            str(tmp_path),
            {
                "audience": "agent",
                "transport": "streamable-http",
                "host": "127.0.0.1",
                "port": 9001,
            },
        )
    ]


def test_mcp_without_its_extra_says_what_to_install(monkeypatch, tmp_path, capsys):
    from srmkb.cli import main

    monkeypatch.setitem(sys.modules, "srmkb.integrations.mcp", None)  # as if not installed
    assert main(["mcp", "--kb", str(tmp_path)]) == 1
    assert "pip install 'srmkb[mcp]'" in capsys.readouterr().err


def test_a_sharded_base_from_ingest_to_check(kb, tmp_path):
    """``--shards`` makes a sharded base; every command then uses it as one base."""
    path, single = tmp_path / "sharded", tmp_path / "single"
    args = ("--kb", str(path))
    srmkb("ingest", str(EXAMPLES), "--kb", str(single), "--model", "hashing", "-q")
    out = srmkb(
        "ingest", str(EXAMPLES), *args, "--shards", "3", "--model", "hashing", "--json", "-q"
    )
    assert json.loads(out.stdout)["added"] == 28
    again = srmkb("ingest", str(EXAMPLES), *args, "--json", "-q")  # an existing base: no model
    assert json.loads(again.stdout)["unchanged"] == 28
    for query in ("flashing red light", "refund after 30 days exception"):
        found = json.loads(srmkb("search", query, *args, "--json").stdout)["hits"]
        expected = json.loads(srmkb("search", query, "--kb", str(single), "--json").stdout)["hits"]
        assert [(h["passage_id"], h["score"]) for h in found] == [
            (h["passage_id"], h["score"]) for h in expected
        ]
    stats = json.loads(srmkb("stats", *args, "--json").stdout)
    assert stats["shards"] == 3 and stats["documents"] == 28 and sum(stats["shard_documents"]) == 28
    assert json.loads(srmkb("check", *args, "--json").stdout)["ok"]
    (path / "shard-001" / "catalog.sqlite").write_bytes(b"not a database")
    broken = srmkb("check", *args, check=False)
    assert broken.returncode == 1 and "shard-001" in broken.stdout
    refused = srmkb("ingest", str(EXAMPLES), "--kb", str(kb), "--shards", "2", check=False)
    assert refused.returncode != 0 and "ordinary base" in refused.stderr
