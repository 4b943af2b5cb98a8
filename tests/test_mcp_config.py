"""MCP configuration, names and schemas (README, MCP): the `mcpServers` convention with its errors,
Codex's naming rules, and how an MCP tool is declared to the model."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from codemode_kernel.tools import Tool, exec_description, tool_declaration
from codemode_kernel.tools.descriptions import MCP_TYPESCRIPT_PREAMBLE
from codemode_kernel.tools.mcp_config import (
    MCPServer,
    configured_servers,
    load_mcp_config,
    servers_from_mapping,
)
from codemode_kernel.tools.mcp_names import (
    call_tool_result_schema,
    input_schema,
    qualified_name,
    sanitize,
)

pytestmark = pytest.mark.unit


def test_stdio_and_http_entries() -> None:
    stdio, http = servers_from_mapping(
        {
            "files": {"command": "npx", "args": ["-y", "srv"], "env": {"A": "1"}, "cwd": "/tmp"},
            "web": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer x"}},
        }
    )
    expected = MCPServer("files", command="npx", args=("-y", "srv"), env={"A": "1"}, cwd="/tmp")
    assert stdio == expected
    assert stdio.transport == "stdio"
    assert http.url == "https://example.com/mcp" and http.headers == {"Authorization": "Bearer x"}
    assert http.transport == "streamable-http"
    assert "Bearer" not in repr(http)  # headers carry secrets


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({}, 'MCP server \'s\': give either "command" (stdio) or "url" (Streamable HTTP)'),
        ({"command": "x", "url": "http://h/mcp"}, 'give either "command"'),
        ({"command": ""}, '"command" must be a non-empty string'),
        ({"command": "x", "args": "-v"}, '"args" must be a list of strings'),
        ({"command": "x", "args": [1]}, '"args" must be a list of strings'),
        ({"command": "x", "env": {"A": 1}}, '"env" must be an object of string values'),
        ({"command": "x", "headers": {}}, '"headers" is for "url" servers'),
        ({"url": "ftp://h/mcp"}, "\"url\" must be an http:// or https:// URL, not 'ftp://h/mcp'"),
        ({"url": "not a url"}, '"url" must be an http:// or https:// URL'),
        ({"url": "http://h/mcp", "args": ["a"]}, '"args", "env" and "cwd" are for "command"'),
        ({"command": "x", "comand": "y"}, "MCP server 's': unknown field 'comand'"),
        ("npx", "MCP server 's': expected an object, got str"),
    ],
)
def test_bad_entries_name_the_server_and_the_field(entry: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        servers_from_mapping({"s": entry})
    assert message in str(info.value)


def test_other_clients_keys_are_accepted() -> None:
    (server,) = servers_from_mapping({"s": {"type": "stdio", "command": "x", "disabled": False}})
    assert server.command == "x"


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"e": {"command": "python", "args": ["s.py"]}}}))
    assert load_mcp_config(path) == [MCPServer("e", command="python", args=("s.py",))]

    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"MCP config '.*mcp\.json': not valid JSON: "):
        load_mcp_config(path)
    path.write_text('{"servers": {}}')
    with pytest.raises(ValueError, match='expected an object with "mcpServers"'):
        load_mcp_config(path)
    path.write_text('{"mcpServers": {"e": {"url": "x"}}}')
    with pytest.raises(ValueError, match=r"mcp\.json': MCP server 'e': \"url\" must be"):
        load_mcp_config(path)
    with pytest.raises(ValueError, match="cannot read it: No such file or directory"):
        load_mcp_config(tmp_path / "missing.json")


# --- names ------------------------------------------------------------------------------------


def test_kernel_configuration_logs_mistakes_and_keeps_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"a": {"command": "x"}, "b": {"command": "y"}}}))
    logger = logging.getLogger("test-kernel")
    servers = {"b": {"url": "http://h/mcp"}, "bad": {"command": ""}, "c": "not an object"}
    found = configured_servers(servers, str(path), logger)
    assert [(s.name, s.transport) for s in found] == [("a", "stdio"), ("b", "streamable-http")]
    assert [r.getMessage() for r in caplog.records] == [
        """CodeModeKernel.mcp_servers: MCP server 'bad': "command" must be a non-empty string""",
        "CodeModeKernel.mcp_servers: MCP server 'c': expected an object, got str",
    ]
    caplog.clear()
    path.write_text("{not json")
    assert configured_servers({}, str(path), logger) == []
    (record,) = caplog.records
    assert record.getMessage().startswith(
        f"CodeModeKernel.mcp_config: MCP config {str(path)!r}: not valid JSON"
    )


def test_names_are_sanitized_like_codex() -> None:
    used: set[str] = set()
    assert qualified_name("echo", "echo", used) == "mcp__echo__echo"
    assert qualified_name("echo", "dashed-name", used) == "mcp__echo__dashed-name"
    assert qualified_name("my server", "get.profile", used) == "mcp__my_server__get_profile"
    assert sanitize("") == "_" and sanitize("ünï") == "_n_"
    assert Tool("mcp__echo__dashed-name", "", print).global_name == "mcp__echo__dashed_name"


def test_a_collision_gets_a_stable_sha1_suffix() -> None:
    used: set[str] = set()
    first = qualified_name("s", "a.b", used)
    second = qualified_name("s", "a_b", used)
    assert first == "mcp__s__a_b"
    # "_" + the first 12 hex digits of the SHA-1 of the raw identity
    assert second == "mcp__s__a_b_" + hashlib.sha1(b"s/a_b").hexdigest()[:12]
    assert second == qualified_name("s", "a_b", {"mcp__s__a_b"})  # deterministic


def test_long_names_are_cut_to_64_with_the_hash() -> None:
    name = qualified_name("server", "t" * 80, set())
    assert len(name) == 64
    assert name.startswith("mcp__server__ttt") and name[-13] == "_"
    assert name != qualified_name("server", "t" * 81, set())


# --- schemas and declarations -------------------------------------------------------------------


def test_input_schema_gets_properties() -> None:
    assert input_schema({"type": "object"}) == {"type": "object", "properties": {}}
    assert input_schema(None) == {"type": "object", "properties": {}}
    kept = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert input_schema(kept) == kept


def _mcp_tool(output: dict[str, object] | None) -> Tool:
    return Tool(
        name="mcp__echo__add",
        description="Add two integers.",
        handler=print,
        input_schema=input_schema({"type": "object", "properties": {"a": {"type": "integer"}}}),
        output_schema=call_tool_result_schema(output),
    )


def test_declared_as_call_tool_result() -> None:
    structured = {"type": "object", "properties": {"total": {"type": "integer"}}}
    assert tool_declaration(_mcp_tool(structured).definition()) == (
        "declare const tools: { mcp__echo__add(args: { a?: number; }): "
        "Promise<CallToolResult<{ total?: number; }>>; };"
    )
    assert tool_declaration(_mcp_tool(None).definition()).endswith("Promise<CallToolResult>; };")


def test_exec_description_carries_the_shared_mcp_types_once() -> None:
    text = exec_description([_mcp_tool(None).definition(), _mcp_tool({}).definition()])
    block = f"Shared MCP Types:\n```ts\n{MCP_TYPESCRIPT_PREAMBLE}\n```"
    assert text.count(block) == 1
    assert "type CallToolResult<TStructured = { [key: string]: unknown }> = {" in text
    assert "Shared MCP Types" not in exec_description([Tool("plain", "", print).definition()])
