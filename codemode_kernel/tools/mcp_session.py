"""One live MCP session with one server (the `mcp` 2.x SDK), on the asyncio loop it started on.

The SDK's client is anyio code whose context must be entered and left by the same task, while
tool calls come from many tasks (one per nested call) and the session may end from yet another
(kernel shutdown, a client closing). So each session lives in its own runner task: it opens the
`mcp.Client`, lists the tools, and then waits to be told to stop. Calls only send requests on
the open session, which anyio allows from any task of the loop.

The runner also notices what the SDK leaves to its caller: a server whose connection ended (a
stdio server that exited: the session would otherwise look open forever), and
`notifications/tools/list_changed` (the tools are listed again). A stdio server's stderr goes to
a logger, never to this process's stderr, which a Jupyter kernel forwards into cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TextIO

import anyio
import httpx2
import mcp_types
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError

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


class _WatchedReads:
    """The transport's read stream, setting `lost` when it ends: how a session learns that the
    server went away between requests."""

    def __init__(self, stream: Any, lost: asyncio.Event) -> None:
        self._stream = stream
        self._lost = lost

    async def receive(self) -> Any:
        try:
            return await self._stream.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._lost.set()
            raise

    async def aclose(self) -> None:
        await self._stream.aclose()

    def __aiter__(self) -> _WatchedReads:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedReads:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def _watched(transport: Any, lost: asyncio.Event) -> AsyncIterator[Any]:
    async with transport as (reads, writes):
        yield _WatchedReads(reads, lost), writes


def _stderr_to_log(name: str, logger: logging.Logger) -> TextIO:
    """A file for the server's stderr whose lines a thread writes to `logger` (the child gets
    the write end; the caller closes this copy when the session ends)."""
    read_fd, write_fd = os.pipe()

    def pump() -> None:
        with open(read_fd, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                logger.warning("MCP server %r (stderr): %s", name, line.rstrip("\n"))

    threading.Thread(target=pump, name=f"mcp-stderr:{name}", daemon=True).start()
    return open(write_fd, "w", encoding="utf-8")


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
        on_tools_changed: Callable[[MCPSession], None] | None = None,
        logger: logging.Logger = log,
    ) -> None:
        self.server = server
        self.connect_timeout = connect_timeout
        self.on_closed = on_closed  # the session ended (closed, failed or the server went away)
        self.on_tools_changed = on_tools_changed  # `tools` was listed again
        self.logger = logger
        self.tools: list[mcp_types.Tool] = []
        self.instructions: str | None = None
        self.error: str | None = None  # why the session is not (or no longer) open
        self._client: Client | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._lost = asyncio.Event()
        self._stderr: TextIO | None = None
        self._relist: asyncio.Task[None] | None = None

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
            self._stderr = _stderr_to_log(server.name, self.logger)
            transport: Any = stdio_client(params, errlog=self._stderr)
        else:
            assert server.url is not None
            transport = _http_transport(server.url, dict(server.headers or {}))
        return Client(_watched(transport, self._lost), cache=None, message_handler=self._on_message)

    async def _on_message(self, message: Any) -> None:
        """Server notifications (2025 protocols): `tools/list_changed` lists the tools again."""
        if isinstance(message, mcp_types.ToolListChangedNotification):
            self._relist_soon()

    def _relist_soon(self) -> None:
        if self._relist is None or self._relist.done():
            self._relist = asyncio.ensure_future(self._list_again())

    async def _list_again(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            self.tools = await self._list_tools(client)
        except Exception as exc:
            self.logger.warning(
                "MCP server %r: listing tools again failed: %s", self.server.name, _describe(exc)
            )
            return
        if self.on_tools_changed is not None:
            self.on_tools_changed(self)

    async def _listen(self, client: Client) -> None:
        """`tools/list_changed` on 2026-07-28 sessions, which deliver it only to a listener."""
        try:
            async with client.listen(tools_list_changed=True) as events:
                async for _ in events:
                    self._relist_soon()
        except ListenNotSupportedError:
            return  # an older protocol: notifications come to `_on_message`
        except Exception as exc:
            self.logger.debug("MCP server %r: no tools/list_changed: %s", self.server.name, exc)

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
                listener = asyncio.ensure_future(self._listen(client))
                stop, lost = (
                    asyncio.ensure_future(self._stop.wait()),
                    asyncio.ensure_future(self._lost.wait()),
                )
                try:
                    await asyncio.wait({stop, lost}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (listener, stop, lost):
                        task.cancel()
                if self._lost.is_set() and not self._stop.is_set():
                    self.error = "the server closed the connection"
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
            if self._stderr is not None:
                self._stderr.close()  # the server holds its own copy of the pipe
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

    async def close(self, timeout: float = 2.0) -> None:
        """End the session (the server process exits with its stdin closed); idempotent.
        After `timeout` seconds the runner is cancelled (the SDK still stops the process)."""
        self._stop.set()
        runner = self._runner
        if runner is None or runner.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(runner), timeout)
        except (asyncio.TimeoutError, Exception):
            runner.cancel()
            with contextlib.suppress(BaseException):
                await runner
