"""The execute_requests a client sends: an exec's source with its `// @exec:` pragma, the
`%wait` and `%terminate` control cells, and the request content around them (docs/cells.md).

Pure text building, so the client's requests mean the same over any `Connection`, and the only
rules here are the ones a caller can break: options given twice, or a cell id that would split
into several magic arguments.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import EXEC_PRAGMA

__all__ = ["exec_source", "execute_content", "terminate_cell", "wait_cell"]


def exec_source(source: str, yield_time_ms: int | None, max_output_tokens: int | None) -> str:
    """The source with the options as its first-line pragma (unchanged without options).

    A source that already starts with a pragma cannot take options too (ValueError): the kernel
    would see two pragmas.
    """
    options = {"yield_time_ms": yield_time_ms, "max_output_tokens": max_output_tokens}
    given = {key: value for key, value in options.items() if value is not None}
    if not given:
        return source
    if source.split("\n", 1)[0].lstrip().startswith(EXEC_PRAGMA):
        raise ValueError("the source already starts with a `// @exec:` pragma")
    return f"{EXEC_PRAGMA} {json.dumps(given)}\n{source}"


def wait_cell(cell_id: str | int, yield_time_ms: int | None, max_tokens: int | None) -> str:
    """`%wait ID [--yield-time-ms N] [--max-tokens N]`."""
    options = {"--yield-time-ms": yield_time_ms, "--max-tokens": max_tokens}
    code = f"%wait {_cell_arg(cell_id)}"
    return code + "".join(
        f" {name} {value}" for name, value in options.items() if value is not None
    )


def terminate_cell(cell_id: str | int) -> str:
    """`%terminate ID`."""
    return f"%terminate {_cell_arg(cell_id)}"


def execute_content(code: str, allow_stdin: bool = False) -> dict[str, Any]:
    """An execute_request's content for `code` (`allow_stdin` when the client answers prompts)."""
    return {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": allow_stdin,
        # ipykernel aborts the queued requests after an error unless told not to, and a
        # client's requests come from independent tasks.
        "stop_on_error": False,
    }


def _cell_arg(cell_id: str | int) -> str:
    """A cell id as one magic argument; ids are the kernel's "1", "2", … so this only guards
    against a caller passing something that would split into several arguments."""
    text = str(cell_id)
    if not text or len(text.split()) != 1 or text != text.strip():
        raise ValueError(f"not a cell id: {cell_id!r}")
    return text
