"""A Jupyter kernel whose cells are code-mode cells: JavaScript in a fresh V8 isolate each."""

__version__ = "0.1.0"
