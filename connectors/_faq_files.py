"""Reading structured FAQ files: JSON and YAML data, CSV rows, and the line where each
entry starts (for error messages). Part of the FAQ connector
(:mod:`srmkb.connectors.faq`)."""

from __future__ import annotations

import bisect
import csv
import io
import json
import json.scanner
import re
from collections.abc import Iterator
from pathlib import Path

import yaml

from ._faq_entries import walk_entries
from ._html_decode import decode
from ._html_page import read_bytes


def decode_text(data: bytes) -> str:
    return decode(data)[0]


def load_structured(path: Path) -> object:
    """The data in a JSON or YAML file."""
    text = decode_text(read_bytes(path))
    return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)


def entry_lines(path: Path) -> list[int | None]:
    """The line where each entry of a JSON or YAML file starts, in :func:`walk_entries`
    order: a second, slower parse that records positions, run only for error messages."""
    text = decode_text(read_bytes(path))
    lines: dict[int, int] = {}
    if path.suffix.lower() == ".json":
        data, lines = _json_with_lines(text)
    else:
        data = yaml.safe_load(text)
        _yaml_lines(yaml.compose(text, Loader=yaml.SafeLoader), data, lines, set())
    return [entry.line for entry in walk_entries(data, {}, lines)]


def _json_with_lines(text: str) -> tuple[object, dict[int, int]]:
    # The json module reports no positions; its pure-Python scanner takes a hook for
    # objects, which records where each starts. Slower than the C scanner, but FAQ
    # files are small and the line makes an error message actionable.
    starts = [m.start() for m in re.finditer("\n", text)]
    lines: dict[int, int] = {}
    decoder = json.JSONDecoder()
    parse_object = decoder.parse_object  # type: ignore[attr-defined]

    def record(s_and_end: tuple[str, int], *args: object) -> tuple[object, int]:
        obj, end = parse_object(s_and_end, *args)
        lines[id(obj)] = bisect.bisect_left(starts, s_and_end[1]) + 1
        return obj, end

    decoder.parse_object = record  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text), lines


def _yaml_lines(node: object, data: object, out: dict[int, int], seen: set[int]) -> None:
    # Walk the composed nodes beside the loaded data; ``seen`` stops alias loops.
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        out[id(data)] = node.start_mark.line + 1
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value in data:
                _yaml_lines(value, data[key.value], out, seen)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for item_node, item in zip(node.value, data):
            _yaml_lines(item_node, item, out, seen)


def csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` for each non-blank row; the delimiter is the header line's most
    frequent of ``, ; tab |`` (Excel in French locales writes ``;``)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t|", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    line = 0
    for row in reader:
        start, line = line + 1, reader.line_num
        if any(cell.strip() for cell in row):
            yield start, row
