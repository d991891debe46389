"""The index: passages ranked by BM25, dense vectors or their fusion, one immutable
version per committed generation.

:class:`Index` and :class:`IndexWriter` are the contract (:mod:`.protocol`);
:class:`LocalIndex` is one version of a local base, read through :class:`IndexReader`
and written through :class:`LocalWriter`. A :class:`Query` carries what every retriever
needs of the query, computed once.
"""

from .candidates import Candidates
from .local import LocalIndex
from .protocol import Index, IndexPart, IndexWriter, Ranking, StaleRead
from .query import Query
from .reader import IndexReader, ModelFacts
from .statistics import GroupStatistics, LexicalStatistics
from .writer import LocalWriter

__all__ = [
    "Candidates",
    "GroupStatistics",
    "Index",
    "IndexPart",
    "IndexReader",
    "IndexWriter",
    "LexicalStatistics",
    "LocalIndex",
    "LocalWriter",
    "ModelFacts",
    "Query",
    "Ranking",
    "StaleRead",
]
