"""The control object and the cell's globals (`js/host.js`): setup, the allowed global names,
`H.main`, and the one `done` message with its result and error shapes."""

from __future__ import annotations

import json
from typing import Any

import py_mini_racer
import pytest
from prelude_harness import (
    HOST,
    MINI_RACER_SET_TIMEOUT,
    STATE,
    TOOLS,
    Isolate,
    done,
    ok_done,
    texts,
)

from codemode_kernel.runtime.prelude import PRELUDE

pytestmark = pytest.mark.unit


# The reference's allowed list (its test `code_mode_lists_global_scope_items`, §2.2) ...
REFERENCE_GLOBALS = """
    AggregateError ALL_TOOLS Array ArrayBuffer AsyncDisposableStack BigInt BigInt64Array
    BigUint64Array Boolean clearTimeout DataView Date DisposableStack Error EvalError
    FinalizationRegistry Float16Array Float32Array Float64Array Function Infinity Int16Array
    Int32Array Int8Array Intl Iterator JSON Map Math NaN Number Object Promise Proxy RangeError
    ReferenceError Reflect RegExp Set String SuppressedError Symbol SyntaxError Temporal TypeError
    URIError Uint16Array Uint32Array Uint8Array Uint8ClampedArray WeakMap WeakRef WeakSet
    __codexContentItems add_content decodeURI decodeURIComponent encodeURI encodeURIComponent
    escape exit eval globalThis image isFinite isNaN load notify parseFloat parseInt setTimeout
    store text tools undefined unescape yield_control
"""
# ... plus `console` and `prompt` (docs/cells.md: added on purpose) and `generatedImage`
# (installed by the reference, §2.5, but younger than that test's list).
ALLOWED_GLOBALS = {*REFERENCE_GLOBALS.split(), "console", "generatedImage", "prompt"}
HELPERS = [
    "text",
    "image",
    "generatedImage",
    "store",
    "load",
    "notify",
    "yield_control",
    "exit",
    "setTimeout",
    "clearTimeout",
    "tools",
    "ALL_TOOLS",
    "console",
]


# --- setup and globals -------------------------------------------------------------------


def test_setup_returns_the_channel_buffer(iso: Isolate) -> None:
    assert iso.eval(f"{STATE}.buf instanceof Uint16Array && {STATE}.buf.length") == 65536
    assert iso.eval(f"typeof {HOST}.main + typeof {HOST}.resolve + typeof {HOST}.fire") == (
        "function" * 3
    )


def test_prelude_is_one_function_expression() -> None:
    assert PRELUDE.startswith("(function (notify) {\n")
    assert "import " not in PRELUDE.split("\n", 3)[1]


def test_global_names_stay_within_the_allowed_list(iso: Isolate) -> None:
    msgs = iso.run("text(JSON.stringify(Object.getOwnPropertyNames(globalThis)));")
    names = set(json.loads(texts(msgs)[0]))
    assert names <= ALLOWED_GLOBALS, names - ALLOWED_GLOBALS
    assert set(HELPERS) <= names
    for gone in ["Atomics", "SharedArrayBuffer", "WebAssembly", "__timer_manager"]:
        assert gone not in names


def test_removed_and_absent_globals(iso: Isolate) -> None:
    msgs = iso.run(
        """text([typeof Atomics, typeof SharedArrayBuffer, typeof WebAssembly, typeof process,
        typeof require, typeof fetch, typeof setInterval, typeof queueMicrotask].join());"""
    )
    assert texts(msgs) == [",".join(["undefined"] * 8)]


def test_helpers_are_normal_globals(iso: Isolate) -> None:
    msgs = iso.run(
        f"""const out = {{}};
        for (const name of {json.dumps(HELPERS)}) {{
          const d = Object.getOwnPropertyDescriptor(globalThis, name);
          out[name] = [d.writable, d.enumerable, d.configurable, typeof d.value];
        }}
        text(JSON.stringify(out));"""
    )
    table = json.loads(texts(msgs)[0])
    for name in HELPERS:
        kind = "object" if name in ("tools", "ALL_TOOLS", "console") else "function"
        assert table[name] == [True, True, True, kind], name


def test_control_object_is_hidden_and_frozen(iso: Isolate) -> None:
    msgs = iso.run(
        """const d = Object.getOwnPropertyDescriptor(globalThis, Symbol.for("codemode.host"));
        text([d.enumerable, d.writable, d.configurable, Object.isFrozen(d.value)].join());"""
    )
    assert texts(msgs) == ["false,false,false,true"]


def test_setup_replaces_a_non_configurable_polyfill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(py_mini_racer._mini_racer, "INSTALL_SET_TIMEOUT", MINI_RACER_SET_TIMEOUT)
    isolate = Isolate()
    try:
        assert isolate.eval("typeof __timer_manager") != "undefined"  # the embedder's leftover
        msgs = isolate.run("text(String(setTimeout(() => {}, 5)));")
        assert msgs[0] == {"t": "timer", "id": 1, "delay": 5}
        assert texts(msgs) == ["1"]
    finally:
        isolate.close()


def test_main_runs_once_per_isolate(iso: Isolate) -> None:
    ok_done(iso.run("text(1);"))
    with pytest.raises(py_mini_racer.JSEvalException, match="already called"):
        iso.run("text(2);")


