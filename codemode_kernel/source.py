"""What a user typed into a cell: pragmas, control cells and the JavaScript analysis we need.

Pure functions, no Jupyter and no V8, so the kernel and its tests share one definition of every
user-visible parsing rule. JavaScript is only ever inspected through tree-sitter, never regexes.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tree_sitter
import tree_sitter_javascript

from .errors import ExecError

MAX_SAFE_INTEGER = 2**53 - 1
_U64_MAX = 2**64 - 1
EXEC_PRAGMA_PREFIX = "// @exec:"
WAIT_PRAGMA_PREFIX = "// @wait:"

_EXEC_FIELDS = "`yield_time_ms` and `max_output_tokens`"
_EXEC_NEEDS_SOURCE = "exec pragma must be followed by JavaScript source on subsequent lines"
_EXEC_NOT_OBJECT = f"exec pragma must be a JSON object with supported fields {_EXEC_FIELDS}"
_WAIT_KEYS = ("cell_id", "yield_time_ms", "max_tokens", "terminate")
_WAIT_FIELDS = "cell_id, yield_time_ms, max_tokens and terminate"
_MAGICS = ("wait", "terminate", "cells", "store")
_WAIT_OPTIONS = {"--yield-time-ms": "yield_time_ms", "--max-tokens": "max_tokens"}
_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_$")
_DIGITS = re.compile(r"[0-9]+")  # magic-command syntax only, never JavaScript


@dataclass(frozen=True)
class ExecRequest:
    """JavaScript to run; a pragma line is blanked, not removed, so line numbers stay true."""

    code: str
    yield_time_ms: int | None
    max_output_tokens: int | None


@dataclass(frozen=True)
class WaitRequest:
    """Observe (or terminate) an existing cell, like the reference's `wait` tool."""

    cell_id: str
    yield_time_ms: int | None = None
    max_tokens: int | None = None
    terminate: bool = False


@dataclass(frozen=True)
class ListCells:
    """`%cells`: show the live cells."""


@dataclass(frozen=True)
class ShowStore:
    """`%store`: show the whole session store."""


Request = ExecRequest | WaitRequest | ListCells | ShowStore


def parse_cell(text: str) -> Request | None:
    """Classify a cell; None for a blank one (a Jupyter no-op), ExecError for a bad one."""
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
    return "wait" if first.startswith(WAIT_PRAGMA_PREFIX) else "exec"


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
            return f"invalid type: floating point `{float(value)}`, expected u64"
        return None
    if isinstance(value, float):
        return f"invalid type: floating point `{value}`, expected u64"
    if isinstance(value, str):
        return f"invalid type: string {json.dumps(value)}, expected u64"
    return f"invalid type: {'sequence' if isinstance(value, list) else 'map'}, expected u64"


