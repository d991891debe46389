"""JSON Lines documents: one JSON object per line.

Fields: ``id`` (or BEIR's ``_id``) and ``text`` are required; ``title``, ``url``,
``visibility`` (``public``/``internal``), ``language``, ``metadata``, ``sections`` and
``updated_at`` are optional. A BEIR ``corpus.jsonl`` reads as is. A ``.json`` file may
hold one such object or a list of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from srmkb.documents import Document, IngestError
from srmkb.errors import InputError


class JsonlConnector:
    name = "jsonl"

    def accepts(self, path: Path) -> bool:
        return path.suffix.lower() in (".jsonl", ".ndjson")

    def read(self, path: Path) -> Iterator[Document | IngestError]:
        source = str(path.resolve())
        try:
            handle = open(path, encoding="utf-8")
        except OSError as exc:
            yield IngestError(str(path), f"cannot open: {exc.strerror or exc}")
            return
        with handle:
            number = 0
            yielded = False
            try:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    try:
                        data = json.loads(line)
                        doc = Document.from_json(data)
                    except json.JSONDecodeError as exc:
                        yielded = True
                        yield IngestError(str(path), f"malformed JSON: {exc.msg}", number)
                        continue
                    except InputError as exc:
                        yielded = True
                        yield IngestError(str(path), exc.reason, number)
                        continue
                    yielded = True
                    yield replace(doc, source=doc.source or source)
            except UnicodeDecodeError:
                yield IngestError(str(path), "not UTF-8 text", number + 1)
                return
            if not yielded:
                yield IngestError(str(path), "empty file: no documents")
