"""Fit and check the answer-confidence model on the shared support sets.

    python benchmarks/confidence_study.py [--model minilm|multilingual] [--write-model]
                                          [--cache FILE]

Unanswerable questions are made from real ones: in each question set (covidfaq,
banking77, hint3-sofmattress, service-public-fr) a seeded 30% of the documents is left
out of the base, so questions about them are in-domain but have no answer, like real
out-of-scope messages; two seeds give two views of each set. hint3-sofmattress's real
out-of-scope messages (``queries_oos.jsonl``, the only shared set that has them) are
added to its views. The label is "the top document is relevant"; each set weighs the
same in the fit.

The fit has two steps. The direction of the logistic model is fitted with answerable
questions whose top document is wrong down-weighted (``--wrong-weight``, 0.2): what an
answer threshold has to separate is "the base answers this" from "the base cannot", and
those rows, half-answerable, blur that direction (leave-one-set-out mean AUROC 0.858 at
weight 1, 0.862 at 0.3, 0.863 at 0.2, 0.865 at 0; 0.2 keeps some say for wrong answers).
A one-dimensional logistic (Platt) rescaling of that score on all rows at full weight
then makes it a probability of a correct answer again; it is folded into the weights,
so the shipped model stays one logistic model.

Generalisation is measured leave one set out: fitted on the other sets, judged on the
left-out one (hint3-sofmattress with all its documents and its real out-of-scope
messages; the others on a seed-13 view), against the previous five features and the
naive top cosine. ``--write-model`` refits on all sets, chooses the default threshold on
hint3's real support traffic (:func:`support_threshold`) and writes
``src/srmkb/answering/confidence_model.json`` (``confidence_model_e5.json`` for ``--model
multilingual``: each embedding model has its own cosine scale). Results:
``benchmarks/results/confidence-study[-multilingual].json`` and
``confidence-tradeoff[-multilingual].png``. Passage vectors are cached in
``~/.cache/srmkb-bench/embeddings.sqlite``.

The features come from ``KnowledgeBase.evidence``: the study measures exactly what the
library computes when it answers.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from srmkb import KnowledgeBase
from srmkb.answering.confidence import FEATURES, ConfidenceModel, model_file
from srmkb.evaluation import answer_metrics, auroc, load_beir, load_oos_queries
from srmkb.models import MODEL_IDS, CachedEmbedder, load_embedder

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
SETS = ("covidfaq", "banking77", "hint3-sofmattress", "service-public-fr")
# The multilingual model also answers across languages: its fit sees French questions
# over English pages and the reverse, so answers drawn across languages are calibrated.
CROSS_LINGUAL = ("libreoffice-help-fr2en", "libreoffice-help-en2fr")
SUPPORT = "hint3-sofmattress"  # real customer messages and real out-of-scope ones
HOLDOUT = 0.3
SEEDS = (13, 29)
TARGET_PRECISION = 0.85
MIN_OOS_ABSTENTION = 0.70
OLD_FEATURES = ("cos_top", "line_cos", "line_gap", "coverage", "agree", "bias")  # until 2026-11


def collect(name: str, embedder, holdout: float, seed: int, tmp: Path, oos: bool):  # type: ignore[no-untyped-def]
    """Feature rows, labels and kinds ("in", "held", "oos") for a set's questions, the
    questions of a seeded ``holdout`` share of its documents made unanswerable."""
    data = load_beir(BEIR / name)
    ids = sorted(d.id for d in data.corpus)
    held = set(random.Random(seed).sample(ids, int(len(ids) * holdout))) if holdout else set()
    kb = KnowledgeBase(tmp / f"{name}-{seed}-{holdout}", model=embedder)
    kb.upsert([d for d in data.corpus if d.id not in held], batch_size=1000)
    questions = [
        (text, {d for d, r in data.qrels[qid].items() if r > 0})
        for qid, text in data.queries.items()
    ]
    if oos:
        questions += [(text, set()) for text in load_oos_queries(BEIR / name).values()]
    rows = labelled(kb, questions, held)
    kb.close()
    return rows


def labelled(kb: KnowledgeBase, questions: list[tuple[str, set[str]]], held: set[str]) -> Rows:
    """Each question's evidence features, whether the base's top document is relevant,
    and its kind: ``oos`` (no relevant document), ``held`` (only held-out ones), ``in``."""
    X, y, kind = [], [], []
    for text, relevant in questions:
        ev = kb.evidence(text, audience="agent")
        X.append(ev.features)
        y.append(1 if ev.document_ids and ev.document_ids[0] in relevant else 0)
        kind.append("oos" if not relevant else ("in" if relevant - held else "held"))
    return np.array(X, dtype=float), np.array(y), np.array(kind)


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


def gather(embedder, tmp: Path, views: dict[str, Rows] | None = None) -> dict[str, Rows]:  # type: ignore[no-untyped-def]
    """Every view the study needs: ``{set}@{seed}`` (documents held out) and ``{SUPPORT}``
    (all documents), with real out-of-scope questions wherever the set has them; views
    already in ``views`` are kept."""
    views = dict(views or {})
    for name in SETS:
        has_oos = bool(load_oos_queries(BEIR / name))
        for seed in SEEDS:
            if f"{name}@{seed}" in views:
                continue
            start = time.perf_counter()
            views[f"{name}@{seed}"] = collect(name, embedder, HOLDOUT, seed, tmp, has_oos)
            print(f"{name}@{seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if SUPPORT not in views:
        views[SUPPORT] = collect(SUPPORT, embedder, 0.0, 0, tmp, True)
    return views


def fit_logistic(
    X: np.ndarray, y: np.ndarray, weights: np.ndarray, l2: float = 1e-3, iters: int = 50
) -> np.ndarray:
    """Newton's method on the weighted, L2-regularised log-loss (the bias, last column, is
    not penalised)."""
    sw = weights / weights.sum()
    w = np.zeros(X.shape[1])
    penalty = np.full(X.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iters):
        p = sigmoid(X @ w)
        grad = X.T @ (sw * (p - y)) + penalty * w
        hess = (X * (sw * p * (1 - p))[:, None]).T @ X + np.diag(penalty)
        w -= np.linalg.solve(hess, grad)
    return w


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


def fit(views: list[Rows], set_of: list[str], wrong_weight: float, l2: float) -> np.ndarray:
    """Weights of the two-step fit (see the module docstring); each set weighs the same,
    its views sharing its weight."""
    X = np.vstack([v[0] for v in views])
    y = np.concatenate([v[1] for v in views])
    kind = np.concatenate([v[2] for v in views])
    n_views = {s: set_of.count(s) for s in set_of}
    base = np.concatenate(
        [np.full(len(v[1]), 1 / len(v[1]) / n_views[s]) for v, s in zip(views, set_of)]
    )
    direction = fit_logistic(
        X, y, base * np.where((kind == "in") & (y == 0), wrong_weight, 1.0), l2
    )
    z = np.column_stack([X @ direction, np.ones(len(y))])
    scale, shift = fit_logistic(z, y, base, l2=0.0)
    w = scale * direction
    w[-1] += shift
    return w


def columns(names: tuple[str, ...]) -> list[int]:
    return [FEATURES.index(n) for n in names]


def metrics(prob: np.ndarray, y: np.ndarray, kind: np.ndarray, t: float) -> dict[str, float]:
    return answer_metrics(prob.tolist(), (y == 1).tolist(), (kind == "in").tolist(), t)


def choose_threshold(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Lowest threshold whose answers are right at least TARGET_PRECISION of the time,
    averaged over the training sets (each set counts once)."""
    for t in np.arange(0.20, 0.95, 0.01):
        if np.mean([metrics(p, y, k, t)["precision"] for p, y, k in sets]) >= TARGET_PRECISION:
            return round(float(t), 2)
    return 0.95


