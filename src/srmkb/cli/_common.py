"""What every command shares: exit codes, opening a base, and writing results."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping

from .. import IngestError
from ..kb import KnowledgeBase

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def open_base(path: str, cluster: str | None = None) -> KnowledgeBase:
    """The existing base at ``path`` (a sharded one's shards run where ``cluster``
    says): a command other than ``ingest`` never creates one."""
    return KnowledgeBase(path, create=False, cluster=cluster)


def to_json(data: object) -> str:
    """``data`` as JSON for stdout. A file name with bytes that are not UTF-8 reaches
    Python as lone surrogates, which no UTF-8 output can hold: written then as ``\\u``
    escapes (valid JSON), not as a traceback."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return text


def print_fields(fields: Mapping[str, object]) -> None:
    """One aligned ``name: value`` line per field, for a person to read."""
    width = max((len(name) for name in fields), default=0) + 1
    for name, value in fields.items():
        print(f"{name + ':':{width}} {_plain(value)}")


def _plain(value: object) -> str:
    """A value as a person reads it: ``en 28, fr 3`` for a mapping, ``none`` for None."""
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items()) or "none"
    return str(value)


def print_errors(errors: Iterable[IngestError]) -> None:
    """One line on stderr per file or line that could not be read."""
    for err in errors:
        where = f"{err.path}:{err.line}" if err.line else err.path
        print(f"  error: {where}: {err.error}", file=sys.stderr)


def progress(total: int | None, desc: str, quiet: bool):  # type: ignore[no-untyped-def]
    """A progress bar on stderr (stdout stays clean for ``--json``); none with ``quiet``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="doc", disable=quiet, file=sys.stderr, leave=False)
