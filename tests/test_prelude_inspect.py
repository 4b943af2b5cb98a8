"""The inspect form of values (`js/inspect*.js`), seen through the cell result's text."""

from __future__ import annotations

import pytest
from prelude_harness import (
    Isolate,
    ok_done,
)

pytestmark = pytest.mark.unit


# --- inspect (through the cell result's text form) -------------------------------------------

# Each row was checked against Node 20's util.inspect (line breaking turned off), except
# where a comment says otherwise.
INSPECT_TABLE = [
    ("'abc'", "'abc'"),
    ('["abc"]', "[ 'abc' ]"),
    ('["it\'s"]', '[ "it\'s" ]'),
    ('[`it\'s "q"`]', '[ `it\'s "q"` ]'),
    ('["a\\nb\\t\\u0001\\u007f\\\\"]', "[ 'a\\nb\\t\\x01\\x7F\\\\' ]"),
    ('["\\ud83d", "\U0001f600"]', "[ '\\ud83d', '\U0001f600' ]"),
    ("-0", "-0"),
    ("[-0, 1.5, NaN, Infinity, -Infinity]", "[ -0, 1.5, NaN, Infinity, -Infinity ]"),
    ("10n", "10n"),
    ('Symbol("s")', "Symbol(s)"),
    ("[undefined, null, true]", "[ undefined, null, true ]"),
    ("function foo() {}", "[Function: foo]"),
    ("() => {}", "[Function (anonymous)]"),
    ("class A {}", "[class A]"),
    ("class B extends Array {}", "[class B extends Array]"),
    ("class {}", "[class (anonymous)]"),
    ("async function af() {}", "[AsyncFunction: af]"),
    ("function* g() {}", "[GeneratorFunction: g]"),
    ("async function* ag() {}", "[AsyncGeneratorFunction: ag]"),
    ("Object.assign(function f() {}, { a: 1 })", "[Function: f] { a: 1 }"),
    ("[1, 2, 3]", "[ 1, 2, 3 ]"),
    ("[]", "[]"),
    ("[1, , 3]", "[ 1, <1 empty item>, 3 ]"),
    ("new Array(5)", "[ <5 empty items> ]"),
    ("Object.assign([1], { a: 2 })", "[ 1, a: 2 ]"),
    ('({ a: 1, b: "x" })', "{ a: 1, b: 'x' }"),
    ("({})", "{}"),
    (
        '({ "a-b": 1, $x: 2, _y: 3, "1a": 4, 12: 5 })',
        "{ '12': 5, 'a-b': 1, '$x': 2, _y: 3, '1a': 4 }",
    ),
    ('({ [Symbol("s")]: 1 })', "{ [Symbol(s)]: 1 }"),
    ("({ a: { b: { c: { d: 1 } } } })", "{ a: { b: { c: [Object] } } }"),
    ("[[[[1]]]]", "[ [ [ [Array] ] ] ]"),
    ("({ a: { b: { c: {} } } })", "{ a: { b: { c: {} } } }"),
    ("Object.create(null)", "[Object: null prototype] {}"),
    ("Object.assign(Object.create(null), { a: 1 })", "[Object: null prototype] { a: 1 }"),
    ("new (class Foo { constructor() { this.x = 1; } })()", "Foo { x: 1 }"),
    ("new (class Foo {})()", "Foo {}"),
    ("({ get g() { throw new Error('no'); } })", "{ g: [Getter] }"),
    ("({ get g() { return 1; }, set g(v) {} })", "{ g: [Getter/Setter] }"),
    ("({ set s(v) {} })", "{ s: [Setter] }"),
    (
        "(() => { const o = { a: 1 }; o.self = o; return o; })()",
        "<ref *1> { a: 1, self: [Circular *1] }",
    ),
    (
        "(() => { const o = { a: 1 }; o.list = [o, { o }]; return o; })()",
        "<ref *1> { a: 1, list: [ [Circular *1], { o: [Circular *1] } ] }",
    ),
    ('new Map([["a", 1], ["b", { c: 2 }]])', "Map(2) { 'a' => 1, 'b' => { c: 2 } }"),
    ("new Map()", "Map(0) {}"),
    ('new Set([1, "x"])', "Set(2) { 1, 'x' }"),
    ("new Date(0)", "1970-01-01T00:00:00.000Z"),
    ("new Date(NaN)", "Invalid Date"),
    ("/a+/gi", "/a+/gi"),
    ('Object.assign(new Error("boom"), { stack: "Error: boom" })', "[Error: boom]"),
    ("new Uint8Array([1, 2, 3])", "Uint8Array(3) [ 1, 2, 3 ]"),
    ("new BigInt64Array(1)", "BigInt64Array(1) [ 0n ]"),
    ("new Float64Array(0)", "Float64Array(0) []"),
    ("new Uint8Array([1, 255]).buffer", "ArrayBuffer { [Uint8Contents]: <01 ff>, byteLength: 2 }"),
    ("new Number(3)", "[Number: 3]"),
    ('new String("ab")', "[String: 'ab']"),
    ('Object(Symbol("s"))', "[Symbol: Symbol(s)]"),
    ("Object(1n)", "[BigInt: 1n]"),
    ("new Boolean(false)", "[Boolean: false]"),
    ("new WeakMap()", "WeakMap { <items unknown> }"),
    ("new Proxy({ a: 1 }, {})", "{ a: 1 }"),
    ('"x".repeat(10005)', "'" + "x" * 10000 + "'... 5 more characters"),
    ("(function* () {})()", "Object [Generator] {}"),
    ("Math", "Object [Math] {}"),
    ("JSON.parse('{\"__proto__\": 1}')", "{ ['__proto__']: 1 }"),
    ("({ a: new Map([[1, { b: { c: 1 } }]]) })", "{ a: Map(1) { 1 => { b: [Object] } } }"),
    ("Object.assign(new Date(0), { x: 1 })", "1970-01-01T00:00:00.000Z { x: 1 }"),
    (
        "new DataView(new ArrayBuffer(2))",
        "DataView { byteLength: 2, byteOffset: 0, buffer: ArrayBuffer { [Uint8Contents]: <00 00>,"
        " byteLength: 2 } }",
    ),
    (
        "({ f() {}, g: function () {}, h: () => {} })",
        "{ f: [Function: f], g: [Function: g], h: [Function: h] }",
    ),
    ('Object.defineProperty({}, "hidden", { value: 1, enumerable: false })', "{}"),
    ("new (class Bar extends Map {})([[1, 2]])", "Bar(1) [Map] { 1 => 2 }"),
    ("new (class Baz extends Array {})(1, 2)", "Baz(2) [ 1, 2 ]"),
    ('{ "key\\nwith": 1, "it\'s": 2 }', "{ 'key\\nwith': 1, \"it's\": 2 }"),
    # Not Node: a promise's state cannot be read synchronously from JavaScript.
    ("[Promise.resolve(1)]", "[ Promise {} ]"),
    # Not Node 20 (which prints { '0': 1, '1': 2 }); newer Node prints this.
    ("(function () { return arguments; })(1, 2)", "[Arguments] [ 1, 2 ]"),
    # Not Node, which looks through proxies without running traps.
    (
        "(() => { const r = Proxy.revocable({}, {}); r.revoke(); return [r.proxy]; })()",
        "[ <Revoked Proxy> ]",
    ),
    (
        "({ p: new Proxy({}, { ownKeys() { throw new Error('trap'); } }) })",
        "{ p: <Uninspectable> }",
    ),
]