def support_threshold(prob: np.ndarray, y: np.ndarray, kind: np.ndarray) -> float:
    """The default threshold, chosen on real support traffic (hint3-sofmattress: customer
    messages with their answers, and real out-of-scope ones): the lowest threshold, so the
    highest coverage, whose precision reaches TARGET_PRECISION while at least
    MIN_OOS_ABSTENTION of the out-of-scope messages are declined."""
    for t in np.arange(0.20, 0.95, 0.01):
        m = metrics(prob, y, kind, t)
        if m["precision"] >= TARGET_PRECISION and m["oos_abstention"] >= MIN_OOS_ABSTENTION:
            return round(float(t), 2)
    return 0.95


def test_view(views: dict[str, Rows], name: str) -> Rows:
    return views[SUPPORT] if name == SUPPORT else views[f"{name}@{SEEDS[0]}"]


def leave_one_set_out(
    views: dict[str, Rows], names: tuple[str, ...], wrong_weight: float, l2: float
) -> dict[str, dict[str, float]]:
    """Per left-out set: its metrics under a model fitted on the other sets only, at the
    threshold those sets choose."""
    cols = columns(names)
    out = {}
    for held in SETS:
        train = [(k, v) for k, v in views.items() if "@" in k and not k.startswith(held + "@")]
        tr = [(v[0][:, cols], v[1], v[2]) for _, v in train]
        w = fit(tr, [k.split("@")[0] for k, _ in train], wrong_weight, l2)
        t = choose_threshold([(sigmoid(X @ w), y, k) for X, y, k in tr])
        X, y, kind = test_view(views, held)
        m = metrics(sigmoid(X[:, cols] @ w), y, kind, t)
        out[held] = {"threshold": t, **{k: round(v, 4) for k, v in m.items()}}
    return out


