"""Tests for codemode_kernel.source: cell classification, pragmas, magics and JS analysis."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from codemode_kernel.errors import ExecError
from codemode_kernel.source import (
    ExecRequest,
    ListCells,
    ListTools,
    PreparedCode,
    ShowStore,
    WaitRequest,
    completion_target,
    is_complete,
    parse_cell,
    prepare,
)

pytestmark = pytest.mark.unit

FIELDS = "`yield_time_ms` and `max_output_tokens`"
NOT_OBJECT = (
    "exec pragma must be a JSON object with supported fields `yield_time_ms` and "
    "`max_output_tokens`"
)
TYPE_ERR = (
    "exec pragma fields `yield_time_ms` and `max_output_tokens` must be non-negative "
    "safe integers: "
)
NEEDS_SOURCE = "exec pragma must be followed by JavaScript source on subsequent lines"
WAIT_JSON_ERR = (
    "wait pragma must be valid JSON with fields cell_id, yield_time_ms, max_tokens and terminate: "
)
WAIT_KEYS_ERR = "wait only supports cell_id, yield_time_ms, max_tokens and terminate; got "


def error_of(text: str) -> str:
    with pytest.raises(ExecError) as info:
        parse_cell(text)
    assert info.value.ename == "ExecError"
    return str(info.value)


# --- parse_cell: plain and blank cells --------------------------------------------------------


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t\n  \r\n"])
def test_blank_cell_is_none(text: str) -> None:
    assert parse_cell(text) is None


@pytest.mark.parametrize("text", ['text("hi")', "  let x = 1\nx", "// a comment\n1", "\n\n1"])
def test_plain_js_is_exec_unchanged(text: str) -> None:
    assert parse_cell(text) == ExecRequest(code=text, yield_time_ms=None, max_output_tokens=None)


def test_source_error_attributes() -> None:
    exc = ExecError("boom")
    assert exc.ename == "ExecError"
    assert str(exc) == "boom"
    assert isinstance(exc, Exception)


# --- exec pragma (Codex's) ---------------------------------------------------------------------


def test_exec_pragma_options_and_blank_first_line() -> None:
    req = parse_cell('// @exec: {"yield_time_ms": 5, "max_output_tokens": 7}\ntext(1)\ntext(2)')
    assert req == ExecRequest(code="\ntext(1)\ntext(2)", yield_time_ms=5, max_output_tokens=7)


def test_exec_pragma_leading_whitespace_null_and_empty_object() -> None:
    req = parse_cell(' \t// @exec: {"yield_time_ms": null}\n1')
    assert req == ExecRequest(code="\n1", yield_time_ms=None, max_output_tokens=None)
    assert parse_cell("// @exec: {}\n1") == ExecRequest("\n1", None, None)
    assert parse_cell('// @exec:{"max_output_tokens":0}\r\n1') == ExecRequest("\n1", None, 0)


def test_exec_pragma_line_count_is_preserved() -> None:
    text = '// @exec: {"yield_time_ms": 1}\na\nb\n'
    req = parse_cell(text)
    assert isinstance(req, ExecRequest)
    assert req.code.count("\n") == text.count("\n")
    assert req.code.split("\n")[1:] == text.split("\n")[1:]


def test_exec_pragma_only_on_first_line() -> None:
    text = '\n// @exec: {"yield_time_ms": 1}\n1'
    assert parse_cell(text) == ExecRequest(text, None, None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("// @exec: {}", NEEDS_SOURCE),
        ("// @exec: {}\n  \n\t", NEEDS_SOURCE),
        ("// @exec: not json", NEEDS_SOURCE),
        ("// @exec:\n1", NOT_OBJECT),
        ("// @exec:   \n1", NOT_OBJECT),
        ("// @exec: [1]\n1", NOT_OBJECT),
        ("// @exec: 5\n1", NOT_OBJECT),
        ("// @exec: null\n1", NOT_OBJECT),
        (
            "// @exec: {\n1",
            f"exec pragma must be valid JSON with supported fields {FIELDS}: "
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            "// @exec: nope\n1",
            f"exec pragma must be valid JSON with supported fields {FIELDS}: "
            "Expecting value: line 1 column 1 (char 0)",
        ),
        (
            "// @exec: {} x\n1",
            f"exec pragma must be valid JSON with supported fields {FIELDS}: "
            "Extra data: line 1 column 4 (char 3)",
        ),
        (
            '// @exec: {"yield_time_ms": NaN}\n1',
            f"exec pragma must be valid JSON with supported fields {FIELDS}: NaN is not valid JSON",
        ),
        (
            '// @exec: {"nope": 1}\n1',
            "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `nope`",
        ),
        (
            '// @exec: {"yield_time_ms": 1, "b": 1, "a": 2}\n1',
            "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `b`",
        ),
        (
            '// @exec: {"nope": "x", "yield_time_ms": -1}\n1',
            "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `nope`",
        ),
        (
            '// @exec: {"yield_time_ms": 1.5}\n1',
            TYPE_ERR + "invalid type: floating point `1.5`, expected u64",
        ),
        (
            '// @exec: {"yield_time_ms": 1.0}\n1',
            TYPE_ERR + "invalid type: floating point `1.0`, expected u64",
        ),
        (
            '// @exec: {"max_output_tokens": -1}\n1',
            TYPE_ERR + "invalid value: integer `-1`, expected u64",
        ),
        (
            '// @exec: {"max_output_tokens": "10"}\n1',
            TYPE_ERR + 'invalid type: string "10", expected u64',
        ),
        (
            '// @exec: {"yield_time_ms": true}\n1',
            TYPE_ERR + "invalid type: boolean `true`, expected u64",
        ),
        ('// @exec: {"yield_time_ms": [1]}\n1', TYPE_ERR + "invalid type: sequence, expected u64"),
        ('// @exec: {"yield_time_ms": {}}\n1', TYPE_ERR + "invalid type: map, expected u64"),
        (
            '// @exec: {"yield_time_ms": 18446744073709551616}\n1',
            TYPE_ERR + "invalid type: floating point `1.8446744073709552e+19`, expected u64",
        ),
        (
            '// @exec: {"yield_time_ms": 9007199254740992}\n1',
            "exec pragma field `yield_time_ms` must be a non-negative safe integer",
        ),
        (
            '// @exec: {"max_output_tokens": 9007199254740992}\n1',
            "exec pragma field `max_output_tokens` must be a non-negative safe integer",
        ),
        (
            '// @exec: {"max_output_tokens": 9007199254740992, "yield_time_ms": 2e0}\n1',
            TYPE_ERR + "invalid type: floating point `2.0`, expected u64",
        ),
        (
            '// @exec: {"max_output_tokens": 9007199254740992, '
            '"yield_time_ms": 9007199254740993}\n1',
            "exec pragma field `yield_time_ms` must be a non-negative safe integer",
        ),
    ],
)
def test_exec_pragma_errors(text: str, message: str) -> None:
    assert error_of(text) == message


def test_exec_pragma_max_safe_integer_is_allowed() -> None:
    req = parse_cell(f'// @exec: {{"yield_time_ms": {2**53 - 1}}}\n1')
    assert isinstance(req, ExecRequest)
    assert req.yield_time_ms == 2**53 - 1


# --- wait pragma ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('// @wait: {"cell_id": "3"}', WaitRequest("3")),
        ('  \n // @wait: {"cell_id": 3}  \n', WaitRequest("3")),
        (
            '// @wait: {"cell_id": "3", "yield_time_ms": 5, "max_tokens": 0, "terminate": false}',
            WaitRequest("3", yield_time_ms=5, max_tokens=0, terminate=False),
        ),
        ('// @wait: {"cell_id": "12", "terminate": true}', WaitRequest("12", terminate=True)),
        (
            '// @wait:{"cell_id":"1","yield_time_ms":null,"max_tokens":null,"terminate":null}',
            WaitRequest("1"),
        ),
    ],
)
def test_wait_pragma(text: str, expected: WaitRequest) -> None:
    assert parse_cell(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('// @wait: {"cell_id": "3", "x": 1}', WAIT_KEYS_ERR + "x"),
        ('// @wait: {"b": 1, "a": 1}', WAIT_KEYS_ERR + "b"),
        ('// @wait: {"max_output_tokens": 1, "cell_id": "3"}', WAIT_KEYS_ERR + "max_output_tokens"),
        (
            "// @wait: {cell_id: 3}",
            WAIT_JSON_ERR
            + "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            "// @wait: 3x",
            "wait pragma must be the whole cell",
        ),
        (
            "// @wait: x",
            WAIT_JSON_ERR + "Expecting value: line 1 column 1 (char 0)",
        ),
        ("// @wait:", "wait pragma must be a JSON object with a cell_id"),
        ('// @wait: ["3"]', "wait pragma must be a JSON object with a cell_id"),
        ('// @wait: "3"', "wait pragma must be a JSON object with a cell_id"),
        ("// @wait: {}", "wait requires a cell_id"),
        ('// @wait: {"cell_id": null}', "wait requires a cell_id"),
        ('// @wait: {"cell_id": " "}', "wait requires a cell_id"),
        (
            '// @wait: {"cell_id": -1}',
            "wait field `cell_id` must be a string or a non-negative integer",
        ),
        (
            '// @wait: {"cell_id": 3.0}',
            "wait field `cell_id` must be a string or a non-negative integer",
        ),
        (
            '// @wait: {"cell_id": true}',
            "wait field `cell_id` must be a string or a non-negative integer",
        ),
        (
            '// @wait: {"cell_id": "3", "yield_time_ms": 1.5}',
            "wait field `yield_time_ms` must be a non-negative safe integer",
        ),
        (
            '// @wait: {"cell_id": "3", "yield_time_ms": 9007199254740992}',
            "wait field `yield_time_ms` must be a non-negative safe integer",
        ),
        (
            '// @wait: {"cell_id": "3", "max_tokens": "5"}',
            "wait field `max_tokens` must be a non-negative safe integer",
        ),
        (
            '// @wait: {"cell_id": "3", "max_tokens": false}',
            "wait field `max_tokens` must be a non-negative safe integer",
        ),
        (
            '// @wait: {"cell_id": "3", "terminate": 1}',
            "wait field `terminate` must be a boolean",
        ),
        ('// @wait: {"cell_id": "3"} x', "wait pragma must be the whole cell"),
        ('// @wait: {"cell_id": "3"}\ntext(1)', "wait pragma must be the whole cell"),
        (
            '// @wait: {"cell_id": "3"}\n// @wait: {"cell_id": "4"}',
            "wait pragma must be the whole cell",
        ),
    ],
)
def test_wait_pragma_errors(text: str, message: str) -> None:
    assert error_of(text) == message


# --- magics --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%wait 3", WaitRequest("3")),
        ("  %wait   3  \n", WaitRequest("3")),
        ("\n%wait 3 --yield-time-ms 100", WaitRequest("3", yield_time_ms=100)),
        ("%wait --max-tokens 20 3", WaitRequest("3", max_tokens=20)),
        (
            "%wait 3 --max-tokens=20 --yield-time-ms=0",
            WaitRequest("3", yield_time_ms=0, max_tokens=20),
        ),
        ("%wait\t7\t--yield-time-ms\t5", WaitRequest("7", yield_time_ms=5)),
        ("%terminate 3", WaitRequest("3", terminate=True)),
        ("%terminate", WaitRequest(None, terminate=True)),
        ("%wait", WaitRequest(None)),
        ("%wait --max-tokens 5", WaitRequest(None, max_tokens=5)),
        ("%cells", ListCells()),
        (" %cells \n\n", ListCells()),
        ("%store", ShowStore()),
        ("%tools", ListTools()),
        ("\n  %tools  \n", ListTools()),
    ],
)
def test_magics(text: str, expected: object) -> None:
    assert parse_cell(text) == expected


WAIT_OPTS = "supported: --yield-time-ms N, --max-tokens N"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("%wait 3 4", "%wait expects at most one cell id, e.g. %wait 3"),
        ("%wait 3 --foo", f"%wait: unknown option --foo; {WAIT_OPTS}"),
        ("%wait 3 --foo=2", f"%wait: unknown option --foo; {WAIT_OPTS}"),
        ("%wait -3", f"%wait: unknown option -3; {WAIT_OPTS}"),
        ("%wait 3 --max-tokens x", "%wait: --max-tokens expects a non-negative integer, got x"),
        ("%wait 3 --max-tokens=-1", "%wait: --max-tokens expects a non-negative integer, got -1"),
        ("%wait 3 --max-tokens -1", "%wait: --max-tokens expects a non-negative integer, got -1"),
        (
            "%wait 3 --yield-time-ms 1.5",
            "%wait: --yield-time-ms expects a non-negative integer, got 1.5",
        ),
        (
            "%wait 3 --yield-time-ms",
            "%wait: --yield-time-ms expects a non-negative integer, got nothing",
        ),
        (
            "%wait 3 --max-tokens=",
            "%wait: --max-tokens expects a non-negative integer, got nothing",
        ),
        (
            "%wait 3 --max-tokens 9007199254740992",
            "%wait: --max-tokens expects a non-negative integer no larger than "
            "9007199254740991, got 9007199254740992",
        ),
        ("%wait 3 --max-tokens 1 --max-tokens 2", "%wait: --max-tokens given more than once"),
        ("%wait 3\ntext(1)", "%wait must be the only line in its cell"),
        ("%terminate 3 4", "%terminate expects at most one cell id, e.g. %terminate 3"),
        ("%terminate --now", "%terminate expects at most one cell id, e.g. %terminate 3"),
        ("%terminate 3\n%cells", "%terminate must be the only line in its cell"),
        ("%cells all", "%cells takes no arguments"),
        ("%store x", "%store takes no arguments"),
        ("%cells\n%store", "%cells must be the only line in its cell"),
        ("%tools mcp", "%tools takes no arguments"),
        ("%tools\n1", "%tools must be the only line in its cell"),
        ("%foo", "unknown magic %foo; supported: %wait, %terminate, %cells, %store, %tools"),
        ("%foo\n1", "unknown magic %foo; supported: %wait, %terminate, %cells, %store, %tools"),
        ("%", "unknown magic %; supported: %wait, %terminate, %cells, %store, %tools"),
        ("%Wait 3", "unknown magic %Wait; supported: %wait, %terminate, %cells, %store, %tools"),
    ],
)
def test_magic_errors(text: str, message: str) -> None:
    assert error_of(text) == message


# --- prepare -------------------------------------------------------------------------------------


def without_insertions(prepared: PreparedCode) -> PreparedCode:
    return dataclasses.replace(prepared, insertions=())


def test_prepare_records_insertions_for_error_positions() -> None:
    prepared = prepare("const s = 'é';\n  import('x').then(s)")
    # `import` → `__import` (+2 at line 2 col 3), then `return (` (+8) and `)` (+1) around it.
    assert prepared.insertions == ((2, 3, 8), (2, 3, 2), (2, 22, 1))


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("x + 1;", "return (x + 1);"),
        ("x + 1", "return (x + 1)"),
        ("({a:1})", "return (({a:1}))"),
        ("await x", "return (await x)"),
        ("x // c", "return (x) // c"),
        ("x /* c */;", "return (x) /* c */;"),
        ("a +\n  b // c", "return (a +\n  b) // c"),
        ("let x = 1\nx", "let x = 1\nreturn (x)"),
        ("x;;\n// c\n;", "return (x);;\n// c\n;"),
        ("x\n  .map(f)\n  .join()\n// end\n", "return (x\n  .map(f)\n  .join())\n// end\n"),
        ("a, b", "return (a, b)"),
        ('"use strict"', 'return ("use strict")'),
        ("const s = 'é'; s", "const s = 'é'; return (s)"),
    ],
)
def test_prepare_rewrites_last_expression(code: str, body: str) -> None:
    assert without_insertions(prepare(code)) == PreparedCode(
        body=body, static_import=None, has_result=True
    )


@pytest.mark.parametrize(
    "code",
    [
        "let x = 1",
        "const y = 2;",
        "function f() { return 1 }",
        "class A {}",
        "if (x) { 1 }",
        "for (;;) {}",
        "for (const a of b) a",
        "x\nlet y = 2",
        "return 5",
        "",
        "// only a comment",
        ";",
    ],
)
def test_prepare_without_result(code: str) -> None:
    assert without_insertions(prepare(code)) == PreparedCode(
        body=code, static_import=None, has_result=False
    )


@pytest.mark.parametrize("code", ["1 = ;", "x +", "let = = 2\nx", "f(\nx", "}}\n1"])
def test_prepare_leaves_syntax_errors_alone(code: str) -> None:
    assert without_insertions(prepare(code)) == PreparedCode(
        body=code, static_import=None, has_result=False
    )


def test_prepare_dynamic_import() -> None:
    assert prepare('import("x")').body == 'return (__import("x"))'
    prepared = prepare('const m = await import("m");\nimport("a").then(() => import(`b`))')
    assert prepared.body == (
        'const m = await __import("m");\nreturn (__import("a").then(() => __import(`b`)))'
    )
    nested = prepare("function f() {\n  return import('z')\n}")
    assert nested.body == "function f() {\n  return __import('z')\n}"
    assert not nested.has_result


def test_prepare_leaves_import_meta_and_names_alone() -> None:
    code = "const importer = 1; obj.import(2); importer"
    assert prepare(code).body == "const importer = 1; obj.import(2); return (importer)"


@pytest.mark.parametrize(
    ("code", "specifier"),
    [
        ('import fs from "fs"', "fs"),
        ("import 'x'", "x"),
        ("import {a} from 'x'\na", "x"),
        ('import * as m from "m"; m', "m"),
        ('let a = 1\nimport b from "first"\nimport c from "second"', "first"),
        ('import fs from "fs";\nlet = = 2', "fs"),
        ('const m = import("dyn")', None),
        ("function f() { import('a') }", None),
        ("export const a = 1", None),
    ],
)
def test_prepare_static_import(code: str, specifier: str | None) -> None:
    assert prepare(code).static_import == specifier


def test_prepare_export_is_left_for_v8() -> None:
    assert without_insertions(prepare("export const a = 1")) == PreparedCode(
        "export const a = 1", None, False
    )


@pytest.mark.parametrize(
    "code",
    [
        "x + 1",
        "let x = 1\nx",
        "a +\n  b // c\n",
        "const m = await import('m')\nimport('a')\n",
        "f(\n  1,\n  2\n)\n\n",
        "x\r\n.y\r\n",
        'import fs from "fs"\nfs',
        "1 = ;\n2",
    ],
)
def test_prepare_keeps_lines(code: str) -> None:
    body = prepare(code).body
    assert body.count("\n") == code.count("\n")
    for original, rewritten in zip(code.split("\n"), body.split("\n"), strict=True):
        stripped = rewritten.replace("return (", "").replace("__import", "import")
        assert stripped.replace(")", "") == original.replace(")", "")


# --- prepared bodies really run in V8 --------------------------------------------------------


@pytest.fixture(scope="module")
def racer() -> Iterator[Any]:
    mini_racer = pytest.importorskip("py_mini_racer")
    instance = mini_racer.MiniRacer()
    yield instance
    instance.close()


def run_body(racer: Any, code: str) -> Any:
    body = prepare(code).body
    wrapper = (
        '(async function (__import) {"use strict";' + body + "\n})"
        '((s) => Promise.reject("Unsupported import in exec: " + s))'
    )
    return racer.eval(wrapper).get(timeout=2)


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("let x = 20\nx + 22 // the answer", 42),
        ("({a: 1}).a", 1),
        ("await Promise.resolve(5);", 5),
        ("const xs = [1, 2, 3]\nxs\n  .map((v) => v * 2)\n  .join(',')\n// done\n", "2,4,6"),
        ("let s = 0\nfor (const v of [1, 2]) { s += v }\ns", 3),
        ('"use strict"', "use strict"),
        ("await import('m').catch((e) => e)", "Unsupported import in exec: m"),
    ],
)
def test_prepared_body_runs(racer: Any, code: str, value: object) -> None:
    assert run_body(racer, code) == value


def test_prepared_body_without_result_returns_undefined(racer: Any) -> None:
    result = run_body(racer, "let x = 1")
    assert result is None or type(result).__name__.startswith("JSUndefined")


# --- is_complete ---------------------------------------------------------------------------------
# Validated samples (tree-sitter-javascript 0.25): every string below was checked against the
# parser; note `let = 1;` is *valid* sloppy-mode JS to tree-sitter, so it is not an invalid sample.


@pytest.mark.parametrize(
    "code",
    [
        "",
        "  \n",
        'text("hi")',
        "let x = 1;",
        "function f() { return 1 }",
        "let = 1;",
        "x\n",
        "%wait 3",
        "%wait",
        "%nonsense",
        '// @wait: {"cell_id": "3"}',
        "// @wait: {",
        '// @exec: {"yield_time_ms": 5}\ntext(1)',
    ],
)
def test_is_complete_complete(code: str) -> None:
    assert is_complete(code) == ("complete", "")


@pytest.mark.parametrize(
    ("code", "indent"),
    [
        ("function f() {", "    "),
        ("let x = [1,", "    "),
        ("if (true) {", "    "),
        ("text(`abc", ""),
        ("text(`abc ${x", "        "),
        ("let s = `a\n", ""),
        ("let x = {\n  a: [1,\n", "        "),
        ("1 +", ""),
        ("x = 1 +\n", ""),
        ("if (x)", ""),
        ("if (x) {} else", ""),
        ("a ?", ""),
        ("a.", ""),
        ("x =>", ""),
        ("function f(", "    "),
        ("try {", "    "),
        ("do {", "    "),
        ("switch (x) {\n  case 1:", "    "),
        ("f(a,", "    "),
        ("while (x", "    "),
        ("// @exec: {}", ""),
        ("// @exec: {}\nf(", "    "),
    ],
)
def test_is_complete_incomplete(code: str, indent: str) -> None:
    assert is_complete(code) == ("incomplete", indent)


@pytest.mark.parametrize(
    "code",
    [
        "}}",
        "))",
        "1 = ;",
        "1 +* 2",
        "x y",
        "@",
        "let x = 1;\n)",
        "{ 1 = ; ",
        "(]",
        "// @exec: x\n1",
    ],
)
def test_is_complete_invalid(code: str) -> None:
    assert is_complete(code) == ("invalid", "")


# --- completion_target -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cursor", "expected"),
    [
        ("await tools.ad", None, ("tools", "ad", 12)),
        ("tex", None, (None, "tex", 0)),
        ("let a = tex", None, (None, "tex", 8)),
        ("%wa", None, (None, "%wa", 0)),
        ("x\n  %te", None, (None, "%te", 4)),
        ("a %wa", None, (None, "wa", 3)),
        ("tools.", None, ("tools", "", 6)),
        ("a.b.c", None, ("a.b", "c", 4)),
        ("a?.b", None, ("a", "b", 3)),
        ("f().b", None, ("", "b", 4)),
        ("x..b", None, ("", "b", 3)),
        ("1.5", None, ("", "5", 2)),
        ("$el._pr", None, ("$el", "_pr", 4)),
        ("", None, (None, "", 0)),
        ("text(x)", 4, (None, "text", 0)),
        ("text(x)", 3, (None, "tex", 0)),
        ("abc", 99, (None, "abc", 0)),
        ("é", None, (None, "", 1)),
    ],
)
def test_completion_target(
    code: str, cursor: int | None, expected: tuple[str | None, str, int]
) -> None:
    assert completion_target(code, len(code) if cursor is None else cursor) == expected
