"""Running and looking after a base: ``serve`` it over HTTP, ``mcp`` to AI agents,
``stats`` on what it holds, ``check`` its files."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .. import MissingDependencyError, StorageError, check_base
from ..storage.layout import CLUSTER_MANIFEST
from ._common import EXIT_ERROR, EXIT_OK, open_base, print_fields


def serve(args: argparse.Namespace) -> int:
    from ..service import API_KEYS_FILE_ENV, ROLES, Keyring, Limits
    from ..service import serve as serve_http

    environ = dict(os.environ)
    if args.keys_file:
        environ[API_KEYS_FILE_ENV] = args.keys_file
    keys = Keyring.from_env(environ)
    limits = Limits.from_env(
        max_body_bytes=args.max_body_bytes, max_query_chars=args.max_query_chars, max_k=args.max_k
    )
    kb = open_base(args.kb, args.cluster)
    # The most privileged role first: an operator checks for admin keys before the rest.
    counts = ", ".join(f"{keys.count(role)} {role}" for role in reversed(ROLES))
    print(
        f"srmkb: serving {args.kb} on http://{args.host}:{args.port} ({args.audience} server;"
        f" keys: {counts})",
        file=sys.stderr,
    )
    serve_http(kb, host=args.host, port=args.port, audience=args.audience, keys=keys, limits=limits)
    return EXIT_OK


def mcp(args: argparse.Namespace) -> int:
    """Serve the base over MCP until stopped. The audience is the operator's, from the
    command line: a tool call cannot widen it."""
    try:
        from ..integrations.mcp import serve as serve_mcp
    except MissingDependencyError:
        raise  # it names the package missing and the extra that brings it
    except ImportError as exc:
        raise MissingDependencyError("mcp", "mcp") from exc
    serve_mcp(
        args.kb, audience=args.audience, transport=args.transport, host=args.host, port=args.port
    )
    return EXIT_OK


def stats(args: argparse.Namespace) -> int:
    kb = open_base(args.kb)
    counts = kb.stats()
    if args.json:
        print(json.dumps(counts))
    else:
        print_fields(counts)
    return EXIT_OK


def check(args: argparse.Namespace) -> int:
    """Exit 0 when the base is sound, 1 when something is wrong (the report says what)."""
    if not Path(args.kb).is_dir():
        raise StorageError(f"no knowledge base at {args.kb}")
    if (Path(args.kb) / CLUSTER_MANIFEST).exists():
        from ..cluster import check_shards

        report = check_shards(args.kb)
    else:
        report = check_base(args.kb)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        checked = ", ".join(f"{v} {k}" for k, v in report.checked.items())
        print(f"{args.kb}: {'ok' if report.ok else 'problems found'} (checked {checked})")
        for problem in report.problems:
            effect = "blocks search" if problem.blocks_search else "search unaffected"
            fix = "safe to rebuild" if problem.rebuildable else "restore from a backup"
            print(f"  {problem.part}: {problem.path}: {problem.message} [{effect}; {fix}]")
    return EXIT_OK if report.ok else EXIT_ERROR