def naive_auroc(views: dict[str, Rows]) -> dict[str, float]:
    """AUROC of the top passage's cosine alone, per set (its test view)."""
    out = {}
    for name in SETS:
        X, y, kind = test_view(views, name)
        cos = X[:, FEATURES.index("cos_top")]
        out[name] = round(
            auroc(cos[(kind == "in") & (y == 1)].tolist(), cos[kind != "in"].tolist()), 4
        )
    return out


def ablation(views: dict[str, Rows], wrong_weight: float, l2: float) -> dict[str, dict[str, float]]:
    """Leave-one-set-out AUROC of feature subsets and fit variants (mean over sets too)."""
    new = tuple(f for f in FEATURES if f not in OLD_FEATURES)
    variants: dict[str, tuple[tuple[str, ...], float]] = {
        "previous 5 features, plain fit": (OLD_FEATURES, 1.0),
        "previous 5 features, two-step fit": (OLD_FEATURES, wrong_weight),
        "+ line_spread, line_centroid": (
            (*OLD_FEATURES[:-1], "line_spread", "line_centroid", "bias"),
            wrong_weight,
        ),
        "+ agree_cos": ((*OLD_FEATURES[:-1], "agree_cos", "bias"), wrong_weight),
        f"all ({', '.join(new)} added), plain fit": (FEATURES, 1.0),
        "all, two-step fit (shipped)": (FEATURES, wrong_weight),
    }
    out = {}
    for label, (names, ww) in variants.items():
        per = {k: v["auroc"] for k, v in leave_one_set_out(views, names, ww, l2).items()}
        out[label] = {**per, "mean": round(float(np.mean(list(per.values()))), 4)}
    return out


class _QueryMemo:
    """Passage vectors from the benchmark cache; each distinct query embedded once (the
    same questions come back in every view)."""

    def __init__(self, name: str) -> None:
        sys.path.insert(0, str(HERE))
        from _cache import CACHE

        self.inner = CachedEmbedder(load_embedder(name), CACHE / "embeddings.sqlite")
        self.model_id = self.inner.model_id
        self.dimension = self.inner.dimension
        self._queries: dict[str, np.ndarray] = {}

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]


