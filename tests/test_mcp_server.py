"""`codemode-kernel mcp` driven by the SDK's real stdio client (README, "MCP"): exactly `exec` and
`wait`, descriptions declaring the nested tools, cells calling a nested MCP server's tools and a
`--tool` callable, yield then wait, failures as `isError`, images as ImageContent."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from test_mcp_tools import FIXTURE, Loop

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
HEADER = re.compile(
    r"^Script (completed|failed|terminated|running with cell ID (\d+))\n"
    r"Wall time \d+\.\d seconds\nOutput:\n$"
)


def params(*args: str) -> StdioServerParameters:
    """The command as an MCP client would run it; the SDK passes only a minimal environment."""
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "fixtures")])
    env = {"PYTHONPATH": path, "JUPYTER_PATH": os.environ.get("JUPYTER_PATH", "")}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "codemode_kernel", "mcp", *args], env=env
    )


class Session:
    """An MCP client session held open across the module's tests by one task on a background
    loop (the SDK's client must be entered and left by the same task)."""

    def __init__(self, loop: Loop, server: StdioServerParameters | Client) -> None:
        self.loop = loop
        self.client = server if isinstance(server, Client) else Client(server, cache=None)
        self._ready = asyncio.run_coroutine_threadsafe(self._ready_future(), loop.loop).result()
        self._stop = asyncio.run_coroutine_threadsafe(self._event(), loop.loop).result()
        self._holder = asyncio.run_coroutine_threadsafe(self._hold(), loop.loop)
        loop.run(asyncio.wait_for(asyncio.shield(self._ready), 90), timeout=95)

    @staticmethod
    async def _ready_future() -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()

    @staticmethod
    async def _event() -> asyncio.Event:
        return asyncio.Event()

    async def _hold(self) -> None:
        try:
            async with self.client:
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def call(self, name: str, args: dict[str, Any], timeout: float = 60) -> types.CallToolResult:
        return self.loop.run(self.client.call_tool(name, args), timeout)

    def close(self) -> None:
        self.loop.loop.call_soon_threadsafe(self._stop.set)
        self._holder.result(30)


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    config = tmp_path_factory.mktemp("mcp-server") / "mcp.json"
    entry = {"command": sys.executable, "args": [FIXTURE]}
    config.write_text(json.dumps({"mcpServers": {"echo": entry}}))
    loop = Loop()
    session = Session(loop, params("--config", str(config), "--tool", "kernel_tools:multiply"))
    yield session
    session.close()
    loop.close()


def test_exactly_exec_and_wait_with_the_kernels_descriptions(session: Session) -> None:
    listing = session.loop.run(session.client.list_tools(), timeout=90)
    exec_tool, wait_tool = listing.tools
    assert (exec_tool.name, wait_tool.name) == ("exec", "wait")
    assert exec_tool.input_schema["required"] == ["code"]
    assert set(exec_tool.input_schema["properties"]) == {
        "code",
        "yield_time_ms",
        "max_output_tokens",
    }
    assert set(wait_tool.input_schema["properties"]) == {
        "cell_id",
        "yield_time_ms",
        "max_tokens",
        "terminate",
    }
    text = exec_tool.description or ""
    assert text.startswith("Run JavaScript code to orchestrate/compose tool calls\n")
    assert text.count("Shared MCP Types:\n```ts\n") == 1
    assert (
        "declare const tools: { mcp__echo__add(args: { a: number; b: number; }): "
        "Promise<CallToolResult<{ total: number; }>>; };"
    ) in text
    assert "declare const tools: { multiply(args: { a: number; b: number; }): " in text
    assert (wait_tool.description or "").startswith(
        "Waits on a yielded `exec` cell and returns new output or completion.\n"
    )


def test_exec_calls_a_nested_mcp_tool(session: Session) -> None:
    code = (
        'const r = await tools.mcp__echo__echo({text: "nested"});\n'
        "text(r.content[0].text);\n"
        "text(String(await tools.multiply({a: 6, b: 7})));"
    )
    result = session.call("exec", {"code": code})
    assert result.is_error is False
    header, *rest = texts(result)
    assert HEADER.match(header) and header.startswith("Script completed\n")
    assert rest == ["nested", "42"]


def test_yield_then_wait(session: Session) -> None:
    code = (
        'text("first"); yield_control();\n'
        'await new Promise(r => setTimeout(r, 500)); text("second")'
    )
    first = session.call("exec", {"code": code})
    header, *rest = texts(first)
    match = HEADER.match(header)
    assert match and match.group(2), header
    assert rest == ["first"]
    done = session.call("wait", {"cell_id": match.group(2), "yield_time_ms": 10000})
    header, *rest = texts(done)
    assert header.startswith("Script completed\n") and rest == ["second"]
    missing = session.call("wait", {"cell_id": "999999"})
    assert missing.is_error is True
    assert texts(missing)[1:] == ["Script error:\nexec cell 999999 not found"]


def test_failures_are_is_error(session: Session) -> None:
    result = session.call("exec", {"code": 'text("before");\nthrow new Error("boom")'})
    assert result.is_error is True
    header, *rest = texts(result)
    assert header.startswith("Script failed\n")
    assert rest[0] == "before" and rest[-1].startswith("Script error:\n")
    assert "boom" in rest[-1]
    bad = session.call("exec", {"code": "1", "yield_time_ms": -1})
    assert bad.is_error is True and texts(bad) == [
        "exec `yield_time_ms` must be a non-negative integer"
    ]


def test_images_are_image_content(session: Session) -> None:
    result = session.call("exec", {"code": "image((await tools.mcp__echo__image()).content[0])"})
    assert result.is_error is False
    (image,) = [c for c in result.content if isinstance(c, types.ImageContent)]
    assert image.mime_type == "image/png" and image.data.startswith("iVBORw0KGgo")


def test_bad_configuration_exits_with_a_clear_reason(tmp_path: Path) -> None:
    config = tmp_path / "mcp.json"
    config.write_text('{"mcpServers": {"x": {"url": "nope"}}}')
    server = params("--config", str(config))
    env = {**os.environ, **(server.env or {})}
    done = subprocess.run(
        [server.command, *server.args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        f"codemode-kernel mcp: MCP config {str(config)!r}: MCP server 'x': "
        "\"url\" must be an http:// or https:// URL, not 'nope'\n"
    )
