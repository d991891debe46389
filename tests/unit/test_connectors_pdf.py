"""The PDF connector on the shared real files: structure, reading order, noise, failures."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from srmkb import Document, IngestError
from srmkb.connectors import read_paths
from srmkb.connectors.pdf import PdfConnector, _iso_date
from srmkb.text.chunking import chunk_document

from ..conformance import ConnectorConformance
from ..conftest import ROOT, shared_path


@cache
def _read(path: Path) -> tuple[Document | IngestError, ...]:
    """Each shared file is read once per session; documents are frozen, so sharing is safe."""
    return tuple(PdfConnector().read(path))


def _doc(*parts: str) -> Document:
    items = _read(shared_path(*parts))
    docs = [i for i in items if isinstance(i, Document)]
    assert len(docs) == 1, items
    return docs[0]


def _page_text(doc: Document, page: int) -> str:
    return "\n\n".join(s.text for s in doc.sections if s.page == page)


def _raw_page_text(path: Path, index: int) -> str:
    pdf = pdfium.PdfDocument(path)
    try:
        return pdf[index].get_textpage().get_text_range()
    finally:
        pdf.close()


def _faq(lang: str) -> Document:
    return _doc("data", "docs", "debian-faq", lang, f"debian-faq.{lang}.pdf")


class TestPdfConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return PdfConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return shared_path("data", "docs", "pdfs", "issue-982-example.pdf")


# --- structure ---------------------------------------------------------------------------


def test_faq_answer_is_found_with_its_heading_path_and_page():
    doc = _faq("en")
    sections = [s for s in doc.sections if s.heading[-1:] == ("1.2 What is Debian GNU/Linux?",)]
    # The answer starts on physical page 9 and runs on to page 10: one section per page.
    assert [s.page for s in sections] == [9, 10]
    assert sections[0].heading == (
        "Chapter 1 Definitions and overview",
        "1.2 What is Debian GNU/Linux?",
    )
    assert sections[0].text.startswith(
        "Debian GNU/Linux is a particular distribution of the Linux operating system"
    )
    pronounce = [s for s in doc.sections if "pronounce Debian" in " ".join(s.heading[-1:])]
    assert [s.page for s in pronounce] == [11]
    assert "Ian Murdock, who founded the project" in pronounce[0].text


def test_page_reaches_the_passage_url():
    doc = _faq("en")
    passages = [
        p for p in chunk_document(doc) if p.section.endswith("1.2 What is Debian GNU/Linux?")
    ]
    assert passages and passages[0].page == 9
    assert passages[0].url == doc.url + "#page=9"


def test_document_fields():
    path = shared_path("data", "docs", "debian-faq", "en", "debian-faq.en.pdf")
    doc = _faq("en")
    assert doc.id == "debian-faq.en.pdf"
    assert doc.title == "The Debian GNU/Linux FAQ"
    assert doc.url == path.resolve().as_uri() and doc.source == str(path.resolve())
    assert doc.language is None  # no /Lang in this file
    assert doc.updated_at == "2022-05-31T11:29:35+00:00"  # no ModDate: CreationDate
    assert doc.metadata == {"source_type": "pdf", "pages": 73, "file": "debian-faq.en.pdf"}
    rooted = next(iter(PdfConnector(root=shared_path("data", "docs")).read(path)))
    assert isinstance(rooted, Document) and rooted.id == "debian-faq/en/debian-faq.en.pdf"


def test_headings_from_font_sizes_without_an_outline():
    doc = _doc("data", "docs", "pdfs", "word365_structure.pdf")
    assert doc.sections[0].heading == ("Titre",) and doc.title == "Titre"
    assert doc.sections[0].text.startswith("Lorem ipsum dolor")
    assert doc.language == "fr"


def test_words_hyphenated_at_line_ends_are_joined():
    text = _page_text(_faq("en"), 10)
    assert "value-added Linux distributions can be built" in text
    assert "\ufffe" not in "".join(s.text for s in _faq("en").sections)


def test_word_accuracy_against_the_html_edition(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # for its `_record` helper
    spec = importlib.util.spec_from_file_location(
        "pdf_accuracy", ROOT / "benchmarks" / "pdf_accuracy.py"
    )
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    shared_path("data", "docs", "debian-faq")
    for lang in ("en", "fr"):
        path = bench.FAQ / lang / f"debian-faq.{lang}.pdf"
        text, _ = bench.with_srmkb(path)
        scores = bench.scores(bench.reference_words(lang), bench.words(text))
        assert scores["words_correct"] >= 0.97, (lang, scores)
        assert scores["bigrams_correct"] >= 0.95, (lang, scores)


# --- reading order -----------------------------------------------------------------------


def test_two_columns_read_column_by_column():
    doc = _doc("data", "docs", "pdfs", "issue-982-example.pdf")
    text = " ".join(_page_text(doc, 2).split())
    left = (
        "Instead of learning the full connection between the input layer and the first hidden layer"
    )
    right = "Usually, the images are generated in iterations and in each iteration it is zoomed"
    assert left in text and right in text  # sentences across lines stay whole
    assert text.index("a lot more to say about machine learning") < text.index(left)
    assert text.index(left) < text.index("It has become famous in the internet") < text.index(right)
    first = " ".join(_page_text(doc, 1).split())
    # The sideways arXiv stamp in the margin does not cut into the column's lines.
    assert "imagination is “the ability to form pictures or ideas in your mind”" in first
    assert "arXiv:1601.03642v1 [cs.CV] 12 Jan 2016" in first


def test_three_columns_read_column_by_column():
    doc = _doc("data", "docs", "pdfs", "federal-register-2020-17221.pdf")
    text = " ".join(_page_text(doc, 2).split())
    first = "Investigation of the accident has been completed by the Indonesian authorities"
    second = (
        "The FAA sent Emergency AD 2018–23–51 to all known U.S. owners and operators of "
        "Boeing Model 737 MAX airplanes"
    )
    third = "and the Ethiopian Civil Aviation Authority (ECAA)"
    assert text.index(first) < text.index(second) < text.index(third)


def test_tables_read_row_by_row():
    doc = _doc("data", "docs", "pdfs", "WARN-Report-for-7-1-2015-to-03-25-2016.pdf")
    assert "Maxim Integrated Product San Jose 150 Closure Permanent" in doc.full_text


def test_turned_page_reads_like_an_upright_one(tmp_path: Path):
    source = shared_path("data", "docs", "pdfs", "issue-982-example.pdf")
    width, height = 595.276, 841.89

    def build(name: str, matrix: tuple[float, ...], size: tuple[float, float], turn: int) -> Path:
        src, out = pdfium.PdfDocument(source), pdfium.PdfDocument.new()
        obj = src.page_as_xobject(1, out).as_pageobject()
        obj.transform(pdfium.PdfMatrix(*matrix))
        page = out.new_page(*size)
        page.insert_obj(obj)
        page.gen_content()
        page.set_rotation(turn)
        out.save(tmp_path / name)
        return tmp_path / name

    upright = build("upright.pdf", (1, 0, 0, 1, 0, 0), (width, height), 0)
    turned = build("turned.pdf", (0, 1, -1, 0, height, 0), (height, width), 90)
    [a], [b] = list(PdfConnector().read(upright)), list(PdfConnector().read(turned))
    assert isinstance(a, Document) and isinstance(b, Document)
    assert a.full_text.split() == b.full_text.split()
    assert "It has become famous in the internet" in b.full_text


# --- noise removed -----------------------------------------------------------------------


def test_running_heads_page_numbers_and_contents_pages_are_dropped():
    path = shared_path("data", "docs", "debian-faq", "en", "debian-faq.en.pdf")
    doc = _faq("en")
    raw = _raw_page_text(path, 9)
    assert "CHAPTER 1. DEFINITIONS AND OVERVIEW" in raw and raw.rstrip().endswith("2")
    everything = doc.full_text
    assert "CHAPTER 1. DEFINITIONS AND OVERVIEW" not in everything
    assert not re.search(r"CHAPTER \d+\.", everything)
    for page, label in ((10, "2"), (11, "3"), (20, "12"), (41, "33")):
        assert not _page_text(doc, page).endswith(f" {label}"), page
    # The table of contents (pages 3 to 6) only repeats the outline.
    assert not {3, 4, 5, 6} & {s.page for s in doc.sections}
    assert ". . . . ." not in everything


def test_stamps_and_running_heads_of_a_journal_are_dropped():
    path = shared_path("data", "docs", "pdfs", "federal-register-2020-17221.pdf")
    raw = _raw_page_text(path, 2)
    assert "VerDate Sep<11>2014" in raw and "Federal Register / Vol. 85" in raw
    text = _doc("data", "docs", "pdfs", "federal-register-2020-17221.pdf").full_text
    for noise in ("VerDate", "Jkt 250001", "Sfmt 4702", "jbell", "Federal Register / Vol. 85"):
        assert noise not in text, noise


# --- French ------------------------------------------------------------------------------


def test_french_faq_accents():
    doc = _faq("fr")
    section = next(
        s for s in doc.sections if s.heading[-1:] == ("1.2 Qu’est-ce que Debian GNU/Linux ?",)
    )
    assert section.page == 9
    assert section.text.startswith(
        "Debian GNU/Linux est une distribution spécifique du système d’exploitation Linux"
    )
    text = doc.full_text
    assert text.count("é") > 1000 and "\ufffd" not in text
    assert unicodedata.is_normalized("NFC", text)
    assert not re.search(r"(^|\s)[\u0300-\u036f]", text)  # no accent left on its own


def test_french_minutes():
    doc = _doc("data", "docs", "pdfs", "2023-06-20-PV.pdf")
    assert doc.title.startswith("Comité de démolition - Procès-verbal")
    assert doc.language == "fr-CA"
    assert doc.updated_at == "2023-06-21T10:09:55-04:00"
    text = doc.full_text
    assert "COMITÉ DE DÉMOLITION" in text
    assert "Mme Ariane Bélanger, greffière adjointe" in text
    assert "la citation du Théâtre Sainte-Adèle à titre d’immeuble patrimonial" in text
    assert [s.page for s in doc.sections] == [1, 2]


# --- failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ocrmypdf_c02-22.pdf",
        "ocrmypdf_epson.pdf",
        "ocrmypdf_francais.pdf",
        "ocrmypdf_linn.pdf",
        "ocrmypdf_skew.pdf",
    ],
)
def test_scans_without_text_layer_are_reported(name: str):
    path = shared_path("data", "docs", "pdfs", name)
    [err] = list(PdfConnector().read(path))
    assert isinstance(err, IngestError) and err.path == str(path)
    assert "no text layer" in err.error and "OCR" in err.error


def _encrypted_pdf() -> bytes:
    """A one-page PDF under the standard security handler with an unknown user password."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /P -44 /O <%s> /U <%s> >>" % (b"11" * 32, b"22" * 32),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    ident = b"<" + b"ab" * 16 + b">"
    size = len(objects) + 1
    out += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt 4 0 R /ID [%s %s] >>\n" % (
        size,
        ident,
        ident,
    )
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (b"PK\x03\x04 a zip file, not a PDF" * 50, "not a PDF"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n", "damaged or invalid PDF"),
        ("truncated", "truncated PDF"),
        ("encrypted", "encrypted PDF"),
    ],
)
def test_bad_files_are_reported_with_path_and_reason(tmp_path: Path, content, reason: str):
    path = tmp_path / "bad.pdf"
    if content == "truncated":
        data = shared_path("data", "docs", "pdfs", "2023-06-20-PV.pdf").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "encrypted":
        path.write_bytes(_encrypted_pdf())
    elif content is not None:
        path.write_bytes(content)
    [err] = list(PdfConnector().read(path))
    assert isinstance(err, IngestError) and err.path == str(path)
    assert reason in err.error


