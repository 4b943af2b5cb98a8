"""A Jupyter kernel whose cells are code-mode cells: JavaScript in a fresh V8 isolate each.

`MCPServer`, `Tool` and `as_tool` are imported on first access (PEP 562): every
`codemode_kernel.*` import runs this file first, and the kernel's start-up should not pay for
modules that the part being imported does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .tools import MCPServer, Tool, as_tool

__all__ = ["MCPServer", "Tool", "__version__", "as_tool"]


def __getattr__(name: str) -> Any:
    if name in ("MCPServer", "Tool", "as_tool"):
        from . import tools

        value = getattr(tools, name)
        globals()[name] = value  # later lookups are plain module attributes
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
