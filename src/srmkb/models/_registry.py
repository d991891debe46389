"""The built-in models by name, the languages each knows, and the choice for a new base.

- ``"minilm"`` (default): all-MiniLM-L6-v2, int8 ONNX run by onnxruntime.
- ``"multilingual"``: intfloat/multilingual-e5-small, 4-bit weights run by onnxruntime.
- ``"hashing"``: a deterministic embedder with no model file; not semantic.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import SrmkbError
from ._base import Embedder
from ._e5 import E5_ID, multilingual
from ._hashing import HashingEmbedder
from ._onnx import MINILM_ID, minilm

MODELS = ("minilm", "multilingual", "hashing")
# The model id each name gives; a base's manifest stores the id.
MODEL_IDS = {
    "minilm": MINILM_ID,
    "multilingual": E5_ID,
    "hashing": "srmkb/hashing-256",
}


# The languages each built-in model was trained on; a model missing here (or an Embedder
# without a ``languages`` attribute) is taken to know every language. Hybrid fusion
# does not trust the cosines of a model for a query in a language it does not know.
MODEL_LANGUAGES: dict[str, frozenset[str] | None] = {
    MODEL_IDS["minilm"]: frozenset({"en"}),
    MODEL_IDS["multilingual"]: None,
    MODEL_IDS["hashing"]: None,
}


def model_languages(model: Embedder | str | None) -> frozenset[str] | None:
    """The languages ``model`` (an Embedder or a model id) knows, or None for any."""
    if model is None:
        return None
    if isinstance(model, str):
        return MODEL_LANGUAGES.get(MODEL_IDS.get(model, model))
    declared = getattr(model, "languages", None)
    if declared is not None:
        return frozenset(declared)
    inner = getattr(model, "inner", None)  # a cache wrapping the real model
    if inner is not None and inner is not model:
        return model_languages(inner)
    return MODEL_LANGUAGES.get(model.model_id)


def model_id_of(model: Embedder | str | None) -> str:
    """The model id of an Embedder, a built-in name ("minilm") or a model id ("" for None)."""
    name = model if isinstance(model, str) or model is None else model.model_id
    return MODEL_IDS.get(name or "", name or "")


def default_model_for(languages: Iterable[str]) -> str:
    """The model a new base should use, given the language of each of its documents (ISO
    codes, one per document): ``"multilingual"`` when at least half are in a language
    other than English, else ``"minilm"``.

    Measured (hybrid nDCG@10, ``benchmarks/results/multilingual-latest.md``): on French
    service-public-fr the multilingual model gives 0.942 against MiniLM's 0.904; on
    English sets MiniLM is better (banking77 0.954 vs 0.949, hint3-sofmattress 0.875
    vs 0.861, cranfield 0.408 vs 0.383, covidfaq 0.836 vs 0.829) and embeds a query
    faster (16 vs 22 ms on 2 cores). Across languages the multilingual model is better
    but weak (LibreOffice help fr→en 0.387 vs 0.296, en→fr 0.460 vs 0.324), so a mostly
    English base keeps MiniLM; ask for ``"multilingual"`` to answer across languages.
    """
    found = [code.strip().replace("_", "-").split("-")[0].lower() for code in languages]
    other = sum(1 for code in found if code not in ("en", "und", ""))
    return "multilingual" if found and other * 2 >= len(found) else "minilm"


def load_embedder(name: str, *, threads: int | None = None) -> Embedder:
    """Build an embedder by name (``"minilm"``, ``"multilingual"``, ``"hashing"``) or by
    its model id."""
    name = {v: k for k, v in MODEL_IDS.items()}.get(name, name)
    if name == "minilm":
        return minilm(threads=threads)
    if name == "multilingual":
        return multilingual(threads=threads)
    if name == "hashing":
        return HashingEmbedder()
    raise SrmkbError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
