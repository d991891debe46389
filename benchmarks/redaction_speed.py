"""Redaction throughput: MB/s of :func:`srmkb.text.redaction.redact` on ordinary, dense and
adversarial text.

    python benchmarks/redaction_speed.py [--repeat 3] [--size 1.0]

Inputs, each about ``--size`` MB (UTF-8 bytes / 1e6):

* **ordinary text**: the example CRM export (``examples/crm/cases.jsonl``: subjects,
  customer messages, agent notes, resolutions, with their phones and e-mails) repeated;
  French administrative pages (``shared/data/beir/service-public-fr``: dates, amounts,
  service numbers) and English abstracts (``shared/data/beir/scifact``: figures,
  measurements, p-values), read in order;
* **dense personal data**: synthetic case notes in French and English where every
  sentence holds a phone number, card, IBAN, RIB, NIR or e-mail address, all different
  and all valid (seeded);
* **adversarial**: one string each of digits, spaced digits, five-digit groups, dashed
  digits, '@' characters, ``a@a@…``, ``a@a.a.a…`` and mixed junk (digits, separators,
  '+', '@', letters); and seeded random digit groups of 1 to 6 digits, which read as
  phone and card numbers every few groups, so they measure detection, not a fast path.

Each input is timed ``--repeat`` times and the best run kept; the phone validity cache is
cleared before every run, so a repeated input costs what a new one would.
Results: ``benchmarks/results/redaction-speed-latest.json`` (with the machine, versions,
commit and command) and ``benchmarks/results/redaction-speed-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from stdnum import iban, luhn

from _record import RESULTS, provenance, provenance_line
from srmkb.text import _phone_formats
from srmkb.text.redaction import redact_with_counts

ROOT = Path(__file__).resolve().parent.parent
BEIR = ROOT.parent / "shared" / "data" / "beir"
CRM = ROOT / "examples" / "crm" / "cases.jsonl"


# -- inputs ------------------------------------------------------------------------------


def _fill(pieces: Callable[[], str], size: float) -> str:
    """Pieces joined until the text holds ``size`` MB."""
    out, total = [], 0
    while total < size * 1e6:
        piece = pieces()
        out.append(piece)
        total += len(piece.encode()) + 1
    return "\n".join(out)


def crm_text(size: float) -> str:
    texts = []
    for line in CRM.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        notes = [*case.get("messages", []), *case.get("internal_notes", [])]
        parts = [case.get("subject", ""), *(n["body"] if isinstance(n, dict) else n for n in notes)]
        texts.append("\n".join([*parts, case.get("resolution", "")]))
    cycle = iter(range(10**9))
    return _fill(lambda: texts[next(cycle) % len(texts)], size)


def beir_text(name: str, size: float) -> str:
    with open(BEIR / name / "corpus.jsonl", encoding="utf-8") as handle:
        docs = (json.loads(line)["text"] for line in handle)
        return _fill(lambda: next(docs), size)


def dense_text(size: float, seed: int = 19) -> str:
    rng = random.Random(seed)

    def digits(n: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(n))

    def card() -> str:
        body = rng.choice(["4", "51", "52", "53", "54", "55"]) + digits(13)
        number = body[:15] + luhn.calc_check_digit(body[:15])
        return " ".join(number[k : k + 4] for k in range(0, 16, 4))

    def french_iban() -> str:
        bban = digits(10) + digits(11) + digits(2)
        number = iban.calc_check_digits("FR00" + bban)
        return iban.format(f"FR{number}{bban}")

    def rib() -> str:
        bank, branch, account = digits(5), digits(5), digits(11)
        key = 97 - int(bank + branch + account + "00") % 97
        return f"{bank} {branch} {account} {key:02d}"

    def nir() -> str:
        body = rng.choice("12") + digits(2) + f"{rng.randint(1, 12):02d}" + digits(8)
        key = 97 - int(body) % 97
        return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:]} {key:02d}"

    def phone() -> str:
        kind = rng.randrange(4)
        if kind == 0:
            return "0" + rng.choice("1234567") + " " + " ".join(digits(2) for _ in range(4))
        if kind == 1:
            return "+33 " + rng.choice("67") + " " + " ".join(digits(2) for _ in range(4))
        if kind == 2:
            return f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{digits(4)}"
        return f"+44 20 7946 {digits(4)}"

    def email() -> str:
        name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
        return f"{name}.{digits(3)}@{rng.choice(['gmail.com', 'orange.fr', 'example.co.uk'])}"

    makers = [
        ("Le client demande un rappel au {}.", phone),
        ("Customer called from {} about order ORD-2026-{}.", phone),
        ("Paid with card {} on 2026-03-14, refund requested.", card),
        ("Remboursement sur l'IBAN {} sous 5 jours.", french_iban),
        ("Voici mon RIB : {}", rib),
        ("N° de sécurité sociale {} (dossier CASE-{}).", nir),
        ("Reply to {} with the invoice INV-2026-{}.", email),
    ]

    def sentence() -> str:
        template, make = rng.choice(makers)
        return template.format(make(), digits(6))

    return _fill(sentence, size)


def adversarial(size: float, seed: int = 19) -> dict[str, str]:
    n = int(size * 1e6)
    rng = random.Random(seed)
    groups = []
    total = 0
    while total < n:
        groups.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 6))))
        total += len(groups[-1]) + 1
    return {
        "digits": "7" * n,
        "spaced digits": "1 " * (n // 2),
        "five-digit groups": " ".join(f"{rng.randrange(10**5):05d}" for _ in range(n // 6)),
        "dashed digits": "1-" * (n // 2) + "x",
        "'@' characters": "@" * n,
        "a@a@…": "a@" * (n // 2),
        "a@a.a.a…": "a@" + "a." * (n // 2),
        "mixed junk": "".join(rng.choice("0123456789 .-/()+@aZ\n,:#é") for _ in range(n)),
        "random digit groups": " ".join(groups),
    }


# -- measuring ---------------------------------------------------------------------------


def measure(kind: str, name: str, text: str, repeat: int) -> dict[str, object]:
    runs, counts = [], Counter[str]()
    for _ in range(repeat):
        _phone_formats.is_valid.cache_clear()  # a fresh process would start without it
        start = time.perf_counter()
        _, found = redact_with_counts(text)
        runs.append(time.perf_counter() - start)
        counts = Counter(found)
    megabytes = len(text.encode()) / 1e6
    best = min(runs)
    return {
        "kind": kind,
        "input": name,
        "megabytes": round(megabytes, 3),
        "seconds": round(best, 4),
        "mb_per_s": round(megabytes / best, 2),
        "redacted": dict(sorted(counts.items())),
        "runs_seconds": [round(r, 4) for r in runs],
    }


def markdown(record: dict) -> str:  # type: ignore[type-arg]
    lines = [
        f"# Redaction throughput ({record['date'][:10]}, commit {record['git_commit']})",
        "",
        f"Best of {record['repeat']} runs, one thread, phone validity cache cleared before each."
        " MB: UTF-8 bytes / 1e6. See `benchmarks/redaction_speed.py`.",
        "",
        "| kind | input | MB | seconds | MB/s | redacted |",
        "|---|---|---|---|---|---|",
    ]
    for r in record["results"]:
        found = ", ".join(f"{k} {v:,}" for k, v in r["redacted"].items()) or "nothing"
        lines.append(
            f"| {r['kind']} | {r['input']} | {r['megabytes']:.2f} | {r['seconds']:.3f}"
            f" | {r['mb_per_s']:.2f} | {found} |"
        )
    lines += ["", provenance_line(record, load=True), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per input; the best is kept")
    parser.add_argument("--size", type=float, default=1.0, help="MB of text per input")
    args = parser.parse_args()

    inputs: list[tuple[str, str, str]] = [
        ("ordinary", "CRM case notes (examples/crm)", crm_text(args.size)),
        ("ordinary", "service-public-fr pages", beir_text("service-public-fr", args.size)),
        ("ordinary", "scifact abstracts", beir_text("scifact", args.size)),
        ("dense", "case notes, personal data in every sentence", dense_text(args.size)),
    ]
    inputs += [("adversarial", name, text) for name, text in adversarial(args.size).items()]
    redact_with_counts("warm up: 06 12 34 56 78, a@b.io")  # metadata loaded once per process
    results = []
    for kind, name, text in inputs:
        row = measure(kind, name, text, args.repeat)
        results.append(row)
        print(f"{kind:12} {name:46} {row['mb_per_s']:>8} MB/s", file=sys.stderr)

    record = {
        **provenance("redaction-speed", ("phonenumbers", "python-stdnum")),
        "repeat": args.repeat,
        "size_mb": args.size,
        "data": {
            "ordinary": "examples/crm/cases.jsonl texts repeated; the first documents of"
            " shared/data/beir/service-public-fr and scifact corpus.jsonl",
            "dense": "seeded synthetic sentences, each with one valid phone, card, IBAN, RIB,"
            " NIR or e-mail address",
            "adversarial": "one string per pattern; random digit groups of 1-6 digits, seeded",
        },
        "results": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "redaction-speed-latest.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    (RESULTS / "redaction-speed-latest.md").write_text(markdown(record))
    print(markdown(record))


if __name__ == "__main__":
    main()
