"""JavaScript analysis with tree-sitter: imports, the last expression, completeness, completion.

Pure functions, no Jupyter and no V8. JavaScript is only ever inspected through a real parser,
never regexes: deeply nested code is walked iteratively so it cannot hit the recursion limit.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter
import tree_sitter_javascript

_IDENT_CHARS = frozenset(string.ascii_letters + string.digits + "_$")


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


def javascript_is_complete(code: str) -> tuple[str, str]:
    """Whether JavaScript source is complete: ("complete" | "incomplete" | "invalid", indent)."""
    _, root = _parse(code)
    if not root.has_error:
        return "complete", ""
    stack = _open_brackets(root)
    if stack is None:
        return "invalid", ""
    closers = "".join(_OPENERS[opener] for opener in reversed(stack))
    for hole in _HOLE_FILLERS:
        for tail in _TAIL_FILLERS:
            if not _parse(code + hole + closers + tail)[1].has_error:
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


_VARIABLE_DECLARATIONS = frozenset({"lexical_declaration", "variable_declaration"})
_NAMED_DECLARATIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "class_declaration"}
)


def _bound_names(pattern: tree_sitter.Node) -> Iterator[str]:
    """Identifiers a binding pattern binds: `x`, `{a, b: c}` → a, c, `[d, ...e]` → d, e."""
    stack = [pattern]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "shorthand_property_identifier_pattern"):
            if node.text is not None:
                yield node.text.decode("utf-8")
        elif node.type == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                stack.append(value)
        elif node.type == "assignment_pattern":
            left = node.child_by_field_name("left")
            if left is not None:
                stack.append(left)
        else:
            stack.extend(reversed(node.named_children))


def top_level_declarations(code: str) -> tuple[str, ...]:
    """Names a cell declares at its top level (`let`, `const`, `var`, functions, classes).

    Each cell runs in a fresh isolate, so these are exactly the names a later cell might expect
    to still exist; the kernel uses them to explain that cell's `ReferenceError`.
    """
    _, root = _parse(code)
    names: list[str] = []
    for node in root.named_children:
        if node.type in _VARIABLE_DECLARATIONS:
            for declarator in node.named_children:
                target = declarator.child_by_field_name("name")
                if declarator.type == "variable_declarator" and target is not None:
                    names.extend(_bound_names(target))
        elif node.type in _NAMED_DECLARATIONS:
            target = node.child_by_field_name("name")
            if target is not None and target.text is not None:
                names.append(target.text.decode("utf-8"))
    return tuple(dict.fromkeys(names))


def declared_names(code: str) -> tuple[str, ...]:
    """Every name the cell binds anywhere (variables, functions, classes, parameters), for
    completion; unfinished code still yields what parsed."""
    _, root = _parse(code)
    names: list[str] = []
    for node in _walk(root):
        # An unfinished `function f(` parses as a function expression: count its name too.
        if node.type in _NAMED_DECLARATIONS or node.type in _NAMED_ELSEWHERE:
            target = node.child_by_field_name("name")
            if target is not None:
                names.extend(_bound_names(target))
        elif node.type == "formal_parameters":
            for parameter in node.named_children:
                names.extend(_bound_names(parameter))
        else:
            field = _BINDING_FIELDS.get(node.type)
            target = None if field is None else node.child_by_field_name(field)
            if target is not None:
                names.extend(_bound_names(target))
    return tuple(dict.fromkeys(names))


_NAMED_ELSEWHERE = frozenset({"variable_declarator", "function_expression", "class"})

#: Nodes that bind a name through one field: `x => …`, `for (const x of …)`, `catch (e)`.
_BINDING_FIELDS = {
    "arrow_function": "parameter",
    "for_in_statement": "left",
    "catch_clause": "parameter",
}


def call_target(code: str, cursor_pos: int) -> tuple[str | None, str] | None:
    """The function whose call parentheses hold the cursor: (object or None, name), or None.

    `text(|`, `Math.max(1, |` and `tools.search({q: |` give ("", "text")-style answers so
    inspect can explain a call while its arguments are being typed. Lexical, like completion.
    """
    depth = 0
    for i in range(min(cursor_pos, len(code)) - 1, -1, -1):
        ch = code[i]
        if ch in ")]}":
            depth += 1
        elif ch in "[{":
            depth = max(0, depth - 1)
        elif ch == "(":
            if depth:
                depth -= 1
                continue
            obj, name, _ = completion_target(code, i)
            return (obj, name) if name and obj != "" else None
    return None
