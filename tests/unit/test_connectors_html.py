from __future__ import annotations

from pathlib import Path

import pytest

from srmkb import Document, IngestError
from srmkb.connectors.html import HtmlConnector
from srmkb.text.chunking import chunk_document

from ..conformance import ConnectorConformance
from ..conftest import ROOT, shared_path

SAMPLE = ROOT / "examples" / "nimbus" / "help" / "router-ports.html"


def _one(path: Path, connector: HtmlConnector | None = None) -> Document:
    items = list((connector or HtmlConnector()).read(path))
    assert len(items) == 1 and isinstance(items[0], Document), items
    return items[0]


def _section(doc: Document, heading_end: str):
    return next(s for s in doc.sections if s.heading and s.heading[-1] == heading_end)


class TestHtmlConformance(ConnectorConformance):
    @pytest.fixture
    def connector(self):
        return HtmlConnector()

    @pytest.fixture
    def good_file(self, tmp_path):
        return SAMPLE


def test_sample_page_sections_table_list_pre_and_canonical_url():
    doc = _one(SAMPLE, HtmlConnector(root=ROOT / "examples"))
    assert doc.id == "nimbus/help/router-ports.html"
    assert doc.title == "Ports on the Nimbus router"  # site name dropped from <title>
    assert doc.url == "https://help.nimbus.example/articles/router-ports"
    assert doc.language == "en" and doc.source == str(SAMPLE.resolve())
    assert doc.metadata == {"source_type": "html", "encoding": "utf-8"}
    assert [(s.heading, s.anchor) for s in doc.sections] == [
        ((), "content"),
        (("Ports",), "ports"),
        (("Giving a device a fixed address",), "ip-reservation"),
        (("Giving a device a fixed address", "From the command line"), "reservation-cli"),
    ]
    ports = _section(doc, "Ports").text.splitlines()
    assert ports[1:3] == ["Port | Colour | Use", "WAN | Blue | Cable to your modem or fibre box"]
    steps = _section(doc, "Giving a device a fixed address").text
    assert "\n1. In the Nimbus app, open Devices and choose the device.\n2. Tap Advanced" in steps
    assert _section(doc, "From the command line").text.endswith(
        "nimbus> dhcp reserve 192.168.1.40 aa:bb:cc:dd:ee:ff\n"
        "Reserved 192.168.1.40 for aa:bb:cc:dd:ee:ff"
    )
    text = doc.full_text
    for chrome in ("Skip to content", "Search help", "Router\n", "cookies", "helpful", "©"):
        assert chrome not in text


def test_debian_faq_question_sections_cite_their_anchors():
    path = shared_path("data", "docs", "debian-faq", "en", "basic-defs.en.html")
    doc = _one(path)
    assert doc.title == "Chapter 1. Definitions and overview" and doc.language == "en"
    assert doc.url == path.resolve().as_uri()
    section = _section(doc, "1.2. What is Debian GNU/Linux?")
    assert section.heading == ("1.2. What is Debian GNU/Linux?",)  # the h1 is the title
    assert section.anchor == "whatisdebian"
    assert section.text.startswith("Debian GNU/Linux is a particular distribution")
    assert "- full featured: Debian includes" in section.text  # list items as lines
    passages = chunk_document(doc)
    cited = {p.url for p in passages if p.section == "1.7. How does one pronounce Debian and "
             "what does this word mean?"}  # fmt: skip
    assert cited == {path.resolve().as_uri() + "#pronunciation"}
    # Navigation header and footer, and the chapter's table of contents, are gone.
    text = doc.full_text
    assert "Chapter 2. Getting and installing Debian" not in text
    assert "Table of Contents" not in text and "Prev" not in text
    assert text.count("What is Debian GNU/Linux?") == 0  # only in the heading, not a TOC


def test_debian_faq_nested_headings_give_paths():
    doc = _one(shared_path("data", "docs", "debian-faq", "en", "pkgtools.en.html"))
    section = _section(doc, "8.1.6.1. dpkg-deb")
    assert section.heading == (
        "8.1. What programs does Debian provide for managing its packages?",
        "8.1.6. Other package management tools",
        "8.1.6.1. dpkg-deb",
    )
    assert section.anchor == "dpkg-deb"


def test_french_pages_keep_their_accents_and_language():
    doc = _one(shared_path("data", "docs", "debian-faq", "fr", "basic-defs.fr.html"))
    assert doc.language == "fr" and doc.title == "Chapitre 1. Définitions et vue d'ensemble"
    section = _section(doc, "1.2. Qu'est-ce que Debian GNU/Linux ?")
    assert section.anchor == "whatisdebian"
    assert "distribution spécifique du système d'exploitation" in section.text
    help_page = shared_path(
        "data", "docs", "html-help", "libreoffice-help", "fr", "shared_doc_autosave.html"
    )
    doc = _one(help_page)
    assert doc.title == "Enregistrement automatique des documents" and doc.language == "fr"
    assert "informations de récupération automatique" in doc.full_text
    assert not any(bad in doc.full_text for bad in ("Ã", "â€", "\ufffd"))


