"""MCP: a Model Context Protocol server that lets an AI agent search and answer from a base.

Install with ``pip install 'srmkb[mcp]'`` and run ``srmkb mcp --kb DIR`` (stdio, for an
agent that starts the server itself) or ``srmkb mcp --kb DIR --transport
streamable-http --port 8000``; from Python, :func:`serve` or, to embed the server in
an application, :func:`build_server`. Three tools:

- ``search_knowledge(query, k=5, collapse="document")``: the best passages, each with
  its whole text and its citation (document, title, URL, page, passage). By default one
  per document, its best passage, so ``k`` hits are ``k`` different documents: an agent
  that wants more of one document asks ``get_document`` for it; ``collapse=null`` gives
  the ``k`` best passages, several of which may come from one long document.
- ``answer_question(question)``: srmkb's answer with its citations, steps and
  calibrated confidence, or its refusal with ``handover: true`` (hand the conversation
  to a person).
- ``get_document(document_id)``: a document as the server's audience may see it
  (:meth:`KnowledgeBase.document`): its visible text, sections and version.

The audience is the server's, set when it starts (``customer`` by default: public
documents and sections only), never a tool argument: an agent cannot ask for more than
the operator allowed. A customer server answers an internal document's id as it
answers an unknown one, and shows a public document without its internal sections.
Every call is logged in the base's interaction log under the channel ``agent-tool``.
Answers are rendered for the ``agent`` channel: the whole section with its source
line (the chat channel shortens it), steps and citations as fields, and internal notes
only on an agent server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from .. import __version__
from ..errors import FilterError, InputError, MissingDependencyError
from ..kb import KnowledgeBase
from ..vocabulary import AUDIENCES, Audience, Collapse, check_choice
from ._common import hit_metadata

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import Field
except ImportError as exc:  # pragma: no cover - exercised by hiding the package
    raise MissingDependencyError("mcp", "mcp") from exc

__all__ = ["CHANNEL", "MAX_DOCUMENT_ID_CHARS", "MAX_K", "build_server", "serve"]

#: The channel every call of the server is logged under.
CHANNEL = "agent-tool"
#: Most hits one search returns (the HTTP service's default limit).
MAX_K = 100
#: Longest document id accepted.
MAX_DOCUMENT_ID_CHARS = 1_000

Transport = Literal["stdio", "streamable-http"]

# Every tool reads the base (the log aside, which is the operator's, not the agent's).
_READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def build_server(
    kb: KnowledgeBase, *, audience: Audience = "customer", threshold: float | None = None
) -> MCPServer:
    """An MCP server whose tools search, answer from and read ``kb`` for ``audience``.

    ``threshold`` is the answer confidence below which ``answer_question`` declines
    (default: the shipped model's, as for :meth:`KnowledgeBase.answer`). The caller
    keeps ``kb`` open while the server runs.
    """
    if not isinstance(kb, KnowledgeBase):
        raise TypeError(f"kb must be a KnowledgeBase, got {type(kb).__name__}")
    check_choice("audience", audience, AUDIENCES)
    shown = "public documents only" if audience == "customer" else "internal documents too"
    server = MCPServer(
        "srmkb",
        version=__version__,
        instructions=(
            f"Service-resolution knowledge base, {audience} view ({shown}). Prefer"
            " answer_question for a user's question and cite its sources; use"
            " search_knowledge to read passages and get_document for a whole document."
            " When an answer comes back with handover true, offer to hand over to a person."
        ),
    )

    @server.tool(annotations=_READ_ONLY)
    def search_knowledge(
        query: Annotated[str, Field(description="What to look for, in the user's words.")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="How many passages.")] = 5,
        collapse: Annotated[
            Collapse | None,
            Field(
                description="'document' (the default): each document once, by its best"
                " passage, so k hits are k documents; null: the k best passages, several"
                " of which may come from one document."
            ),
        ] = "document",
    ) -> dict[str, object]:
        """Search the knowledge base (BM25 and dense retrieval, fused): the best passages,
        best first, each with its whole text, score and citation."""
        try:
            hits = kb.search(query, k, audience=audience, channel=CHANNEL, collapse=collapse)
        except (InputError, FilterError) as exc:
            raise ToolError(str(exc)) from exc
        return {
            "interaction_id": hits.interaction_id,
            "hits": [
                {
                    **hit_metadata(hit, hits.interaction_id),
                    "text": hit.text,
                    "citation": _citation(
                        hit.document_id, hit.title, hit.url, hit.page, hit.passage_id
                    ),
                }
                for hit in hits
            ],
        }

    @server.tool(annotations=_READ_ONLY)
    def answer_question(
        question: Annotated[str, Field(description="The user's question.")],
    ) -> dict[str, object]:
        """Answer a question from the knowledge base, with citations, steps and a
        calibrated confidence; or decline (answered false, handover true) when the base
        holds no confident answer: then offer a person rather than guess."""
        try:
            answer = kb.answer(
                question,
                channel="agent",
                audience=audience,
                threshold=threshold,
                log_channel=CHANNEL,
            )
        except (InputError, FilterError) as exc:
            raise ToolError(str(exc)) from exc
        return {
            "answered": answer.answered,
            "confidence": round(answer.confidence, 4),
            "text": answer.text,
            "steps": list(answer.steps),
            "citations": [
                _citation(c.document_id, c.title, c.url, c.page, c.passage_id)
                for c in answer.citations
            ],
            "document_id": answer.document_id,
            "document_version": answer.document_version,
            "handover": answer.handover,
            "language": answer.language,
            "interaction_id": answer.interaction_id,
        }

    @server.tool(annotations=_READ_ONLY)
    def get_document(
        document_id: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_DOCUMENT_ID_CHARS,
                description="A document_id from a search hit or a citation.",
            ),
        ],
    ) -> dict[str, object]:
        """A whole document as this server's audience may see it: its text, its sections
        (heading, anchor, page, visibility) and its version."""
        view = kb.document(document_id, audience=audience)
        kb.audit.record(
            kind="document",
            audience=audience,
            question=document_id,
            channel=CHANNEL,
            document_id=None if view is None else view.document.id,
            document_version=None if view is None else view.version,
            results=[] if view is None else [view.document.id],
        )
        if view is None:
            # An internal document is answered as an unknown one: a customer server
            # does not even confirm that it exists.
            raise ToolError(f"no document {document_id!r} in the knowledge base")
        return {**view.to_json()}

    return server


def serve(
    kb_path: str | Path,
    *,
    audience: Audience = "customer",
    transport: Transport = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Open the base at ``kb_path`` (never creating it) and serve it over MCP until
    stopped: on stdin/stdout (``"stdio"``, the agent starts this process) or over
    Streamable HTTP at ``http://host:port/mcp``."""
    check_choice("transport", transport, ("stdio", "streamable-http"))
    check_choice("audience", audience, AUDIENCES)
    with KnowledgeBase(kb_path, create=False) as kb:
        server = build_server(kb, audience=audience)
        if transport == "stdio":
            server.run("stdio")
        else:
            server.run("streamable-http", host=host, port=port)


def _citation(
    document_id: str, title: str, url: str, page: int | None, passage_id: str
) -> dict[str, object]:
    return {
        "document_id": document_id,
        "title": title,
        "url": url,
        "page": page,
        "passage_id": passage_id,
    }
