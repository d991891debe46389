"""The ``srmkb`` argument parser: every command, option and help text in one place.

The choices for modes, audiences, channels, outcomes and draft states come from
:mod:`srmkb.vocabulary`, as the Python API's and the HTTP service's do.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__
from ..models import MODELS
from ..vocabulary import AUDIENCES, CHANNELS, DRAFT_STATUSES, MODES, OUTCOMES
from ._admin import check, serve, stats
from ._eval import evaluate
from ._ingest import ingest
from ._loop import capture, drafts, feedback, purge, report, settings
from ._search import answer, search

DESCRIPTION = (
    "srmkb keeps one knowledge base for customer service: it ingests documents, searches"
    " them and answers questions for each channel, serves both over HTTP, and learns from"
    " what follows (feedback, KPI reports, drafts captured from resolved cases)."
    " Output is written for people; add --json for output that programs read."
)
EPILOG = "Run 'srmkb COMMAND --help' for a command's options."
_MODEL_NAMES = ", ".join(MODELS[:-1]) + f" or {MODELS[-1]}"


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``srmkb``; each command sets ``run``, the function that carries it out."""
    parser = argparse.ArgumentParser(prog="srmkb", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument(
        "--version", action="version", version=f"srmkb {__version__}", help="show the version"
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_ingest(sub)
    _add_search(sub)
    _add_answer(sub)
    _add_loop(sub)
    _add_serve(sub)
    _add_eval(sub)
    p = sub.add_parser("stats", help="describe a base: counts, languages, model, size")
    _kb(p)
    _common(p, stats)
    p = sub.add_parser(
        "check", help="check a base's files: what is damaged, what is safe to rebuild"
    )
    _kb(p)
    _common(p, check)
    return parser


if TYPE_CHECKING:
    from typing import TypeAlias

    _Sub: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _kb(p: argparse.ArgumentParser, what: str = "the knowledge-base directory") -> None:
    p.add_argument("--kb", required=True, metavar="DIR", help=what)


def _common(p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int]) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars on stderr")
    p.set_defaults(run=run)


def _asked(p: argparse.ArgumentParser, verb: str) -> None:
    """The options a search and an answer share: which base, whose view, which documents
    and when."""
    _kb(p)
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="customer",
        help="who reads the result: customers see public documents only (default: %(default)s)",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata filter; repeat for several (same key: any of); >=, <= for ranges",
    )
    p.add_argument(
        "--as-of", metavar="WHEN", help=f"{verb} the base as it stood then (ISO 8601 date or time)"
    )


def _add_ingest(sub: _Sub) -> None:
    p = sub.add_parser("ingest", help="add documents from files or folders to a base")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to read")
    _kb(p, "the knowledge-base directory (created if absent)")
    p.add_argument("--sync", action="store_true", help="also delete documents no longer in PATH")
    p.add_argument(
        "--model",
        help=f"embedding model for a new base: {_MODEL_NAMES} (default: chosen from the"
        " documents' languages, multilingual when half or more are not English)",
    )
    p.add_argument("--no-dense", action="store_true", help="build a BM25-only base")
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="N",
        help="documents committed together (default: %(default)s)",
    )
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=32,
        metavar="MB",
        help="refuse larger files (default: %(default)s)",
    )
    _common(p, ingest)


def _add_search(sub: _Sub) -> None:
    p = sub.add_parser("search", help="search a base")
    p.add_argument("query", help="what to search for")
    _asked(p, "search")
    p.add_argument(
        "-k", type=int, default=10, metavar="N", help="hits to return (default: %(default)s)"
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="hybrid",
        help="BM25 and dense vectors fused, or one alone (default: %(default)s)",
    )
    p.add_argument("--channel", help="channel to log the search under (default: api)")
    _common(p, search)


def _add_answer(sub: _Sub) -> None:
    p = sub.add_parser("answer", help="answer a question for one channel, or decline")
    p.add_argument("question", help="the question, as the customer asked it")
    _asked(p, "answer from")
    p.add_argument(
        "--channel",
        choices=CHANNELS,
        default="chat",
        help="where the answer is shown, which decides its form (default: %(default)s)",
    )
    p.add_argument(
        "--threshold", type=float, help="confidence below which to decline (default: the model's)"
    )
    p.add_argument(
        "--language", help="the asker's language, e.g. fr (default: detected from the question)"
    )
    _common(p, answer)


