"""MCP server configuration in the convention MCP clients share (`mcpServers` of Claude Desktop,
Cursor, Codex): per server either stdio `command/args/env/cwd` or Streamable HTTP `url/headers`.

Configuration is where people make mistakes, so every check raises a ValueError that names the
server and the field, and nothing here starts a process: a config can be checked before use.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_STDIO_KEYS = frozenset({"command", "args", "env", "cwd"})
_HTTP_KEYS = frozenset({"url", "headers"})
# Keys other clients write into the same file; accepted and ignored so one file serves all.
_IGNORED_KEYS = frozenset({"type", "transport", "disabled", "description", "timeout"})


@dataclass(frozen=True)
class MCPServer:
    """One MCP server whose tools cells may call, as `mcp__{name}__{tool}`.

    Give `command` (run as a subprocess, spoken to over stdio) or `url` (Streamable HTTP), not
    both. Passed in `tools=[...]` of `CodeModeClient` and `run_notebook`, the client process runs
    the MCP session and answers the kernel's calls.
    """

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = field(default=None, repr=False)  # may carry secrets

    def __post_init__(self) -> None:
        where = f"MCP server {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("MCP server: the name must be a non-empty string")
        if (self.command is None) == (self.url is None):
            raise ValueError(f'{where}: give either "command" (stdio) or "url" (Streamable HTTP)')
        if self.command is not None:
            if not isinstance(self.command, str) or not self.command.strip():
                raise ValueError(f'{where}: "command" must be a non-empty string')
            if self.headers is not None:
                raise ValueError(f'{where}: "headers" is for "url" servers, not "command"')
            if isinstance(self.args, str) or not all(isinstance(a, str) for a in self.args):
                raise ValueError(f'{where}: "args" must be a list of strings')
            object.__setattr__(self, "args", tuple(self.args))
            _check_strings(where, "env", self.env)
            if self.cwd is not None and not isinstance(self.cwd, str):
                raise ValueError(f'{where}: "cwd" must be a string')
        else:
            if self.args or self.env is not None or self.cwd is not None:
                raise ValueError(f'{where}: "args", "env" and "cwd" are for "command" servers')
            url = self.url
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f'{where}: "url" must be an http:// or https:// URL, not {url!r}')
            _check_strings(where, "headers", self.headers)

    @property
    def transport(self) -> str:
        """`stdio` or `streamable-http`, for log lines and `%tools`."""
        return "stdio" if self.command is not None else "streamable-http"


def _check_strings(where: str, key: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f'{where}: "{key}" must be an object of string values')


def server_from_entry(name: str, entry: Any) -> MCPServer:
    """One `mcpServers` entry (`{"command": ...}` or `{"url": ...}`) as an MCPServer."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"MCP server {name!r}: expected an object, got {type(entry).__name__}")
    unknown = set(entry) - _STDIO_KEYS - _HTTP_KEYS - _IGNORED_KEYS
    if unknown:
        raise ValueError(f"MCP server {name!r}: unknown field {sorted(unknown)[0]!r}")
    args = entry.get("args", ())
    if not isinstance(args, (list, tuple)):
        raise ValueError(f'MCP server {name!r}: "args" must be a list of strings')
    return MCPServer(
        name=name,
        command=entry.get("command"),
        args=tuple(args),
        env=entry.get("env"),
        cwd=entry.get("cwd"),
        url=entry.get("url"),
        headers=entry.get("headers"),
    )


def servers_from_mapping(servers: Mapping[str, Any]) -> list[MCPServer]:
    """The value of `mcpServers` (name → entry), in its order."""
    if not isinstance(servers, Mapping):
        raise ValueError(f"mcpServers: expected an object, got {type(servers).__name__}")
    return [server_from_entry(str(name), entry) for name, entry in servers.items()]


def load_mcp_config(path: str | Path) -> list[MCPServer]:
    """The servers of an `mcp.json` file, `{"mcpServers": {name: entry}}`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"MCP config {str(path)!r}: cannot read it: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"MCP config {str(path)!r}: not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or "mcpServers" not in document:
        raise ValueError(f'MCP config {str(path)!r}: expected an object with "mcpServers"')
    try:
        return servers_from_mapping(document["mcpServers"])
    except ValueError as exc:
        raise ValueError(f"MCP config {str(path)!r}: {exc}") from exc


def unique_servers(servers: Iterable[MCPServer]) -> list[MCPServer]:
    """Servers by name, a later one with the same name replacing the earlier (as for tools)."""
    by_name: dict[str, MCPServer] = {}
    for server in servers:
        by_name.pop(server.name, None)
        by_name[server.name] = server
    return list(by_name.values())


def configured_servers(
    servers: Mapping[str, Any], config_path: str, logger: logging.Logger
) -> list[MCPServer]:
    """The `mcp_config` file's servers, then `mcp_servers` (a later name replaces an earlier).
    A configuration mistake is logged, naming the server and the field, and that part skipped:
    the kernel keeps serving."""
    found: list[MCPServer] = []
    if config_path:
        try:
            found += load_mcp_config(config_path)
        except ValueError as exc:
            logger.error("CodeModeKernel.mcp_config: %s", exc)
    for name, entry in servers.items():
        try:
            found += servers_from_mapping({name: entry})
        except ValueError as exc:
            logger.error("CodeModeKernel.mcp_servers: %s", exc)
    return unique_servers(found)
