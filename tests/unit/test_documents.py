import pytest

from srmkb import Document, InputError
from srmkb.documents import SyncReport


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