def test_help_page_table_is_readable_and_chrome_is_gone():
    path = shared_path(
        "data", "docs", "html-help", "libreoffice-help", "en-US", "shared_doc_save.html"
    )
    doc = _one(path)
    assert doc.url.startswith("file://")  # its <base href="../../../../"> is no address
    lines = _section(doc, "Automatic extension to the file name").text.splitlines()
    header = "You enter this file name | You select this file type | File is saved with this name"
    assert header in lines
    assert "my file.txt | Text (.txt) | my file.txt" in lines
    # Both key names that a script chooses between, not "CommandCtrl".
    assert "press the shortcut keys Command / Ctrl+S" in doc.full_text
    for chrome in ("LibreOffice 7.4 Help", "Help content debug info", "Related Topics", "Module"):
        assert chrome not in doc.full_text


def test_xhtml_self_closing_anchor_does_not_swallow_the_page(tmp_path: Path):
    page = tmp_path / "ch.fr.html"
    page.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>Chapitre 1</title></head><body>"
        '<h1><a id="ch1"/>Chapitre 1</h1><p>Intro.</p>'
        '<div class="section"><h2><a id="s1"/>1.1. Console</h2><p>Texte.</p></div>'
        "</body></html>",
        encoding="utf-8",
    )
    doc = _one(page)
    assert doc.language == "fr"  # from the file name: no lang attribute
    assert [(s.heading, s.anchor, s.text) for s in doc.sections] == [
        ((), "ch1", "Intro."),
        (("1.1. Console",), "s1", "Texte."),
    ]


def test_xhtml_manual_chapter_anchors_point_at_their_own_section():
    # DocBook writes <a id="x"/>; read as HTML5 without care, each heading would take
    # the previous section's anchor.
    path = shared_path("data", "docs", "html-help", "debian-reference-fr", "ch01.fr.html")
    doc = _one(path)
    assert doc.language == "fr" and doc.title == "Chapitre 1. Didacticiels GNU/Linux"
    anchors = {s.heading[-1]: s.anchor for s in doc.sections if s.heading}
    assert anchors["1.1.1. L’invite de l’interpréteur de commandes"] == "_the_shell_prompt"
    assert anchors["1.1.12. Configuration de sudo"] == "_sudo_configuration"


@pytest.mark.parametrize(
    ("declaration", "encoding"),
    [
        ('<meta charset="iso-8859-1">', "latin-1"),
        ('<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">', "cp1252"),
        ("", "cp1252"),  # nothing declared: not UTF-8, so detected
        ('<meta charset="utf-8">', "cp1252"),  # declared wrongly
        ('<meta charset="iso-8859-1">', "utf-8"),  # declared wrongly the other way
        ("", "utf-16"),  # with its BOM
    ],
)
def test_legacy_and_mislabelled_encodings_decode_right(tmp_path: Path, declaration, encoding):
    body = "Réseau : où trouver l'élève ? Ça coûte 5 € ; garçon, naïve, Noël"
    if encoding == "latin-1":
        body = body.replace("€", "EUR")
    page = tmp_path / "page.html"
    head = f"<head>{declaration}<title>Aide réseau</title></head>"
    html = f"<html>{head}<body><p>{body}</p></body></html>"
    page.write_bytes(html.encode(encoding))
    doc = _one(page)
    assert doc.title == "Aide réseau"
    assert doc.full_text == body


def test_pages_without_content_or_text_are_errors(tmp_path: Path):
    chrome_only = tmp_path / "nav.html"
    chrome_only.write_text("<html><body><nav><a href='/'>Home</a></nav><footer>©</footer></body>")
    plain = tmp_path / "plain.htm"
    plain.write_text("just some words, no markup at all")
    blank = tmp_path / "blank.html"
    blank.write_text("   \n")
    for path, reason in ((chrome_only, "no text"), (plain, "no HTML"), (blank, "empty")):
        [error] = list(HtmlConnector().read(path))
        assert isinstance(error, IngestError) and error.path == str(path)
        assert reason in error.error


def test_all_shared_pages_read_into_sectioned_documents():
    folder = shared_path("data", "docs")
    files = sorted(folder.glob("debian-faq/*/*.html")) + sorted(folder.glob("html-help/**/*.html"))
    assert len(files) >= 50
    connector = HtmlConnector(root=folder)
    docs = [item for path in files for item in connector.read(path)]
    assert [d for d in docs if not isinstance(d, Document)] == []
    assert len({d.id for d in docs}) == len(files)  # en-US/ and fr/ share file names
    sections = [s for d in docs for s in d.sections]  # type: ignore[union-attr]
    assert len(sections) > 500
    assert sum(1 for s in sections if not s.anchor) <= 2
