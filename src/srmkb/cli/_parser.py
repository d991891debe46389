"""The ``srmkb`` argument parser: every command, option and help text in one place.

The choices for modes, audiences, channels, outcomes and draft states come from
:mod:`srmkb.vocabulary`, as the Python API's and the HTTP service's do. Help texts are
whole sentences, and an option with a default states it (``%(default)s``), so that
``srmkb COMMAND --help`` reads as documentation.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import __version__
from ..models import MODELS
from ..storage.layout import DRAFTS_WAIT
from ..vocabulary import AUDIENCES, CHANNELS, DRAFT_STATUSES, MODES, OUTCOMES
from ._admin import check, mcp, serve, stats
from ._eval import evaluate
from ._ingest import ingest
from ._loop import capture, drafts, feedback, purge, report, settings
from ._search import answer, search

DESCRIPTION = (
    "srmkb keeps one knowledge base for customer service: it ingests documents, searches"
    " them and answers questions for each channel, serves both over HTTP and MCP, and"
    " learns from what follows (feedback, KPI reports, drafts captured from resolved"
    " cases). Output is written for people; add --json for output that programs read."
)
EPILOG = "Run 'srmkb COMMAND --help' for a command's options."
_MODEL_NAMES = ", ".join(MODELS[:-1]) + f" or {MODELS[-1]}"
_WHEN = (
    "an ISO 8601 date or time (2026-03-01, 2026-03-01T09:30Z) or a relative date"
    " ('yesterday', '3 days ago', 'last week')"
)


def build_parser() -> argparse.ArgumentParser:
    """The parser for ``srmkb``; each command sets ``run``, the function that carries it out."""
    parser = argparse.ArgumentParser(
        prog="srmkb", description=DESCRIPTION, epilog=EPILOG, add_help=False
    )
    _help(parser)
    parser.add_argument(
        "--version", action="version", version=f"srmkb {__version__}", help="Show the version."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND", title="commands")
    _add_ingest(sub)
    _add_search(sub)
    _add_answer(sub)
    _add_loop(sub)
    _add_serve(sub)
    _add_mcp(sub)
    _add_eval(sub)
    p = _command(sub, "stats", "Describe a base: its counts, languages, model and size.")
    _kb(p)
    _common(p, stats)
    p = _command(
        sub,
        "check",
        "Check a base's files: say what is damaged and what is safe to rebuild.",
        "Exits with 0 when the base is sound and 1 when a problem was found.",
    )
    _kb(p)
    _common(p, check)
    return parser


if TYPE_CHECKING:
    from typing import TypeAlias

    _Sub: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _command(sub: _Sub, name: str, summary: str, more: str = "") -> argparse.ArgumentParser:
    """A command: ``summary`` in the list of commands, and with ``more`` atop its help."""
    p = sub.add_parser(name, help=summary, description=f"{summary} {more}".strip(), add_help=False)
    _help(p)
    return p


def _help(p: argparse.ArgumentParser) -> None:
    p.add_argument("-h", "--help", action="help", help="Show this help and exit.")


def _kb(p: argparse.ArgumentParser, what: str = "The knowledge-base directory.") -> None:
    p.add_argument("--kb", required=True, metavar="DIR", help=what)


def _wait(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--wait",
        type=float,
        default=DRAFTS_WAIT,
        metavar="SECONDS",
        help="How long to wait for another capture or draft review of the base to finish"
        " before giving up (default: %(default)s).",
    )


def _common(p: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int]) -> None:
    p.add_argument("--json", action="store_true", help="Write machine-readable JSON on stdout.")
    p.add_argument("--quiet", "-q", action="store_true", help="Show no progress bar on stderr.")
    p.set_defaults(run=run)


def _asked(p: argparse.ArgumentParser, verb: str, audience: str | None, shown: str) -> None:
    """The options a search and an answer share: which base, whose view (``audience``
    by default, described as ``shown``), which documents and when."""
    _kb(p)
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default=audience,
        help="Who reads the result: customers see public documents only, agents internal"
        f" ones too (default: {shown}).",
    )
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Keep documents whose metadata field KEY has this VALUE; repeat for several"
        " fields (the same KEY repeated: any of the values), KEY>=VALUE and KEY<=VALUE"
        " give ranges. A KEY no document has is an error.",
    )
    p.add_argument(
        "--as-of",
        metavar="WHEN",
        help=f"{verb} the base as it stood then: {_WHEN}; a day means its end, UTC (default: now).",
    )


def _add_ingest(sub: _Sub) -> None:
    p = _command(
        sub,
        "ingest",
        "Add documents from files or folders to a base, creating it if absent.",
        "Each file is read by the connector for its kind (CRM exports, JSON Lines, FAQs,"
        " HTML, PDF). A file or line that cannot be read is reported and the rest goes on;"
        " the exit status is then 3. A path that does not exist is an error before"
        " anything is written.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="The files or folders to read.")
    _kb(p, "The knowledge-base directory; it is created if absent.")
    p.add_argument(
        "--sync",
        action="store_true",
        help="Also delete the documents read from these paths before that are gone now.",
    )
    p.add_argument(
        "--model",
        help=f"The embedding model of a new base: {_MODEL_NAMES} (default: chosen from the"
        " documents' languages, multilingual when half of them or more are not English).",
    )
    p.add_argument("--no-dense", action="store_true", help="Build a BM25-only base.")
    p.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="Make the new base of N shards, each an ordinary base in its own folder"
        " (default: one base; an existing base keeps its shards).",
    )
    _cluster(p)
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        metavar="N",
        help="How many documents are committed together (default: %(default)s).",
    )
    p.add_argument(
        "--max-file-mb",
        type=float,
        default=32,
        metavar="MB",
        help="Refuse files larger than this many megabytes (default: %(default)s).",
    )
    _common(p, ingest)


def _add_search(sub: _Sub) -> None:
    p = _command(
        sub,
        "search",
        "Search a base and print the best passages.",
        "An empty base is an error (exit status 1).",
    )
    p.add_argument("query", help="What to search for.")
    _asked(p, "Search", "customer", "%(default)s")
    p.add_argument(
        "-k",
        type=int,
        default=10,
        metavar="N",
        help="How many hits to return (default: %(default)s).",
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="hybrid",
        help="BM25 and dense vectors fused, or one of them alone (default: %(default)s).",
    )
    p.add_argument(
        "--collapse",
        action="store_true",
        help="Return one hit per document, its best passage.",
    )
    p.add_argument(
        "--channel",
        help="The channel to log the search under, e.g. chat (default: api).",
    )
    _common(p, search)


def _add_answer(sub: _Sub) -> None:
    p = _command(
        sub,
        "answer",
        "Answer a question for one channel, or decline and offer an agent.",
        "An empty base is an error (exit status 1).",
    )
    p.add_argument("question", help="The question, as the customer asked it.")
    _asked(p, "Answer from", None, "agent on the agent channel, customer on the others")
    p.add_argument(
        "--channel",
        choices=CHANNELS,
        default="chat",
        help="Where the answer is shown, which decides its form (default: %(default)s).",
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="The confidence below which to decline, from 0 to 1 (default: the model's).",
    )
    p.add_argument(
        "--language",
        metavar="CODE",
        help="The asker's language, e.g. fr (default: detected from the question).",
    )
    _common(p, answer)


def _add_loop(sub: _Sub) -> None:
    p = _command(sub, "feedback", "Record what followed a search or an answer.")
    p.add_argument(
        "interaction_id",
        metavar="INTERACTION_ID",
        help="The interaction_id that search or answer printed with --json (or that the HTTP"
        " reply and the log give).",
    )
    p.add_argument("outcome", choices=OUTCOMES, help="What followed.")
    _kb(p)
    _common(p, feedback)

    p = _command(
        sub,
        "report",
        "Report self-service KPIs and content gaps from the interaction log.",
    )
    _kb(p)
    p.add_argument(
        "--since",
        metavar="WHEN",
        help=f"The first day or time to count, included: {_WHEN} (default: the first"
        " interaction logged).",
    )
    p.add_argument(
        "--until",
        metavar="WHEN",
        help=f"The last day to count, included, or the time to stop at, excluded: {_WHEN}"
        " (default: now).",
    )
    p.add_argument(
        "--stale-days",
        type=int,
        default=365,
        metavar="DAYS",
        help="Flag documents not updated for this many days (default: %(default)s).",
    )
    p.add_argument("--html", metavar="FILE", help="Also write an HTML report with plots.")
    _common(p, report)

    p = _command(
        sub, "capture", "Link resolved cases to the answers they used, or draft new articles."
    )
    p.add_argument("cases", nargs="+", metavar="CASES", help="CRM case exports (CSV, JSON Lines).")
    _kb(p)
    _wait(p)
    _common(p, capture)

    p = _command(sub, "drafts", "List, show, approve, reject or merge the drafts capture made.")
    p.add_argument(
        "action", choices=("list", "show", "approve", "reject", "merge"), help="What to do."
    )
    p.add_argument(
        "draft_id",
        nargs="?",
        metavar="ID",
        help="The draft to show, approve, reject, or merge the others into.",
    )
    p.add_argument(
        "others", nargs="*", metavar="OTHER", help="With merge: the drafts of the same problem."
    )
    _kb(p)
    p.add_argument(
        "--status",
        choices=DRAFT_STATUSES,
        help="With list: only the drafts in this state (default: all).",
    )
    p.add_argument(
        "--public", action="store_true", help="With approve: customers see the article too."
    )
    p.add_argument(
        "--title",
        help="With approve: the article's title (default: the problem's first line, or a"
        " neutral one when public).",
    )
    p.add_argument(
        "--problem",
        help="With approve: the problem as customers will read it; the cases' subjects stay"
        " internal.",
    )
    _wait(p)
    _common(p, drafts)

    p = _command(sub, "purge", "Delete documents and forget their earlier versions.")
    p.add_argument("ids", nargs="+", metavar="ID", help="The ids of the documents to delete.")
    _kb(p)
    _common(p, purge)

    p = _command(sub, "settings", "Show or change a base's interaction logging.")
    _kb(p)
    p.add_argument(
        "--logging",
        choices=("on", "off"),
        help="Log searches and answers, or not (default: unchanged).",
    )
    p.add_argument(
        "--retention-days",
        metavar="DAYS",
        help="How many days to keep interactions, or 'forever' (default: unchanged).",
    )
    _common(p, settings)


def _cluster(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        metavar="WHERE",
        help="Where a sharded base's shards run: local (Ray actors of a Ray instance started"
        " here), auto (the Ray cluster this machine belongs to) or a Ray address"
        " (default: in this process; needs pip install 'srmkb[ray]' otherwise).",
    )


def _add_serve(sub: _Sub) -> None:
    p = _command(
        sub,
        "serve",
        "Serve a base over HTTP: the JSON API and the agent page.",
        "Each API key's role decides what its requests see; requests without a key are customers.",
    )
    _kb(p)
    p.add_argument(
        "--host", default="127.0.0.1", help="The address to listen on (default: %(default)s)."
    )
    p.add_argument(
        "--port", type=int, default=8000, help="The port to listen on (default: %(default)s)."
    )
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="agent",
        help="Whom the server is for: customer makes a public server, with no agent view,"
        " agent page, report or writes; agent an internal one (default: %(default)s).",
    )
    _cluster(p)
    p.add_argument(
        "--keys-file",
        metavar="FILE",
        help='The API keys and their roles, as JSON: {"keys": [{"key" or "sha256": ...,'
        ' "role": ...}]} (default: $SRMKB_API_KEYS_FILE; $SRMKB_API_KEY and'
        " $SRMKB_API_KEYS add keys too).",
    )
    for flag, what, default in (
        ("--max-body-bytes", "The largest request body, in bytes", "1000000"),
        ("--max-query-chars", "The longest query or question, in characters", "2000"),
        ("--max-k", "The most hits one search may ask for", "100"),
    ):
        p.add_argument(flag, type=int, metavar="N", help=f"{what} (default: {default}).")
    p.set_defaults(run=serve, json=False, quiet=False)


def _add_mcp(sub: _Sub) -> None:
    p = _command(
        sub,
        "mcp",
        "Serve a base to AI agents over MCP (the Model Context Protocol).",
        "The audience is set here, by whoever runs the server, never by a tool call."
        " Needs the mcp extra: pip install 'srmkb[mcp]'.",
    )
    _kb(p)
    p.add_argument(
        "--audience",
        choices=AUDIENCES,
        default="customer",
        help="Who the agents answer: customers see public documents only, agents internal"
        " ones too (default: %(default)s).",
    )
    p.add_argument(
        "--transport",
        choices=("stdio", "streamable-http"),
        default="stdio",
        help="How agents reach the server: stdio when the agent starts this process,"
        " streamable-http to listen on --host and --port (default: %(default)s).",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="The address to listen on with streamable-http (default: %(default)s).",
    )
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help="The port to listen on with streamable-http (default: %(default)s).",
    )
    p.set_defaults(run=mcp, json=False, quiet=False)


def _add_eval(sub: _Sub) -> None:
    p = _command(
        sub,
        "eval",
        "Evaluate retrieval, or answers, on a BEIR-layout folder.",
        "The folder holds corpus.jsonl, queries.jsonl and qrels/SPLIT.tsv.",
    )
    p.add_argument(
        "folder", metavar="DIR", help="The folder with corpus.jsonl, queries.jsonl and qrels/."
    )
    p.add_argument(
        "--mode",
        choices=MODES,
        default="hybrid",
        help="The retrieval mode (default: %(default)s).",
    )
    p.add_argument(
        "--model",
        default="minilm",
        help=f"The embedding model: {_MODEL_NAMES} (default: %(default)s).",
    )
    p.add_argument(
        "--kb",
        metavar="DIR",
        help="Build (or reuse) the base here (default: a temporary folder).",
    )
    p.add_argument(
        "--split",
        default="test",
        help="The qrels file to score against (default: %(default)s).",
    )
    p.add_argument(
        "--answers",
        action="store_true",
        help="Evaluate answers instead: coverage, precision, and abstention on queries_oos.jsonl.",
    )
    _common(p, evaluate)
