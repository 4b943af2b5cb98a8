"""The prelude's `console` (`js/console.js`): streams and Node's util.format rules."""

from __future__ import annotations

import pytest
from prelude_harness import (
    Isolate,
    ok_done,
)

pytestmark = pytest.mark.unit


# --- console --------------------------------------------------------------------------------


def test_console_streams(iso: Isolate) -> None:
    msgs = iso.run(
        'console.log("l"); console.info("i"); console.debug("d"); console.warn("w");'
        ' console.error("e"); console.log();'
    )
    assert [(m["stream"], m["text"]) for m in msgs if m["t"] == "console"] == [
        ("stdout", "l"),
        ("stdout", "i"),
        ("stdout", "d"),
        ("stderr", "w"),
        ("stderr", "e"),
        ("stdout", ""),
    ]


# Each row was checked against Node 20's util.format (with line breaking turned off).
CONSOLE_FORMATS = [
    ('"a", 1, {b: 2}', "a 1 { b: 2 }"),
    ('"%s=%d", "x", 42', "x=42"),
    ('"%i", 42.9', "42"),
    ('"%f", "1.5"', "1.5"),
    ('"%j", {a: 1}', '{"a":1}'),
    ('"%j", (() => { const o = {}; o.o = o; return o; })()', "[Circular]"),
    ('"%O", {a: {b: {c: {d: 1}}}}', "{ a: { b: { c: [Object] } } }"),
    ('"%o", [1, {a: {b: {c: {d: {e: 1}}}}}]', "[ 1, { a: { b: { c: { d: [Object] } } } } ]"),
    ('"%c styled", "color: red"', " styled"),
    ('"100%%", 1', "100% 1"),
    ('"%%"', "%%"),
    ('"%s"', "%s"),
    ('"%s %s", "a"', "a %s"),
    ('"%x", 1', "%x 1"),
    ('1, "a"', "1 a"),
    ('"%d", -0', "-0"),
    ('"%s", 10n', "10n"),
    ('"%d", 10n', "10n"),
    ('"%s", {toString() { return "custom"; }}', "custom"),
    ('"%s", [1, 2]', "[ 1, 2 ]"),
    ('"%s", {a: {b: 1}}', "{ a: [Object] }"),
    ('"%s", null', "null"),
    ('"%s", Symbol("q")', "Symbol(q)"),
    ('"%d", "abc"', "NaN"),
    ('"%s", new Date(0)', "1970-01-01T00:00:00.000Z"),
    ('"%s%s", "a", "b", "c"', "ab c"),
    ('"a%", 1', "a% 1"),
    ("undefined", "undefined"),
    ("null", "null"),
    ('{a: "x"}, "str", ["str"]', "{ a: 'x' } str [ 'str' ]"),
    ('"%s", new Map([[1, 2]])', "Map(1) { 1 => 2 }"),
]


@pytest.mark.parametrize(("args", "line"), CONSOLE_FORMATS)
def test_console_formatting(iso: Isolate, args: str, line: str) -> None:
    msgs = iso.run(f"console.log({args});")
    assert msgs[0] == {"t": "console", "stream": "stdout", "text": line}


def test_console_never_fails_the_cell(iso: Isolate) -> None:
    msgs = iso.run('console.log("%d", {valueOf() { throw new Error("no"); }}); text("after");')
    assert msgs[0]["t"] == "console"
    assert msgs[0]["text"].startswith("<console formatting failed: Error: no")
    ok_done(msgs)
