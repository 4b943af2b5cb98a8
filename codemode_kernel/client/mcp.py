"""MCP servers in a client's `tools=[...]` (the README's MCP section, client side).

The client process runs the MCP sessions, on its own event loop, and their tools join the
client's Python tools: the kernel sees ordinary comm tools named `mcp__{server}__{tool}` and
the client's tool runner answers them like any other, cancellation included. This suits agents
that already hold MCP sessions (and their credentials) outside the kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..tools import MCPServer, Tool

if TYPE_CHECKING:
    from ..tools.mcp_tools import MCPToolset

#: What `tools=[...]` of `CodeModeClient` and `run_notebook` takes.
ToolOrServer = Tool | Callable[..., Any] | MCPServer


def split_tools(
    items: Iterable[ToolOrServer],
) -> tuple[list[Tool | Callable[..., Any]], list[MCPServer]]:
    """Python tools and MCP servers, each in the given order."""
    tools: list[Tool | Callable[..., Any]] = []
    servers: list[MCPServer] = []
    for item in items:
        (servers if isinstance(item, MCPServer) else tools).append(item)  # type: ignore[arg-type]
    return tools, servers


class ClientMCP:
    """The sessions with a client's MCP servers: opened with the client, closed with it.

    A server that cannot be reached is logged and left out, so a broken server never keeps the
    client (or the other servers' tools) from working. The SDK is imported only when there are
    servers, so clients without MCP do not pay for it.
    """

    def __init__(self, servers: Iterable[MCPServer]) -> None:
        self.servers = list(servers)
        self.toolset: MCPToolset | None = None

    async def open(self) -> list[Tool]:
        if not self.servers:
            return []
        from ..tools.mcp_tools import MCPToolset

        self.toolset = MCPToolset(self.servers)
        return await self.toolset.open()

    async def close(self) -> None:
        if self.toolset is not None:
            await self.toolset.close()
