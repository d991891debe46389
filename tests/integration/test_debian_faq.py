"""Questions answered by a known Debian FAQ section find it in the top 3, with url#anchor
for HTML and the page number for PDF.

The base holds the English Debian FAQ twice over: its HTML chapters and its PDF edition
(``/work/shared/data/docs/debian-faq/en``), embedded with the real model. Questions are
phrased as a customer would ask them, not as the FAQ's headings put them. Each is
searched within one edition (``source_type`` filter, applied before the top k), so the
HTML and PDF copies of a section don't crowd each other out of the top 3.

The expected PDF pages were read off the PDF (1-based physical pages; the PDF prints no
page labels before them); :func:`test_expected_pages_are_where_pypdf_finds_the_headings`
checks them with a second, independent extractor, pypdf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from srmkb import Document, Hit, KnowledgeBase
from srmkb.connectors import read_paths

from ..conftest import shared_path

pytestmark = pytest.mark.slow

PDF = "debian-faq.en.pdf"


@dataclass(frozen=True)
class Case:
    question: str
    chapter: str  # the HTML chapter's file, which is its document id
    anchor: str
    number: str  # the section's number, as both editions print it
    heading: str  # the section's heading, as printed
    page: int  # the PDF page the section's heading is printed on
    bm25: bool  # whether BM25 alone also puts it in the top 3 (see the note below)
    last_page: int | None = None  # the page the section ends on, when it runs over

    @property
    def pages(self) -> range:
        return range(self.page, (self.last_page or self.page) + 1)


# BM25 alone misses two of these (hybrid and dense find them): the first is all common
# words ("is it", "what", "an") with only "debian" and "operating" left to match, and
# "operating system" is not in section 1.2; in the third, "file" and "package" are in
# nearly every section of chapters 7 to 9 and section 8.5 never says "come from".
CASES = [
    Case(
        "what exactly is debian, is it an operating system?",
        "basic-defs.en.html", "whatisdebian", "1.2", "What is Debian GNU/Linux?", 9, False,
        last_page=10,  # its list runs over to page 10, where 1.3 starts
    ),
    Case(
        "how do I hold back a package so it doesn't get upgraded",
        "pkg-basics.en.html", "puttingonhold", "7.12", "How do I put a package on hold?", 40,
        True,
    ),
    Case(
        "which package does a given file on my system come from?",
        "pkgtools.en.html", "filesearch", "8.5",
        "How can I find out what package produced a particular file?", 47, False,
    ),
    Case(
        "is it safe to remove an old kernel I no longer use",
        "kernel.en.html", "removeoldkernel", "10.4",
        "Can I safely de-install an old kernel package, and if so, how?", 53, True,
    ),
    Case(
        "where do I file a bug report for debian",
        "support.en.html", "bugreport", "12.5", "How do I report a bug in Debian?", 64, True,
    ),
    Case(
        "how do you say the word Debian and where does the name come from",
        "basic-defs.en.html", "pronunciation", "1.7",
        "How does one pronounce Debian and what does this word mean?", 11, True,
    ),
    Case(
        "how do I find out what packages are already installed on my computer",
        "pkgtools.en.html", "whatpackages", "8.3",
        "How can I tell what packages are already installed on a Debian system?", 47, True,
    ),
    Case(
        "I have several computers, can I download the updates only once",
        "uptodate.en.html", "aptcacher", "9.6",
        "I have several machines; how can I download the updates only one time?", 51, True,
    ),
    Case(
        "which version of debian is the latest",
        "getting-debian.en.html", "version", "2.1", "What is the latest version of Debian?", 13,
        True,
    ),
    Case(
        "my wireless network card doesn't work with linux, what can I do",
        "software.en.html", "nonfreewireless", "5.14",
        "I have a wireless network card which doesn't work with Linux. What should I do?", 28,
        True,
    ),
]  # fmt: skip

PARAMS = [
    pytest.param(case, mode, id=f"{case.anchor}-{mode}")
    for case in CASES
    for mode in ("hybrid", "bm25")
    if mode == "hybrid" or case.bm25
]


@pytest.fixture(scope="module")
def folder() -> Path:
    return shared_path("data", "docs", "debian-faq", "en")


@pytest.fixture(scope="module")
def kb(tmp_path_factory, minilm, folder):
    items = list(read_paths([folder]))
    assert [i for i in items if not isinstance(i, Document)] == []
    base = KnowledgeBase(tmp_path_factory.mktemp("debian-faq") / "kb", model=minilm)
    report = base.upsert(items)
    # 16 HTML chapters, the HTML index page and the PDF edition.
    assert len(report.added) == 18 and PDF in report.added
    yield base
    base.close()


def _number(hit: Hit) -> str:
    """The number of the hit's innermost section: "7.12" from "... > 7.12. How do I ..."."""
    last = hit.section.split(" > ")[-1]
    match = re.match(r"(\d+(?:\.\d+)*)\.?\s", last)
    return match.group(1) if match else ""


def _show(hits: list[Hit]) -> str:
    return "\n".join(f"  {h.url.rsplit('/', 1)[-1]} p{h.page} [{h.section[-70:]}]" for h in hits)


@pytest.mark.parametrize("case, mode", PARAMS)
def test_html_section_in_top_3_with_anchor(kb, folder, case, mode):
    hits = kb.search(case.question, k=3, mode=mode, filters={"source_type": "html"})
    found = [h for h in hits if h.document_id == case.chapter and _number(h) == case.number]
    assert found, f"{case.question!r} ({mode}) missed {case.chapter}#{case.anchor}:\n{_show(hits)}"
    hit = found[0]
    assert hit.url == (folder / case.chapter).resolve().as_uri() + f"#{case.anchor}"
    assert hit.section.split(" > ")[-1] == f"{case.number}. {case.heading}"
    assert hit.page is None and hit.metadata["source_type"] == "html"


@pytest.mark.parametrize("case, mode", PARAMS)
def test_pdf_section_in_top_3_with_page(kb, folder, case, mode):
    hits = kb.search(case.question, k=3, mode=mode, filters={"source_type": "pdf"})
    assert hits and all(h.document_id == PDF for h in hits)
    found = [h for h in hits if _number(h) == case.number]
    assert found, f"{case.question!r} ({mode}) missed PDF section {case.number}:\n{_show(hits)}"
    hit = found[0]
    assert hit.page in case.pages, _show(hits)
    assert hit.url == (folder / PDF).resolve().as_uri() + f"#page={hit.page}"
    # The PDF prints "’" where the HTML has "'".
    assert hit.section.split(" > ")[-1].replace("’", "'") == f"{case.number} {case.heading}"


def test_expected_pages_are_where_pypdf_finds_the_headings(folder):
    """The pages above, checked with pypdf, which shares no code with the PDF connector.

    pypdf runs some words together, so text is compared without spaces or punctuation.
    Each heading is also printed in the table of contents (pages 1 to 8); the body page is
    the one after it.
    """
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(folder / PDF)

    def bare(text: str) -> str:
        return re.sub(r"[\W_]+", "", text.replace("’", "'")).casefold()

    pages = [bare(page.extract_text()) for page in reader.pages]
    for case in CASES:
        wanted = bare(f"{case.number} {case.heading}")
        body = [n for n, text in enumerate(pages, start=1) if wanted in text and n > 8]
        assert body == [case.page], (case.number, body)
