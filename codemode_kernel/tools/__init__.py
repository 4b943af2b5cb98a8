"""Tools: definitions and schemas (`tool`, `schema`), loading (`loading`), and the model-facing
texts (`typescript`, `descriptions`). No Jupyter and no V8: the session routes calls to them."""

from .descriptions import augmented_description, exec_description, wait_description
from .loading import ENTRY_POINT_GROUP, load_configured, load_entry_points
from .tool import Tool, ToolKind, as_tool, tools_from
from .typescript import normalize_identifier, tool_declaration, typescript_type

__all__ = [
    "ENTRY_POINT_GROUP",
    "Tool",
    "ToolKind",
    "as_tool",
    "augmented_description",
    "exec_description",
    "load_configured",
    "load_entry_points",
    "normalize_identifier",
    "tool_declaration",
    "tools_from",
    "typescript_type",
    "wait_description",
]
