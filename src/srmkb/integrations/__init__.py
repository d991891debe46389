"""Framework adapters: srmkb as a retriever or a tool inside other frameworks.

Each adapter is a thin layer over the public :class:`~srmkb.KnowledgeBase` API, in its
own module so that ``import srmkb`` never needs the framework; importing a module
without its extra raises :class:`~srmkb.MissingDependencyError` naming the
``pip install`` to run.

- :mod:`srmkb.integrations.langchain` (``srmkb[langchain]``): ``SrmkbRetriever``, a
  LangChain ``BaseRetriever``.
- :mod:`srmkb.integrations.llamaindex` (``srmkb[llamaindex]``): ``SrmkbRetriever``, a
  LlamaIndex ``BaseRetriever``.
- :mod:`srmkb.integrations.haystack` (``srmkb[haystack]``): ``SrmkbRetriever``, a
  Haystack component that serialises the base's path, not the base.
- :mod:`srmkb.integrations.mcp` (``srmkb[mcp]``): an MCP server with search, answer and
  document tools (``srmkb mcp``).

Every retriever returns one item per passage: its whole text, and as metadata the
fields :func:`hit_metadata` lists, so a framework's citation shows the same source
srmkb's own answers cite. With ``collapse="document"`` (every retriever takes it, and the
MCP server's ``search_knowledge`` uses it by default) each document comes once, by its
best passage, so ``k`` items are ``k`` documents.
"""

from __future__ import annotations

from ._common import hit_metadata

__all__ = ["hit_metadata"]
