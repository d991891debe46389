"""The ``srmkb`` command line: ingest, search, answer, serve, eval, stats and check, and
the knowledge loop around them: feedback, report, capture, drafts, purge, settings.

Human-readable output by default, ``--json`` for machines; progress bars go to stderr
(``--quiet`` silences them), so ``--json`` output on stdout stays clean.

Modules, each private behind this one: ``_parser`` (every command and option),
``_common`` (exit codes, opening a base, output), and one module per group of commands:
``_ingest``, ``_search`` (search, answer), ``_eval``, ``_loop`` (feedback, report,
capture, drafts, purge, settings) and ``_admin`` (serve, stats, check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .. import SrmkbError
from ._common import EXIT_ERROR, EXIT_USAGE
from ._parser import build_parser

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``srmkb`` with ``argv`` (default: the command line); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    bad = _undecodable(argv)
    if bad is not None:
        # Bytes that are not text in the locale's encoding reach Python as lone surrogates
        # (surrogateescape); no query, id or path built from them could be stored.
        n, raw = bad
        print(f"srmkb: error: argument {n} is not valid text: {raw!r}", file=sys.stderr)
        return EXIT_USAGE
    args = build_parser().parse_args(argv)
    try:
        status = _run(args)
        sys.stdout.flush()  # here, so that a closed pipe is seen while it can be handled
    except BrokenPipeError:
        # The reader of stdout went away (`srmkb stats | head -1`). As the Python docs
        # advise ("Note on SIGPIPE"): point stdout at devnull so that the flush at exit
        # does not fail again, and exit 1.
        _silence_stdout()
        return EXIT_ERROR
    return status


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except SrmkbError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc), "type": type(exc).__name__}))
        else:
            print(f"srmkb: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("srmkb: interrupted; committed batches are kept", file=sys.stderr)
        return 130


def _silence_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a test, or already closed
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _undecodable(argv: Sequence[str]) -> tuple[int, bytes] | None:
    """The position (from 1) and bytes of the first argument that is not text."""
    for n, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            try:
                return n, arg.encode("utf-8", "surrogateescape")  # the bytes as given
            except UnicodeEncodeError:
                return n, arg.encode("utf-8", "backslashreplace")
    return None
