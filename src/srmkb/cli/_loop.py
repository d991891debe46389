"""The knowledge loop on the command line: ``feedback`` on what followed an answer, the
KPI ``report``, ``capture`` of resolved cases, ``drafts`` to review, ``purge`` of
documents and the interaction-log ``settings``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .. import Document, IngestError, InputError
from ..vocabulary import read_when
from ._common import EXIT_OK, EXIT_PARTIAL, open_base, print_errors, to_json


def feedback(args: argparse.Namespace) -> int:
    kb = open_base(args.kb)
    kb.feedback(args.interaction_id, args.outcome)
    if args.json:
        print(json.dumps({"interaction_id": args.interaction_id, "outcome": args.outcome}))
    else:
        print(f"recorded: {args.interaction_id} {args.outcome}")
    return EXIT_OK


def report(args: argparse.Namespace) -> int:
    kb = open_base(args.kb)
    since = None if args.since is None else _day_start(read_when(args.since, "--since"))
    until = None
    if args.until is not None:
        until = _day_start(read_when(args.until, "--until"), after=True)
    kpis = kb.report(since=since, until=until, stale_days=args.stale_days, html=args.html)
    if args.json:
        print(json.dumps(kpis, ensure_ascii=False))
        return EXIT_OK
    print(summary(kpis))
    if args.html:
        print(f"HTML report: {args.html}")
    return EXIT_OK


def summary(report: dict[str, Any]) -> str:
    """A few lines a person reads: volumes, resolution, the largest gaps and flags."""
    ss = report["self_service_resolution"]
    lines = [
        f"{report['questions']} questions: {report['answered']} answered,"
        f" {report['abstained']} declined; {report['searches']} searches"
        + (f", {report['document_reads']} documents read" if report["document_reads"] else ""),
        f"self-service resolution: {_pct(ss['rate'])} ({ss['resolved']}/{ss['interactions']},"
        f" {ss['with_feedback']} with feedback); zero-result rate:"
        f" {_pct(report['zero_result_rate'])}",
    ]
    for gap in report["content_gaps"][:3]:
        lines.append(
            f"content gap ({gap['size']} asked, {gap['coverage']}): {gap['questions'][0]!r}"
        )
    counted = report.get("content_gap_questions") or {}
    if 0 < counted.get("clustered", 0) < counted.get("distinct", 0):
        lines.append(
            f"content gaps from the {counted['clustered']:,} most asked of"
            f" {counted['distinct']:,} distinct unanswered questions"
        )
    for product in report["incidents_by_product"]["products"]:
        if product["flagged"]:
            lines.append(f"flagged product {product['product']}: {product['why']}")
    for conflict in report["conflicts"][:3]:
        lines.append(f"conflict {' vs '.join(conflict['documents'])}: {conflict['why']}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _day_start(when: dt.datetime | dt.date, *, after: bool = False) -> dt.datetime:
    """A time as it is; a day as its first moment (UTC), or with ``after`` the first
    moment of the next day: ``--until 2026-03-31`` (or ``--until yesterday``) includes
    that whole day."""
    if isinstance(when, dt.datetime):
        return when
    day = when + dt.timedelta(days=1) if after else when
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)


def capture(args: argparse.Namespace) -> int:
    """Exit 3 when some case files or rows could not be read; the rest is captured."""
    from ..connectors import CrmConnector
    from ..loop.capture import capture as capture_cases

    kb = open_base(args.kb)
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

    data = capture_cases(kb, cases(), wait=args.wait).to_json()
    data["errors"] = [e.to_json() for e in errors]
    if args.json:
        print(to_json(data))
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
        print_errors(errors)
    return EXIT_PARTIAL if errors else EXIT_OK


def drafts(args: argparse.Namespace) -> int:
    from ..loop.capture import approve, list_drafts, merge, reject

    if args.others and args.action != "merge":
        raise InputError(f"srmkb drafts {args.action} takes one draft ID")
    kb = open_base(args.kb)
    if args.action == "list":
        rows = list_drafts(kb, args.status)
        if args.json:
            print(json.dumps([row.to_json() for row in rows], ensure_ascii=False))
        for row in [] if args.json else rows:
            created = row.created_at.strftime("%Y-%m-%d")
            print(f"{row.id:24} {row.status:9} {created} {len(row.cases)} case(s)  {row.title}")
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
            kb,
            args.draft_id,
            public=args.public,
            title=args.title,
            problem=args.problem,
            wait=args.wait,
        )
        message = f"approved {published.id} ({published.visibility})"
    elif args.action == "merge":
        cases = merge(kb, args.draft_id, args.others, wait=args.wait).metadata.get("cases")
        message = (
            f"merged {', '.join(dict.fromkeys(args.others))} into {args.draft_id}"
            f" ({len(cases) if isinstance(cases, list) else 0} cases)"
        )
    else:
        reject(kb, args.draft_id, wait=args.wait)
        message = f"rejected {args.draft_id}"
    print(json.dumps({"result": message}) if args.json else message)
    return EXIT_OK


def purge(args: argparse.Namespace) -> int:
    kb = open_base(args.kb)
    purged = kb.purge(args.ids)
    if args.json:
        print(json.dumps(purged.to_json()))
    else:
        print(f"purged {len(purged.deleted)} document(s) and their history")
    return EXIT_OK


def settings(args: argparse.Namespace) -> int:
    kb = open_base(args.kb)
    retention: int | str | None = "keep"
    if args.retention_days is not None:
        if args.retention_days == "forever":
            retention = None
        elif args.retention_days.isdigit():
            retention = int(args.retention_days)
        else:
            raise InputError("--retention-days takes a number of days or 'forever'")
    logging = None if args.logging is None else args.logging == "on"
    current = kb.configure_log(logging=logging, retention_days=retention)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(current))
    else:
        for key, value in current.items():
            print(f"{key:15} {value}")
    return EXIT_OK
