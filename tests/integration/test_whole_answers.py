"""Whole answers on the Debian FAQ: a sentence announcing a list comes with the list, on
every channel, and the report sees the FAQ's HTML and PDF editions as one content.

The base holds the English Debian FAQ twice over, its HTML chapters and its PDF edition
(``/work/shared/data/docs/debian-faq/en``), embedded with the real model. Section 9.1
ends "Several different packages are available for this purpose:" and the packages are
its subsections (9.1.1 aptitude, 9.1.2 apt-get and apt-cdrom), in both editions.
"""

from __future__ import annotations

import re

import pytest

from srmkb import Document, KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.loop.conflicts import editions
from srmkb.text.blocks import introduces, sentences_of_line

from ..conftest import shared_path

pytestmark = pytest.mark.slow

QUESTION = "How can I keep my Debian system up to date?"
LISTED = (
    "Several different packages are available for this purpose:\n- aptitude\n"
    "- apt-get and apt-cdrom"
)
# Chapters whose sections' headings are asked below: lists, code, definition lists.
CHAPTERS = ("uptodate", "pkgtools", "support", "getting-debian", "customizing", "choosing")


@pytest.fixture(scope="module")
def kb(tmp_path_factory, minilm):
    folder = shared_path("data", "docs", "debian-faq", "en")
    items = list(read_paths([folder]))
    assert [i for i in items if not isinstance(i, Document)] == []
    base = KnowledgeBase(tmp_path_factory.mktemp("whole-answers") / "kb", model=minilm)
    base.upsert(items)
    yield base
    base.close()


@pytest.mark.parametrize(
    "source_type, document_id", [("html", "uptodate.en.html"), ("pdf", "debian-faq.en.pdf")]
)
def test_the_packages_come_with_the_sentence_announcing_them(kb, source_type, document_id):
    for channel in ("email", "web", "agent"):
        a = kb.answer(QUESTION, channel=channel, filters={"source_type": source_type}, log=False)
        assert a.answered and a.document_id == document_id
        assert LISTED in a.text, a.text
        if channel != "agent":
            assert "<ul><li>aptitude</li><li>apt-get and apt-cdrom</li></ul>" in a.html


def test_a_short_answer_quotes_a_list_in_short(kb):
    # Section 8.5: three commands, each with paragraphs of its own.
    q = "which package does a given file on my system come from?"
    chat = kb.answer(q, channel="chat", filters={"source_type": "html"}, threshold=0.0, log=False)
    assert chat.text.startswith(
        "To identify the package that produced the file named foo execute either:\n"
        "- dpkg --search foo\n- zgrep foo Contents-ARCH.gz\n- apt-file search foo\nMore: "
    )
    voice = kb.answer(q, channel="voice", filters={"source_type": "html"}, threshold=0.0, log=False)
    assert voice.text.endswith(
        "either: dpkg --search foo, zgrep foo Contents-ARCH.gz, apt-file search foo."
    )


def _quoted_end(text: str, channel: str) -> str:
    """The last sentence an answer quotes: srmkb's own lines (More:, Source:, the
    steps of chat) set aside."""
    lines = [line for line in text.splitlines() if line.strip()]
    while channel == "chat" and lines and re.match(r"More: |\d+\. ", lines[-1]):
        lines.pop()
    return sentences_of_line(lines[-1])[-1] if lines else ""


def test_no_answer_ends_on_a_sentence_announcing_what_it_leaves_out(kb):
    questions = {
        re.sub(r"^[\d.]+\s*", "", p.section.split(" > ")[-1])
        for chapter in CHAPTERS
        for p in kb.document_passages(f"{chapter}.en.html")
        if p.section
    }
    assert len(questions) > 40
    for q in sorted(questions):
        for channel in ("chat", "voice", "web"):
            a = kb.answer(q, channel=channel, threshold=0.0, log=False)
            assert a.text.strip(), (q, channel)
            if not a.steps:
                assert not introduces(_quoted_end(a.text, channel)), (q, channel, a.text)


def test_the_report_sees_the_html_and_pdf_editions_as_one_content(kb):
    summaries = {d["id"]: d for d in kb.catalog.document_summaries()}
    # The HTML edition's front page and the PDF share the title "The Debian GNU/Linux FAQ".
    assert editions(summaries["index.en.html"], summaries["debian-faq.en.pdf"])
    assert not editions(summaries["pkg-basics.en.html"], summaries["pkgtools.en.html"])
    conflicts = kb.report()["conflicts"]
    assert not [c for c in conflicts if "debian-faq.en.pdf" in c["documents"]], conflicts
