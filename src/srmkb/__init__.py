"""srmkb: one knowledge base for service resolution, searched with hybrid BM25 + dense retrieval.

Quickstart::

    from srmkb import Document, KnowledgeBase

    kb = KnowledgeBase("kb")
    kb.upsert([Document(id="reset", title="Reset your password", text="Open Settings…")])
    for hit in kb.search("forgot my password"):
        print(hit.title, hit.score)
"""

from __future__ import annotations

import os as _os

# Spinning OpenMP workers made queries 10–100× slower on shared cores; this must be set
# before faiss (or torch, for one's own model) loads its OpenMP runtime. A value set by the user wins.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# First, so the language detector's model starts loading in the background (0.65 s of
# lzma outside the GIL) while the rest is imported and the embedding model loads.
from .text import language as _language  # noqa: F401

# isort: split
from ._version import __version__
from .check import CheckReport, Problem, check_base
from .documents import Document, Hit, IngestError, Passage, SearchResults, Section, SyncReport
from .errors import (
    BusyError,
    DiskFullError,
    DocumentExistsError,
    FilterError,
    InputError,
    MissingDependencyError,
    ModelIntegrityError,
    ModelMismatchError,
    SrmkbError,
    StorageError,
)
from .kb import KnowledgeBase
from .models import (
    Embedder,
    HashingEmbedder,
    OnnxSentenceEmbedder,
    SentenceTransformerEmbedder,
    configure_threads,
)
from .text.analysis import Analyzer, SnowballAnalyzer, analyzer_for
from .text.redaction import Redactor, redact

__all__ = [
    "Analyzer",
    "BusyError",
    "CheckReport",
    "DiskFullError",
    "Document",
    "DocumentExistsError",
    "Embedder",
    "FilterError",
    "HashingEmbedder",
    "Hit",
    "IngestError",
    "InputError",
    "KnowledgeBase",
    "MissingDependencyError",
    "ModelIntegrityError",
    "ModelMismatchError",
    "OnnxSentenceEmbedder",
    "Passage",
    "Problem",
    "Redactor",
    "SearchResults",
    "Section",
    "SentenceTransformerEmbedder",
    "SnowballAnalyzer",
    "SrmkbError",
    "StorageError",
    "SyncReport",
    "__version__",
    "analyzer_for",
    "check_base",
    "configure_threads",
    "redact",
]