# --- done ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "result"),
    [
        ("undefined", None),
        ("", None),
        ("3", {"text": "3", "json": 3}),
        ("-0", {"text": "-0", "json": 0}),
        ("'abc'", {"text": "'abc'", "json": "abc"}),
        ("null", {"text": "null", "json": None}),
        ("true", {"text": "true", "json": True}),
        ("NaN", {"text": "NaN"}),
        ("Infinity", {"text": "Infinity"}),
        ("10n", {"text": "10n"}),
        ("({a: [1, 'x']})", {"text": "{ a: [ 1, 'x' ] }", "json": {"a": [1, "x"]}}),
        ("[new Map(), undefined]", {"text": "[ Map(0) {}, undefined ]", "json": [{}, None]}),
        (
            "Object.assign(Object.create(null), {a: 1})",
            {"text": "[Object: null prototype] { a: 1 }", "json": {"a": 1}},
        ),
        ("new (class K { constructor() { this.a = 1; } })()", {"text": "K { a: 1 }"}),
        ("new Map([[1, 2]])", {"text": "Map(1) { 1 => 2 }"}),
        ("new Date(0)", {"text": "1970-01-01T00:00:00.000Z"}),
        (
            "(() => { const o = {}; o.o = o; return o; })()",
            {"text": "<ref *1> { o: [Circular *1] }"},
        ),
        ("({toJSON() { return undefined; }})", {"text": "{ toJSON: [Function: toJSON] }"}),
        ("Promise.resolve(7)", {"text": "7", "json": 7}),
    ],
)
def test_done_result(iso: Isolate, expr: str, result: dict[str, Any] | None) -> None:
    d = ok_done(iso.run(f"return {expr};"))
    assert d["result"] == result
    assert d["writes"] == {}


def test_done_error_from_a_type_error(iso: Isolate) -> None:
    d = done(iso.run("const x = null;\nx.prop;"))
    error = d["error"]
    assert error["name"] == "TypeError"
    assert error["message"] == "Cannot read properties of null (reading 'prop')"
    assert error["text"].startswith(
        "TypeError: Cannot read properties of null (reading 'prop')\n    at "
    )
    assert "codemode-prelude.js" not in error["text"]
    assert d["result"] is None


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ('throw "boom"', {"name": "ScriptError", "message": "boom", "text": "boom"}),
        (
            "throw {code: 42}",
            {"name": "ScriptError", "message": "[object Object]", "text": "[object Object]"},
        ),
        (
            'throw {name: "MyError", message: "custom"}',
            {"name": "MyError", "message": "custom", "text": "[object Object]"},
        ),
        (
            'throw {stack: "S", message: 5}',
            {"name": "ScriptError", "message": "S", "text": "S"},
        ),
        ("throw null", {"name": "ScriptError", "message": "null", "text": "null"}),
        ("throw 42", {"name": "ScriptError", "message": "42", "text": "42"}),
        (
            "await Promise.reject()",
            {"name": "ScriptError", "message": "undefined", "text": "undefined"},
        ),
        (
            "throw Object.create(null)",
            {
                "name": "ScriptError",
                "message": "unknown code mode exception",
                "text": "unknown code mode exception",
            },
        ),
        (
            'await __import("node:fs")',
            {
                "name": "ScriptError",
                "message": "Unsupported import in exec: node:fs",
                "text": "Unsupported import in exec: node:fs",
            },
        ),
    ],
)
def test_done_error_shapes(iso: Isolate, statement: str, error: dict[str, str]) -> None:
    d = done(iso.run(statement + ";"))
    assert d["error"] == error
    assert d["result"] is None


def test_error_with_custom_name(iso: Isolate) -> None:
    d = done(
        iso.run(
            'class MyErr extends Error { constructor(m) { super(m); this.name = "MyErr"; } }\n'
            'throw new MyErr("mine");'
        )
    )
    assert d["error"]["name"] == "MyErr"
    assert d["error"]["message"] == "mine"
    assert d["error"]["text"].startswith("MyErr: mine\n    at ")


def test_done_is_sent_once_and_nothing_follows_it(iso: Isolate) -> None:
    msgs = iso.run(
        """setTimeout(() => { throw new Error("late"); }, 1);
        Promise.resolve().then(() => Promise.resolve()).then(() => text("after done"));
        return 1;"""
    )
    assert ok_done(msgs)["result"] == {"text": "1", "json": 1}
    assert iso.fire(1) == []
    assert len(iso.messages()) == len([m for m in msgs])


def test_main_that_is_not_a_function_fails_cleanly(iso: Isolate) -> None:
    iso.eval(f"{HOST}.main(42, {{}})")
    d = done(iso.messages())
    assert d["error"]["name"] == "TypeError"


def test_config_may_be_a_json_string(iso: Isolate) -> None:
    config = json.dumps({"cellId": "2", "store": {"k": [1]}, "tools": TOOLS[:1]})
    iso.eval(
        f"{HOST}.main(async () => {{ text(JSON.stringify([load('k'), Object.keys(tools)])); }},"
        f" {json.dumps(config)})"
    )
    assert texts(iso.messages()) == ['[[1],["echo_tool"]]']


def test_check_refuses_a_body_that_closes_its_wrapper(iso: Isolate) -> None:
    iso.eval(f'{HOST}.check("return 1")')
    assert iso.new_messages() == []
    with pytest.raises(py_mini_racer.JSEvalException, match="SyntaxError"):
        iso.eval(f'{HOST}.check("}}); text(1); (function(){{")')
    error = done(iso.new_messages())["error"]
    assert error == {
        "name": "SyntaxError",
        "message": "Single function literal required",
        "text": "SyntaxError: Single function literal required",
    }
