"""What a user typed: control cells and pragmas (`requests`), JavaScript analysis (`javascript`)."""

from .javascript import PreparedCode, completion_target, prepare
from .requests import (
    ExecRequest,
    ListCells,
    ListTools,
    Request,
    ShowStore,
    WaitRequest,
    is_complete,
    parse_cell,
)

__all__ = [
    "ExecRequest",
    "ListCells",
    "ListTools",
    "PreparedCode",
    "Request",
    "ShowStore",
    "WaitRequest",
    "completion_target",
    "is_complete",
    "parse_cell",
    "prepare",
]
