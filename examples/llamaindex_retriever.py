"""srmkb as a LlamaIndex retriever, offline.

    pip install 'srmkb[llamaindex]' && python examples/llamaindex_retriever.py

Builds (once) a base from examples/nimbus in build/examples-kb, then retrieves with
``SrmkbRetriever``: each node is a whole passage whose source (``ref_doc_id``) is the
srmkb document. With an LLM configured, ``RetrieverQueryEngine.from_args(retriever)``
answers over these nodes; an LLM reads each node's title, section, URL and page.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from llama_index.core.schema import MetadataMode

from srmkb import KnowledgeBase
from srmkb.connectors import read_paths
from srmkb.integrations.llamaindex import SrmkbRetriever

HERE = Path(__file__).resolve().parent
kb = KnowledgeBase(HERE.parent / "build" / "examples-kb")
kb.upsert(read_paths([HERE / "nimbus"]))  # unchanged documents cost nothing on a rerun

retriever = SrmkbRetriever(kb, k=3, filters={"category": "troubleshooting"})
for found in retriever.retrieve("the light on my router is blinking red"):
    print(f"{found.score:6.2f}  {found.node.ref_doc_id}  ({found.node.node_id})")

print("\nWhat an LLM reads of the best node:\n")
(best,) = asyncio.run(SrmkbRetriever(kb, k=1).aretrieve("how do I get a refund?"))
print(best.node.get_content(metadata_mode=MetadataMode.LLM))
kb.close()
