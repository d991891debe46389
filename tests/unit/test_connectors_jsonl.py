from pathlib import Path

import pytest

from srmkb import Document, IngestError
from srmkb.connectors import JsonlConnector, read_paths

from ..conformance import ConnectorConformance
from ..conftest import ROOT


def test_reads_documents_and_reports_bad_lines(tmp_path: Path):
    f = tmp_path / "docs.jsonl"
    f.write_text(
        '{"id": "a", "text": "x"}\n\n[1, 2]\n{"id": "b", "text": "y", "visibility": "nope"}\n{bad\n'
    )
    items = list(JsonlConnector().read(f))
    docs = [i for i in items if isinstance(i, Document)]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert [d.id for d in docs] == ["a"] and docs[0].source == str(f.resolve())
    assert [(e.line, e.path) for e in errors] == [(3, str(f)), (4, str(f)), (5, str(f))]
    assert "visibility" in errors[1].error and "malformed JSON" in errors[2].error


def test_binary_file_is_an_error_not_a_crash(tmp_path: Path):
    f = tmp_path / "junk.jsonl"
    f.write_bytes(b"\xff\xfe\x00garbage\x80")
    [err] = list(JsonlConnector().read(f))
    assert isinstance(err, IngestError) and "UTF-8" in err.error


def test_a_bad_byte_costs_only_its_line(tmp_path: Path):
    f = tmp_path / "docs.jsonl"
    f.write_bytes(
        b'{"id": "a", "text": "x"}\n'
        b'{"id": "b", "text": "caf\xe9"}\n'  # Latin-1
        b'{"id": "c", "text": "y"}\n'
        b'{"id": "d", "text": "\x00z"}\n'  # a raw control character: not JSON
    )
    items = list(JsonlConnector().read(f))
    assert [i.id for i in items if isinstance(i, Document)] == ["a", "c"]
    errors = [(e.line, e.error) for e in items if isinstance(e, IngestError)]
    assert errors[0] == (2, "not UTF-8 text")
    assert errors[1][0] == 4 and "malformed JSON" in errors[1][1]


def test_bad_lines_before_the_first_text_line_are_reported_in_order(tmp_path: Path):
    f = tmp_path / "docs.jsonl"
    f.write_bytes(b'\xff{"id": "a"}\n\x1a\x1b\n{"id": "b", "text": "x"}\n')
    items = list(JsonlConnector().read(f))
    errors = [(e.line, e.error) for e in items if isinstance(e, IngestError)]
    assert errors == [(1, "not UTF-8 text"), (2, "binary data, not text")]
    assert [i.id for i in items if isinstance(i, Document)] == ["b"]


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,  # its second line is valid UTF-8
        '{"id": "a", "text": "caf\u00e9"}\n'.encode("utf-16"),
        '{"id": "a", "text": "café"}\n'.encode("latin-1"),
    ],
    ids=["png", "utf-16", "latin-1"],
)
def test_a_file_without_a_line_of_text_is_one_error(tmp_path: Path, data):
    f = tmp_path / "junk.jsonl"
    f.write_bytes(data)
    [err] = list(JsonlConnector().read(f))
    assert isinstance(err, IngestError) and err.line == 1
    assert err.error.startswith("not UTF-8 text: binary data, or another encoding")


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"id": "bad", "text": "t", "sections": [{"text": "a", "page": "iv"}]}', "page"),
        ('{"id": "bad", "text": "t", "sections": [{"text": "a", "heading": 5}]}', "heading"),
        ('{"id": "bad", "text": "t", "sections": ["a plain string"]}', "an object"),
        ('{"id": "bad", "text": "A cut emoji: \\ud83d."}', "lone surrogate"),
        ('{"id": "bad", "text": "t", "sections": [{"text": "a", "page": 1e30}]}', "positive"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_a_bad_document_costs_only_its_line(tmp_path: Path, bad, message):
    f = tmp_path / "docs.jsonl"
    f.write_text(f'{{"id": "a", "text": "x"}}\n{bad}\n{{"id": "b", "text": "y"}}\n')
    items = list(JsonlConnector().read(f))
    assert [i.id for i in items if isinstance(i, Document)] == ["a", "b"]
    [err] = [i for i in items if isinstance(i, IngestError)]
    assert err.line == 2 and message in err.error


def test_read_paths_reports_files_a_connector_would_read_but_none_accepts(tmp_path: Path):
    (tmp_path / "good.jsonl").write_text('{"id": "good", "text": "A fine document."}\n')
    for name in ("empty.csv", "empty.json", "empty.yaml", "empty.yml", "empty.tsv"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "junk.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "contacts.csv").write_text("name,email\nAda,ada@example.com\n")
    (tmp_path / "cases.csv").write_bytes(  # a Latin-1 CRM export
        "case_id,status,subject,description\n7,closed,Café,Du café renversé\n".encode("latin-1")
    )
    for name in ("notes.txt", "readme.md", "logo.png"):  # not ours: skipped silently
        (tmp_path / name).write_bytes(b"\x89PNG\r\n\x1a\n" if name.endswith("png") else b"")
    items = list(read_paths([tmp_path]))
    assert [i.id for i in items if isinstance(i, Document)] == ["good"]
    errors = {Path(e.path).name: e.error for e in items if isinstance(e, IngestError)}
    assert sorted(errors) == [
        "cases.csv", "contacts.csv", "empty.csv", "empty.json", "empty.tsv", "empty.yaml",
        "empty.yml", "junk.csv",
    ]  # fmt: skip
    assert errors["empty.yaml"] == "no connector recognises this file: empty"
    assert errors["junk.csv"] == "no connector recognises this file: binary data, not text"
    assert errors["contacts.csv"] == (
        "no connector recognises this file: its content is not what the crm or faq connector reads"
    )
    assert "not utf-8-sig text" in errors["cases.csv"] and "encoding=" in errors["cases.csv"]


def test_read_paths_walks_folders_and_reports_missing(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.jsonl").write_text('{"id": "1", "text": "t"}\n')
    (tmp_path / "notes.txt").write_text("ignored in a folder")
    (tmp_path / ".hidden.jsonl").write_text('{"id": "h", "text": "t"}\n')
    items = list(read_paths([tmp_path, tmp_path / "nope.jsonl", tmp_path / "notes.txt"]))
    assert [i.id for i in items if isinstance(i, Document)] == ["1"]
    errors = [i for i in items if isinstance(i, IngestError)]
    assert [Path(e.path).name for e in errors] == ["nope.jsonl", "notes.txt"]


class TestJsonlConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return JsonlConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return ROOT / "examples" / "nimbus" / "faq.jsonl"
