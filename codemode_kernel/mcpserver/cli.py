"""`codemode-kernel mcp`: serve code mode to any MCP client (Claude Desktop, Codex, Cursor, …).

    codemode-kernel mcp [--config mcp.json] [--tool module:callable]... [--kernel-name NAME]
                        [--http HOST:PORT [--max-sessions N] [--idle-timeout SECONDS]]

Nested tools are the `--config` file's MCP servers (the `mcpServers` convention), the `--tool`
callables (run in this process) and the kernel's entry-point tools (run in the kernel).
Configuration mistakes exit with status 2 and a one-line reason on stderr; stdout is the MCP
wire (with stdio), so nothing else may be printed there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from ..protocol import KERNEL_NAME
from ..tools import load_configured, load_mcp_config

if TYPE_CHECKING:
    from ..client.mcp import ToolOrServer

PROG = "codemode-kernel mcp"
T = TypeVar("T", int, float)


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
    parser.add_argument(
        "--http",
        metavar="HOST:PORT",
        type=_host_port,
        help="serve Streamable HTTP at http://HOST:PORT/mcp instead of stdio",
    )
    parser.add_argument(
        "--max-sessions",
        type=_positive(int),
        default=16,
        metavar="N",
        help="with --http: MCP sessions (each with its own kernel) at once (default 16)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=_positive(float),
        default=900.0,
        metavar="SECONDS",
        help="with --http: close a session after this long without a request (default 900)",
    )
    parser.add_argument("--log-level", default="WARNING", help="logging level (stderr)")
    return parser


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:8765, not {text!r}")
    return host.strip("[]"), int(port)


def _positive(kind: type[T]) -> Callable[[str], T]:
    def parse(text: str) -> T:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
        return value

    return parse


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
    from .server import serve_http, serve_stdio

    def factory(kernel_tools: Sequence[object]) -> CodeModeClient:
        return CodeModeClient.start(tools=kernel_tools, kernel_name=args.kernel_name)  # type: ignore[arg-type]

    nested: list[ToolOrServer] = [*servers, *tools]
    if args.http is None:
        asyncio.run(serve_stdio(nested, factory))
        return 0
    host, port = args.http
    with contextlib.suppress(KeyboardInterrupt):
        serve = serve_http(nested, factory, host, port, args.max_sessions, args.idle_timeout)
        asyncio.run(serve)
    return 0
