"""The ``srmkb`` command line: ingest, search, eval, stats.

Human-readable output by default, ``--json`` for machines; progress bars go to stderr
(``--quiet`` silences them), so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .documents import Document, IngestError, SyncReport
from .errors import SrmkbError

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 3


def main(argv: Sequence[str] | None = None) -> int:
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
    p.add_argument("--model", help="embedding model for a new base (default: minilm)")
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
    common(p)
    p.set_defaults(run=_search)

    p = sub.add_parser("answer", help="answer a question for one channel, or decline")
    p.add_argument("question")
    p.add_argument("--kb", required=True)
    p.add_argument("--channel", choices=("chat", "email", "voice", "web", "agent"), default="chat")
    p.add_argument("--audience", choices=("customer", "agent"), default="customer")
    p.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
    common(p)
    p.set_defaults(run=_answer)

    p = sub.add_parser("serve", help="serve a base over HTTP (JSON API and agent page)")
    p.add_argument("--kb", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
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
    return parser


def _progress(total: int | None, desc: str, quiet: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="doc", disable=quiet, file=sys.stderr, leave=False)


def _ingest(args: argparse.Namespace) -> int:
    from .connectors import read_paths, registered_connectors
    from .kb import KnowledgeBase

    kb = KnowledgeBase(args.kb, model=args.model, dense=not args.no_dense)
    errors: list[IngestError] = []
    used = []

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

    with _progress(None, "ingest", args.quiet) as bar:
        if args.sync:
            sources = [str(Path(p).resolve()) for p in args.paths if Path(p).exists()]
            report = kb.sync(
                documents(), sources=sources, batch_size=args.batch_size, progress=bar.update
            )
        else:
            report = kb.upsert(documents(), batch_size=args.batch_size, progress=bar.update)
    skipped = sum(int(getattr(c, "skipped", 0)) for c in used)
    report = report + SyncReport(errors=tuple(errors), skipped=skipped)
    kb.close()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
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
    )
    if args.json:
        print(json.dumps([h.to_json() for h in hits], ensure_ascii=False))
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
    from .kb import KnowledgeBase
    from .service import serve

    serve(KnowledgeBase(args.kb, create=False), host=args.host, port=args.port)
    return EXIT_OK


def _eval(args: argparse.Namespace) -> int:
    import numpy as np

    from .evaluation import evaluate_run, load_beir
    from .kb import KnowledgeBase

    data = load_beir(args.folder, split=args.split)
    with tempfile.TemporaryDirectory(prefix="srmkb-eval-") as tmp:
        path = Path(args.kb) if args.kb else Path(tmp) / "kb"
        kb = KnowledgeBase(path, model=args.model, dense=args.mode != "bm25")
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
    threshold = default_model().threshold
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
