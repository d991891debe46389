"""LlamaIndex: :class:`SrmkbRetriever`, a ``BaseRetriever`` over a knowledge base.

Install with ``pip install 'srmkb[llamaindex]'``::

    from srmkb import KnowledgeBase
    from srmkb.integrations.llamaindex import SrmkbRetriever

    retriever = SrmkbRetriever(KnowledgeBase("build/kb"), k=4)
    nodes = retriever.retrieve("router light blinking red")   # or await retriever.aretrieve(...)
    # RetrieverQueryEngine.from_args(retriever, llm=...) answers with an LLM over them

Each result is a ``NodeWithScore``: a ``TextNode`` whose text is the passage's whole
text, whose id is the passage id, whose source (``ref_doc_id``) is the document id and
whose metadata is the hit's provenance (:func:`srmkb.integrations.hit_metadata`), with
the fused score. An LLM reading the node sees its title, section, URL and page only;
scores, ids and versions stay in the metadata for the program.

Importing LlamaIndex needs no network: it fetches NLTK data only for its own text
splitters and keyword tools, which this retriever does not use.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..documents import JSONValue, SearchResults
from ..errors import MissingDependencyError
from ..kb import KnowledgeBase
from ..vocabulary import Audience, Collapse, Mode
from ._common import check_options, hit_metadata, search_options

try:
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import (
        NodeRelationship,
        NodeWithScore,
        QueryBundle,
        RelatedNodeInfo,
        TextNode,
    )
except ImportError as exc:  # pragma: no cover - exercised by hiding the package
    raise MissingDependencyError("llama-index-core", "llamaindex") from exc

__all__ = ["SrmkbRetriever"]

# What an LLM reads of a node besides its text (where it comes from, to cite it), when set.
_SHOWN = frozenset({"title", "section", "url", "page"})


class SrmkbRetriever(BaseRetriever):
    """A LlamaIndex retriever that searches a :class:`KnowledgeBase` (hybrid by default).

    ``audience``, ``filters`` and ``mode`` are srmkb's (see :meth:`KnowledgeBase.search`),
    applied inside retrieval before the top ``k`` is taken; ``collapse="document"``
    returns one node per document, its best passage. ``channel`` names the channel the
    searches are logged under in the base's interaction log; ``log=False`` logs nothing.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        k: int = 4,
        audience: Audience = "customer",
        filters: Mapping[str, JSONValue] | None = None,
        mode: Mode = "hybrid",
        channel: str | None = None,
        log: bool = True,
        collapse: Collapse | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        if not isinstance(kb, KnowledgeBase):
            raise TypeError(f"kb must be a KnowledgeBase, got {type(kb).__name__}")
        check_options(k, audience, mode, collapse)
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.kb = kb
        self.k = k
        self.audience: Audience = audience
        self.filters = filters
        self.mode: Mode = mode
        self.channel = channel
        self.log = log
        self.collapse: Collapse | None = collapse

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return _nodes(self.kb.search(query_bundle.query_str, self.k, **search_options(self)))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        # The base searches in a worker thread, leaving the event loop free.
        return _nodes(await self.kb.asearch(query_bundle.query_str, self.k, **search_options(self)))


def _nodes(hits: SearchResults) -> list[NodeWithScore]:
    out = []
    for hit in hits:
        metadata = hit_metadata(hit, hits.interaction_id)
        hidden = [
            key for key, value in metadata.items() if key not in _SHOWN or value in ("", None)
        ]
        node = TextNode(
            id_=hit.passage_id,
            text=hit.text,
            metadata=metadata,
            excluded_llm_metadata_keys=hidden,
            excluded_embed_metadata_keys=hidden,
            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.document_id)},
        )
        out.append(NodeWithScore(node=node, score=float(hit.score)))
    return out
