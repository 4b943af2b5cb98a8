"""Failures as people see them: coloured tracebacks, one hint where a common mistake shows."""

from __future__ import annotations

import pytest

from codemode_kernel.output.messages import error_output
from codemode_kernel.output.traceback import hint, strip_ansi, traceback_lines
from codemode_kernel.source.javascript import top_level_declarations

pytestmark = pytest.mark.unit

STACK = "TypeError: bad\n    at f (cell.js:4:9)\n    at cell.js:6:1"


def test_name_is_red_frames_are_dimmed_and_the_text_underneath_is_exact() -> None:
    lines = traceback_lines("TypeError", STACK)
    assert lines == [
        "\x1b[0;31mTypeError\x1b[0m: bad",
        "\x1b[2m    at f (cell.js:4:9)\x1b[0m",
        "\x1b[2m    at cell.js:6:1\x1b[0m",
    ]
    assert [strip_ansi(line) for line in lines] == STACK.split("\n")


def test_a_compile_error_keeps_its_source_and_caret_lines_plain() -> None:
    text = "SyntaxError: Unexpected token ')'\ncell.js:1\nlet x = );\n        ^"
    lines = traceback_lines("SyntaxError", text)
    assert lines[1:] == ["cell.js:1", "let x = );", "        ^"]


def test_a_thrown_non_error_is_not_coloured_as_a_name() -> None:
    assert traceback_lines("ScriptError", "uncaught") == ["uncaught"]


def test_reference_error_to_a_name_an_earlier_cell_declared() -> None:
    text = "ReferenceError: x is not defined\n    at cell.js:1:1"
    assert hint(text, {"x": "3"}, ()) == (
        "Hint: x was declared in cell 3; each cell runs in a fresh isolate, "
        'so store("x", x) there and load("x") here.'
    )
    assert hint(text, {"y": "3"}, ()) is None


def test_calling_a_tool_that_is_not_registered() -> None:
    text = "TypeError: tools.nope is not a function\n    at cell.js:1:13"
    assert hint(text, {}, ("add",)) == (
        "Hint: no tool nope is registered; %tools lists the tools this cell could call."
    )
    assert hint(text, {}, ("nope",)) is None
    assert hint("TypeError: other.nope is not a function", {}, ()) is None


def test_the_hint_is_one_line_after_the_error_text_only_in_the_traceback() -> None:
    text = "ReferenceError: x is not defined"
    _, content = error_output("4", "ReferenceError", "x is not defined", text, "Hint: …")
    assert content["traceback"][-1] == "Hint: …"
    assert content["evalue"] == "x is not defined"


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("let x = 5", ("x",)),
        (
            "const {a, b: c, d = 1, ...r} = o, [p, [q], ...s] = z",
            ("a", "c", "d", "r", "p", "q", "s"),
        ),
        ("var v; function f() { let inner } class K {} function* g() {}", ("v", "f", "K", "g")),
        ("if (ok) { let hidden = 1 }\nfor (let i = 0; i < 2; i++) {}", ()),
        ("let x = 1; let x = 2", ("x",)),
    ],
)
def test_top_level_declarations(code: str, names: tuple[str, ...]) -> None:
    assert top_level_declarations(code) == names
