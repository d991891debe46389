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
