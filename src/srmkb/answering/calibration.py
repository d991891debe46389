"""Self-calibration: a base sets its own answer threshold and confidence scale.

The shipped confidence model (:mod:`.confidence`) was fitted on a few public sets; on
another business's base its probabilities drift (its cosines, its documents' shape).
The base holds the evidence to correct that. Pseudo-questions are drawn from its own
documents (FAQ questions and titles, headings, example lines, the first sentences of
prose and of resolved cases), a bounded number spread over documents, each with words
dropped at random (real questions paraphrase, they do not quote). Asking the base each
one gives a labelled row: *answerable*, right when its source document ranks first.
Asking it again with the source filtered out gives the realistic *unanswerable* row: a
near miss from another document, what an out-of-scope message looks like to the base
(a document holding the source's own text, another edition of it, counts as the source).
Answered interactions with feedback (resolved, or escalated / not helpful) add real
rows once the log has them.

From those rows a Platt rescaling of the shipped model's logit, ``σ(a·z + b)``, is
fitted with a Gaussian prior pulling ``(a, b)`` to ``(1, 0)``, so a small base stays
near the shipped model, and the mapping stays monotone (``a > 0``). It folds into the
logistic weights, so the calibrated model is a :class:`ConfidenceModel` again. The
threshold is the lowest whose pseudo-answers reach :attr:`Settings.target_precision`
while declining :attr:`Settings.min_abstention` of the pseudo-unanswerable ones. The
constants were chosen leave one business out by ``benchmarks/calibration_study.py``
(``benchmarks/results/calibration-latest.md``).

The fit is kept in the base folder (:data:`CALIBRATION_FILE`, JSON, written atomically)
with a bottom-k sketch of the documents' ids and content hashes, from which the share
of documents changed since the fit is estimated without storing them all. The first
answer after a change of more than :attr:`Settings.refresh` fits again (about 600
searches: 3 to 12 s with MiniLM on one core, the study's ``pseudo_seconds``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ..documents import Document
from ..errors import StorageError
from ..index.filters import Filters
from ..storage.interactions import Interaction
from ..storage.layout import atomic_write
from ..vocabulary import Audience
from .confidence import ConfidenceModel
from .evidence import Evidence

CALIBRATION_FILE = "calibration.json"
FORMAT = 1
SKETCH = 256  # hashes kept to estimate the share of documents changed since a fit
_MAX_CHARS = 20_000  # of a document's text read for phrasings (linear, bounded)
_MAX_WORDS = 40  # of one pseudo-question
_LINE = re.compile(r"[^\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Settings:
    """The method's constants (chosen leave one business out; see the module docstring).

    ``questions``: pseudo-questions per fit; ``dropout``: share of words dropped from
    each; ``target_precision`` and ``min_abstention``: what the threshold must reach on
    them; ``floor``: the lowest threshold, a calibrated probability (never answer a
    question more likely wrong than right, whatever the pseudo-questions allow);
    ``prior``: the pull towards the shipped scale, in rows; ``refresh``: share of
    documents changed that makes a fit stale; ``min_documents``: below it, the shipped
    model is kept (too few rows to learn from)."""

    questions: int = 300
    dropout: float = 0.0
    target_precision: float = 0.80
    min_abstention: float = 0.70
    floor: float = 0.0
    prior: float = 1000.0
    refresh: float = 0.10
    min_documents: int = 8
    feedback: int = 500


class Asker(Protocol):
    """What a fit asks questions of (a :class:`~srmkb.KnowledgeBase`)."""

    def evidence(
        self, question: str, *, audience: Audience = ..., filters: Filters | None = ...
    ) -> Evidence: ...

    def passage_text(self, passage_id: str) -> str | None: ...


@dataclass(frozen=True)
class Row:
    """One labelled question: its features, whether the top document is right, and
    where it comes from (``"answerable"``, ``"unanswerable"`` or ``"feedback"``)."""

    features: list[float]
    label: int
    kind: str


@dataclass(frozen=True)
class Calibration:
    """A fitted rescaling ``σ(scale·z + shift)`` of a model's logit ``z``, its
    threshold, and what it was fitted on (its repr leaves out the content sketch and the
    settings: hundreds of numbers that say nothing at a glance)."""

    scale: float
    shift: float
    threshold: float
    model_id: str
    fitted_at: float
    documents: int
    sketch: list[int] = field(default_factory=list, repr=False)
    rows: dict[str, int] = field(default_factory=dict)
    settings: dict[str, float] = field(default_factory=dict, repr=False)

    def apply(self, model: ConfidenceModel) -> ConfidenceModel:
        """``model`` rescaled: the same logistic model with scaled weights and bias."""
        weights = [self.scale * w for w in model.weights]
        weights[-1] += self.shift
        return ConfidenceModel(
            tuple(weights), self.threshold, f"self-calibrated at {self.fitted_at:.0f}"
        )

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: object, path: Path) -> Calibration:
        """Read what :meth:`to_json` wrote; anything else is a :class:`StorageError`."""
        try:
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise ValueError(
                    f"format {data.get('format') if isinstance(data, dict) else data!r}"
                )
            out = cls(
                scale=float(data["scale"]),
                shift=float(data["shift"]),
                threshold=float(data["threshold"]),
                model_id=str(data["model_id"]),
                fitted_at=float(data["fitted_at"]),
                documents=int(data["documents"]),
                sketch=[int(v) for v in data["sketch"]],
                rows={str(k): int(v) for k, v in dict(data["rows"]).items()},
                settings={str(k): float(v) for k, v in dict(data["settings"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StorageError(
                f"{path} is damaged ({exc}); run KnowledgeBase.calibrate() to fit it again"
            ) from exc
        values = (out.scale, out.shift, out.threshold)
        if (
            not all(math.isfinite(v) for v in values)
            or out.scale <= 0
            or not 0 <= out.threshold <= 1
        ):
            raise StorageError(
                f"{path} is damaged (scale {out.scale}, threshold {out.threshold});"
                " run KnowledgeBase.calibrate() to fit it again"
            )
        return out


def read(folder: Path) -> Calibration | None:
    """The calibration kept in ``folder``, None when there is none; a damaged file is a
    :class:`StorageError` naming it."""
    path = folder / CALIBRATION_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"{path} cannot be read ({exc})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StorageError(
            f"{path} is damaged ({exc}); run KnowledgeBase.calibrate() to fit it again"
        ) from exc
    return Calibration.from_json(data, path)


def write(folder: Path, calibration: Calibration) -> None:
    """Keep ``calibration`` in ``folder``: written whole or not at all (a concurrent
    fit's file replaces this one whole, never mixes with it)."""
    atomic_write(folder / CALIBRATION_FILE, json.dumps(calibration.to_json(), indent=1))


# -- what changed ------------------------------------------------------------------------


def sketch(documents: Iterable[tuple[str, str]], k: int = SKETCH) -> list[int]:
    """The ``k`` smallest 60-bit hashes of (id, content hash) pairs: a bottom-k sketch."""
    hashes = {
        int.from_bytes(hashlib.blake2b(f"{i}\0{h}".encode(), digest_size=8).digest()) >> 4
        for i, h in documents
    }
    return sorted(hashes)[:k] if len(hashes) > k else sorted(hashes)


def changed_share(before: Sequence[int], now: Sequence[int], k: int = SKETCH) -> float:
    """Estimated share of documents added, removed or changed between two sketches:
    one minus the Jaccard similarity of the two sets (bottom-k estimate)."""
    if not before and not now:
        return 0.0
    union = sorted(set(before) | set(now))[:k]
    both = set(before) & set(now)
    return 1.0 - sum(1 for h in union if h in both) / len(union)


# -- pseudo-questions --------------------------------------------------------------------


def phrasings(doc: Document) -> list[str]:
    """What a customer might ask that ``doc`` answers, in its own words: its title, its
    section headings, and per text either its short lines, when most lines are short
    (a list of example requests, an FAQ's questions), or, for prose, its questions and
    its first sentence (a resolved case's problem statement, an article's lead)."""
    out: list[str] = []
    if doc.title.strip():
        out.append(doc.title)
    texts = [s.text for s in doc.sections] if doc.sections else [doc.text]
    out += [s.heading[-1] for s in doc.sections if s.heading and s.heading[-1].strip()]
    budget = _MAX_CHARS
    for text in texts:
        if budget <= 0:
            break
        text = text[:budget]
        budget -= len(text)
        lines = [line for line in _LINE.findall(text) if line.strip()]
        short = [line for line in lines if 3 <= len(line.split()) <= 15]
        if lines and len(short) >= 0.6 * len(lines):
            out += short
            continue
        out += [x for x in lines if x.rstrip().endswith("?") and 3 <= len(x.split()) <= 25]
        first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].split() if lines else []
        if len(first) >= 3:
            out.append(" ".join(first[:_MAX_WORDS]))
    return list(dict.fromkeys(" ".join(p.split()[:_MAX_WORDS]) for p in out if p.strip()))