def run_info() -> dict[str, str]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=HERE, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "commit": commit,
        "machine": f"{platform.machine()}, {platform.system()}",
        "python": platform.python_version(),
        "command": "python benchmarks/confidence_study.py " + " ".join(sys.argv[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("minilm", "multilingual"), default="minilm")
    parser.add_argument("--write-model", action="store_true")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the logistic fit")
    parser.add_argument(
        "--wrong-weight",
        type=float,
        default=0.2,
        help="weight of answerable questions with a wrong top document in the first step",
    )
    parser.add_argument(
        "--cache", type=Path, help="feature rows: read if present, missing views added"
    )
    args = parser.parse_args()
    global SETS
    if args.model == "multilingual":
        SETS = SETS + CROSS_LINGUAL
    views: dict[str, Rows] = {}
    if args.cache and args.cache.is_file():
        with np.load(args.cache) as npz:
            views = {k: (npz[f"{k}|X"], npz[f"{k}|y"], npz[f"{k}|kind"]) for k in npz["views"]}
    wanted = {f"{name}@{seed}" for name in SETS for seed in SEEDS} | {SUPPORT}
    if not wanted <= set(views):
        with tempfile.TemporaryDirectory() as tmp:
            views = gather(_QueryMemo(args.model), Path(tmp), views)
        if args.cache:
            arrays = {
                f"{k}|{p}": a for k, v in views.items() for p, a in zip("X y kind".split(), v)
            }
            np.savez_compressed(args.cache, views=np.array(list(views)), **arrays)
    loso = leave_one_set_out(views, FEATURES, args.wrong_weight, args.l2)
    target = model_file(MODEL_IDS[args.model])
    suffix = "" if args.model == "minilm" else f"-{args.model}"
    report: dict[str, object] = {
        "run": run_info(),
        "embedding_model": MODEL_IDS[args.model],
        "features": list(FEATURES),
        "sets": list(SETS),
        "seeds": list(SEEDS),
        "wrong_weight": args.wrong_weight,
        "leave_one_set_out": loso,
        "leave_one_set_out_auroc_ablation": ablation(views, args.wrong_weight, args.l2),
        "naive_top_cosine_auroc": naive_auroc(views),
    }
    print(json.dumps(report, indent=1))
    if args.write_model:
        train = [(k, v) for k, v in views.items() if "@" in k]
        w = fit(
            [v for _, v in train], [k.split("@")[0] for k, _ in train], args.wrong_weight, args.l2
        )
        X, y, kind = views[SUPPORT]
        prob = sigmoid(X @ w)
        threshold = support_threshold(prob, y, kind)
        model = ConfidenceModel(
            tuple(round(float(v), 5) for v in w),
            threshold,
            f"benchmarks/confidence_study.py --model {args.model} --write-model: logistic fit on "
            + ", ".join(SETS)
            + f" ({int(HOLDOUT * 100)}% of documents held out, seeds {list(SEEDS)}; each set"
            " weighted equally) plus hint3-sofmattress's real out-of-scope messages; direction"
            f" fitted with wrong in-scope answers weighted {args.wrong_weight}, then Platt-"
            "rescaled on all rows; threshold = lowest whose precision on hint3-sofmattress"
            f" (real support and out-of-scope messages) is >= {TARGET_PRECISION} with >="
            f" {MIN_OOS_ABSTENTION:.0%} of out-of-scope messages declined",
        )
        target.write_text(json.dumps(model.to_json(), indent=2) + "\n")
        report["final_model"] = model.to_json()
        report["hint3_final_model"] = {
            k: round(v, 4) for k, v in metrics(prob, y, kind, threshold).items()
        }
        report["hint3_curve"] = [
            {
                "threshold": round(float(t), 2),
                **{k: round(v, 4) for k, v in metrics(prob, y, kind, t).items()},
            }
            for t in np.arange(0.05, 0.96, 0.05)
        ]
        print("wrote", target, json.dumps(report["hint3_final_model"]))
    out = HERE / "results" / f"confidence-study{suffix}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, HERE / "results" / f"confidence-tradeoff{suffix}.png")


def plot(report: dict, path: Path) -> None:  # type: ignore[type-arg]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    curve = report.get("hint3_curve")
    if curve:
        th = [c["threshold"] for c in curve]
        for key in ("coverage", "precision", "oos_abstention"):
            left.plot(th, [c[key] for c in curve], label=key)
        threshold = report["final_model"]["threshold"]  # type: ignore[index]
        left.axvline(threshold, color="grey", linestyle="--", label=f"default {threshold}")
        left.axhline(TARGET_PRECISION, color="grey", linewidth=0.5)
        left.set_xlabel("confidence threshold")
        left.set_ylim(0, 1.02)
        left.set_title("hint3-sofmattress: answering vs abstaining")
        left.legend(loc="lower left")
    table = report["leave_one_set_out_auroc_ablation"]
    rows = {
        "naive top cosine": report["naive_top_cosine_auroc"],
        "previous features": table["previous 5 features, plain fit"],
        "shipped features and fit": table["all, two-step fit (shipped)"],
    }
    x = np.arange(len(SETS))
    for i, (label, values) in enumerate(rows.items()):
        right.bar(x + (i - 1) * 0.27, [values[s] for s in SETS], 0.27, label=label)
    right.set_xticks(x, [s.replace("-", "-\n", 1) for s in SETS], fontsize=8)
    right.set_ylim(0.5, 1.0)
    right.set_ylabel("AUROC, set left out of the fit")
    right.set_title("answerable vs unanswerable, leave one set out")
    right.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
