"""MCP servers as tools, against a real MCP server (tests/fixtures/mcp_echo_server.py, the SDK's
MCPServer) over stdio and over Streamable HTTP: names, schemas, results as camelCase MCP JSON,
tool errors that resolve, transport failures that raise, and cancellation reaching the server."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clientkit import Loop

from codemode_kernel.tools import Tool, tool_declaration
from codemode_kernel.tools.mcp_config import MCPServer
from codemode_kernel.tools.mcp_session import MCPSessionError
from codemode_kernel.tools.mcp_tools import MCPToolset

pytestmark = pytest.mark.e2e

FIXTURE = str(Path(__file__).parent / "fixtures" / "mcp_echo_server.py")


def echo_server(log: Path | None = None, name: str = "echo") -> MCPServer:
    env = {"MCP_FIXTURE_LOG": str(log)} if log else None
    return MCPServer(name, command=sys.executable, args=(FIXTURE,), env=env)


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp") / "fixture.log"


@pytest.fixture(scope="module")
def toolset(loop: Loop, log_path: Path) -> Iterator[tuple[MCPToolset, dict[str, Tool]]]:
    toolset = MCPToolset([echo_server(log_path)])
    tools = loop.run(toolset.open())
    yield toolset, {t.name: t for t in tools}
    loop.run(toolset.close())


def test_tools_are_named_and_declared(toolset: tuple[MCPToolset, dict[str, Tool]]) -> None:
    sets, tools = toolset
    assert list(tools) == [
        "mcp__echo__echo",
        "mcp__echo__add",
        "mcp__echo__fail",
        "mcp__echo__dashed-name",
        "mcp__echo__image",
        "mcp__echo__slow",
        "mcp__echo__crash",
        "mcp__echo__grow",
    ]
    assert tools["mcp__echo__dashed-name"].global_name == "mcp__echo__dashed_name"
    assert tools["mcp__echo__add"].description == "Add two integers."
    assert tool_declaration(tools["mcp__echo__add"].definition()) == (
        "declare const tools: { mcp__echo__add(args: { a: number; b: number; }): "
        "Promise<CallToolResult<{ total: number; }>>; };"
    )
    assert tool_declaration(tools["mcp__echo__dashed-name"].definition()) == (
        "declare const tools: { mcp__echo__dashed_name(args: { [key: string]: unknown; }): "
        "Promise<CallToolResult<{ result: string; }>>; };"
    )
    assert sets.instructions() == {"mcp__echo__": "Echo server for tests."}


def test_results_are_camel_case_call_tool_results(
    loop: Loop, toolset: tuple[MCPToolset, dict[str, Tool]]
) -> None:
    _, tools = toolset
    result = loop.run(tools["mcp__echo__add"].invoke({"a": 2, "b": 3}))
    assert result["content"] == [{"type": "text", "text": '{\n  "total": 5\n}'}]
    assert result["structuredContent"] == {"total": 5}
    assert result["isError"] is False
    assert "resultType" not in result and "structured_content" not in result
    image = loop.run(tools["mcp__echo__image"].invoke(None))
    (block,) = image["content"]
    assert block["type"] == "image" and block["mimeType"] == "image/png"
    assert block["data"].startswith("iVBORw0KGgo")


def test_tool_errors_resolve_with_is_error(
    loop: Loop, toolset: tuple[MCPToolset, dict[str, Tool]]
) -> None:
    _, tools = toolset
    result = loop.run(tools["mcp__echo__fail"].invoke({"message": "first failed"}))
    assert result["isError"] is True
    text = "Error executing tool fail: first failed"
    assert result["content"] == [{"type": "text", "text": text}]
    missing = loop.run(tools["mcp__echo__echo"].invoke({}))
    assert missing["isError"] is True and "Field required" in missing["content"][0]["text"]


def test_a_cancelled_call_is_cancelled_on_the_server(
    loop: Loop, toolset: tuple[MCPToolset, dict[str, Tool]], log_path: Path
) -> None:
    _, tools = toolset

    async def call_then_cancel() -> None:
        task = asyncio.ensure_future(tools["mcp__echo__slow"].invoke({"seconds": 30, "tag": "c1"}))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop.run(call_then_cancel())
    deadline = time.monotonic() + 5
    while "cancelled c1" not in (log_path.read_text() if log_path.exists() else ""):
        assert time.monotonic() < deadline, "the server never saw the cancellation"
        time.sleep(0.05)
    # The session still serves.
    assert loop.run(tools["mcp__echo__echo"].invoke({"text": "after"}))["content"][0]["text"] == (
        "after"
    )


def test_a_server_that_cannot_start_is_reported(loop: Loop) -> None:
    toolset = MCPToolset(
        [MCPServer("gone", command="/nonexistent/mcp-server"), echo_server(name="ok")]
    )
    tools = loop.run(toolset.open())
    assert [t.name for t in tools][:1] == ["mcp__ok__echo"]
    assert toolset.errors["gone"].startswith("MCP server 'gone' (/nonexistent/mcp-server): ")
    assert "No such file" in toolset.errors["gone"] or "not found" in toolset.errors["gone"]
    loop.run(toolset.close())


def test_a_crashing_server_rejects_naming_tool_and_cause(loop: Loop) -> None:
    toolset = MCPToolset([echo_server(name="crashy")])
    tools = {t.name: t for t in loop.run(toolset.open())}
    with pytest.raises(MCPSessionError) as info:
        loop.run(tools["mcp__crashy__crash"].invoke(None))
    assert str(info.value).startswith("tool `mcp__crashy__crash`: MCP server 'crashy' failed: ")
    loop.run(toolset.close(), timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_streamable_http(loop: Loop) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, FIXTURE, "--http", str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        server = MCPServer("web", url=f"http://127.0.0.1:{port}/mcp", headers={"X-Test": "1"})
        toolset = MCPToolset([server])
        tools = {t.name: t for t in loop.run(toolset.open())}
        result = loop.run(tools["mcp__web__echo"].invoke({"text": "over http"}))
        assert result["content"] == [{"type": "text", "text": "over http"}]
        loop.run(toolset.close())
    finally:
        proc.terminate()
        proc.wait(10)
