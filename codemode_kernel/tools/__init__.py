"""Tools: definitions and schemas (`tool`, `schema`), loading (`loading`), and the model-facing
texts (`typescript`, `descriptions`); MCP servers as tools (`mcp_*`; the SDK is imported only
by `mcp_session`, on first use). No Jupyter and no V8: the session routes calls to them.

The names below are imported from their submodule on first access (PEP 562), so a kernel that
needs `Tool` does not also load the MCP configuration reader, and start-up stays short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .descriptions import augmented_description, exec_description, wait_description
    from .loading import ENTRY_POINT_GROUP, load_configured, load_entry_points
    from .mcp_config import MCPServer, load_mcp_config, servers_from_mapping
    from .tool import Tool, ToolKind, as_tool, tools_from
    from .typescript import normalize_identifier, tool_declaration, typescript_type

_SUBMODULE_OF = {
    "augmented_description": "descriptions",
    "exec_description": "descriptions",
    "wait_description": "descriptions",
    "ENTRY_POINT_GROUP": "loading",
    "load_configured": "loading",
    "load_entry_points": "loading",
    "MCPServer": "mcp_config",
    "load_mcp_config": "mcp_config",
    "servers_from_mapping": "mcp_config",
    "Tool": "tool",
    "ToolKind": "tool",
    "as_tool": "tool",
    "tools_from": "tool",
    "normalize_identifier": "typescript",
    "tool_declaration": "typescript",
    "typescript_type": "typescript",
}

__all__ = [
    "ENTRY_POINT_GROUP",
    "MCPServer",
    "Tool",
    "ToolKind",
    "as_tool",
    "augmented_description",
    "exec_description",
    "load_configured",
    "load_entry_points",
    "load_mcp_config",
    "normalize_identifier",
    "servers_from_mapping",
    "tool_declaration",
    "tools_from",
    "typescript_type",
    "wait_description",
]


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # The import statement's own path (not importlib.import_module), so -X importtime sees it.
    value = getattr(__import__(f"{__name__}.{submodule}", fromlist=[name]), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value
