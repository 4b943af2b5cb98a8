"""MCP servers in a client's `tools=[...]` (README "MCP", client side): a real kernel, a real stdio
MCP server (tests/fixtures/mcp_echo_server.py), and cells calling its tools over the comm."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from test_mcp_tools import FIXTURE, Loop

from codemode_kernel import MCPServer
from codemode_kernel.client import CodeModeClient
from codemode_kernel.nbclient import run_notebook
from codemode_kernel.output.items import ImageItem, TextItem

pytestmark = pytest.mark.e2e


def texts(result: object) -> list[str]:
    return [item.text for item in result.items if isinstance(item, TextItem)]  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-client") / "fixture.log"


@pytest.fixture(scope="module")
def client(log_path: Path) -> Iterator[tuple[Loop, CodeModeClient]]:
    loop = Loop()
    server = MCPServer(
        "echo", command=sys.executable, args=[FIXTURE], env={"MCP_FIXTURE_LOG": str(log_path)}
    )

    def plain(x: int) -> int:
        """A Python tool beside the MCP ones."""
        return x * 2

    client = CodeModeClient.start(tools=[server, plain])
    loop.run(client.open(), timeout=60)
    yield loop, client
    loop.run(client.close())
    loop.close()


def test_a_cell_calls_an_mcp_tool(client: tuple[Loop, CodeModeClient]) -> None:
    loop, c = client
    result = loop.run(c.exec('text(JSON.stringify(await tools.mcp__echo__echo({text: "hi"})))'))
    assert result.status == "completed", result.error_text
    (line,) = texts(result)
    value = json.loads(line)
    assert value["content"] == [{"type": "text", "text": "hi"}]
    assert value["structuredContent"] == {"result": "hi"}
    assert value["isError"] is False


def test_tool_errors_resolve_and_dashed_names_normalize(
    client: tuple[Loop, CodeModeClient],
) -> None:
    loop, c = client
    code = (
        'const r = await tools.mcp__echo__fail({message: "nope"});\n'
        "text(`${r.isError} ${r.content[0].text}`);\n"
        "text((await tools.mcp__echo__dashed_name()).structuredContent.result);\n"
        "text(String(await tools.plain({x: 21})));"
    )
    result = loop.run(c.exec(code))
    assert texts(result) == ["true Error executing tool fail: nope", "dashed", "42"]


def test_all_tools_and_describe_declare_call_tool_result(
    client: tuple[Loop, CodeModeClient],
) -> None:
    loop, c = client
    code = 'text(ALL_TOOLS.find(t => t.name === "mcp__echo__add").description)'
    (description,) = texts(loop.run(c.exec(code)))
    assert description == (
        "Add two integers.\n\nexec tool declaration:\n```ts\n"
        "declare const tools: { mcp__echo__add(args: { a: number; b: number; }): "
        "Promise<CallToolResult<{ total: number; }>>; };\n```"
    )
    described = loop.run(c.describe())["exec"]
    assert described.count("Shared MCP Types:\n```ts\ntype Role = ") == 1
    assert "### `mcp__echo__dashed_name` (`mcp__echo__dashed-name`)" in described


def test_image_takes_an_image_content_block(client: tuple[Loop, CodeModeClient]) -> None:
    loop, c = client
    result = loop.run(c.exec("const r = await tools.mcp__echo__image();\nimage(r.content[0]);"))
    assert result.status == "completed", result.error_text
    (item,) = [i for i in result.items if isinstance(i, ImageItem)]
    assert item.image_url.startswith("data:image/png;base64,iVBORw0KGgo")


def test_a_call_is_cancelled_when_its_cell_ends(
    client: tuple[Loop, CodeModeClient], log_path: Path
) -> None:
    loop, c = client
    code = (
        'tools.mcp__echo__slow({seconds: 30, tag: "cell"});\n'
        "await new Promise(r => setTimeout(r, 300));"
    )
    assert loop.run(c.exec(code)).status == "completed"
    deadline = time.monotonic() + 10
    while "cancelled cell" not in (log_path.read_text() if log_path.exists() else ""):
        assert time.monotonic() < deadline, "the MCP server never saw the cancellation"
        time.sleep(0.05)


def test_run_notebook_with_an_mcp_server(tmp_path: Path) -> None:
    nb = new_notebook(  # type: ignore[no-untyped-call]
        cells=[new_code_cell("(await tools.mcp__nb__add({a: 1, b: 2})).structuredContent.total")]  # type: ignore[no-untyped-call]
    )
    nb.metadata["kernelspec"] = {"name": "codemode", "display_name": "Code Mode", "language": "js"}
    server = MCPServer("nb", command=sys.executable, args=[FIXTURE])
    run_notebook(nb, [server], timeout=60)
    (output,) = nb.cells[0].outputs
    assert output["data"]["text/plain"] == "3"
    assert nbformat.validate(nb) is None  # type: ignore[no-untyped-call]
