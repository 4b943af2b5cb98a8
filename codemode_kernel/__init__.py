"""A Jupyter kernel whose cells are code-mode cells: JavaScript in a fresh V8 isolate each."""

__version__ = "0.1.0"

from .tools import MCPServer, Tool, as_tool

__all__ = ["MCPServer", "Tool", "__version__", "as_tool"]
