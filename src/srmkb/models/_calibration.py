"""Where each model's cosines sit, so thresholds measured with MiniLM hold for all.

Hybrid fusion's rule and the cosine thresholds of capture and the report were measured
on MiniLM's cosines; :func:`cosine_map` puts another model's cosines on that scale, and
:func:`query_means` gives the mean question vector per language that a cross-language
query is corrected with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import InputError
from ._base import Embedder
from ._registry import MODEL_IDS, model_id_of

# Where each model's cosines sit, as (unrelated, best), on the English sets hybrid fusion
# was measured on (benchmarks/cosine_scale.py). Between a question and passages: the 5th
# percentile of a question's cosines with a base's passages, and the median of its best
# one. MiniLM spreads its cosines over [0, 1]; multilingual-e5 squeezes the same
# judgements into [0.77, 1].
COSINE_ANCHORS: dict[str, tuple[float, float]] = {
    MODEL_IDS["minilm"]: (-0.012, 0.636),
    MODEL_IDS["multilingual"]: (0.771, 0.886),
}
# Between two texts embedded alike (sentences of different documents): the 5th percentile
# of their cosines, and the median of each sentence's best match in another document.
# e5 squeezes these higher still: MiniLM's 0.8 is 0.915 on e5's question scale, 0.944 here.
TEXT_COSINE_ANCHORS: dict[str, tuple[float, float]] = {
    MODEL_IDS["minilm"]: (-0.012, 0.615),
    MODEL_IDS["multilingual"]: (0.778, 0.906),
}


def cosine_map(model: Embedder | str | None, *, texts: bool = False) -> tuple[float, float]:
    """(intercept, slope) that put ``model``'s cosines on MiniLM's scale, the one hybrid
    fusion's rule and the cosine thresholds of capture and the report were measured on:
    the two anchors of the model (:data:`COSINE_ANCHORS`, question to passage; with
    ``texts``, :data:`TEXT_COSINE_ANCHORS`, text to text) land on MiniLM's. Identity for
    MiniLM and for models without anchors."""
    table = TEXT_COSINE_ANCHORS if texts else COSINE_ANCHORS
    anchors = table.get(model_id_of(model))
    reference = table[MODEL_IDS["minilm"]]
    if anchors is None or anchors == reference:
        return 0.0, 1.0
    slope = (reference[1] - reference[0]) / (anchors[1] - anchors[0])
    return reference[0] - slope * anchors[0], slope


def model_threshold(threshold: float, model: Embedder | str | None) -> float:
    """A threshold on the cosine of two texts, measured with MiniLM, on ``model``'s scale
    (see :func:`cosine_map`): 0.8 for MiniLM is 0.944 for multilingual-e5."""
    intercept, slope = cosine_map(model, texts=True)
    return (threshold - intercept) / slope


# Per model, the mean embedding of questions in each language (``embed_query``), for
# matching a question against passages in another language (see
# :func:`srmkb.index.snapshot.cross_language_vector`); written by benchmarks/query_means.py
# into src/srmkb/models/, whose package data they are.
QUERY_MEANS_FILES: dict[str, str] = {MODEL_IDS["multilingual"]: "query_means_e5.json"}
_QUERY_MEANS_PACKAGE = "srmkb.models"


def query_means(model: Embedder | str | None) -> dict[str, np.ndarray]:
    """Language -> mean question vector of ``model`` (an Embedder or a model id); empty
    when none was measured for it. An embedder may carry its own as ``query_means`` (a
    mapping of language code to vector, measured on its questions): they take the place
    of the shipped ones."""
    own = getattr(model, "query_means", None) if not isinstance(model, str) else None
    if own is not None:
        return _checked_means(own, getattr(model, "dimension", None))
    name = QUERY_MEANS_FILES.get(model_id_of(model))
    if name is None:
        return {}
    return _load_query_means(name)


def _checked_means(means: object, dimension: int | None) -> dict[str, np.ndarray]:
    """An embedder's own mean questions as vectors, or :class:`InputError` naming what is
    wrong (a vector of another length would fail only at the first question)."""
    if not isinstance(means, Mapping):
        raise InputError(f"query_means must map language codes to vectors, not {type(means)}")
    out = {}
    for language, vector in means.items():
        try:
            array = np.asarray(vector, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise InputError(f"query_means[{language!r}] is not a vector: {exc}") from exc
        if array.ndim != 1 or (dimension is not None and array.shape[0] != dimension):
            raise InputError(
                f"query_means[{language!r}] has shape {array.shape}, not ({dimension},)"
            )
        if not np.isfinite(array).all():
            raise InputError(f"query_means[{language!r}] holds values that are not finite")
        out[str(language)] = array
    return out


@lru_cache(maxsize=4)
def _load_query_means(name: str) -> dict[str, np.ndarray]:
    text = resources.files(_QUERY_MEANS_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    data = json.loads(text)
    return {lang: np.asarray(v, dtype=np.float32) for lang, v in data["means"].items()}