def perturb(text: str, dropout: float, rng: random.Random) -> str:
    """``text`` with a share ``dropout`` of its words dropped (at least two kept)."""
    words = text.split()
    if dropout <= 0 or len(words) <= 2:
        return " ".join(words)
    kept = [w for w in words if rng.random() >= dropout]
    if len(kept) < 2:
        kept = words[:2]
    return " ".join(kept)


def pseudo_questions(
    documents: Sequence[Document], *, limit: int, dropout: float, seed: int = 0
) -> list[tuple[str, str]]:
    """Up to ``limit`` (question, source document id) pairs, spread over documents:
    one phrasing from each document in turn, more when there are fewer documents."""
    rng = random.Random(seed)
    pools = []
    for doc in documents:
        found = phrasings(doc)
        rng.shuffle(found)
        if found:
            pools.append((doc.id, found))
    rng.shuffle(pools)
    out: list[tuple[str, str]] = []
    depth = 0
    while len(out) < limit and any(len(p) > depth for _, p in pools):
        for doc_id, found in pools:
            if len(found) > depth and len(out) < limit:
                out.append((perturb(found[depth], dropout, rng), doc_id))
        depth += 1
    return out


def shingles(text: str, limit: int = 200_000) -> set[tuple[str, ...]]:
    """Word 3-grams of the first ``limit`` characters of ``text`` (lower case)."""
    words = text[:limit].lower().split()
    return set(zip(words, words[1:], words[2:]))


