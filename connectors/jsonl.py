"""JSON Lines documents: one JSON object per line.

Fields: ``id`` (or BEIR's ``_id``) and ``text`` are required; ``title``, ``url``,
``visibility`` (``public``/``internal``), ``language``, ``metadata``, ``sections`` and
``updated_at`` are optional. A BEIR ``corpus.jsonl`` reads as is. A ``.json`` file may
hold one such object or a list of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..documents import Document, IngestError
from ..errors import InputError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class JsonlConnector:
    """Reads JSON Lines documents; a bad line is an error of its own.

    The file is read as bytes and each line decoded as UTF-8 (JSON text is UTF-8, RFC
    8259), so one damaged line costs only itself. A file in which no line is text
    (binary data, or another encoding throughout) is one error, not one per line.
    """

    name = "jsonl"
    suffixes = (".jsonl", ".ndjson")

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in self.suffixes

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        source = str(path.resolve())
        try:
            handle = open(path, "rb")
        except OSError as exc:
            yield IngestError(str(path), f"cannot open: {exc.strerror or exc}")
            return
        with handle:
            text_seen = False
            held: list[tuple[int, str]] = []  # bad lines before the first line of text
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError:
                    if text_seen:
                        yield IngestError(str(path), "not UTF-8 text", number)
                    else:  # held back: if no line is text, the file is one error
                        held.append((number, "not UTF-8 text"))
                    continue
                if not text_seen:
                    # JSON never holds raw control characters: a line with some is data.
                    if _CONTROL.search(line):
                        held.append((number, "binary data, not text"))
                        continue
                    text_seen = True
                    for bad, reason in held:
                        yield IngestError(str(path), reason, bad)
                try:
                    doc = Document.from_json(json.loads(line))
                    doc = replace(doc, source=doc.source or source)
                except json.JSONDecodeError as exc:
                    yield IngestError(str(path), f"malformed JSON: {exc.msg}", number)
                    continue
                except InputError as exc:
                    yield IngestError(str(path), exc.reason, number)
                    continue
                except RecursionError:
                    yield IngestError(str(path), "JSON nested too deeply to read", number)
                    continue
                yield doc
            if held and not text_seen:
                yield IngestError(
                    str(path),
                    "not UTF-8 text: binary data, or another encoding (JSON Lines is UTF-8)",
                    held[0][0],
                )
            elif not text_seen:
                yield IngestError(str(path), "empty file: no documents")
