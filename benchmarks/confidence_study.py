"""Fit and check the answer-confidence model on the shared support sets.

    python benchmarks/confidence_study.py [--write-model]

Unanswerable questions are made from real ones: in each FAQ/intent set (covidfaq,
banking77, hint3-sofmattress) a seeded 30% of the documents is left out of the base,
so questions about them are in-domain but have no answer, like real out-of-scope
messages; hint3-sofmattress's real out-of-scope messages (``queries_oos.jsonl``) are
added. The label is "the top document is relevant". Each set weighs the same in the fit.
A first model is fitted on covidfaq and banking77 only and judged on hint3-sofmattress
with all its documents and its real out-of-scope messages, a set it never saw
(``hint3_held_out``); ``--write-model`` then refits on all three, chooses the default
threshold on hint3's real support traffic (:func:`support_threshold`) and writes
``src/srmkb/confidence_model.json``. Results: ``benchmarks/results/confidence-study.json``
and ``confidence-tradeoff.png``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

from srmkb import KnowledgeBase
from srmkb.confidence import FEATURES, MODEL_FILE, ConfidenceModel
from srmkb.embedders import minilm
from srmkb.evaluation import answer_metrics, auroc, load_beir

HERE = Path(__file__).resolve().parent
BEIR = HERE.parent.parent / "shared" / "data" / "beir"
HOLDOUT = 0.3
TARGET_PRECISION = 0.85


def collect(name: str, embedder, holdout: float, tmp: Path, oos: bool):  # type: ignore[no-untyped-def]
    """Feature rows and labels for a set's questions, some of them made unanswerable."""
    data = load_beir(BEIR / name)
    ids = sorted(d.id for d in data.corpus)
    rng = random.Random(13)
    held = set(rng.sample(ids, int(len(ids) * holdout))) if holdout else set()
    kb = KnowledgeBase(tmp / name, model=embedder)
    kb.upsert([d for d in data.corpus if d.id not in held], batch_size=1000)
    X, y, kind = [], [], []
    snap = kb._snapshot
    for qid, text in data.queries.items():
        relevant = {d for d, r in data.qrels[qid].items() if r > 0}
        ev = kb._evidence(snap, text, "agent", None)
        X.append(ev.features)
        answerable = bool(relevant - held)
        y.append(1 if ev.document_ids and ev.document_ids[0] in relevant else 0)
        kind.append("in" if answerable else "held")
    if oos:
        with open(BEIR / name / "queries_oos.jsonl", encoding="utf-8") as handle:
            for line in handle:
                ev = kb._evidence(snap, json.loads(line)["text"], "agent", None)
                X.append(ev.features)
                y.append(0)
                kind.append("oos")
    kb.close()
    return np.array(X), np.array(y), np.array(kind)


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    l2: float = 1e-3,
    iters: int = 50,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Newton's method on the weighted, L2-regularised log-loss (the bias is not penalised)."""
    sw = np.ones(len(y)) if weights is None else weights
    sw = sw / sw.sum()
    w = np.zeros(X.shape[1])
    penalty = np.full(X.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ w))
        grad = X.T @ (sw * (p - y)) + penalty * w
        hess = (X * (sw * p * (1 - p))[:, None]).T @ X + np.diag(penalty)
        w -= np.linalg.solve(hess, grad)
    return w


def balanced(parts: list[np.ndarray]) -> np.ndarray:
    """Sample weights giving each data set the same total weight, whatever its size."""
    return np.concatenate([np.full(len(p), 1.0 / len(p)) for p in parts])


def metrics(prob: np.ndarray, y: np.ndarray, kind: np.ndarray, t: float) -> dict[str, float]:
    return answer_metrics(prob.tolist(), (y == 1).tolist(), (kind == "in").tolist(), t)


