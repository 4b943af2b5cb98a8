"""The V8 layer: isolates, one per cell, driven from a single engine loop thread."""

from .cell_runtime import CellRuntime, Limits, failure, limit_error
from .engine import Engine
from .isolate import Message, MessageSink

__all__ = ["CellRuntime", "Engine", "Limits", "Message", "MessageSink", "failure", "limit_error"]