def same_content(passage: str | None, source: set[tuple[str, ...]]) -> bool:
    """Whether most of ``passage`` is in the source's 3-grams: another edition of the
    same text (an FAQ's HTML and PDF), not another document."""
    grams = shingles(passage or "", 20_000)
    return bool(grams) and len(grams & source) >= 0.5 * len(grams)


def rows_from_content(
    asker: Asker,
    questions: Sequence[tuple[str, str]],
    sources: Mapping[str, Document],
    *,
    audience: Audience = "agent",
) -> list[Row]:
    """Two rows per pseudo-question: asked of the whole base (answerable; right when its
    source ranks first) and with its source left out (a near miss: unanswerable).

    A top document that holds the source's own text (another edition of it) counts as
    the source: right in the first row, and no near miss in the second."""
    rows = []
    grams: dict[str, set[tuple[str, ...]]] = {}

    def edition(ev: Evidence, source: str) -> bool:
        if source not in grams:
            doc = sources[source]
            grams[source] = shingles("\n".join([doc.text, *(s.text for s in doc.sections)]))
        return same_content(asker.passage_text(str(ev.ranking.passage_ids[0])), grams[source])

    for question, source in questions:
        if not question.strip():
            continue
        ev = asker.evidence(question, audience=audience)
        if ev.document_ids:
            right = ev.document_ids[0] == source or edition(ev, source)
            rows.append(Row(ev.features, int(right), "answerable"))
        miss = asker.evidence(question, audience=audience, filters={"id": {"ne": source}})
        if miss.document_ids and not edition(miss, source):
            rows.append(Row(miss.features, 0, "unanswerable"))
    return rows


