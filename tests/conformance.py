"""Conformance tests every connector must pass (subclass and provide the fixtures).

class TestMyConnector(ConnectorConformance):
    @pytest.fixture
    def connector(self): return MyConnector()
    @pytest.fixture
    def good_file(self, tmp_path): return <a real sample file>
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from srmkb import Document, IngestError
from srmkb.connectors import Connector


class ConnectorConformance:
    @pytest.fixture
    def connector(self) -> Connector:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    @pytest.fixture
    def good_file(self, tmp_path: Path) -> Path:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def _read(self, connector: Connector, path: Path) -> tuple[list[Document], list[IngestError]]:
        items = list(connector.read(path))
        docs = [i for i in items if isinstance(i, Document)]
        errors = [i for i in items if isinstance(i, IngestError)]
        assert len(docs) + len(errors) == len(items), (
            "read() yields only Documents and IngestErrors"
        )
        return docs, errors

    def test_is_a_connector(self, connector):
        assert isinstance(connector, Connector)
        assert isinstance(connector.name, str) and connector.name

    def test_accepts_its_file(self, connector, good_file):
        assert connector.accepts(good_file)

    def test_reads_documents_with_text_and_source(self, connector, good_file):
        docs, errors = self._read(connector, good_file)
        assert docs, f"no documents from {good_file}: {errors}"
        for doc in docs:
            assert doc.full_text.strip() or doc.title.strip()
            assert doc.source, "a connector must say where a document came from"
            assert doc.visibility in ("public", "internal")

    def test_ids_are_unique_and_stable_across_runs(self, connector, good_file, tmp_path):
        first, _ = self._read(connector, good_file)
        ids = [d.id for d in first]
        assert len(ids) == len(set(ids))
        second, _ = self._read(connector, good_file)
        assert [d.id for d in second] == ids
        assert [d.content_hash() for d in second] == [d.content_hash() for d in first]

    def test_documents_survive_json_round_trip(self, connector, good_file):
        docs, _ = self._read(connector, good_file)
        for doc in docs:
            assert Document.from_json(doc.to_json()) == doc

    @pytest.mark.parametrize("damage", ["empty", "junk", "truncated", "missing"])
    def test_bad_input_is_reported_not_raised(self, connector, good_file, tmp_path, damage):
        bad = tmp_path / f"bad-{damage}{good_file.suffix}"
        if damage == "empty":
            bad.write_bytes(b"")
        elif damage == "junk":
            bad.write_bytes(bytes(range(256)) * 40)
        elif damage == "truncated":
            data = good_file.read_bytes()
            bad.write_bytes(data[: max(1, len(data) // 3)])
        else:
            bad = tmp_path / f"does-not-exist{good_file.suffix}"
        docs, errors = self._read(connector, bad)  # must not raise
        if damage in ("empty", "junk", "missing"):
            assert not docs and errors, f"{damage} input must be reported as an error"
            assert all(e.path == str(bad) for e in errors)

    def test_reading_does_not_modify_the_file(self, connector, good_file, tmp_path):
        copy = tmp_path / ("copy" + good_file.suffix)
        shutil.copyfile(good_file, copy)
        before = copy.read_bytes()
        self._read(connector, copy)
        assert copy.read_bytes() == before
