"""Embedding models: the :class:`Embedder` protocol, the bundled models and their
registry, the calibration of each model's cosines, and the content-hash vector cache.

Modules, each private behind this one:

- ``_base``: the :class:`Embedder` protocol and the thread settings every model shares.
- ``_registry``: the built-in models by name (:func:`load_embedder`), their languages,
  and the model a new base should use.
- ``_hashing``, ``_onnx`` (MiniLM) and ``_e5`` with ``_e5_weights`` (multilingual):
  the built-in models, run by onnxruntime; ``_files``: the SHA-256 pin of every model
  file they load. ``_sentence``: one's own sentence-transformers model (``torch`` extra).
- ``_calibration``: each model's cosines on MiniLM's scale, and its mean question
  vectors per language (``query_means_*.json``, package data of this package).
- ``_slot``: :class:`ModelSlot`, a base's model, loaded on first use.
- ``_cache``: :class:`CachedEmbedder`, which keeps document vectors in
  :mod:`srmkb.storage.embedding_store`.
"""

from ..storage.embedding_store import CACHE_FILE, EmbeddingStore, text_key
from ._base import Embedder, configure_threads
from ._cache import ENV_VAR, CachedEmbedder, cache_for_base
from ._calibration import (
    COSINE_ANCHORS,
    QUERY_MEANS_FILES,
    TEXT_COSINE_ANCHORS,
    cosine_map,
    model_threshold,
    query_means,
)
from ._e5 import E5Q4Embedder, multilingual
from ._files import PINNED
from ._hashing import HashingEmbedder
from ._onnx import OnnxSentenceEmbedder, minilm, minilm_tokenizer
from ._registry import (
    MODEL_IDS,
    MODEL_LANGUAGES,
    MODELS,
    default_model_for,
    load_embedder,
    model_languages,
)
from ._sentence import SentenceTransformerEmbedder
from ._slot import ModelSlot

__all__ = [
    "CACHE_FILE",
    "COSINE_ANCHORS",
    "ENV_VAR",
    "MODELS",
    "MODEL_IDS",
    "MODEL_LANGUAGES",
    "PINNED",
    "QUERY_MEANS_FILES",
    "TEXT_COSINE_ANCHORS",
    "CachedEmbedder",
    "E5Q4Embedder",
    "Embedder",
    "EmbeddingStore",
    "HashingEmbedder",
    "ModelSlot",
    "OnnxSentenceEmbedder",
    "SentenceTransformerEmbedder",
    "cache_for_base",
    "configure_threads",
    "cosine_map",
    "default_model_for",
    "load_embedder",
    "minilm",
    "minilm_tokenizer",
    "model_languages",
    "model_threshold",
    "multilingual",
    "query_means",
    "text_key",
]