@pytest.mark.parametrize(("expr", "expected"), INSPECT_TABLE)
def test_inspect(iso: Isolate, expr: str, expected: str) -> None:
    d = ok_done(iso.run(f"return ({expr});"))
    assert d["result"]["text"] == expected


def test_inspect_limits_long_collections(iso: Isolate) -> None:
    msgs = iso.run(
        """console.log(Array.from({ length: 150 }, (_, i) => i));
        console.log(new Map(Array.from({ length: 102 }, (_, i) => [i, i])));
        console.log(new Uint8Array(102));
        console.log(Object.assign([, 1], { length: 300 }));
        console.log(new Array(2 ** 31));"""
    )
    lines = [m["text"] for m in msgs if m["t"] == "console"]
    assert lines[0].startswith("[ 0, 1, 2,") and lines[0].endswith(", 99, ... 50 more items ]")
    assert lines[1].startswith("Map(102) { 0 => 0,") and lines[1].endswith(
        "99 => 99, ... 2 more items }"
    )
    assert lines[2].endswith(", 0, ... 2 more items ]")
    assert lines[3] == "[ <1 empty item>, 1, <298 empty items> ]"
    assert lines[4] == "[ <2147483648 empty items> ]"


def test_inspect_shows_error_stacks_without_runtime_frames(iso: Isolate) -> None:
    d = ok_done(iso.run('return [new RangeError("r")];'))
    text = d["result"]["text"]
    assert text.startswith("[ RangeError: r\n    at ")
    assert "codemode-prelude.js" not in text
