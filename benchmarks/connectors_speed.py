"""Connector throughput on real files: files/s, pages/s, documents/s and MB/s per connector.

    python benchmarks/connectors_speed.py [--repeat 3] [--faq-entries 5000] [--crm-rows 10000]

Inputs:

* **html**: every HTML page of ``shared/data/docs/debian-faq/*/`` and
  ``shared/data/docs/html-help/`` (Debian FAQ chapters in two languages, LibreOffice help,
  long Debian Reference chapters);
* **pdf**: every PDF of ``shared/data/docs/pdfs/`` and the two Debian FAQ PDFs (scanned
  PDFs among them end in an error, which is part of the work);
* **faq**: ``examples/nimbus/faq.csv`` replicated to ``--faq-entries`` entries (ids made
  unique) in ten CSV files, and as ten FAQ JSON files of question/answer objects;
* **jsonl**: ``examples/nimbus/faq.jsonl`` (JSON Lines documents) replicated the same way;
* **crm**: ``examples/crm/cases.csv`` and ``cases.jsonl`` replicated to ``--crm-rows`` rows
  in all (case ids made unique), ten files of each.

Each input is timed two ways, best of ``--repeat`` runs: the connector alone
(``connector.read`` on each file) and through :func:`srmkb.connectors.read_paths`, which
also pays for asking the connectors tried before it whether they accept the file (the
FAQ connector parses HTML pages that look like FAQs). Pages are the PDF pages of the
documents read and the HTML files; documents are the documents yielded; MB are file
bytes / 1e6.
Results: ``benchmarks/results/connectors-speed-<stamp>.json`` and a table in
``benchmarks/results/connectors-speed-latest.md``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from _record import provenance, provenance_line, write_result
from srmkb import Document, IngestError
from srmkb.connectors import (
    Connector,
    CrmConnector,
    FaqConnector,
    HtmlConnector,
    JsonlConnector,
    PdfConnector,
    read_paths,
    registered_connectors,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCS = ROOT.parent / "shared" / "data" / "docs"
EXAMPLES = ROOT / "examples"
FILES_PER_SET = 10
T = TypeVar("T")


@dataclass(frozen=True)
class Inputs:
    """One timed input set: its files, the folder ids are made relative to, and the
    connector that reads them."""

    name: str
    connector: str
    files: list[Path]
    root: Path
    make: Callable[[Path], Connector]
    description: str


@dataclass
class Run:
    seconds: float
    documents: int
    errors: int
    pages: int


def time_once(inputs: Inputs, dispatch: bool) -> Run:
    documents = errors = pages = 0
    if dispatch:
        chosen = registered_connectors(inputs.root)
        start = time.perf_counter()
        items: Iterable[Document | IngestError] = read_paths(inputs.files, chosen)
    else:
        connector = inputs.make(inputs.root)
        start = time.perf_counter()
        items = (item for path in inputs.files for item in connector.read(path))
    for item in items:
        if isinstance(item, IngestError):
            errors += 1
            continue
        documents += 1
        if item.metadata.get("source_type") == "pdf":
            n = item.metadata.get("pages")
            pages += n if isinstance(n, int) else 0
    seconds = time.perf_counter() - start
    pages += sum(1 for p in inputs.files if p.suffix.lower() in (".html", ".htm"))
    return Run(seconds, documents, errors, pages)


def measure(inputs: Inputs, dispatch: bool, repeat: int) -> dict[str, object]:
    runs = [time_once(inputs, dispatch) for _ in range(repeat)]
    best = min(runs, key=lambda r: r.seconds)
    size = sum(p.stat().st_size for p in inputs.files)
    return {
        "input": inputs.name,
        "connector": inputs.connector,
        "timed": "read_paths" if dispatch else "connector.read",
        "files": len(inputs.files),
        "pages": best.pages,
        "documents": best.documents,
        "errors": best.errors,
        "megabytes": round(size / 1e6, 3),
        "seconds": round(best.seconds, 4),
        "files_per_s": round(len(inputs.files) / best.seconds, 1),
        "pages_per_s": round(best.pages / best.seconds, 1) if best.pages else None,
        "documents_per_s": round(best.documents / best.seconds, 1),
        "mb_per_s": round(size / 1e6 / best.seconds, 3),
        "runs_seconds": [round(r.seconds, 4) for r in runs],
    }


# -- replicated structured inputs --------------------------------------------------------


def split(rows: list[T], parts: int) -> Iterable[list[T]]:
    size = -(-len(rows) // parts)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def replicate_faq(folder: Path, entries: int) -> tuple[list[Path], list[Path], list[Path]]:
    """FAQ CSV and JSON files and JSON Lines documents, ``entries`` of each kind."""
    text = (EXAMPLES / "nimbus" / "faq.csv").read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    id_col, q_col, a_col = 0, 1, 2
    csv_rows = []
    for n in range(entries):
        row = list(rows[n % len(rows)])
        row[id_col] = f"{row[id_col]}-{n}"
        csv_rows.append(row)
    csv_files = []
    for k, chunk in enumerate(split(csv_rows, FILES_PER_SET)):
        path = folder / f"faq-{k:02d}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(header)
            writer.writerows(chunk)
        csv_files.append(path)
    json_files = []
    objects = [{"id": r[id_col], "question": r[q_col], "answer": r[a_col]} for r in csv_rows]
    for k, chunk in enumerate(split(objects, FILES_PER_SET)):
        path = folder / f"faq-{k:02d}.json"
        path.write_text(json.dumps(chunk, ensure_ascii=False), encoding="utf-8")
        json_files.append(path)
    lines = (EXAMPLES / "nimbus" / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    docs = []
    for n in range(entries):
        obj = json.loads(lines[n % len(lines)])
        obj["id"] = f"{obj['id']}-{n}"
        docs.append(json.dumps(obj, ensure_ascii=False))
    jsonl_files = []
    for k, chunk in enumerate(split(docs, FILES_PER_SET)):
        path = folder / f"docs-{k:02d}.jsonl"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        jsonl_files.append(path)
    return csv_files, json_files, jsonl_files


def replicate_crm(folder: Path, rows: int) -> tuple[list[Path], list[Path]]:
    """CRM exports: half the rows as CSV, half as JSON Lines, case ids made unique."""
    text = (EXAMPLES / "crm" / "cases.csv").read_text(encoding="utf-8-sig")
    header, *records = list(csv.reader(io.StringIO(text)))
    csv_rows = []
    for n in range(rows // 2):
        row = list(records[n % len(records)])
        row[0] = f"{row[0]}-{n}"
        csv_rows.append(row)
    csv_files = []
    for k, chunk in enumerate(split(csv_rows, FILES_PER_SET)):
        path = folder / f"cases-{k:02d}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(chunk)
        csv_files.append(path)
    lines = (EXAMPLES / "crm" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    objects = []
    for n in range(rows - rows // 2):
        obj = json.loads(lines[n % len(lines)])
        obj["ticket_id"] = f"{obj['ticket_id']}-{n}"
        objects.append(json.dumps(obj, ensure_ascii=False))
    jsonl_files = []
    for k, chunk in enumerate(split(objects, FILES_PER_SET)):
        path = folder / f"cases-{k:02d}.jsonl"
        path.write_text("\n".join(chunk) + "\n", encoding="utf-8")
        jsonl_files.append(path)
    return csv_files, jsonl_files


# -- the record --------------------------------------------------------------------------


def markdown(record: dict) -> str:  # type: ignore[type-arg]
    lines = [
        f"# Connector throughput ({record['date'][:10]}, commit {record['git_commit']})",
        "",
        "Best of "
        f"{record['repeat']} runs, one process, one thread. `connector.read`: the connector"
        " alone; `read_paths`: the dispatcher, which also asks the connectors tried first"
        " whether they accept each file. Pages: PDF pages, HTML files. MB: file bytes / 1e6."
        " See `benchmarks/connectors_speed.py`.",
        "",
        "| input | connector | timed | files | pages | docs | errors | MB | files/s"
        " | pages/s | docs/s | MB/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        paged = r["pages_per_s"] is not None
        pages = f"{r['pages']:,}" if paged else ""
        pages_per_s = f"{r['pages_per_s']:,.0f}" if paged else ""
        lines.append(
            f"| {r['input']} | {r['connector']} | {r['timed']} | {r['files']} | {pages}"
            f" | {r['documents']:,} | {r['errors']} | {r['megabytes']:.2f}"
            f" | {r['files_per_s']:,.1f} | {pages_per_s} | {r['documents_per_s']:,.0f}"
            f" | {r['mb_per_s']:.2f} |"
        )
    lines += ["", provenance_line(record), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per input; the best is kept")
    parser.add_argument("--faq-entries", type=int, default=5000)
    parser.add_argument("--crm-rows", type=int, default=10000)
    args = parser.parse_args()
    # The CRM connector warns about odd dates; a benchmark wants its table, not those.
    logging.basicConfig(level=logging.ERROR)

    html = sorted(DOCS.glob("debian-faq/*/*.html")) + sorted(DOCS.glob("html-help/**/*.html"))
    pdfs = sorted(DOCS.glob("pdfs/*.pdf")) + sorted(DOCS.glob("debian-faq/*/*.pdf"))
    if not html or not pdfs:
        raise SystemExit(f"shared documents not found under {DOCS}")
    with tempfile.TemporaryDirectory(prefix="srmkb-connectors-") as tmp:
        folder = Path(tmp)
        faq_csv, faq_json, jsonl = replicate_faq(folder, args.faq_entries)
        crm_csv, crm_jsonl = replicate_crm(folder, args.crm_rows)
        sets = [
            Inputs("HTML pages", "html", html, DOCS, lambda r: HtmlConnector(root=r),
                   "shared/data/docs/debian-faq/*/*.html and html-help/**/*.html"),
            Inputs("PDF files", "pdf", pdfs, DOCS, lambda r: PdfConnector(root=r),
                   "shared/data/docs/pdfs/*.pdf and debian-faq/*/*.pdf"),
            Inputs("FAQ CSV", "faq", faq_csv, folder, lambda r: FaqConnector(),
                   f"examples/nimbus/faq.csv replicated to {args.faq_entries} entries"),
            Inputs("FAQ JSON", "faq", faq_json, folder, lambda r: FaqConnector(),
                   f"the same {args.faq_entries} entries as question/answer JSON"),
            Inputs("JSON Lines documents", "jsonl", jsonl, folder, lambda r: JsonlConnector(),
                   f"examples/nimbus/faq.jsonl replicated to {args.faq_entries} lines"),
            Inputs("CRM CSV", "crm", crm_csv, folder, lambda r: CrmConnector(),
                   f"examples/crm/cases.csv replicated to {args.crm_rows // 2} rows"),
            Inputs("CRM JSON Lines", "crm", crm_jsonl, folder, lambda r: CrmConnector(),
                   f"examples/crm/cases.jsonl replicated to {args.crm_rows - args.crm_rows // 2} rows"),
        ]  # fmt: skip
        results = []
        for inputs in sets:
            for dispatch in (False, True):
                row = measure(inputs, dispatch, args.repeat)
                results.append(row)
                print(
                    f"{inputs.name:22} {row['timed']:15} {row['files_per_s']:>9} files/s"
                    f" {row['documents_per_s']:>9} docs/s {row['mb_per_s']:>7} MB/s",
                    file=sys.stderr,
                )
        data = {s.name: s.description for s in sets}

    record = {
        **provenance(
            "connectors-speed", ("pypdfium2", "selectolax", "charset-normalizer", "PyYAML")
        ),
        "repeat": args.repeat,
        "data": data,
        "definitions": {
            "pages": "PDF pages of the documents read (their metadata), plus HTML files",
            "documents": "documents yielded (errors are counted apart)",
            "megabytes": "file bytes / 1e6",
            "timed": "connector.read: the connector alone, each file; read_paths: the"
            " dispatcher with every registered connector, as srmkb ingest reads",
            "speed": f"best of {args.repeat} runs, one thread",
        },
        "results": results,
    }
    write_result(record)
    (HERE / "results" / "connectors-speed-latest.md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