def _parse_exec(text: str) -> ExecRequest:
    """Reference §1.2 steps 2-10, with the pragma line kept as an empty line."""
    first_line, _, rest = text.partition("\n")
    head = first_line.lstrip()
    if not head.startswith(EXEC_PRAGMA_PREFIX):
        return ExecRequest(code=text, yield_time_ms=None, max_output_tokens=None)
    if not rest.strip():
        raise ExecError(_EXEC_NEEDS_SOURCE)
    directive = head[len(EXEC_PRAGMA_PREFIX) :].strip()
    if not directive:
        raise ExecError(_EXEC_NOT_OBJECT)
    try:
        value = json.loads(directive, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ExecError(
            f"exec pragma must be valid JSON with supported fields {_EXEC_FIELDS}: {exc}"
        ) from None
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
    directive = cell[len(WAIT_PRAGMA_PREFIX) :].strip()
    if not directive:
        raise ExecError("wait pragma must be a JSON object with a cell_id")
    try:
        value, end = json.JSONDecoder(parse_constant=_reject_constant).raw_decode(directive)
    except ValueError as exc:
        raise ExecError(
            f"wait pragma must be valid JSON with fields {_WAIT_FIELDS}: {exc}"
        ) from None
    if directive[end:].strip():
        raise ExecError("wait pragma must be the whole cell")
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
    """`%wait`, `%terminate`, `%cells`, `%store`; each must be the whole (one-line) cell."""
    first, *_ = cell.split("\n", 1)
    name, *args = first.split()
    magic = name[1:]
    if magic not in _MAGICS:
        raise ExecError(f"unknown magic {name}; supported: %wait, %terminate, %cells, %store")
    if "\n" in cell:
        raise ExecError(f"{name} must be the only line in its cell")
    if magic in ("cells", "store"):
        if args:
            raise ExecError(f"{name} takes no arguments")
        return ListCells() if magic == "cells" else ShowStore()
    if magic == "terminate":
        if len(args) != 1 or args[0].startswith("-"):
            raise ExecError("%terminate expects exactly one cell id, e.g. %terminate 3")
        return WaitRequest(cell_id=args[0], terminate=True)
    return _parse_wait_magic(args)


def _parse_wait_magic(args: list[str]) -> WaitRequest:
    """`%wait ID [--yield-time-ms N] [--max-tokens N]`, options in any order, `--opt=N` too."""
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
            got = raw or "nothing"
            raise ExecError(f"%wait: {option} expects a non-negative integer, got {got}")
        if int(raw) > MAX_SAFE_INTEGER:
            raise ExecError(
                f"%wait: {option} expects a non-negative integer no larger than "
                f"{MAX_SAFE_INTEGER}, got {raw}"
            )
        options[field] = int(raw)
    if not ids:
        raise ExecError("%wait expects a cell id, e.g. %wait 3")
    if len(ids) > 1:
        raise ExecError("%wait expects exactly one cell id, e.g. %wait 3")
    return WaitRequest(
        cell_id=ids[0],
        yield_time_ms=options.get("yield_time_ms"),
        max_tokens=options.get("max_tokens"),
    )


# --- JavaScript analysis (tree-sitter) -------------------------------------------------------


@functools.cache
def _parser() -> tree_sitter.Parser:
    """One parser per process, built on first use so importing this module stays cheap."""
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_javascript.language()))


def _parse(code: str) -> tuple[bytes, tree_sitter.Node]:
    data = code.encode("utf-8")
    return data, _parser().parse(data).root_node


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Pre-order, iterative: deeply nested user code must not hit Python's recursion limit."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


@dataclass(frozen=True)
class PreparedCode:
    """A cell body ready to be wrapped in `async function (__import) { "use strict"; ... }`."""

    body: str
    static_import: str | None
    has_result: bool
    #: (line, column, characters inserted there), 1-based, in the cell's own coordinates: what
    #: error positions must subtract to point at the cell as typed.
    insertions: tuple[tuple[int, int, int], ...] = ()


def _static_import(root: tree_sitter.Node) -> str | None:
    """Specifier of the first top-level import (also under a top-level ERROR node)."""
    candidates: list[tree_sitter.Node] = []
    for child in root.children:
        candidates.extend(child.children if child.type == "ERROR" else [child])
    for node in candidates:
        source = node.child_by_field_name("source") if node.type == "import_statement" else None
        if source is not None and source.text is not None:
            return source.text.decode("utf-8")[1:-1]
    return None


def _end_without_comments(node: tree_sitter.Node) -> int:
    """End of the last real token, so `)` can never land inside a trailing `// comment`."""
    while node.children:
        real = [child for child in node.children if child.type != "comment"]
        if not real:
            break
        node = real[-1]
    return node.end_byte


def prepare(code: str) -> PreparedCode:
    """Rewrite a cell so its last expression becomes the result and `import()` is host-controlled.

    Edits never add or remove newlines, so stack traces keep the user's line numbers.
    """
    data, root = _parse(code)
    static_import = _static_import(root)
    if root.has_error:
        return PreparedCode(body=code, static_import=static_import, has_result=False)
    edits: list[tuple[int, int, bytes]] = []
    for node in _walk(root):
        function = node.child_by_field_name("function") if node.type == "call_expression" else None
        if function is not None and function.type == "import":
            edits.append((function.start_byte, function.end_byte, b"__import"))
    statements = [c for c in root.named_children if c.type not in ("comment", "empty_statement")]
    last = statements[-1] if statements else None
    expression = None
    if last is not None and last.type == "expression_statement":
        expression = next((c for c in last.named_children if c.type != "comment"), None)
    if expression is not None:
        edits.append((expression.start_byte, expression.start_byte, b"return ("))
        end = _end_without_comments(expression)
        edits.append((end, end, b")"))
    insertions = tuple(
        (*_line_column(data, start), len(replacement) - (end - start))
        for start, end, replacement in sorted(edits)
    )
    # Apply back to front; for equal offsets, insertions after replacements keep positions right.
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        data = data[:start] + replacement + data[end:]
    return PreparedCode(
        body=data.decode("utf-8"),
        static_import=static_import,
        has_result=expression is not None,
        insertions=insertions,
    )


