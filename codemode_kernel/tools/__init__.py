"""Tools: definitions and schemas (`tool`, `schema`), loading (`loading`), and the model-facing
texts (`typescript`, `descriptions`); MCP servers as tools (`mcp_*`; the SDK is imported only
by `mcp_session`, on first use). No Jupyter and no V8: the session routes calls to them."""

from .descriptions import augmented_description, exec_description, wait_description
from .loading import ENTRY_POINT_GROUP, load_configured, load_entry_points
from .mcp_config import MCPServer, load_mcp_config, servers_from_mapping
from .tool import Tool, ToolKind, as_tool, tools_from
from .typescript import normalize_identifier, tool_declaration, typescript_type

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
