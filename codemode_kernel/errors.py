"""Errors a request can end with: each has the `ename` users see and the exact `evalue` text."""

from __future__ import annotations


class CodeModeError(Exception):
    """A request-level failure. `str(exc)` is the exact user-facing message."""

    ename = "CodeModeError"


class ExecError(CodeModeError):
    """A bad pragma, control cell or magic."""

    ename = "ExecError"


class CellNotFound(CodeModeError):
    ename = "CellNotFound"

    def __init__(self, cell_id: str | None) -> None:
        """`cell_id` None: a `%wait` or `%terminate` without an id found no running cell."""
        super().__init__(
            "no exec cell is running" if cell_id is None else f"exec cell {cell_id} not found"
        )


class CellBusy(CodeModeError):
    ename = "CellBusy"

    def __init__(self, cell_id: str) -> None:
        super().__init__(f"exec cell {cell_id} already has an active observer")


class CellTerminating(CodeModeError):
    ename = "CellTerminating"

    def __init__(self, cell_id: str) -> None:
        super().__init__(f"exec cell {cell_id} is already terminating")


class SessionShuttingDown(CodeModeError):
    ename = "SessionShuttingDown"

    def __init__(self) -> None:
        super().__init__("code mode session is shutting down")


class ResourceLimitExceeded(CodeModeError):
    ename = "ResourceLimitExceeded"