def _line_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset, as V8 reports positions."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[line_start:offset].decode("utf-8")) + 1


_OPENERS = {"(": ")", "[": "]", "{": "}", "${": "}", "`": "`"}
# Text tried at the end of an erroneous cell (before and after the missing closers): if one of
# these completions parses cleanly, the cell is a valid prefix and merely unfinished.
_HOLE_FILLERS = ("", " _", ";", " _:_")
_TAIL_FILLERS = ("", " {}", ";", " finally {}", " while (_)")


def _open_brackets(root: tree_sitter.Node) -> list[str] | None:
    """Unclosed brackets and template literals, from tree-sitter's tokens; None if unbalanced."""
    stack: list[str] = []
    for node in _walk(root):
        if node.child_count or node.is_missing:
            continue
        kind = node.type
        if kind == "`" and stack and stack[-1] == "`":
            stack.pop()
        elif kind in _OPENERS:
            stack.append(kind)
        elif kind in (")", "]", "}"):
            if not stack or _OPENERS[stack[-1]] != kind or stack[-1] == "`":
                return None
            stack.pop()
    return stack


def is_complete(code: str) -> tuple[str, str]:
    """Jupyter's is_complete: ("complete" | "incomplete" | "invalid", indent for the next line)."""
    if _control_kind(code) != "exec":
        return "complete", ""  # blank and control cells run as they are; errors show on execute
    try:
        request = _parse_exec(code)
    except ExecError as exc:
        needs_more = str(exc) == _EXEC_NEEDS_SOURCE
        return ("incomplete", "") if needs_more else ("invalid", "")
    _, root = _parse(request.code)
    if not root.has_error:
        return "complete", ""
    stack = _open_brackets(root)
    if stack is None:
        return "invalid", ""
    closers = "".join(_OPENERS[opener] for opener in reversed(stack))
    for hole in _HOLE_FILLERS:
        for tail in _TAIL_FILLERS:
            if not _parse(request.code + hole + closers + tail)[1].has_error:
                in_template = bool(stack) and stack[-1] == "`"
                depth = sum(1 for opener in stack if opener != "`")
                return "incomplete", "" if in_template else " " * (4 * depth)
    return "invalid", ""


def completion_target(code: str, cursor_pos: int) -> tuple[str | None, str, int]:
    """(object before the dot or None, identifier prefix at the cursor, where that prefix starts).

    Lexical on purpose: code being completed is usually unfinished and would not parse. The object
    is a dotted identifier chain ("tools", "a.b"), or "" when the dot follows something else.
    """
    cursor = max(0, min(cursor_pos, len(code)))
    start = cursor
    while start > 0 and code[start - 1] in _IDENT_CHARS:
        start -= 1
    prefix = code[start:cursor]
    line_start = code.rfind("\n", 0, start) + 1
    if start > 0 and code[start - 1] == "%" and not code[line_start : start - 1].strip():
        return None, "%" + prefix, start - 1
    if start == 0 or code[start - 1] != ".":
        return None, prefix, start
    dot = start - 1
    if dot > 0 and code[dot - 1] == "?":  # optional chaining `a?.b`
        dot -= 1
    begin = dot
    while True:
        segment_end = begin
        while begin > 0 and code[begin - 1] in _IDENT_CHARS:
            begin -= 1
        if begin == segment_end or code[begin].isdigit():
            return "", prefix, start
        if begin > 0 and code[begin - 1] == ".":
            begin -= 2 if begin > 1 and code[begin - 2] == "?" else 1
            continue
        break
    chain = code[begin:dot].replace("?.", ".")
    return chain, prefix, start
