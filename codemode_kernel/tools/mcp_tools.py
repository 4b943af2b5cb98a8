"""MCP servers as a tool provider: open sessions with a set of servers and expose their tools as
ordinary `Tool`s, so the kernel's router and the clients' tool runner need nothing new.

A call's JSON result is the server's `CallToolResult` (camelCase), so it resolves in the cell
also when `isError` is true; a transport failure raises, which the callers turn into a plain
string rejection naming the tool. Cancelling the call's task (the cell ended first) cancels the
request on the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from .mcp_config import MCPServer, unique_servers
from .mcp_names import call_tool_result_schema, input_schema, namespace, qualified_name
from .mcp_session import MCPSession, MCPSessionError
from .tool import Tool

log = logging.getLogger("codemode_kernel.mcp")


class _CallMCPTool:
    """A `Tool` handler: keyword arguments in, the server's `CallToolResult` JSON out."""

    def __init__(self, session: MCPSession, tool: str, qualified: str) -> None:
        self.session = session
        self.tool = tool
        self.qualified = qualified

    async def __call__(self, **arguments: Any) -> dict[str, Any]:
        try:
            return await self.session.call(self.tool, arguments)
        except MCPSessionError as exc:
            raise MCPSessionError(f"tool `{self.qualified}`: {exc}") from exc


def mcp_tools(sessions: Iterable[MCPSession]) -> list[Tool]:
    """The open sessions' tools, named for cells (`mcp__{server}__{tool}`, unique across all)."""
    return [tool for tools in tools_by_server(sessions).values() for tool in tools]


def tools_by_server(sessions: Iterable[MCPSession]) -> dict[str, list[Tool]]:
    """The open sessions' tools by server name, named uniquely across all servers.

    Servers are taken in the given order and each server's tools in its listing order, so the
    names (and any hash suffix) are the same every time for the same servers.
    """
    used: set[str] = set()
    by_server: dict[str, list[Tool]] = {}
    for session in sessions:
        if not session.is_open:
            continue
        tools = by_server.setdefault(session.server.name, [])
        for tool in session.tools:
            name = qualified_name(session.server.name, tool.name, used)
            tools.append(
                Tool(
                    name=name,
                    description=tool.description or "",
                    handler=_CallMCPTool(session, tool.name, name),
                    input_schema=input_schema(tool.input_schema),
                    output_schema=call_tool_result_schema(tool.output_schema),
                    namespace=namespace(session.server.name),
                )
            )
    return by_server


class MCPToolset:
    """Sessions with several servers, opened together; a server that fails is logged and left
    out (its error kept in `errors`) so the others still serve."""

    def __init__(self, servers: Iterable[MCPServer]) -> None:
        self.sessions = [MCPSession(server) for server in unique_servers(servers)]
        self.errors: dict[str, str] = {}

    async def open(self) -> list[Tool]:
        """Connect to every server at once; the tools of those that answered."""
        results = await asyncio.gather(
            *(session.open() for session in self.sessions), return_exceptions=True
        )
        for session, result in zip(self.sessions, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                self.errors[session.server.name] = str(result)
                log.error("codemode_kernel: %s", result)
        return self.tools()

    def tools(self) -> list[Tool]:
        return mcp_tools(self.sessions)

    def instructions(self) -> dict[str, str]:
        """Each open server's `instructions`, keyed by its tools' namespace (the guidance of the
        `## mcp__{server}__` heading in the exec description)."""
        return {
            namespace(s.server.name): s.instructions
            for s in self.sessions
            if s.is_open and s.instructions
        }

    async def close(self) -> None:
        await asyncio.gather(*(session.close() for session in self.sessions))
