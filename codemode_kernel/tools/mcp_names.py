"""How an MCP server's tool looks inside code mode: its qualified name and its schemas.

The rules are the reference's (Codex `codex-mcp/src/tools.rs` and `tools/src/mcp_tool.rs`), so a
model that learned Codex's MCP tools meets the same names and the same `CallToolResult` types.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

MAX_TOOL_NAME_LENGTH = 64
HASH_LENGTH = 12  # CALLABLE_NAME_HASH_LEN
PREFIX = "mcp"
DELIMITER = "__"


def sanitize(name: str) -> str:
    """`sanitize_responses_api_tool_name`: the Responses API allows `^[a-zA-Z0-9_-]+$`, so any
    other character becomes `_` (and an empty name `_`)."""
    out = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "_-" else "_" for ch in name)
    return out or "_"


def namespace(server: str) -> str:
    """`mcp__{server}__`, the prefix every tool of that server shares."""
    return sanitize(f"{PREFIX}{DELIMITER}{server}{DELIMITER}")


def _with_hash(base: str, raw: str) -> str:
    digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    keep = MAX_TOOL_NAME_LENGTH - HASH_LENGTH - 1
    return f"{base[:keep]}_{digest}"


def qualified_name(server: str, tool: str, used: set[str]) -> str:
    """The tool's name for cells, added to `used`: `mcp__{server}__{tool}` sanitized; when longer
    than 64 characters or already taken (two raw names that sanitize alike), cut and given `_`
    plus 12 hex digits of the SHA-1 of the raw `server/tool` identity, so it stays stable."""
    raw = f"{server}/{tool}"
    name = namespace(server) + sanitize(tool)
    if len(name) > MAX_TOOL_NAME_LENGTH or name in used:
        name = _with_hash(name, raw)
    used.add(name)
    return name


def input_schema(schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tool's `inputSchema`, with `properties: {}` added when missing (as Codex does), so an
    argument-less tool declares `args: {}` rather than an open record."""
    out: dict[str, Any] = copy.deepcopy(schema) if isinstance(schema, dict) else {"type": "object"}
    out.setdefault("properties", {})
    return out


def call_tool_result_schema(structured: dict[str, Any] | None) -> dict[str, Any]:
    """`mcp_call_tool_result_output_schema`: what a call resolves with, the `CallToolResult`,
    around the tool's `outputSchema` (or `{}`). Declared as `Promise<CallToolResult<…>>`."""
    return {
        "type": "object",
        "properties": {
            "content": {"type": "array", "items": {"type": "object"}},
            "structuredContent": copy.deepcopy(structured) if structured is not None else {},
            "isError": {"type": "boolean"},
            "_meta": {"type": "object"},
        },
        "required": ["content"],
        "additionalProperties": False,
    }
