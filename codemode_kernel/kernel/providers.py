"""The kernel's own tool providers, built from its configuration: Python tools (configured
import paths, then installed entry points) and MCP servers.

A mistake in any of them is logged and skipped, never fatal: a kernel that cannot start because
of one bad tool or one unreachable server would take every other tool down with it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..session.router import LocalTools, Toolbox
from ..tools import Tool, load_configured, load_entry_points

if TYPE_CHECKING:
    from ..session.mcp_servers import KernelMCPServers


def register_local_tools(toolbox: Toolbox, specs: Iterable[str], log: logging.Logger) -> None:
    """`c.CodeModeKernel.tools` (provider `kernel config`), then the entry-point tools
    (`entry point`): for a name in both, the later registration wins."""
    configured: list[Tool] = []
    for spec in specs:
        try:
            configured += load_configured([spec])
        except ValueError as exc:
            log.error("CodeModeKernel.tools: %s", exc)
    for label, tools in (("kernel config", configured), ("entry point", load_entry_points())):
        if tools:
            LocalTools(toolbox, tools, label)


def start_mcp_servers(
    toolbox: Toolbox,
    servers: Mapping[str, Any],
    config_path: str,
    retry_seconds: float,
    log: logging.Logger,
    loop: asyncio.AbstractEventLoop,
) -> KernelMCPServers | None:
    """`c.CodeModeKernel.mcp_config` and `mcp_servers`, connecting in the background once `loop`
    (the kernel's main loop, never a V8 thread) runs; None when there are none. The MCP SDK is
    imported only then, so kernels without MCP servers do not pay for it."""
    if not servers and not config_path:
        return None
    from ..session.mcp_servers import KernelMCPServers
    from ..tools.mcp_config import configured_servers

    found = configured_servers(servers, config_path, log)
    if not found:
        return None
    mcp = KernelMCPServers(toolbox, found, log, retry_seconds)
    loop.call_soon(mcp.start)
    return mcp
