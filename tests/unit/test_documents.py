import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srmkb import Document, InputError
from srmkb.documents import Section, SyncReport, encode_document


def test_from_json_accepts_beir_id_and_defaults():
    doc = Document.from_json({"_id": 7, "text": "x"})
    assert doc.id == "7" and doc.visibility == "public" and doc.metadata == {}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"text": "x"}, "no 'id'"),
        ({"id": "a"}, "no text"),
        ({"id": "a", "text": "x", "visibility": "secret"}, "visibility"),
        ({"id": "a", "text": "x", "metadata": []}, "metadata"),
        ({"id": "a", "text": 3}, "must be a string"),
    ],
)
def test_bad_documents_raise_clear_errors(data, message):
    with pytest.raises(InputError, match=message):
        Document.from_json(data)


@pytest.mark.parametrize("visibility", ["", None, False, 0, [], {}, "Public", "secret", 1])
def test_a_visibility_other_than_public_or_internal_is_refused_never_read_as_public(visibility):
    with pytest.raises(
        InputError, match=r"^document 'a': visibility must be 'public' or 'internal'"
    ):
        Document.from_json({"id": "a", "text": "x", "visibility": visibility})
    with pytest.raises(InputError, match="visibility must be"):
        Document(id="a", text="x", visibility=visibility)
    if visibility is not None:  # a section's None means: the document's visibility
        with pytest.raises(InputError, match=r"sections\[0\]\.visibility must be"):
            Document.from_json({"id": "a", "sections": [{"text": "x", "visibility": visibility}]})
        with pytest.raises(InputError, match="section visibility must be"):
            Section(text="x", visibility=visibility)


def test_absent_visibility_is_public_and_a_section_without_one_inherits():
    doc = Document.from_json({"id": "a", "sections": [{"text": "x", "visibility": None}]})
    assert doc.visibility == "public" and doc.sections[0].visibility is None
    assert Document.from_json({"id": "b", "text": "x", "visibility": "internal"}).visibility == (
        "internal"
    )


@pytest.mark.parametrize(
    "sections, message",
    [
        ([{"text": "a", "page": "iv"}], r"sections\[0\]\.page must be an integer, got 'iv'"),
        ([{"text": "a", "page": 1.5}], r"sections\[0\]\.page must be an integer"),
        ([{"text": "a", "page": True}], r"sections\[0\]\.page must be an integer"),
        ([{"text": "a", "page": 1e30}], r"sections\[0\]\.page must be a positive integer"),
        ([{"text": "a", "page": 0}], r"sections\[0\]\.page must be a positive integer"),
        ([{"text": "a"}, {"text": "b", "heading": 5}], r"sections\[1\]\.heading must be"),
        ([{"text": "a", "heading": ["x", 2]}], r"sections\[0\]\.heading must be"),
        (["a plain string"], r"sections\[0\] must be an object"),
        ([{"text": 3}], r"sections\[0\]\.text must be a string"),
        ([{"text": "a", "anchor": []}], r"sections\[0\]\.anchor must be a string"),
        ([{"text": "a", "visibility": "secret"}], r"sections\[0\]\.visibility must be"),
    ],
)
def test_malformed_sections_raise_input_errors_naming_the_field(sections, message):
    with pytest.raises(InputError, match=rf"^document 'bad': {message}"):
        Document.from_json({"id": "bad", "text": "t", "sections": sections})


def test_sections_accept_pages_written_as_text_or_whole_floats():
    doc = Document.from_json(
        {
            "id": "a",
            "sections": [
                {"text": "x", "page": "12", "heading": "Intro"},
                {"text": "y", "page": 3.0, "heading": ["A", "B"]},
                {"text": "z", "page": "", "heading": None},
            ],
        }
    )
    assert [(s.page, s.heading) for s in doc.sections] == [
        (12, ("Intro",)),
        (3, ("A", "B")),
        (None, ()),
    ]


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"text": "A cut emoji: \ud83d."}, r"^document 'a': text is not valid Unicode"),
        ({"title": "\udc80", "text": "x"}, "title is not valid Unicode"),
        ({"text": "x", "metadata": {"k": ["\ud83d"]}}, "metadata is not valid Unicode"),
        ({"text": "x", "metadata": {"k": {1, 2}}}, "metadata must be JSON data"),
        ({"sections": (Section("x", ("\ud83d",)),)}, r"sections\[0\]\.heading\[0\] is not"),
        ({"sections": (Section("x", page=2**63),)}, r"sections\[0\]\.page must be a positive"),
        ({"text": "x", "title": None}, "title must be a string"),
        # Plain ASCII documents take a shortcut; its misses still reach every check.
        ({"text": "x", "metadata": []}, "metadata must be an object"),
        ({"text": "x", "url": b"/a"}, "url must be a string"),
        ({"text": "x", "language": 1}, "language must be a string"),
        ({"text": "x", "updated_at": "\ud83d"}, "updated_at is not valid Unicode"),
        ({"text": "x", "source": None}, "source must be a string"),
    ],
)
def test_documents_the_base_cannot_store_are_refused(fields, message):
    """Checked when the document is built, so a connector reports the one bad record
    instead of the base failing on a whole batch."""
    with pytest.raises(InputError, match=message):
        Document(id="a", **fields)


def test_largest_storable_page_and_valid_non_ascii_text_are_kept():
    doc = Document(id="a", title="Café 😀", sections=(Section("x", page=2**63 - 1),))
    assert doc.sections[0].page == 2**63 - 1 and len(doc.content_hash()) == 32


def test_content_hash_changes_with_content_not_source():
    a = Document(id="a", text="x", source="/one")
    assert a.content_hash() == Document(id="a", text="x", source="/two").content_hash()
    assert a.content_hash() != Document(id="a", text="y").content_hash()
    assert a.content_hash() != Document(id="a", text="x", metadata={"k": 1}).content_hash()


def test_round_trip_json():
    doc = Document(id="a", text="x", title="t", metadata={"k": [1, 2]}, language="en")
    assert Document.from_json(doc.to_json()) == doc


def test_sync_report_adds_up():
    total = SyncReport(added=("a",)) + SyncReport(unchanged=("b",), deleted=("c",))
    assert total.to_json() == {
        "added": 1,
        "updated": 0,
        "deleted": 1,
        "unchanged": 1,
        "skipped": 0,
        "errors": [],
    }


# Text with what JSON escapes: quotes, backslashes, control characters, non-ASCII.
_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)
_JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(
    text=_TEXT.filter(str.strip),
    title=_TEXT,
    url=_TEXT,
    visibility=st.sampled_from(["public", "internal"]),
    language=st.none() | _TEXT,
    metadata=st.dictionaries(_TEXT, _JSON_DATA, max_size=4),
    sections=st.lists(
        st.builds(
            Section,
            text=_TEXT,
            heading=st.lists(_TEXT, max_size=2).map(tuple),
            anchor=_TEXT,
            page=st.none() | st.integers(1, 2**63 - 1),
            visibility=st.none() | st.sampled_from(["public", "internal"]),
        ),
        max_size=2,
    ).map(tuple),
    updated_at=st.none() | _TEXT,
    source=_TEXT,
)
def test_a_documents_stored_json_and_hash_are_json_dumps_of_its_fields(**fields) -> None:
    doc = Document(id='d"\\é\n', **fields)
    body, digest = encode_document(doc)
    assert body == json.dumps(doc.to_json(), ensure_ascii=False)
    data = doc.to_json()
    del data["source"]
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
    assert digest == hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
    assert doc.content_hash() == digest
    assert json.loads(body) == doc.to_json()
