"""`codemode-kernel mcp`: serve code mode to any MCP client (Claude Desktop, Codex, Cursor, …).

    codemode-kernel mcp [--config mcp.json] [--tool module:callable]... [--kernel-name NAME]

Nested tools are the `--config` file's MCP servers (the `mcpServers` convention), the `--tool`
callables (run in this process) and the kernel's entry-point tools (run in the kernel).
Configuration mistakes exit with status 2 and a one-line reason on stderr; stdout is the MCP
wire, so nothing else may be printed there.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from ..protocol import KERNEL_NAME
from ..tools import load_configured, load_mcp_config

PROG = "codemode-kernel mcp"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve MCP with two tools, `exec` and `wait`: code mode over a codemode "
        "kernel (one per MCP session) whose cells call the nested tools.",
    )
    parser.add_argument(
        "--config", metavar="MCP_JSON", help='a file {"mcpServers": {...}} of nested MCP servers'
    )
    parser.add_argument(
        "--tool",
        action="append",
        default=[],
        metavar="MODULE:CALLABLE",
        help="a Python tool (or list of tools) to nest; may be repeated",
    )
    parser.add_argument("--kernel-name", default=KERNEL_NAME, help="the kernelspec to start")
    parser.add_argument("--log-level", default="WARNING", help="logging level (stderr)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        servers = load_mcp_config(args.config) if args.config else []
        tools = load_configured(args.tool)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2

    from ..client import CodeModeClient
    from .server import serve_stdio

    def factory(nested: Sequence[object]) -> CodeModeClient:
        return CodeModeClient.start(tools=nested, kernel_name=args.kernel_name)  # type: ignore[arg-type]

    asyncio.run(serve_stdio([*servers, *tools], factory))
    return 0
