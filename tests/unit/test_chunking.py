from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from srmkb.documents import Document, Section
from srmkb.text.chunking import chunk_document


def test_short_document_is_one_passage_with_stable_id():
    doc = Document(id="d1", title="T", text="One short answer.")
    [p] = chunk_document(doc)
    assert p.id == "d1#0" and p.text == "One short answer." and p.title == "T"
    assert p.indexed_text == "T\nOne short answer."


def test_markdown_headings_become_sections_with_paths():
    text = (
        "Intro line.\n\n# Install\n\nStep text.\n\n## Network\n\nCable text.\n\n# Use\n\nUse text."
    )
    passages = chunk_document(Document(id="d", title="Guide", text=text), max_words=8)
    assert [(p.section, p.text) for p in passages] == [
        ("", "Intro line."),
        ("Install", "Step text."),
        ("Install > Network", "Cable text."),
        ("Use", "Use text."),
    ]
    assert [p.id for p in passages] == ["d#0", "d#1", "d#2", "d#3"]


def test_paragraphs_are_packed_up_to_max_words():
    paras = [" ".join(f"w{i}_{j}" for j in range(10)) for i in range(5)]
    passages = chunk_document(Document(id="d", text="\n\n".join(paras)), max_words=25)
    assert [len(p.text.split()) for p in passages] == [20, 20, 10]


def test_long_paragraph_splits_by_lines_then_sentences_then_words():
    line = " ".join(["word"] * 30)
    passages = chunk_document(Document(id="d", text=line), max_words=8)
    assert [len(p.text.split()) for p in passages] == [8, 8, 8, 6]
    assert sum(len(p.text.split()) for p in passages) == 30


def test_chunking_is_deterministic():
    doc = Document(id="d", text="A.\n\nB.\n\n# H\n\nC.")
    assert chunk_document(doc) == chunk_document(doc)


def test_sections_carry_anchor_page_and_visibility():
    doc = Document(
        id="d",
        url="https://x/faq.html",
        sections=(
            Section(text="Public part.", heading=("Q1",), anchor="q1"),
            Section(text="Agent note.", heading=("Notes",), page=3, visibility="internal"),
        ),
    )
    a, b = chunk_document(doc)
    assert a.url == "https://x/faq.html#q1" and a.visibility == "public"
    assert b.url == "https://x/faq.html#page=3" and b.page == 3 and b.visibility == "internal"
    # A document with no address (a captured draft, a CRM case) gives no link: a bare
    # "#q1" would be cited to customers as if it were one.
    bare = chunk_document(replace(doc, url=""))
    assert [p.url for p in bare] == ["", ""] and bare[1].page == 3


def test_internal_document_never_has_public_passages():
    doc = Document(
        id="d", visibility="internal", sections=(Section(text="x", visibility="public"),)
    )
    assert chunk_document(doc)[0].visibility == "internal"


def test_title_only_document_is_indexed_by_title():
    [p] = chunk_document(Document(id="d", title="Only a title"))
    assert "Only a title" in p.indexed_text


# One line of words and whitespace (no line break), from short to over the limit.
_LINE = st.lists(
    st.text(st.sampled_from("ab é.?!"), min_size=1, max_size=6)
    | st.sampled_from([" ", "\t", "  ", "\r", "\x0b", "\u3000"]),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(line=_LINE, max_words=st.integers(8, 12))
def test_one_line_gives_the_passages_of_the_general_path(line: str, max_words: int) -> None:
    # A one-line text short enough takes a shortcut; with a line break after it, the
    # same text goes through paragraphs and packing, which must agree.
    def texts(text: str) -> list[str]:
        doc = Document(id="d", title="T", sections=(Section(text=text),))
        return [p.text for p in chunk_document(doc, max_words=max_words)]

    assert texts(line) == texts(line + "\n")
    plain = Document(id="d", title="T", text=line)  # its lines joined by "\n" ("\r" too)
    normal = "\n".join(line.splitlines())
    assert [p.text for p in chunk_document(plain, max_words=max_words)] == (
        texts(normal + "\n") if line.strip() else ["T"]
    )


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(_LINE, min_size=1, max_size=8),
    max_words=st.integers(8, 12),
    visibility=st.sampled_from(["public", "internal"]),
)
def test_plain_text_gives_the_passages_of_one_section(
    lines: list[str], max_words: int, visibility: str
) -> None:
    # Text without a heading takes a shortcut past the sections; it must give what one
    # section holding the same text gives.
    text = "\n".join(lines)
    body = "\n".join(text.splitlines()).strip()
    fields = {"id": "d", "title": "T", "url": "https://x/a", "visibility": visibility}
    plain = chunk_document(Document(text=text, **fields), max_words=max_words)
    if not body:
        assert [p.text for p in plain] == ["T"]
        return
    one = chunk_document(Document(sections=(Section(text=body),), **fields), max_words=max_words)
    assert plain == one