def _add_loop(sub: _Sub) -> None:
    p = sub.add_parser("feedback", help="record what followed a search or answer")
    p.add_argument(
        "interaction_id", metavar="INTERACTION_ID", help="the id a search or answer printed"
    )
    p.add_argument("outcome", choices=OUTCOMES, help="what followed")
    _kb(p)
    _common(p, feedback)

    p = sub.add_parser("report", help="self-service KPIs and content gaps from the log")
    _kb(p)
    p.add_argument("--since", help="first day or time (ISO 8601), inclusive")
    p.add_argument("--until", help="last day (inclusive) or time (exclusive), ISO 8601")
    p.add_argument(
        "--stale-days",
        type=int,
        default=365,
        metavar="DAYS",
        help="flag documents not updated for this long (default: %(default)s)",
    )
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with plots")
    _common(p, report)

    p = sub.add_parser("capture", help="link resolved cases to answers or draft new articles")
    p.add_argument("cases", nargs="+", metavar="CASES", help="CRM case exports (CSV, JSON Lines)")
    _kb(p)
    _common(p, capture)

    p = sub.add_parser("drafts", help="list, show, approve or reject captured drafts")
    p.add_argument("action", choices=("list", "show", "approve", "reject"), help="what to do")
    p.add_argument("draft_id", nargs="?", metavar="ID", help="the draft (show, approve, reject)")
    _kb(p)
    p.add_argument("--status", choices=DRAFT_STATUSES, help="list: only drafts in this state")
    p.add_argument("--public", action="store_true", help="approve: customers see it too")
    p.add_argument(
        "--title",
        help="approve: the article's title (default: the problem's first line, or a neutral"
        " one when public)",
    )
    p.add_argument(
        "--problem",
        help="approve: the problem as customers will read it; the cases' subjects stay internal",
    )
    _common(p, drafts)

    p = sub.add_parser("purge", help="delete documents and forget their earlier versions")
    p.add_argument("ids", nargs="+", metavar="ID", help="ids of the documents to delete")
    _kb(p)
    _common(p, purge)

    p = sub.add_parser("settings", help="show or change a base's interaction logging")
    _kb(p)
    p.add_argument(
        "--logging", choices=("on", "off"), help="log searches and answers (default: unchanged)"
    )
    p.add_argument("--retention-days", help="days to keep interactions, or 'forever'")
    _common(p, settings)


def _add_serve(sub: _Sub) -> None:
    p = sub.add_parser("serve", help="serve a base over HTTP (JSON API and agent page)")
    _kb(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="agent",
        help="customer: a public server with no agent view, agent page, report or writes"
        " (default: agent, an internal server; each key's role decides what it sees)",
    )
    p.add_argument(
        "--keys-file",
        metavar="FILE",
        help='API keys and roles, JSON {"keys": [{"key" or "sha256": ..., "role": ...}]}'
        " (default: $SRMKB_API_KEYS_FILE; also $SRMKB_API_KEY, $SRMKB_API_KEYS)",
    )
    for flag, what in (
        ("--max-body-bytes", "largest request body (default 1000000)"),
        ("--max-query-chars", "longest query or question (default 2000)"),
        ("--max-k", "most hits per search (default 100)"),
    ):
        p.add_argument(flag, type=int, metavar="N", help=what)
    p.set_defaults(run=serve, json=False, quiet=False)


def _add_eval(sub: _Sub) -> None:
    p = sub.add_parser("eval", help="evaluate retrieval on a BEIR-layout folder")
    p.add_argument("folder", metavar="DIR", help="corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv")
    p.add_argument(
        "--mode", choices=MODES, default="hybrid", help="retrieval mode (default: %(default)s)"
    )
    p.add_argument(
        "--model", default="minilm", help=f"embedding model: {_MODEL_NAMES} (default: minilm)"
    )
    p.add_argument("--kb", help="build (or reuse) the base here instead of a temporary folder")
    p.add_argument(
        "--split", default="test", help="the qrels file to score against (default: %(default)s)"
    )
    p.add_argument(
        "--answers",
        action="store_true",
        help="evaluate answers (coverage, precision, abstention on queries_oos.jsonl)",
    )
    _common(p, evaluate)
