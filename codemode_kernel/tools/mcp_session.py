"""One live MCP session with one server (the `mcp` 2.x SDK), on the asyncio loop it started on.

The SDK's client is anyio code whose context must be entered and left by the same task, while
tool calls come from many tasks (one per nested call) and the session may end from yet another
(kernel shutdown, a client closing). So each session lives in its own runner task: it opens the
`mcp.Client`, lists the tools, and then waits to be told to stop. Calls only send requests on
the open session, which anyio allows from any task of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
import mcp_types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from .mcp_config import MCPServer

log = logging.getLogger("codemode_kernel.mcp")

CONNECT_TIMEOUT = 30.0  # seconds for start-up, the handshake and the first tools/list
_MAX_PAGES = 100  # a paginating server that never ends must not hang the connect


class MCPSessionError(RuntimeError):
    """The server could not be reached, or the session is gone; the text says which and why."""


def _describe(exc: BaseException) -> str:
    """A one-line cause, unwrapping the exception groups anyio raises from task groups."""
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup (Python 3.11+ or anyio's)
    while isinstance(inner, tuple) and inner:
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> AsyncIterator[Any]:
    timeout = httpx2.Timeout(30.0, read=300.0)  # the SDK's defaults; reads may stream for long
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


class MCPSession:
    """A session with `server`: `open()`, then `tools` and `call()`, then `close()`.

    `tools` is the server's latest full listing (pages joined). Nothing here names tools for
    cells; `mcp_tools` does that across all servers at once.
    """

    def __init__(
        self,
        server: MCPServer,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        on_closed: Callable[[MCPSession], None] | None = None,
    ) -> None:
        self.server = server
        self.connect_timeout = connect_timeout
        self.on_closed = on_closed
        self.tools: list[mcp_types.Tool] = []
        self.instructions: str | None = None
        self.error: str | None = None  # why the session is not (or no longer) open
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def _connector(self) -> Client:
        server = self.server
        if server.command is not None:
            params = StdioServerParameters(
                command=server.command,
                args=list(server.args),
                env=dict(server.env) if server.env is not None else None,
                cwd=server.cwd,
            )
            # The real stderr: ipykernel replaces sys.stderr with a stream into the cell.
            errlog = sys.__stderr__ or sys.stderr
            return Client(stdio_client(params, errlog=errlog), cache=None)
        assert server.url is not None
        return Client(_http_transport(server.url, dict(server.headers or {})), cache=None)

    async def open(self) -> None:
        """Connect and list the tools; raises MCPSessionError naming the server and the cause."""
        if self._runner is not None:
            raise RuntimeError(f"MCP server {self.server.name!r}: the session was opened before")
        self._ready = asyncio.get_running_loop().create_future()
        self._runner = asyncio.create_task(self._run(), name=f"mcp:{self.server.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready), self.connect_timeout)
        except asyncio.TimeoutError:
            await self.close()
            self.error = f"no answer within {self.connect_timeout:g} s"
            raise MCPSessionError(self._failure()) from None
        except BaseException:
            await self.close()
            raise

    def _failure(self) -> str:
        what = self.server.command or self.server.url
        return f"MCP server {self.server.name!r} ({what}): {self.error}"

    async def _run(self) -> None:
        assert self._ready is not None
        try:
            async with self._connector() as client:
                self.instructions = client.instructions
                self.tools = await self._list_tools(client)
                self._client = client
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # a failed start-up, or a session that broke
            if not isinstance(exc, asyncio.CancelledError):
                self.error = _describe(exc)
            if not self._ready.done():
                self.error = self.error or "the session was closed while connecting"
                self._ready.set_exception(MCPSessionError(self._failure()))
            if not isinstance(exc, (asyncio.CancelledError, Exception)):
                raise
        finally:
            self._client = None
            if self.on_closed is not None:
                self.on_closed(self)

    @staticmethod
    async def _list_tools(client: Client) -> list[mcp_types.Tool]:
        """Every page of `tools/list`."""
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """`tools/call`; the `CallToolResult` as MCP JSON (camelCase), also when `isError`.

        A transport or protocol failure raises MCPSessionError; cancelling the awaiting task
        makes the SDK send `notifications/cancelled`, so the server stops too.
        """
        client = self._client
        if client is None:
            raise MCPSessionError(f"MCP server {self.server.name!r} is not connected")
        try:
            result = await client.call_tool(tool, arguments)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise MCPSessionError(
                f"MCP server {self.server.name!r} failed: {_describe(exc)}"
            ) from exc
        data: dict[str, Any] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        data.pop("resultType", None)  # a 2026 protocol field Codex does not show
        return data

    async def close(self) -> None:
        """End the session (the server process exits with its stdin closed); idempotent."""
        self._stop.set()
        runner = self._runner
        if runner is None or runner.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(runner), 2.0)
        except (asyncio.TimeoutError, Exception):
            runner.cancel()
            with contextlib.suppress(BaseException):
                await runner
