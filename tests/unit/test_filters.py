import pytest

from srmkb import FilterError
from srmkb.index.filters import KnownFields, check_fields, matches, parse_cli, validate

DOC = {
    "product": "router",
    "tags": ["wifi", "mesh"],
    "updated_at": "2026-03-02",
    "n": 5,
    "flag": True,
}


@pytest.mark.parametrize(
    "flt, expected",
    [
        ({"product": "router"}, True),
        ({"product": "modem"}, False),
        ({"product": ["modem", "router"]}, True),
        ({"tags": "mesh"}, True),
        ({"tags": {"in": ["x", "wifi"]}}, True),
        ({"product": {"ne": "router"}}, False),
        ({"updated_at": {"gte": "2026-01-01"}}, True),
        ({"updated_at": {"gte": "2026-01-01", "lt": "2026-03-01"}}, False),
        ({"updated_at": {"lte": "2026-03-02T00:00:00Z"}}, True),
        ({"n": {"gt": 4}}, True),
        ({"n": {"gt": "4"}}, False),  # a string bound never matches a number
        ({"missing": "x"}, False),
        ({"flag": True}, True),
        ({"n": True}, False),
        ({"product": "router", "n": {"lt": 5}}, False),
    ],
)
def test_matches(flt, expected):
    validate(flt)
    assert matches(DOC, flt) is expected


@pytest.mark.parametrize("flt", [{"a": {"like": 1}}, {"a": {}}, {"": 1}, {"a": {"in": "x"}}, ["a"]])
def test_invalid_filters_raise(flt):
    with pytest.raises(FilterError):
        validate(flt)


def test_parse_cli():
    assert parse_cli(["product=router", "product=mesh", "n>=3", "n<9", "x=true"]) == {
        "product": ["router", "mesh"],
        "n": {"gte": 3, "lt": 9},
        "x": True,
    }
    with pytest.raises(FilterError):
        parse_cli(["nonsense"])


def test_check_fields_names_the_field_the_closest_one_and_every_known_one():
    check_fields({"product": "router", "id": "a", "url": "x"}, {"product"})
    with pytest.raises(FilterError) as caught:
        check_fields({"prodcut": "router"}, {"product", "tags"})
    message = str(caught.value)
    assert "'prodcut'" in message and "did you mean 'product'" in message
    assert message.endswith(
        "known fields: id, language, product, source, tags, updated_at, url, visibility"
    )
    check_fields({"source_type": {"ne": "crm"}}, {"product"})  # every document passes
    with pytest.raises(FilterError):
        check_fields({"source_type": {"ne": "crm", "in": ["faq"]}}, {"product"})
    many = {f"field{i:02}" for i in range(60)}
    with pytest.raises(FilterError, match=r"and 26 more$"):
        check_fields({"zzz": 1}, many)


def test_known_fields_are_read_only_for_a_new_key_and_once_per_generation():
    reads = []
    keys = {"product"}

    def read():
        reads.append(1)
        return [("doc", dict.fromkeys(keys))]

    known = KnownFields(read)
    known.check({"id": "a", "language": "en"}, generation=1)  # document fields: no read
    assert reads == []
    known.check({"product": "router"}, generation=1)
    known.check({"product": "modem"}, generation=1)
    assert len(reads) == 1
    with pytest.raises(FilterError):
        known.check({"team": "billing"}, generation=1)
    assert len(reads) == 1  # the same generation: its keys are known already
    keys.add("team")
    known.check({"team": "billing"}, generation=2)  # a commit brought the key
    assert len(reads) == 2
    known.check({"old": 1}, generation=2, past={"doc@1": {"old": 1}})  # an as_of view
    with pytest.raises(FilterError, match="filters must be a mapping"):
        known.check(["product"], generation=2)  # type: ignore[arg-type]
