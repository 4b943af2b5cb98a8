"""What a user typed into a cell: the `// @exec:` / `// @wait:` pragmas and the control cells.

Pure functions, no Jupyter and no V8, so the kernel and its tests share one definition of every
user-visible parsing rule. The JavaScript itself is analysed in `source.javascript`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..errors import ExecError
from ..output.unicode import lone_surrogate, surrogate_position
from ..protocol import EXEC_PRAGMA, WAIT_PRAGMA
from .javascript import javascript_is_complete

MAX_SAFE_INTEGER = 2**53 - 1
_U64_MAX = 2**64 - 1

_EXEC_FIELDS = "`yield_time_ms` and `max_output_tokens`"
_EXEC_NEEDS_SOURCE = "exec pragma must be followed by JavaScript source on subsequent lines"
_EXEC_NOT_OBJECT = f"exec pragma must be a JSON object with supported fields {_EXEC_FIELDS}"
_WAIT_KEYS = ("cell_id", "yield_time_ms", "max_tokens", "terminate")
_WAIT_FIELDS = "cell_id, yield_time_ms, max_tokens and terminate"
_MAGICS = ("wait", "terminate", "cells", "store", "tools")
_WAIT_OPTIONS = {"--yield-time-ms": "yield_time_ms", "--max-tokens": "max_tokens"}
_DIGITS = re.compile(r"[0-9]+")  # magic-command syntax only, never JavaScript
_ECHO_CHARS = 40  # how much of a too-long argument an error message repeats


@dataclass(frozen=True)
class ExecRequest:
    """JavaScript to run; a pragma line is blanked, not removed, so line numbers stay true."""

    code: str
    yield_time_ms: int | None
    max_output_tokens: int | None


@dataclass(frozen=True)
class WaitRequest:
    """Observe (or terminate) an existing cell, like the reference's `wait` tool.

    `cell_id` None (`%wait` or `%terminate` alone): the newest cell that is still running.
    """

    cell_id: str | None
    yield_time_ms: int | None = None
    max_tokens: int | None = None
    terminate: bool = False


@dataclass(frozen=True)
class ListCells:
    """`%cells`: show the live cells."""


@dataclass(frozen=True)
class ShowStore:
    """`%store`: show the whole session store; `%store --clear` empties it first."""

    clear: bool = False


@dataclass(frozen=True)
class ListTools:
    """`%tools`: the tools a new cell would get, with the provider of each."""


Request = ExecRequest | WaitRequest | ListCells | ShowStore | ListTools


def parse_cell(text: str) -> Request | None:
    """Classify a cell; None for a blank one (a Jupyter no-op), ExecError for a bad one.

    Bounded: whatever the text, this returns or raises ExecError (never RecursionError, a digit
    limit's ValueError or anything else), so every cell gets a reply.
    """
    _reject_surrogates(text)
    try:
        return _parse(text)
    except ExecError:
        raise
    except RecursionError:
        raise ExecError("cell is nested too deeply to parse") from None
    except Exception as exc:  # a parsing rule missed a case: still a clear error, not a hang
        raise ExecError(f"cell could not be parsed: {type(exc).__name__}: {exc}") from None


def _reject_surrogates(text: str) -> None:
    """A lone UTF-16 surrogate cannot reach V8 as source nor travel back in any message."""
    position = surrogate_position(text)
    if position is not None:
        line, column = position
        raise ExecError(
            f"cell contains a lone UTF-16 surrogate at line {line}, column {column}; "
            "write it as an escape (e.g. \\ud800) inside a string literal"
        )


def _reject_escaped_surrogates(pragma: str, value: Any) -> None:
    """A `\\ud800` escape in pragma JSON decodes to a lone surrogate no reply could carry."""
    if lone_surrogate(value) is not None:
        raise ExecError(f"{pragma} pragma contains a lone UTF-16 surrogate (a \\u escape)")


def _parse(text: str) -> Request | None:
    kind = _control_kind(text)
    if kind == "blank":
        return None
    if kind == "magic":
        return _parse_magic(text.strip())
    if kind == "wait":
        return _parse_wait_pragma(text.strip())
    return _parse_exec(text)


def _control_kind(text: str) -> str:
    """Kind of cell ("blank", "magic", "wait" or "exec"), decided by its first non-blank line."""
    if not text.strip():
        return "blank"
    first = next(line for line in text.splitlines() if line.strip()).lstrip()
    if first.startswith("%"):
        return "magic"
    return "wait" if first.startswith(WAIT_PRAGMA) else "exec"


def _reject_constant(name: str) -> Any:
    """JSON has no NaN/Infinity; Python's json would accept them silently."""
    raise ValueError(f"{name} is not valid JSON")


def _u64_error(value: Any) -> str | None:
    """serde's wording for a value that does not deserialize as u64 (None when it does)."""
    if isinstance(value, bool):
        return f"invalid type: boolean `{str(value).lower()}`, expected u64"
    if isinstance(value, int):
        if value < 0:
            return f"invalid value: integer `{value}`, expected u64"
        if value > _U64_MAX:  # serde_json reads such literals as floats
            if value.bit_length() > 1024:  # beyond f64: serde_json's own wording
                return "number out of range"
            return f"invalid type: floating point `{float(value)}`, expected u64"
        return None
    if isinstance(value, float):
        return f"invalid type: floating point `{value}`, expected u64"
    if isinstance(value, str):
        return f"invalid type: string {json.dumps(value)}, expected u64"
    return f"invalid type: {'sequence' if isinstance(value, list) else 'map'}, expected u64"


def _parse_exec(text: str) -> ExecRequest:
    """Code mode's exec pragma parsing (docs/cells.md, Pragmas), with the pragma line kept as
    an empty line so line numbers stay true."""
    first_line, _, rest = text.partition("\n")
    head = first_line.lstrip()
    if not head.startswith(EXEC_PRAGMA):
        return ExecRequest(code=text, yield_time_ms=None, max_output_tokens=None)
    if not rest.strip():
        raise ExecError(_EXEC_NEEDS_SOURCE)
    directive = head[len(EXEC_PRAGMA) :].strip()
    if not directive:
        raise ExecError(_EXEC_NOT_OBJECT)
    try:
        value = json.loads(directive, parse_constant=_reject_constant)
    except RecursionError:
        raise ExecError(
            f"exec pragma must be valid JSON with supported fields {_EXEC_FIELDS}: "
            "nested too deeply"
        ) from None
    except ValueError as exc:
        raise ExecError(
            f"exec pragma must be valid JSON with supported fields {_EXEC_FIELDS}: {exc}"
        ) from None
    _reject_escaped_surrogates("exec", value)
    if not isinstance(value, dict):
        raise ExecError(_EXEC_NOT_OBJECT)
    for key in value:
        if key not in ("yield_time_ms", "max_output_tokens"):
            raise ExecError(f"exec pragma only supports {_EXEC_FIELDS}; got `{key}`")
    for field_value in value.values():
        error = None if field_value is None else _u64_error(field_value)
        if error is not None:
            raise ExecError(
                f"exec pragma fields {_EXEC_FIELDS} must be non-negative safe integers: {error}"
            )
    for name in ("yield_time_ms", "max_output_tokens"):
        if (value.get(name) or 0) > MAX_SAFE_INTEGER:
            raise ExecError(f"exec pragma field `{name}` must be a non-negative safe integer")
    return ExecRequest(
        code="\n" + rest,
        yield_time_ms=value.get("yield_time_ms"),
        max_output_tokens=value.get("max_output_tokens"),
    )


def _is_safe_uint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_SAFE_INTEGER


def _parse_wait_pragma(cell: str) -> WaitRequest:
    """`// @wait: {...}` as the whole cell; the JSON mirrors the reference's wait arguments."""
    if "\n" in cell:
        raise ExecError("wait pragma must be the whole cell")
    directive = cell[len(WAIT_PRAGMA) :].strip()
    if not directive:
        raise ExecError("wait pragma must be a JSON object with a cell_id")
    try:
        value, end = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(directive)
    except RecursionError:
        raise ExecError(
            f"wait pragma must be valid JSON with fields {_WAIT_FIELDS}: nested too deeply"
        ) from None
    except ValueError as exc:
        raise ExecError(
            f"wait pragma must be valid JSON with fields {_WAIT_FIELDS}: {exc}"
        ) from None
    if directive[end:].strip():
        raise ExecError("wait pragma must be the whole cell")
    _reject_escaped_surrogates("wait", value)
    if not isinstance(value, dict):
        raise ExecError("wait pragma must be a JSON object with a cell_id")
    for key in value:
        if key not in _WAIT_KEYS:
            raise ExecError(f"wait only supports {_WAIT_FIELDS}; got {key}")
    cell_id = value.get("cell_id")
    if cell_id is None or (isinstance(cell_id, str) and not cell_id.strip()):
        raise ExecError("wait requires a cell_id")
    if not isinstance(cell_id, str) and not _is_safe_uint(cell_id):
        raise ExecError("wait field `cell_id` must be a string or a non-negative integer")
    for name in ("yield_time_ms", "max_tokens"):
        if value.get(name) is not None and not _is_safe_uint(value[name]):
            raise ExecError(f"wait field `{name}` must be a non-negative safe integer")
    terminate = value.get("terminate")
    if terminate is not None and not isinstance(terminate, bool):
        raise ExecError("wait field `terminate` must be a boolean")
    return WaitRequest(
        cell_id=str(cell_id),
        yield_time_ms=value.get("yield_time_ms"),
        max_tokens=value.get("max_tokens"),
        terminate=bool(terminate),
    )


def _parse_magic(cell: str) -> Request:
    """`%wait`, `%terminate`, `%cells`, `%store`, `%tools`; each the whole (one-line) cell."""
    first, *_ = cell.split("\n", 1)
    name, *args = first.split()
    magic = name[1:]
    if magic not in _MAGICS:
        raise ExecError(
            f"unknown magic {name}; supported: %wait, %terminate, %cells, %store, %tools"
        )
    if "\n" in cell:
        raise ExecError(f"{name} must be the only line in its cell")
    if magic == "tools":
        if args:
            raise ExecError("%tools takes no arguments")
        return ListTools()
    if magic == "store" and args and args[0].startswith("-"):
        if args != ["--clear"]:
            raise ExecError("%store: unknown option; supported: %store --clear")
        return ShowStore(clear=True)
    if magic in ("cells", "store"):
        if args:
            raise ExecError(f"{name} takes no arguments")
        return ListCells() if magic == "cells" else ShowStore()
    if magic == "terminate":
        if len(args) > 1 or (args and args[0].startswith("-")):
            raise ExecError("%terminate expects at most one cell id, e.g. %terminate 3")
        return WaitRequest(cell_id=args[0] if args else None, terminate=True)
    return _parse_wait_magic(args)


def _parse_wait_magic(args: list[str]) -> WaitRequest:
    """`%wait [ID] [--yield-time-ms N] [--max-tokens N]`, options in any order, `--opt=N` too."""
    ids: list[str] = []
    options: dict[str, int] = {}
    queue = list(args)
    while queue:
        arg = queue.pop(0)
        if not arg.startswith("-"):
            ids.append(arg)
            continue
        option, eq, raw = arg.partition("=")
        if option not in _WAIT_OPTIONS:
            raise ExecError(
                f"%wait: unknown option {option}; supported: --yield-time-ms N, --max-tokens N"
            )
        if not eq:
            raw = queue.pop(0) if queue else ""
        field = _WAIT_OPTIONS[option]
        if field in options:
            raise ExecError(f"%wait: {option} given more than once")
        if not _DIGITS.fullmatch(raw):
            got = _echo(raw) or "nothing"
            raise ExecError(f"%wait: {option} expects a non-negative integer, got {got}")
        # Compare digit counts first: int() refuses texts past Python's digit limit.
        digits = raw.lstrip("0") or "0"
        if len(digits) > len(str(MAX_SAFE_INTEGER)) or int(digits) > MAX_SAFE_INTEGER:
            raise ExecError(
                f"%wait: {option} expects a non-negative integer no larger than "
                f"{MAX_SAFE_INTEGER}, got {_echo(raw)}"
            )
        options[field] = int(digits)
    if len(ids) > 1:
        raise ExecError("%wait expects at most one cell id, e.g. %wait 3")
    return WaitRequest(
        cell_id=ids[0] if ids else None,
        yield_time_ms=options.get("yield_time_ms"),
        max_tokens=options.get("max_tokens"),
    )


def _echo(raw: str) -> str:
    """An argument as an error message repeats it: whole when short, else its start."""
    if len(raw) <= _ECHO_CHARS:
        return raw
    return f"{raw[:_ECHO_CHARS]}… ({len(raw)} characters)"


def is_complete(code: str) -> tuple[str, str]:
    """Jupyter's is_complete: ("complete" | "incomplete" | "invalid", indent for the next line)."""
    if surrogate_position(code) is not None:
        return "invalid", ""
    if _control_kind(code) != "exec":
        return "complete", ""  # blank and control cells run as they are; errors show on execute
    try:
        request = _parse_exec(code)
    except RecursionError:
        return "invalid", ""
    except ExecError as exc:
        needs_more = str(exc) == _EXEC_NEEDS_SOURCE
        return ("incomplete", "") if needs_more else ("invalid", "")
    return javascript_is_complete(request.code)