def rows_from_feedback(
    asker: Asker, interactions: Iterable[Interaction], *, limit: int, audience: Audience = "agent"
) -> list[Row]:
    """Rows from answered interactions with an outcome: ``"resolved"`` says the cited
    document answered (label 1), ``"escalated"`` and ``"not_helpful"`` that it did not.
    The question is asked again now; a row counts only when the base still ranks the
    cited document first (else the label says nothing of today's answer)."""
    labelled = [
        i
        for i in interactions
        if i.kind == "answer"
        and i.answered
        and i.outcome in ("resolved", "escalated", "not_helpful")
        and i.question.strip()
    ][-limit:]
    rows = []
    for item in labelled:
        ev = asker.evidence(item.question, audience=audience)
        if ev.document_ids and ev.document_ids[0] == item.document_id:
            rows.append(Row(ev.features, int(item.outcome == "resolved"), "feedback"))
    return rows


# -- the fit -----------------------------------------------------------------------------


def logits(model: ConfidenceModel, rows: Sequence[Row]) -> np.ndarray:
    """The shipped model's logit of each row."""
    if not rows:
        return np.zeros(0)
    return np.array([r.features for r in rows], dtype=float) @ np.array(model.weights)


def platt(
    z: np.ndarray, y: np.ndarray, weights: np.ndarray, prior: float, iters: int = 50
) -> tuple[float, float]:
    """``(a, b)`` minimising the weighted log-loss of ``σ(a·z + b)`` plus
    ``prior/2·((a-1)² + b²)`` (Newton's method); ``a`` is kept positive (monotone)."""
    a, b = 1.0, 0.0
    design = np.column_stack([z, np.ones_like(z)])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -50, 50)))
        grad = design.T @ (weights * (p - y)) + prior * np.array([a - 1.0, b])
        hess = (design * (weights * p * (1 - p))[:, None]).T @ design + prior * np.eye(2)
        step = np.linalg.solve(hess, grad)
        a, b = max(a - float(step[0]), 0.05), b - float(step[1])
        if float(np.abs(step).max()) < 1e-9:
            break
    return a, b


def choose_threshold(
    prob: np.ndarray, y: np.ndarray, kind: np.ndarray, target: float, abstention: float
) -> float:
    """Lowest threshold whose answers are right ``target`` of the time while declining
    ``abstention`` of the unanswerable rows; 0.95 when none does."""
    negatives = kind == "unanswerable"
    for t in np.arange(0.05, 0.951, 0.01):
        answered = prob >= t
        if not answered.any():
            break
        precision = float(y[answered].mean())
        declined = float((~answered[negatives]).mean()) if negatives.any() else 1.0
        if precision >= target and declined >= abstention:
            return round(float(t), 2)
    return 0.95


def fit(
    model: ConfidenceModel,
    rows: Sequence[Row],
    settings: Settings,
    *,
    model_id: str = "",
    documents: int = 0,
    content: Sequence[int] = (),
) -> Calibration:
    """The calibration of ``model`` on ``rows``: answerable and unanswerable rows weigh
    the same in all (an even prior on whether a question has an answer), feedback rows
    one each."""
    y = np.array([r.label for r in rows], dtype=float)
    kind = np.array([r.kind for r in rows])
    z = logits(model, rows)
    weights = np.ones(len(rows))
    n_ans, n_un = int((kind == "answerable").sum()), int((kind == "unanswerable").sum())
    if n_ans and n_un:
        weights[kind == "unanswerable"] = n_ans / n_un
    a, b = platt(z, y, weights, settings.prior) if len(rows) else (1.0, 0.0)
    prob = 1.0 / (1.0 + np.exp(-np.clip(a * z + b, -50, 50)))
    threshold = (
        max(
            choose_threshold(prob, y, kind, settings.target_precision, settings.min_abstention),
            settings.floor,
        )
        if len(rows)
        else model.threshold
    )
    return Calibration(
        scale=round(a, 6),
        shift=round(b, 6),
        threshold=threshold,
        model_id=model_id,
        fitted_at=time.time(),
        documents=documents,
        sketch=list(content),
        rows={k: int((kind == k).sum()) for k in ("answerable", "unanswerable", "feedback")},
        settings={k: float(v) for k, v in asdict(settings).items()},
    )
