"""Haystack: :class:`SrmkbRetriever`, a component that searches a knowledge base.

Install with ``pip install 'srmkb[haystack]'``::

    from haystack import Pipeline
    from srmkb.integrations.haystack import SrmkbRetriever

    pipeline = Pipeline()
    pipeline.add_component("retriever", SrmkbRetriever("build/kb", top_k=4))
    result = pipeline.run({"retriever": {"query": "router light blinking red"}})
    result["retriever"]["documents"]       # haystack Documents, best first

Each Haystack ``Document`` is one passage: ``content`` is its whole text, ``id`` its
passage id, ``score`` the fused score and ``meta`` its provenance
(:func:`srmkb.integrations.hit_metadata`); ``collapse="document"`` gives one passage per
document, its best. The component serialises the base's path, audience, ``top_k``, mode,
filters, collapse and logging, never the base, so ``pipeline.dumps()``
gives YAML that ``Pipeline.loads`` turns back into a pipeline over the same base (opened
with the embedding model its manifest names). Haystack loads classes only from modules
the caller trusts: ``Pipeline.loads(text, allowed_modules=["srmkb.integrations.haystack"])``
(srmkb does not add itself to that allowlist: a loaded pipeline opens the base its YAML
names, so trusting the YAML is the application's decision).

Filters are srmkb's (``{"category": ["billing", "refunds"]}``, see
:meth:`KnowledgeBase.search`), applied inside retrieval before the top ``k`` is taken;
filters given to ``run`` replace the component's own. Haystack sends usage telemetry
unless ``HAYSTACK_TELEMETRY_ENABLED=False`` is set before it is imported; srmkb leaves
that choice to the application.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from ..documents import SearchResults
from ..errors import InputError, MissingDependencyError
from ..kb import KnowledgeBase
from ..vocabulary import Audience, Collapse, Mode
from ._common import check_options, hit_metadata, search_options

try:
    from haystack import Document, component, default_from_dict, default_to_dict
except ImportError as exc:  # pragma: no cover - exercised by hiding the package
    raise MissingDependencyError("haystack-ai", "haystack") from exc

__all__ = ["SrmkbRetriever"]

# Haystack connects components by the types of their sockets, and its own retrievers
# take filters as dict[str, Any]: the same type here lets their filter producers connect.
Filters = dict[str, Any]


@component
class SrmkbRetriever:
    """A Haystack retriever component over a :class:`KnowledgeBase`.

    ``kb`` is an open base or the path of one (opened, never created). ``channel``
    names the channel the searches are logged under in the base's interaction log;
    ``log=False`` logs nothing.
    """

    def __init__(
        self,
        kb: KnowledgeBase | str | Path,
        *,
        top_k: int = 4,
        audience: Audience = "customer",
        mode: Mode = "hybrid",
        filters: Filters | None = None,
        channel: str | None = None,
        log: bool = True,
        collapse: Collapse | None = None,
    ) -> None:
        check_options(top_k, audience, mode, collapse)
        _check_filters(filters)
        if isinstance(kb, (str, Path)):
            kb = KnowledgeBase(kb, create=False)
        elif not isinstance(kb, KnowledgeBase):
            raise TypeError(f"kb must be a KnowledgeBase or its path, got {type(kb).__name__}")
        self.kb = kb
        self.top_k = top_k
        self.audience: Audience = audience
        self.mode: Mode = mode
        self.filters = filters
        self.channel = channel
        self.log = log
        self.collapse: Collapse | None = collapse

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, top_k: int | None = None, filters: Filters | None = None
    ) -> dict[str, list[Document]]:
        """The passages for ``query``, best first: ``{"documents": [Document, ...]}``.

        ``top_k`` and ``filters`` replace the component's own for this call.
        """
        _check_filters(filters)
        options = search_options(self, filters)
        hits = self.kb.search(query, self.top_k if top_k is None else top_k, **options)
        return {"documents": _documents(hits)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, top_k: int | None = None, filters: Filters | None = None
    ) -> dict[str, list[Document]]:
        """:meth:`run` for ``Pipeline.run_async`` (the base searches in a worker thread)."""
        _check_filters(filters)
        options = search_options(self, filters)
        hits = await self.kb.asearch(query, self.top_k if top_k is None else top_k, **options)
        return {"documents": _documents(hits)}

    def to_dict(self) -> dict[str, Any]:
        """The component as Haystack serialises it: the base by its path."""
        return default_to_dict(
            self,
            kb=str(self.kb.path),
            top_k=self.top_k,
            audience=self.audience,
            mode=self.mode,
            filters=self.filters,
            channel=self.channel,
            log=self.log,
            collapse=self.collapse,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SrmkbRetriever:
        """The component :meth:`to_dict` described, over the base at its path."""
        return cast(SrmkbRetriever, default_from_dict(cls, data))


def _documents(hits: SearchResults) -> list[Document]:
    return [
        Document(
            id=hit.passage_id,
            content=hit.text,
            meta=hit_metadata(hit, hits.interaction_id),
            score=float(hit.score),
        )
        for hit in hits
    ]


def _check_filters(filters: object) -> None:
    """Refuse filters written in Haystack's syntax rather than read them as metadata
    fields named ``operator`` and ``conditions`` (which would match nothing)."""
    if filters is None:
        return
    if not isinstance(filters, Mapping):
        raise InputError(f"filters must be a mapping, got {type(filters).__name__}")
    if "operator" in filters and ("conditions" in filters or "field" in filters):
        raise InputError(
            "filters are srmkb's, not Haystack's: write {'category': 'billing'} or"
            " {'updated_at': {'gte': '2026-01-01'}} (see KnowledgeBase.search)"
        )
