"""An MCP client talking to srmkb's MCP server over stdio, as an AI agent would, offline.

    pip install 'srmkb[mcp]' && python examples/mcp_client.py

Builds (once) a base from examples/nimbus in build/examples-kb, starts the server as a
child process (what ``srmkb mcp --kb build/examples-kb`` runs) and calls its three
tools with the MCP SDK's client. The server is a customer one: it never shows internal
documents, whatever the agent asks.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from srmkb import KnowledgeBase
from srmkb.connectors import read_paths

HERE = Path(__file__).resolve().parent
BASE = HERE.parent / "build" / "examples-kb"
with KnowledgeBase(BASE) as kb:
    kb.upsert(read_paths([HERE / "nimbus"]))  # unchanged documents cost nothing on a rerun

SERVER = StdioServerParameters(
    command=sys.executable,
    args=[
        "-c",
        f"from srmkb.integrations.mcp import serve; serve({str(BASE)!r}, audience='customer')",
    ],
)


async def main() -> None:
    async with Client(SERVER) as client:
        tools = (await client.list_tools()).tools
        print("tools:", ", ".join(tool.name for tool in tools))

        found = await client.call_tool("search_knowledge", {"query": "blinking red light", "k": 2})
        for hit in found.structured_content["hits"]:
            print(f"  {hit['score']:5.2f}  {hit['title']}  <{hit['url']}>")

        for question in ("How do I factory reset my router?", "Do you sell televisions?"):
            answer = await client.call_tool("answer_question", {"question": question})
            shown = answer.structured_content
            keep = ("answered", "confidence", "handover", "citations", "text")
            print(f"\n{question}\n" + json.dumps({k: shown[k] for k in keep}, indent=2)[:700])

        document = await client.call_tool("get_document", {"document_id": "faq-refund"})
        print("\nget_document:", document.structured_content["title"])


anyio.run(main)