def choose_threshold(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Lowest threshold whose answers are right at least TARGET_PRECISION of the time,
    averaged over the training sets (each set counts once), so coverage stays as high as
    precision allows."""
    for t in np.arange(0.30, 0.95, 0.01):
        if np.mean([metrics(p, y, k, t)["precision"] for p, y, k in sets]) >= TARGET_PRECISION:
            return round(float(t), 2)
    return 0.9


def support_threshold(prob: np.ndarray, y: np.ndarray, kind: np.ndarray) -> float:
    """The default threshold, chosen on real support traffic (hint3-sofmattress: customer
    messages with their answers, and real out-of-scope ones): the lowest threshold, so the
    highest coverage, whose precision reaches TARGET_PRECISION while at least 70% of the
    out-of-scope messages are declined."""
    for t in np.arange(0.30, 0.95, 0.01):
        m = metrics(prob, y, kind, t)
        if m["precision"] >= TARGET_PRECISION and m["oos_abstention"] >= 0.70:
            return round(float(t), 2)
    return 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-model", action="store_true")
    parser.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the logistic fit")
    args = parser.parse_args()
    embedder = minilm()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        train = [collect(n, embedder, HOLDOUT, t, oos=False) for n in ("covidfaq", "banking77")]
        h3_sim = collect("hint3-sofmattress", embedder, HOLDOUT, t / "sim", oos=True)
        h3 = collect("hint3-sofmattress", embedder, 0.0, t / "full", oos=True)
    X = np.vstack([a[0] for a in train])
    y = np.concatenate([a[1] for a in train])
    kind = np.concatenate([a[2] for a in train])
    w = fit_logistic(X, y, l2=args.l2, weights=balanced([a[1] for a in train]))
    prob_train = 1 / (1 + np.exp(-X @ w))
    threshold = choose_threshold([(1 / (1 + np.exp(-a[0] @ w)), a[1], a[2]) for a in train])
    prob_h3 = 1 / (1 + np.exp(-h3[0] @ w))
    naive = h3[0][:, FEATURES.index("cos_top")]
    held_out = metrics(prob_h3, h3[1], h3[2], threshold)
    naive_auroc = auroc(
        naive[(h3[2] == "in") & (h3[1] == 1)].tolist(), naive[h3[2] != "in"].tolist()
    )
    report = {
        "features": list(FEATURES),
        "weights_train_covidfaq_banking77": w.round(4).tolist(),
        "threshold": threshold,
        "train": metrics(prob_train, y, kind, threshold),
        "hint3_held_out": held_out,
        "hint3_naive_top_cosine_auroc": naive_auroc,
        "hint3_curve": [
            {"threshold": round(float(th), 2), **metrics(prob_h3, h3[1], h3[2], th)}
            for th in np.arange(0.05, 0.96, 0.05)
        ],
    }
    print(json.dumps({k: v for k, v in report.items() if k != "hint3_curve"}, indent=1))
    if args.write_model:
        oos = h3[2] == "oos"
        h3_all = (
            np.vstack([h3_sim[0], h3[0][oos]]),
            np.concatenate([h3_sim[1], h3[1][oos]]),
            np.concatenate([h3_sim[2], h3[2][oos]]),
        )
        sets = [*train, h3_all]
        Xa = np.vstack([a[0] for a in sets])
        ya = np.concatenate([a[1] for a in sets])
        wa = fit_logistic(Xa, ya, l2=args.l2, weights=balanced([a[1] for a in sets]))
        ta = support_threshold(1 / (1 + np.exp(-h3[0] @ wa)), h3[1], h3[2])
        model = ConfidenceModel(
            tuple(round(float(v), 5) for v in wa),
            ta,
            "benchmarks/confidence_study.py --write-model: logistic fit, each set weighted"
            " equally, on covidfaq, banking77 and hint3-sofmattress with 30% of documents"
            " held out, plus hint3's real out-of-scope messages; threshold = lowest whose"
            f" precision on hint3 (real support messages and real out-of-scope ones) is >="
            f" {TARGET_PRECISION} with >= 70% of out-of-scope messages declined",
        )
        MODEL_FILE.write_text(json.dumps(model.to_json(), indent=2) + "\n")
        report["final_model"] = model.to_json()
        prob_final = 1 / (1 + np.exp(-h3[0] @ wa))
        report["hint3_final_model"] = metrics(prob_final, h3[1], h3[2], ta)
        report["hint3_curve"] = [
            {"threshold": round(float(th), 2), **metrics(prob_final, h3[1], h3[2], th)}
            for th in np.arange(0.05, 0.96, 0.05)
        ]
        print("wrote", MODEL_FILE, model.to_json())
    out = HERE / "results" / "confidence-study.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    plot(report, HERE / "results" / "confidence-tradeoff.png")


def plot(report: dict, path: Path) -> None:  # type: ignore[type-arg]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    curve = report["hint3_curve"]
    th = [c["threshold"] for c in curve]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("coverage", "precision", "oos_abstention"):
        ax.plot(th, [c[key] for c in curve], label=key)
    threshold = report.get("final_model", {}).get("threshold", report["threshold"])
    ax.axvline(threshold, color="grey", linestyle="--", label=f"default threshold {threshold}")
    ax.set_xlabel("confidence threshold")
    ax.set_ylim(0, 1.02)
    ax.set_title("hint3-sofmattress: answering vs abstaining")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