def test_missing_pypdfium2_names_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "copy.pdf"
    shutil.copyfile(shared_path("data", "docs", "pdfs", "2023-06-20-PV.pdf"), path)
    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    monkeypatch.setitem(sys.modules, "pypdfium2.raw", None)
    [err] = list(PdfConnector().read(path))
    assert isinstance(err, IngestError) and "pip install" in err.error


def test_folder_of_pdfs_through_read_paths(tmp_path: Path):
    pdfs = shared_path("data", "docs", "pdfs")
    for name in ("2023-06-20-PV.pdf", "ocrmypdf_linn.pdf"):
        shutil.copyfile(pdfs / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not read")
    items = list(read_paths([tmp_path], connectors=[PdfConnector()]))
    assert [i.id for i in items if isinstance(i, Document)] == ["2023-06-20-PV.pdf"]
    assert [Path(i.path).name for i in items if isinstance(i, IngestError)] == ["ocrmypdf_linn.pdf"]


def test_accepts_pdf_suffix_only():
    connector = PdfConnector()
    assert connector.accepts(Path("a.PDF")) and connector.accepts(Path("dir/b.pdf"))
    assert not connector.accepts(Path("a.pdf.txt")) and not connector.accepts(Path("a.html"))


def test_pdf_dates():
    assert _iso_date("D:20230621100955-04'00'") == "2023-06-21T10:09:55-04:00"
    assert _iso_date("D:20160405140805Z00'00'") == "2016-04-05T14:08:05+00:00"
    assert _iso_date("D:20230621100955+05'30") == "2023-06-21T10:09:55+05:30"
    assert _iso_date("D:2023") == "2023-01-01T00:00:00"
    assert _iso_date("D:20231399") is None and _iso_date("yesterday") is None
    assert _iso_date(None) is None
