"""The registry: which connector reads which file, and the public names of connectors."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import srmkb.connectors as connectors
from srmkb.connectors import (
    Connector,
    CrmConnector,
    FaqConnector,
    HtmlConnector,
    JsonlConnector,
    PdfConnector,
    connector_for,
    kinds,
    read_paths,
    registered_connectors,
)

from ..conftest import ROOT

NIMBUS = ROOT / "examples" / "nimbus"
CONNECTORS = Path(connectors.__file__).parent


def test_all_is_sorted_complete_and_importable():
    assert connectors.__all__ == sorted(connectors.__all__)
    for name in connectors.__all__:
        assert getattr(connectors, name) is not None
    public = {
        name
        for name, value in vars(connectors).items()
        if (isinstance(value, type) or callable(value)) and not name.startswith("_")
    }
    assert public <= set(connectors.__all__)


def test_kinds_in_the_order_they_are_tried():
    assert kinds() == ("crm", "jsonl", "faq", "html", "pdf")
    made = registered_connectors()
    assert [c.name for c in made] == list(kinds())
    assert [type(c) for c in made] == [
        CrmConnector,
        JsonlConnector,
        FaqConnector,
        HtmlConnector,
        PdfConnector,
    ]
    for connector in made:
        assert isinstance(connector, Connector)
        assert connector.suffixes and all(s.startswith(".") for s in connector.suffixes)


def test_registered_connectors_take_the_root_and_a_choice_of_kinds(tmp_path: Path):
    html, pdf = registered_connectors(tmp_path, kinds=["pdf", "html"])
    assert (html.name, pdf.name) == ("html", "pdf")  # in the usual order, not the given one
    assert html.root == pdf.root == tmp_path.resolve()
    assert registered_connectors(kinds=[]) == []
    with pytest.raises(ValueError, match=r"unknown connector kind\(s\) docx; known: crm, "):
        registered_connectors(kinds=["pdf", "docx"])


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (ROOT / "examples" / "crm" / "cases.csv", "crm"),
        (ROOT / "examples" / "crm" / "cases.jsonl", "crm"),
        (NIMBUS / "articles.jsonl", "jsonl"),
        (NIMBUS / "faq.csv", "faq"),
        (NIMBUS / "help" / "mesh-faq.html", "faq"),
        (NIMBUS / "help" / "router-ports.html", "html"),
        (NIMBUS / "manual" / "nimbus-router-manual.pdf", "pdf"),
    ],
)
def test_connector_for_picks_by_suffix_and_content(path: Path, kind: str):
    connector = connector_for(path)
    assert connector is not None and connector.name == kind
    if kind in ("html", "pdf"):  # ids relative to the file's folder, as read_paths makes them
        assert connector.root == path.parent.resolve()


def test_connector_for_a_file_nobody_reads(tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not ours")
    assert connector_for(notes) is None
    assert connector_for(NIMBUS / "faq.csv", [JsonlConnector(), PdfConnector()]) is None
    faq = FaqConnector()
    assert connector_for(NIMBUS / "faq.csv", [CrmConnector(), faq]) is faq


def test_read_paths_reads_each_file_with_the_connector_for_it(tmp_path: Path):
    (tmp_path / "faq.json").write_text(
        json.dumps([{"question": "How do I pay?", "answer": "By card."}]), encoding="utf-8"
    )
    (tmp_path / "docs.jsonl").write_text('{"id": "a", "text": "x"}\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("skipped in a folder", encoding="utf-8")
    docs = list(read_paths([tmp_path]))
    assert sorted(d.metadata.get("source_type", "jsonl") for d in docs) == ["faq", "jsonl"]


def test_the_protocol_module_imports_no_connector():
    tree = ast.parse((CONNECTORS / "_base.py").read_text(encoding="utf-8"))
    imported = [
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
    ]
    assert imported == [], f"_base.py imports {imported} from connectors"
