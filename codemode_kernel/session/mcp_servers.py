"""The kernel's own MCP servers (`c.CodeModeKernel.mcp_servers` / `mcp_config`) as tool providers.

Every server gets a session of its own on the loop this object was started on (the kernel's
main loop, never a V8 thread) and a `Provider` labelled `mcp:{server}` in the `Toolbox`, so its
tools join those every new cell gets. The lifecycle is built so that a server can only ever
cost the cells that use it:

* servers connect in the background: a slow or broken one delays neither the kernel's start nor
  a cell that does not call it;
* a server that fails to start or dies is logged, its tools vanish from new cells, its calls in
  flight reject with a plain string naming the tool and the cause, and it is tried again when a
  new cell starts, at most once every `retry_interval` seconds;
* `tools/list_changed` lists the tools again, for cells started afterwards;
* `close()` ends every session within its timeout (the kernel's shutdown second).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..tools import Tool
from ..tools.mcp_config import MCPServer, unique_servers
from ..tools.mcp_session import MCPSession
from ..tools.mcp_tools import tools_by_server
from .router import Toolbox, ToolCall

RETRY_INTERVAL = 30.0  # seconds between two attempts to (re)connect one server


class ServerTools:
    """One server's tools in the Toolbox; calls run as tasks on the loop, cancelled with
    their cell (the SDK then sends `notifications/cancelled`)."""

    def __init__(self, toolbox: Toolbox, server: str) -> None:
        self.toolbox = toolbox
        self.label = f"mcp:{server}"
        self.tools: dict[str, Tool] = {}
        self._calls: dict[str, tuple[ToolCall, asyncio.Task[None]]] = {}

    def set_tools(self, tools: list[Tool]) -> None:
        self.tools = {t.name: t for t in tools}
        self.toolbox.register(self, [t.definition() for t in tools], replace=True)

    def start_call(self, call: ToolCall) -> None:
        task = asyncio.ensure_future(self._run(call))
        self._calls[call.call_id] = (call, task)
        task.add_done_callback(lambda _: self._calls.pop(call.call_id, None))

    def cancel_call(self, call: ToolCall) -> None:
        entry = self._calls.pop(call.call_id, None)
        if entry is not None:
            entry[1].cancel()

    async def _run(self, call: ToolCall) -> None:
        tool = self.tools.get(call.name)
        if tool is None:
            self.toolbox.settle(call.call_id, False, f"tool `{call.name}`: {self.label} is gone")
            return
        try:
            result = await tool.invoke(call.input)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # MCPSessionError: names the tool, the server and the cause
            self.toolbox.settle(call.call_id, False, str(exc))
        else:
            self.toolbox.settle(call.call_id, True, result)

    def gone(self, cause: str) -> None:
        """The session ended: calls still waiting reject with `cause`, the tools leave."""
        calls, self._calls = list(self._calls.values()), {}
        for call, task in calls:
            task.cancel()
            self.toolbox.settle(call.call_id, False, f"tool `{call.name}`: {cause}")
        self.tools = {}
        self.toolbox.unregister(self)


@dataclass
class _Slot:
    server: MCPServer
    provider: ServerTools
    session: MCPSession | None = None
    connecting: asyncio.Task[None] | None = None
    last_attempt: float = field(default=-1e9)


class KernelMCPServers:
    """Sessions with the kernel's configured MCP servers, kept connected in the background."""

    def __init__(
        self,
        toolbox: Toolbox,
        servers: Iterable[MCPServer],
        logger: logging.Logger,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        self.toolbox = toolbox
        self.logger = logger
        self.retry_interval = retry_interval
        self._slots = [_Slot(s, ServerTools(toolbox, s.name)) for s in unique_servers(servers)]
        self._closing = False

    def start(self) -> None:
        """Connect every server in the background (call on the loop the sessions live on)."""
        for slot in self._slots:
            self._connect(slot)

    def retry_due(self) -> None:
        """A cell is starting: try again the servers that are down and were last tried more
        than `retry_interval` seconds ago."""
        now = time.monotonic()
        for slot in self._slots:
            down = slot.session is None or not slot.session.is_open
            idle = slot.connecting is None or slot.connecting.done()
            if down and idle and now - slot.last_attempt >= self.retry_interval:
                self._connect(slot)

    def _connect(self, slot: _Slot) -> None:
        if self._closing:
            return
        slot.last_attempt = time.monotonic()
        session = MCPSession(
            slot.server,
            on_closed=lambda s: self._closed(slot, s),
            on_tools_changed=lambda s: self._refresh(),
            logger=self.logger,
        )
        slot.session = session
        slot.connecting = asyncio.ensure_future(self._open(slot, session))

    async def _open(self, slot: _Slot, session: MCPSession) -> None:
        try:
            await session.open()
        except Exception as exc:
            self.logger.error(
                "%s; its tools are unavailable, tried again when a cell starts (at most every"
                " %g s)",
                exc,
                self.retry_interval,
            )
            return
        self.logger.info("MCP server %r: %d tools", slot.server.name, len(session.tools))
        self._refresh()

    def _closed(self, slot: _Slot, session: MCPSession) -> None:
        if slot.session is not session or self._closing:
            return
        cause = f"MCP server {slot.server.name!r} stopped: {session.error or 'closed'}"
        if slot.provider.tools:  # it had been serving (a failed start is logged by `_open`)
            self.logger.error(
                "%s; its tools are gone from new cells, tried again when a cell starts", cause
            )
        slot.provider.gone(cause)
        self._refresh()

    def _refresh(self) -> None:
        """Name every open server's tools (unique across servers) and register them."""
        sessions = [s.session for s in self._slots if s.session is not None]
        by_server = tools_by_server(sessions)
        for slot in self._slots:
            tools = by_server.get(slot.server.name)
            if tools is not None:
                slot.provider.set_tools(tools)

    async def close(self, timeout: float = 0.8) -> None:
        """End every session, all at once, waiting at most `timeout` seconds.

        Each session's stdin is closed first, which ends a well-behaved stdio server at once;
        a server that ignores it is left to the SDK's escalation (SIGTERM after 2 s), which
        this does not wait for: the kernel's shutdown must answer within its second.
        """
        self._closing = True
        for slot in self._slots:
            if slot.connecting is not None and not slot.connecting.done():
                slot.connecting.cancel()
        sessions = [s.session for s in self._slots if s.session is not None]
        closing = {asyncio.ensure_future(s.close(timeout)): s for s in sessions}
        if closing:
            _, late = await asyncio.wait(closing, timeout=timeout)
            for task in late:
                self.logger.info("MCP server %r is still stopping", closing[task].server.name)
        for slot in self._slots:
            slot.provider.gone("the kernel is shutting down")
