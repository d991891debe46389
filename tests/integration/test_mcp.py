"""The MCP server, driven by the MCP SDK's own client: in process, over stdio (the
server in a child process, as an agent starts it) and over Streamable HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("mcp", reason="the mcp extra is not installed")

from mcp import Client, StdioServerParameters

from srmkb import Document, KnowledgeBase, Section
from srmkb.integrations.mcp import build_server

from ..integrations_conformance import MESH

pytestmark = pytest.mark.anyio

TOOLS = {"search_knowledge", "answer_question", "get_document"}
SECRET = "ZEBRA-7"  # words that only internal text holds
NOTE = "OTTER-9"
DOCS = [
    Document(
        id="reset",
        title="Factory reset",
        text="Hold the reset button on the back of the router for ten seconds until the light blinks white.",
        url="https://help.example/reset",
    ),
    Document(
        id="wifi",
        title="Change the Wi-Fi password",
        text="Open Network, then Wi-Fi settings, edit the password and save.",
    ),
    Document(
        id="refund", title="Refunds", text="Return the device within 30 days for a full refund."
    ),
    Document(
        id="secret",
        title="Refund exceptions",
        text=f"Team leads may approve a refund after 30 days with code {SECRET}.",
        visibility="internal",
    ),
    Document(
        id="ports",
        title="Router ports",
        sections=(
            Section("The router has four ports at the back.", ("Ports",), "ports"),
            Section(
                f"Engineers can unlock port 4 with code {NOTE}.",
                ("Engineering notes",),
                "notes",
                visibility="internal",
            ),
        ),
    ),
    MESH,  # three passages, one per section
    Document(
        id="case-4411",
        title="Solution: modem",
        sections=(
            Section(f"Customer says {NOTE}.", ("Problem",), "problem", visibility="internal"),
            Section("Reseat the power cable.", ("Resolution",), "resolution"),
        ),
        metadata={"source_type": "crm", "case_id": "4411", "status": "closed"},
        updated_at="2026-11-02",
        source="exports/cases.csv",
    ),
]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    base = KnowledgeBase(tmp_path_factory.mktemp("mcp") / "kb", model="hashing")
    base.upsert(DOCS)
    yield base
    base.close()


async def call(client: Client, tool: str, **arguments: object) -> dict:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


async def error(client: Client, tool: str, **arguments: object) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    return result.content[0].text


def logged_since(kb: KnowledgeBase, count: int) -> list:
    return kb.audit.interactions()[count:]


async def test_tools_are_listed_and_none_takes_an_audience(kb):
    async with Client(build_server(kb)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert "audience" not in tool.input_schema["properties"]
        assert tool.description


async def test_search_returns_whole_passages_with_citations(kb):
    before = len(kb.audit.interactions())
    async with Client(build_server(kb)) as client:
        found = await call(client, "search_knowledge", query="reset the router", k=2)
    hits = found["hits"]
    assert len(hits) == 2 and hits[0]["document_id"] == "reset"
    assert hits[0]["text"] == kb.passage_text("reset#0")
    assert hits[0]["citation"] == {
        "document_id": "reset",
        "title": "Factory reset",
        "url": "https://help.example/reset",
        "page": None,
        "passage_id": "reset#0",
    }
    (entry,) = logged_since(kb, before)
    assert entry.kind == "search" and entry.channel == "agent-tool"
    assert entry.audience == "customer" and entry.id == found["interaction_id"]


async def test_an_answer_cites_its_source(kb):
    before = len(kb.audit.interactions())
    async with Client(build_server(kb)) as client:
        answer = await call(client, "answer_question", question="How do I factory reset my router?")
    assert answer["answered"] and not answer["handover"]
    assert answer["citations"][0]["document_id"] == "reset"
    assert "Hold the reset button" in answer["text"] and 0 < answer["confidence"] <= 1
    (entry,) = logged_since(kb, before)
    assert (entry.kind, entry.channel, entry.document_id) == ("answer", "agent-tool", "reset")


async def test_an_unanswerable_question_is_declined_with_a_handover(kb):
    async with Client(build_server(kb)) as client:
        answer = await call(client, "answer_question", question="Do you sell televisions?")
    assert not answer["answered"] and answer["handover"]
    assert answer["citations"] == [] and answer["text"]
    assert kb.audit.interactions()[-1].answered is False


async def test_a_customer_server_never_reveals_internal_text(kb):
    async with Client(build_server(kb, audience="customer")) as client:
        unknown = await error(client, "get_document", document_id="no-such-document")
        internal = await error(client, "get_document", document_id="secret")
        assert internal == unknown.replace("no-such-document", "secret")
        ports = await call(client, "get_document", document_id="ports")
        found = await call(client, "search_knowledge", query=f"team leads refund {SECRET}", k=10)
        answers = [
            await call(client, "answer_question", question=q)
            for q in ("Can team leads approve a refund after 30 days?", "How do I unlock port 4?")
        ]
    assert ports["text"] == "The router has four ports at the back."
    assert [p["visibility"] for p in ports["sections"]] == ["public"]
    assert "secret" not in {h["document_id"] for h in found["hits"]}
    seen = str([ports, found, answers])
    assert SECRET not in seen and NOTE not in seen


async def test_an_agent_server_shows_internal_documents_marked(kb):
    async with Client(build_server(kb, audience="agent")) as client:
        secret = await call(client, "get_document", document_id="secret")
        ports = await call(client, "get_document", document_id="ports")
    assert SECRET in secret["text"] and secret["visibility"] == "internal"
    assert [p["visibility"] for p in ports["sections"]] == ["public", "internal"]
    assert [p["section"] for p in ports["sections"]] == ["Ports", "Engineering notes"]
    assert (secret["version"], secret["language"]) == (1, "en")


async def test_a_document_is_shown_as_the_base_shows_it_to_the_audience(kb):
    async with Client(build_server(kb, audience="customer")) as client:
        case = await call(client, "get_document", document_id="case-4411")
    assert case == {**kb.document("case-4411").to_json()}
    assert case["text"] == "Reseat the power cable." and case["metadata"] == {"source_type": "crm"}
    assert NOTE not in str(case) and "4411" not in str(case["metadata"])
    async with Client(build_server(kb, audience="agent")) as client:
        whole = await call(client, "get_document", document_id="case-4411")
    assert NOTE in whole["text"] and whole["metadata"]["case_id"] == "4411"


async def test_search_gives_each_document_once_unless_told_otherwise(kb):
    async with Client(build_server(kb)) as client:
        collapsed = await call(client, "search_knowledge", query="mesh satellite", k=3)
        passages = await call(
            client, "search_knowledge", query="mesh satellite", k=3, collapse=None
        )
    documents = [h["document_id"] for h in collapsed["hits"]]
    assert documents[0] == "mesh" and len(set(documents)) == len(documents) == 3
    assert [h["document_id"] for h in passages["hits"]] == ["mesh"] * 3


async def test_every_tool_call_is_logged_as_agent_tool(kb):
    before = len(kb.audit.interactions())
    async with Client(build_server(kb)) as client:
        await call(client, "search_knowledge", query="wifi password")
        await call(client, "answer_question", question="How do I change the Wi-Fi password?")
        await call(client, "get_document", document_id="wifi")
        await error(client, "get_document", document_id="secret")
    entries = logged_since(kb, before)
    assert [e.kind for e in entries] == ["search", "answer", "document", "document"]
    assert {e.channel for e in entries} == {"agent-tool"}
    assert {e.audience for e in entries} == {"customer"}
    assert entries[2].results == ["wifi"] and entries[3].results == []


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search_knowledge", {"query": "x" * 10_001}, "at most 10,000"),
        ("search_knowledge", {"query": "router", "k": 0}, "greater than or equal to 1"),
        ("search_knowledge", {"query": "router", "k": 101}, "less than or equal to 100"),
        ("answer_question", {"question": "x" * 10_001}, "at most 10,000"),
        ("get_document", {"document_id": ""}, "at least 1 character"),
        ("get_document", {"document_id": "x" * 1_001}, "at most 1000 characters"),
    ],
)
async def test_bad_input_is_a_clear_tool_error(kb, tool, arguments, message):
    async with Client(build_server(kb)) as client:
        assert message in await error(client, tool, **arguments)


def test_bad_configuration_is_refused(kb):
    with pytest.raises(ValueError, match="audience"):
        build_server(kb, audience="admin")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="KnowledgeBase"):
        build_server(str(kb.path))  # type: ignore[arg-type]


def serve_command(kb: KnowledgeBase, **options: object) -> list[str]:
    """The command that serves ``kb`` as ``srmkb mcp`` will (through ``serve``)."""
    args = ", ".join(f"{k}={v!r}" for k, v in options.items())
    code = f"from srmkb.integrations.mcp import serve; serve({str(kb.path)!r}, {args})"
    return [sys.executable, "-c", code]


async def test_over_stdio(kb):
    before = len(kb.audit.interactions())
    command, *args = serve_command(kb, audience="customer")
    async with Client(StdioServerParameters(command=command, args=args)) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        found = await call(client, "search_knowledge", query="wifi password", k=1)
        declined = await call(client, "answer_question", question="Do you sell televisions?")
        internal = await error(client, "get_document", document_id="secret")
    assert found["hits"][0]["document_id"] == "wifi"
    assert declined["handover"] and "secret" in internal and SECRET not in internal
    entries = logged_since(kb, before)
    assert [(e.kind, e.channel) for e in entries] == [
        ("search", "agent-tool"),
        ("answer", "agent-tool"),
        ("document", "agent-tool"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_over_streamable_http(kb):
    port = free_port()
    server = subprocess.Popen(
        serve_command(kb, transport="streamable-http", port=port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # the child imports srmkb and binds the port: seconds on a busy machine
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP server did not start"
                time.sleep(0.2)
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            found = await call(client, "search_knowledge", query="factory reset", k=1)
        assert found["hits"][0]["document_id"] == "reset"
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()
