"""``srmkb search`` and ``srmkb answer``: one question asked of an existing base."""

from __future__ import annotations

import argparse
from typing import Any

from .. import StorageError
from ..index.filters import parse_cli
from ..kb import KnowledgeBase
from ..vocabulary import read_when
from ._common import EXIT_OK, open_base, to_json


def search(args: argparse.Namespace) -> int:
    """Exit 1 on a base that holds no documents (and no past to search ``--as-of``):
    every search would find nothing."""
    kb = _filled_base(args)
    hits = kb.search(
        args.query,
        k=args.k,
        mode=args.mode,
        channel=args.channel,
        collapse="document" if args.collapse else None,
        **_scope(args),
    )
    if args.json:
        print(to_json({"interaction_id": hits.interaction_id, "hits": [h.to_json() for h in hits]}))
        return EXIT_OK
    if not hits:
        print("no results")
    for rank, hit in enumerate(hits, start=1):
        where = f" > {hit.section}" if hit.section else ""
        print(f"{rank:2}. [{hit.score:.3f}] {hit.title}{where}")
        if hit.url:
            print(f"    {hit.url}")
        print(f"    {hit.snippet[:200]}")
    return EXIT_OK


def answer(args: argparse.Namespace) -> int:
    """Exit 1 on an empty base, as ``search``: every answer would decline."""
    kb = _filled_base(args)
    found = kb.answer(
        args.question,
        channel=args.channel,
        threshold=args.threshold,
        language=args.language,
        **_scope(args),
    )
    if args.json:
        print(to_json(found.to_json()))
        return EXIT_OK
    print(found.text)
    if found.answered:
        for c in found.citations:
            page = f", page {c.page}" if c.page else ""
            print(f"\n[{found.confidence:.0%} confident] {c.title} {c.url}{page}".rstrip())
    else:
        print(f"\n[declined: confidence {found.confidence:.0%}]")
    return EXIT_OK


def _filled_base(args: argparse.Namespace) -> KnowledgeBase:
    """The base to ask; a :class:`StorageError` saying so when it is empty (and no
    ``--as-of`` asks for a past when it was not)."""
    kb = open_base(args.kb)
    if len(kb) == 0 and args.as_of is None:
        raise StorageError(
            f"the base is empty ({args.kb}): add documents with 'srmkb ingest PATH --kb {args.kb}'"
        )
    return kb


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    """What a search and an answer share: whose view, which documents, and when (an
    ``--as-of`` day is the base at its end, UTC)."""
    return {
        "audience": args.audience,
        "filters": parse_cli(args.filter) or None,
        "as_of": None if args.as_of is None else read_when(args.as_of, "--as-of"),
    }
