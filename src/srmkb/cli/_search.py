"""``srmkb search`` and ``srmkb answer``: one question asked of an existing base."""

from __future__ import annotations

import argparse
from typing import Any

from .. import StorageError
from ..index.filters import parse_cli
from ._common import EXIT_OK, open_base, to_json


def search(args: argparse.Namespace) -> int:
    """Exit 1 on a base that holds no documents (and no past to search ``--as-of``):
    every search would find nothing."""
    kb = open_base(args.kb)
    if len(kb) == 0 and args.as_of is None:
        raise StorageError(
            f"the base at {args.kb} holds no documents yet; add some with"
            f" 'srmkb ingest PATH --kb {args.kb}'"
        )
    hits = kb.search(args.query, k=args.k, mode=args.mode, channel=args.channel, **_scope(args))
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
    kb = open_base(args.kb)
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


def _scope(args: argparse.Namespace) -> dict[str, Any]:
    """What a search and an answer share: whose view, which documents, and when."""
    return {
        "audience": args.audience,
        "filters": parse_cli(args.filter) or None,
        "as_of": args.as_of,
    }
