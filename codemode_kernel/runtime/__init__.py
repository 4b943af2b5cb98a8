"""The V8 layer: isolates, one per cell, driven from a single engine loop thread."""

from .cell_runtime import CellRuntime, EventSink, Limits, limit_error
from .engine import Engine, V8Unavailable

__all__ = ["CellRuntime", "Engine", "EventSink", "Limits", "V8Unavailable", "limit_error"]
