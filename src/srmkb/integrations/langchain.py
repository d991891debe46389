"""LangChain: :class:`SrmkbRetriever`, a ``BaseRetriever`` over a knowledge base.

Install with ``pip install 'srmkb[langchain]'``::

    from srmkb import KnowledgeBase
    from srmkb.integrations.langchain import SrmkbRetriever

    retriever = SrmkbRetriever(KnowledgeBase("build/kb"), k=4)
    docs = retriever.invoke("router light blinking red")   # or await retriever.ainvoke(...)

Each LangChain ``Document`` is one passage: ``page_content`` is its whole text (from the
version that ranked it), ``id`` its passage id and ``metadata`` its provenance
(:func:`srmkb.integrations.hit_metadata`). ``k`` and ``filters`` can also be given per
call: ``retriever.invoke(query, k=2, filters={"category": "billing"})``. Audience,
filters and mode are srmkb's (see :meth:`KnowledgeBase.search`), applied inside
retrieval before the top ``k`` is taken. ``collapse="document"`` returns one passage per
document, its best, so ``k`` results are ``k`` documents, as retrievers over whole
documents give them.
"""

from __future__ import annotations

from typing import Any, cast

from ..documents import SearchResults
from ..errors import MissingDependencyError
from ..kb import KnowledgeBase
from ..vocabulary import Audience, Collapse, Mode
from ._common import hit_metadata, search_options

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document as LangChainDocument
    from langchain_core.retrievers import BaseRetriever
    from pydantic import Field
except ImportError as exc:  # pragma: no cover - exercised by hiding the package
    raise MissingDependencyError("langchain-core", "langchain") from exc

__all__ = ["SrmkbRetriever"]

# Checked by the base when it searches; pydantic cannot build a schema of srmkb's
# recursive JSON type, so the field holds plain objects.
Filters = dict[str, object]


class SrmkbRetriever(BaseRetriever):
    """A LangChain retriever that searches a :class:`KnowledgeBase` (hybrid by default).

    ``SrmkbRetriever(kb, k=4, audience="customer", filters=None, mode="hybrid",
    collapse=None)``: the base itself is a field (not a path), so one open base serves
    every chain. ``collapse="document"``: one passage per document, its best. ``channel`` names the channel the searches are logged under in the base's
    interaction log (``"agent-tool"`` for an agent's tool, say); ``log=False`` logs
    nothing (an evaluation run).
    """

    kb: KnowledgeBase
    k: int = Field(default=4, ge=1)
    audience: Audience = "customer"
    filters: Filters | None = None
    mode: Mode = "hybrid"
    channel: str | None = None
    log: bool = True
    collapse: Collapse | None = None

    def __init__(self, kb: KnowledgeBase | None = None, /, **fields: object) -> None:
        # LangChain retrievers are pydantic models, built by keyword; the base may also
        # come first, as srmkb's other adapters take it.
        if kb is not None:
            fields["kb"] = kb
        super().__init__(**cast("dict[str, Any]", fields))  # pydantic checks each field

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> list[LangChainDocument]:
        return self.search(query, k=k, filters=filters)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> list[LangChainDocument]:
        return await self.asearch(query, k=k, filters=filters)

    def search(
        self, query: str, *, k: int | None = None, filters: Filters | None = None
    ) -> list[LangChainDocument]:
        """The passages for ``query`` as LangChain documents, best first; ``k`` and
        ``filters`` replace the retriever's own for this call (``invoke`` passes them)."""
        hits = self.kb.search(query, self.k if k is None else k, **search_options(self, filters))
        return _documents(hits)

    async def asearch(
        self, query: str, *, k: int | None = None, filters: Filters | None = None
    ) -> list[LangChainDocument]:
        """:meth:`search` for asyncio code (the base searches in a worker thread)."""
        hits = await self.kb.asearch(
            query, self.k if k is None else k, **search_options(self, filters)
        )
        return _documents(hits)


def _documents(hits: SearchResults) -> list[LangChainDocument]:
    return [
        LangChainDocument(
            page_content=hit.text,
            metadata=hit_metadata(hit, hits.interaction_id),
            id=hit.passage_id,
        )
        for hit in hits
    ]
