"""srmkb as a LangChain retriever, a chain step and an agent's tool, offline.

    pip install 'srmkb[langchain]' && python examples/langchain_retriever.py

Builds (once) a base from examples/nimbus in build/examples-kb, then retrieves with
``SrmkbRetriever``: each LangChain document is a whole passage with its source in the
metadata, ready for a prompt that cites it.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.documents import Document
from langchain_core.prompts import PromptTemplate
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import create_retriever_tool

from srmkb import KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.integrations.langchain import SrmkbRetriever

HERE = Path(__file__).resolve().parent
kb = KnowledgeBase(HERE.parent / "build" / "examples-kb")
kb.upsert(read_paths([HERE / "nimbus"]))  # unchanged documents cost nothing on a rerun

retriever = SrmkbRetriever(kb, k=3)
for doc in retriever.invoke("the light on my router is blinking red"):
    print(f"{doc.metadata['score']:6.2f}  {doc.metadata['title']}  <{doc.metadata['url']}>")


def with_sources(docs: list[Document]) -> str:
    """The passages as a prompt's context, each numbered with its source."""
    return "\n\n".join(
        f"[{i}] {d.page_content}\n(source: {d.metadata['title']}, {d.metadata['url']})"
        for i, d in enumerate(docs, 1)
    )


# In a chain: the retriever's output becomes the context of a prompt (an LLM would follow).
prompt = PromptTemplate.from_template("Answer from the sources and cite them.\n\n{context}")
chain = retriever | RunnableLambda(with_sources) | (lambda context: {"context": context}) | prompt
print("\n" + chain.invoke("how do I get a refund?").to_string()[:400], "…")

# As a tool an agent calls; logged under the channel "agent-tool" in the base's log.
tool = create_retriever_tool(
    SrmkbRetriever(kb, k=2, channel="agent-tool"),
    "search_help",
    "Search the Nimbus help content for passages that answer a customer's question.",
)
print("\n" + tool.invoke({"query": "change the wifi password"})[:300], "…")
kb.close()
