"""The kernel's options, `c.CodeModeKernel.<name>` in a Jupyter config file or
`--CodeModeKernel.<name>=…` on the command line; docs/limits.md lists them for users.

A mixin of `CodeModeKernel`, so the class that reads them stays about the protocol. Every default
comes from `defaults`.
"""

from __future__ import annotations

from traitlets import Dict, Float, Int, List, Unicode
from traitlets.config import Configurable

from .. import defaults


class KernelSettings(Configurable):
    """Limits, defaults, the store file and the tool providers of one kernel."""

    yield_time_ms = Int(
        defaults.YIELD_TIME_MS, help="Default yield time of exec and wait, in ms."
    ).tag(config=True)
    max_output_tokens = Int(
        defaults.MAX_OUTPUT_TOKENS, help="Default output budget per observation."
    ).tag(config=True)
    heap_bytes = Int(defaults.HEAP_BYTES, help="V8 heap limit per cell.").tag(config=True)
    heap_budget_bytes = Int(
        defaults.HEAP_BUDGET_BYTES,
        help="V8 heap of all live cells together; each cell gets at most an equal share.",
    ).tag(config=True)
    max_cells = Int(defaults.MAX_CELLS, help="Live cells at once.").tag(config=True)
    pending_timers = Int(defaults.PENDING_TIMERS, help="Pending setTimeout timers per cell.").tag(
        config=True
    )
    output_bytes = Int(defaults.OUTPUT_BYTES, help="Output bytes per cell.").tag(config=True)
    store_bytes = Int(defaults.STORE_BYTES, help="Committed store size.").tag(config=True)
    tool_result_bytes = Int(defaults.TOOL_RESULT_BYTES, help="Size of one tool result.").tag(
        config=True
    )
    prepared_isolates = Int(
        defaults.PREPARED_ISOLATES, help="Isolates kept ready ahead of need."
    ).tag(config=True)
    memory_guard_bytes = Int(
        0,
        help="Kernel RSS above which the cell that allocated the most ArrayBuffer/typed-array "
        "bytes fails (they live outside the V8 heap limit). 0: half the machine's memory.",
    ).tag(config=True)
    store_path = Unicode(
        "",
        help="SQLite file for a durable store (each commit one transaction, reloaded at start). "
        "Empty: the store lives in memory and a restart loses it.",
    ).tag(config=True)
    tools = List(
        Unicode(),
        help='Kernel-side tools as import paths, e.g. ["package.module:callable"]; entry points '
        "in the group `codemode_kernel.tools` are added too.",
    ).tag(config=True)
    mcp_servers = Dict(
        help='MCP servers for cells, as in "mcpServers": {"name": {"command"/"url": ...}}.'
    ).tag(config=True)
    mcp_config = Unicode("", help='A JSON file {"mcpServers": {...}}; mcp_servers wins.').tag(
        config=True
    )
    mcp_retry_seconds = Float(
        30.0, help="Least time between two connects of a down MCP server."
    ).tag(config=True)
