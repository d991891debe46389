import pytest

from srmkb import FilterError
from srmkb.index.filters import matches, parse_cli, validate

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
