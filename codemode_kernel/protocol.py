"""Every wire constant the kernel and its clients must agree on, in one place.

A client (ours, or anyone's speaking the protocol in docs/protocol.md) reads these names and texts
off the wire, and models are prompted with some of them, so they are interfaces: change one here
and both sides change together. Nothing in this module imports anything of the package.
"""

from __future__ import annotations

from typing import Final, Literal

#: The kernelspec name, and the `implementation` in kernel_info.
KERNEL_NAME: Final = "codemode"

# -- the `codemode` comm ------------------------------------------------------------------------

#: The comm target a client opens.
COMM_TARGET: Final = "codemode"

ClientMessage = Literal["register_tools", "tool_result", "tool_error", "describe"]
KernelMessage = Literal[
    "tools_registered", "description", "tool_call", "tool_cancel", "cell_event", "notify", "error"
]
CellEvent = Literal["yielded", "completed", "failed", "terminated", "closed"]

# -- outputs and replies -----------------------------------------------------------------------

#: The key under `metadata` of every cell output and of every execute_reply.
METADATA_KEY: Final = "codemode"

OutputType = Literal[
    "text", "console", "image", "store", "notify", "status", "result", "error", "truncated"
]
CellStatus = Literal["running", "completed", "failed", "terminated"]


def status_display_id(cell_id: str) -> str:
    """The display id of a cell's "Script running" line, so a later update can replace it."""
    return f"codemode-cell-{cell_id}"


def progress_display_id(msg_id: str) -> str:
    """The display id of a long observation's live progress line."""
    return f"codemode-progress-{msg_id}"


def running_line(cell_id: str) -> str:
    """The reference's status line of a yielded cell (the text `wait` is told to look for)."""
    return f"Script running with cell ID {cell_id}"


def finished_line(status: str, cell_id: str, *, collected: bool = True) -> str:
    """A yielded cell's status display once it ended (`collected` by a later request, or not)."""
    text = f"Script {status} with cell ID {cell_id}"
    return text if collected else f"{text}; collect its output with %wait {cell_id}"


def status_line(status: CellStatus, cell_id: str) -> str:
    """The first line of the reference's model-facing header."""
    return running_line(cell_id) if status == "running" else f"Script {status}"


# -- what a cell's source may start with ----------------------------------------------------------

EXEC_PRAGMA: Final = "// @exec:"
WAIT_PRAGMA: Final = "// @wait:"

# -- the reference's truncation text, which clients rebuild from the pieces shown -----------------


def truncation_marker(removed_tokens: int) -> str:
    """The marker the middle cut leaves in place of what it removed."""
    return f"\u2026{removed_tokens} tokens truncated\u2026"


def truncated_header(total_lines: int) -> str:
    """What precedes a truncated text: its line count."""
    return f"Total output lines: {total_lines}\n\n"
