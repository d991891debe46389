"""Records from CSV and JSON Lines case exports: each row or object as its case fields'
texts, and an error with its line for each bad one. Part of the CRM connector
(:mod:`srmkb.connectors.crm`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ..documents import IngestError
from ._crm_values import texts

Record = dict[str, list[str]]  # case field -> its texts, in column order
Columns = Callable[[Sequence[str]], dict[str, list[int]]]  # a header -> field positions


def delimiter(header: str) -> str:
    """The delimiter of a header line: French spreadsheets write ';', others ',' or tab."""
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def csv_records(
    path: Path, encoding: str, columns_of: Columns
) -> Iterator[tuple[int, Record] | IngestError]:
    """``(line, record)`` for each row of a CSV export, an error for each bad row."""
    try:
        handle = open(path, encoding=encoding, newline="")
    except OSError as exc:
        yield IngestError(str(path), f"cannot open: {exc.strerror or exc}")
        return
    with handle:
        try:
            head = next((line for line in handle if line.strip()), "")
            if not head:
                yield IngestError(str(path), "empty file: no cases")
                return
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter(head), strict=True)
            header = next((r for r in reader if any(c.strip() for c in r)), None)
            if header is None:
                yield IngestError(str(path), "empty file: no cases")
                return
            columns = columns_of(header)
            if "case_id" not in columns:
                yield _no_case_id(path, header, reader.line_num)
                return
            rows = 0
            while True:
                line = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    rows += 1
                    yield IngestError(str(path), f"malformed CSV row: {exc}", line)
                    continue
                if not any(c.strip() for c in row):
                    continue
                rows += 1
                if len(row) < len(header):
                    yield IngestError(
                        str(path),
                        f"row has {len(row)} fields, the header {len(header)}: truncated?",
                        line,
                    )
                elif any(c.strip() for c in row[len(header) :]):
                    yield IngestError(
                        str(path),
                        f"row has {len(row)} fields, the header {len(header)}:"
                        " a delimiter inside an unquoted field?",
                        line,
                    )
                else:
                    yield line, {f: texts([row[i] for i in ix]) for f, ix in columns.items()}
            if not rows:
                yield IngestError(str(path), "no cases after the header", 1)
        except UnicodeDecodeError:
            yield IngestError(str(path), _not_decoded(encoding))
        except csv.Error as exc:  # in the header
            yield IngestError(str(path), f"malformed CSV header: {exc}", 1)


def jsonl_records(
    path: Path, encoding: str, columns_of: Columns
) -> Iterator[tuple[int, Record] | IngestError]:
    """``(line, record)`` for each object of a JSON Lines export, an error for each bad line."""
    try:
        handle = open(path, encoding=encoding)
    except OSError as exc:
        yield IngestError(str(path), f"cannot open: {exc.strerror or exc}")
        return
    with handle:
        number, rows = 0, 0
        try:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                rows += 1
                try:
                    data = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield IngestError(str(path), f"malformed JSON: {exc.msg}", number)
                    continue
                if not isinstance(data, dict):
                    yield IngestError(str(path), "a case must be a JSON object", number)
                    continue
                keys = list(data)
                columns = columns_of(keys)
                if "case_id" not in columns:
                    yield _no_case_id(path, keys, number)
                    continue
                yield (
                    number,
                    {f: texts([data[keys[i]] for i in ix]) for f, ix in columns.items()},
                )
        except UnicodeDecodeError:
            yield IngestError(str(path), _not_decoded(encoding), number + 1)
            return
        if not rows:
            yield IngestError(str(path), "empty file: no cases")


def _not_decoded(encoding: str) -> str:
    # No guess at another encoding: a wrong one would garble names and messages in
    # every case unnoticed, where an error says what to do.
    return (
        f"not {encoding} text: save the export as UTF-8, or read it with"
        " CrmConnector(encoding=...) naming its encoding (often 'cp1252')"
    )


def _no_case_id(path: Path, names: Sequence[str], line: int) -> IngestError:
    shown = ", ".join(repr(n) for n in list(names)[:12])
    return IngestError(
        str(path),
        f"no case id column among {shown}; name it with"
        " CrmConnector(mapping={'case_id': <column>})",
        line,
    )
