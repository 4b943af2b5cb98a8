"""The JavaScript prelude (``codemode_kernel/runtime/js``) driven directly in mini-racer.

No kernel and no host: a fake ``notify`` written in JS decodes the out-channel frames into a
list of JSON texts, and the tests drive the control object ``H`` with small evals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import py_mini_racer
import pytest

from codemode_kernel.runtime.prelude import PRELUDE

pytestmark = pytest.mark.unit

# mini-racer's own setTimeout polyfill leaves non-deletable `var` globals behind.
MINI_RACER_SET_TIMEOUT = py_mini_racer._set_timeout.INSTALL_SET_TIMEOUT
py_mini_racer._mini_racer.INSTALL_SET_TIMEOUT = "0"

HOST = 'globalThis[Symbol.for("codemode.host")]'
STATE = 'globalThis[Symbol.for("test.state")]'

# Test scaffolding lives under a Symbol key so that it does not show up as a global name, and
# uses built-ins captured up front so that cells which patch them cannot break it.
SCAFFOLD = f"""(function (setup) {{
  const stringify = JSON.stringify;
  const fromCharCode = String.fromCharCode;
  const state = {{ msgs: [], frames: [], buf: null }};
  // JSON built by hand: a cell may patch JSON or define Object.prototype.toJSON.
  const list = (items, itemJson) => {{
    let out = "";
    for (let i = 0; i < items.length; i++) out += (i ? "," : "") + itemJson(items[i]);
    return "[" + out + "]";
  }};
  const frameJson = (f) =>
    `{{"length":${{f.length}},"last":${{f.last}},"reserved":${{f.reserved}},"tail":${{f.tail}}}}`;
  state.dump = (key) =>
    key === "msgs" ? list(state.msgs, stringify) : list(state.frames, (fs) => list(fs, frameJson));
  let parts = [];
  let frames = [];
  {STATE} = state;
  state.buf = setup(function () {{
    const buf = state.buf;
    const length = buf[0] | (buf[1] << 16);
    let chunk = "";
    for (let i = 0; i < length; i++) chunk += fromCharCode(buf[4 + i]);
    parts[parts.length] = chunk;
    frames[frames.length] = {{ length, last: buf[2], reserved: buf[3], tail: buf[4 + length - 1] }};
    if (buf[2] === 1) {{
      let message = "";
      for (let i = 0; i < parts.length; i++) message += parts[i];
      state.msgs[state.msgs.length] = message;
      state.frames[state.frames.length] = frames;
      parts = [];
      frames = [];
    }}
  }});
}})({PRELUDE})"""

IMAGE_EXPECTS = (
    "image expects a non-empty image URL string, an object with image_url and optional detail, "
    "or a raw MCP image block"
)
INVALID_URL = "Tool call failed: invalid image output. Pass a base64 data URI instead"
REMOTE_URL = (
    "Tool call failed: remote image URLs are not supported in tool outputs. "
    "Pass a base64 data URI instead"
)
DETAIL_NOT_STRING = "image detail must be a string when provided"
DETAIL_UNKNOWN = "image detail must be one of: auto, low, high, original"
PNG = "data:image/png;base64,AAA"

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
# ... plus `console` (SPEC §3 adds it on purpose) and `generatedImage` (installed by the
# reference, §2.5, but younger than that test's list).
ALLOWED_GLOBALS = {*REFERENCE_GLOBALS.split(), "console", "generatedImage"}
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


class Isolate:
    """One fresh isolate with the prelude set up, as the host would have it."""

    def __init__(self) -> None:
        self.mr = py_mini_racer.MiniRacer()
        self.mr.eval(SCAFFOLD)
        self._seen = 0

    def close(self) -> None:
        self.mr.close()

    def eval(self, code: str) -> Any:
        return self.mr.eval(code)

    def run(
        self,
        body: str,
        *,
        store: dict[str, Any] | None = None,
        tools: list[dict[str, str]] | None = None,
    ) -> list[dict[str, Any]]:
        """Start a cell whose body is `body`; return the messages posted so far."""
        config = {"cellId": "1", "store": store or {}, "tools": tools or []}
        cell = f'async function (__import) {{ "use strict";\n{body}\n}}'
        self.eval(f"{HOST}.main({cell}, {json.dumps(config)})")
        return self.new_messages()

    def resolve(self, call_id: int, ok: bool, value: Any) -> list[dict[str, Any]]:
        flag = "true" if ok else "false"
        self.eval(f"{HOST}.resolve({call_id}, {flag}, {json.dumps(json.dumps(value))})")
        return self.new_messages()

    def fire(self, timer_id: int) -> list[dict[str, Any]]:
        self.eval(f"{HOST}.fire({timer_id})")
        return self.new_messages()

    def raw_messages(self) -> list[str]:
        return list(json.loads(self.eval(f"{STATE}.dump('msgs')")))

    def frames(self) -> list[list[dict[str, int]]]:
        return list(json.loads(self.eval(f"{STATE}.dump('frames')")))

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(m) for m in self.raw_messages()]

    def new_messages(self) -> list[dict[str, Any]]:
        msgs = self.messages()
        fresh, self._seen = msgs[self._seen :], len(msgs)
        return fresh


@pytest.fixture
def iso() -> Iterator[Isolate]:
    isolate = Isolate()
    try:
        yield isolate
    finally:
        isolate.close()


def done(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    assert msgs, "no messages"
    assert msgs[-1]["t"] == "done", msgs
    assert [m for m in msgs if m["t"] == "done"] == [msgs[-1]]
    return msgs[-1]


def ok_done(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    d = done(msgs)
    assert d["error"] is None, d["error"]
    return d


def texts(msgs: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in msgs if m["t"] == "text"]


def thrown(iso: Isolate, statement: str) -> str:
    """What `statement` throws, as 'string:<text>' for a plain string, else 'object:<String(e)>'."""
    msgs = iso.run(
        f"""try {{ {statement}; text("no throw"); }}
        catch (e) {{ text(typeof e === "string" ? "string:" + e : "object:" + String(e)); }}"""
    )
    ok_done(msgs)
    return texts(msgs)[-1]


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


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("", "undefined"),
        ("undefined", "undefined"),
        ("null", "null"),
        ("true", "true"),
        ("1.5", "1.5"),
        ("NaN", "NaN"),
        ("123n", "123"),
        ('"plain"', "plain"),
        ('""', ""),
        ("{json: true}", '{"json":true}'),
        ('[1, "a", null]', '[1,"a",null]'),
        ("new Date(0)", '"1970-01-01T00:00:00.000Z"'),
        ("new Map([[1, 2]])", "{}"),
        ('Symbol("s")', "Symbol(s)"),
        ("function f() { return 1; }", "function f() { return 1; }"),
    ],
)
def test_text_conversions(iso: Isolate, expr: str, expected: str) -> None:
    msgs = iso.run(f"const r = text({expr}); text(String(r));")
    assert msgs[0] == {"t": "text", "text": expected}
    assert texts(msgs)[1] == "undefined"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "(() => { const o = {}; o.o = o; return o; })()",
            "TypeError: Converting circular structure to JSON",
        ),
        ("{n: 1n}", "TypeError: Do not know how to serialize a BigInt"),
        ("{toJSON() { throw 'from toJSON'; }}", "from toJSON"),
    ],
)
def test_text_of_an_unserializable_value_throws_the_error_text(
    iso: Isolate, value: str, error: str
) -> None:
    result = thrown(iso, f"text({value})")
    assert result.startswith(f"string:{error}")
    assert "codemode-prelude.js" not in result
    assert "JSON.stringify" not in result


def test_uncaught_helper_error_is_the_bare_message(iso: Isolate) -> None:
    d = done(iso.run('image("https://x/y.png");'))
    assert d["error"] == {"name": "ScriptError", "message": REMOTE_URL, "text": REMOTE_URL}


# --- image / generatedImage ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "url", "detail"),
    [
        (f'image("{PNG}")', PNG, "high"),
        (f'image("{PNG}", "low")', PNG, "low"),
        (f'image("{PNG}", "ORIGINAL")', PNG, "original"),
        (f'image("{PNG}", null)', PNG, "high"),
        (f'image("{PNG}", undefined)', PNG, "high"),
        ('image("DATA:image/png;base64,AAA")', "DATA:image/png;base64,AAA", "high"),
        (f'image({{image_url: "{PNG}"}})', PNG, "high"),
        (f'image({{image_url: "{PNG}", detail: "Auto"}})', PNG, "auto"),
        (f'image({{image_url: "{PNG}", detail: null}})', PNG, "high"),
        (f'image({{image_url: "{PNG}", detail: "low"}}, "high")', PNG, "high"),
        ('image({type: "image", data: "AAA", mimeType: "image/png"})', PNG, "high"),
        ('image({type: "image", data: "AAA", mime_type: "image/png"})', PNG, "high"),
        (
            'image({type: "image", data: "AAA"})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: ""})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: 5, mime_type: "image/gif"})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (f'image({{type: "image", data: "{PNG}", mimeType: "x/y"}})', PNG, "high"),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "low"}})',
            PNG,
            "low",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "LOW"}})',
            PNG,
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "low"}}, "original")',
            PNG,
            "original",
        ),
    ],
)
def test_image_forms(iso: Isolate, call: str, url: str, detail: str) -> None:
    msgs = iso.run(f"text(String({call}));")
    assert msgs[0] == {"t": "image", "image_url": url, "detail": detail}
    assert msgs[1] == {"t": "text", "text": "undefined"}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("image()", IMAGE_EXPECTS),
        ("image(undefined)", IMAGE_EXPECTS),
        ("image(null)", IMAGE_EXPECTS),
        ("image(42)", IMAGE_EXPECTS),
        (f'image(["{PNG}"])', IMAGE_EXPECTS),
        ('image("")', IMAGE_EXPECTS),
        ('image({image_url: ""})', IMAGE_EXPECTS),
        ("image({image_url: 5})", IMAGE_EXPECTS),
        ("image({})", IMAGE_EXPECTS),
        ('image({type: 5, data: "AAA"})', IMAGE_EXPECTS),
        ('image({content: [{type: "image", data: "AAA"}], isError: false})', IMAGE_EXPECTS),
        ("image(function () {})", IMAGE_EXPECTS),
        ('image({type: "text", text: "hi"})', 'image only accepts MCP image blocks, got "text"'),
        ('image({type: "image"})', "image expected MCP image data"),
        ('image({type: "image", data: ""})', "image expected MCP image data"),
        ('image({type: "image", data: 5})', "image expected MCP image data"),
        ('image("no-colon")', INVALID_URL),
        ('image("ftp://host/x.png")', INVALID_URL),
        ('image("https://example.com/a.png")', REMOTE_URL),
        ('image("HTTP://example.com/a.png")', REMOTE_URL),
        ('image({image_url: "https://example.com/a.png"})', REMOTE_URL),
        (f'image({{image_url: "{PNG}", detail: 5}})', DETAIL_NOT_STRING),
        (f'image("{PNG}", 5)', DETAIL_NOT_STRING),
        ("image(42, {})", DETAIL_NOT_STRING),  # the override is checked before the image
        (f'image("{PNG}", "medium")', DETAIL_UNKNOWN),
        (f'image("{PNG}", "")', DETAIL_UNKNOWN),
        (f'image({{image_url: "{PNG}", detail: "medium"}})', DETAIL_UNKNOWN),
        ('image("https://x/a.png", "medium")', REMOTE_URL),  # URL before detail value
    ],
)
def test_image_errors(iso: Isolate, call: str, error: str) -> None:
    assert thrown(iso, call) == f"string:{error}"
    assert not [m for m in iso.messages() if m["t"] == "image"]


def test_generated_image_with_and_without_hint(iso: Isolate) -> None:
    msgs = iso.run(
        f"""generatedImage({{image_url: "{PNG}", output_hint: "a cat"}});
        generatedImage({{image_url: "{PNG}", detail: "low"}});
        generatedImage({{type: "image", data: "AAA", mimeType: "image/png"}});"""
    )
    assert msgs[:4] == [
        {"t": "image", "image_url": PNG, "detail": "high"},
        {"t": "text", "text": "a cat"},
        {"t": "image", "image_url": PNG, "detail": "low"},
        {"t": "image", "image_url": PNG, "detail": "high"},
    ]
    ok_done(msgs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("generatedImage()", "generatedImage expects an image generation result object"),
        ("generatedImage(null)", "generatedImage expects an image generation result object"),
        (f'generatedImage("{PNG}")', "generatedImage expects an image generation result object"),
        (
            f'generatedImage({{image_url: "{PNG}", output_hint: 5}})',
            "generatedImage output_hint must be a string when provided",
        ),
        (
            'generatedImage({image_url: "https://x/a.png", output_hint: 5})',
            "generatedImage output_hint must be a string when provided",
        ),
        ('generatedImage({image_url: "https://x/a.png"})', REMOTE_URL),
        ('generatedImage({image_url: "http://x/a.png", output_hint: "h"})', REMOTE_URL),
        ("generatedImage([])", IMAGE_EXPECTS),
    ],
)
def test_generated_image_errors(iso: Isolate, call: str, error: str) -> None:
    assert thrown(iso, call) == f"string:{error}"
    assert not [m for m in iso.messages() if m["t"] == "image"]


# --- notify / yield_control -----------------------------------------------------------------


def test_notify(iso: Isolate) -> None:
    msgs = iso.run('notify("halfway"); notify({a: 1}); notify(); text(String(notify(" x ")));')
    assert msgs[:4] == [
        {"t": "notify", "text": "halfway"},
        {"t": "notify", "text": '{"a":1}'},
        {"t": "notify", "text": "undefined"},
        {"t": "notify", "text": " x "},
    ]
    assert texts(msgs) == ["undefined"]


@pytest.mark.parametrize("arg", ['""', '"   "', '"\\n\\t"'])
def test_notify_rejects_blank_text(iso: Isolate, arg: str) -> None:
    assert thrown(iso, f"notify({arg})") == "string:notify expects non-empty text"
    assert not [m for m in iso.messages() if m["t"] == "notify"]


def test_yield_control(iso: Isolate) -> None:
    msgs = iso.run('text("a"); const r = yield_control(); text(String(r));')
    assert msgs[:3] == [
        {"t": "text", "text": "a"},
        {"t": "yield"},
        {"t": "text", "text": "undefined"},
    ]


# --- exit -----------------------------------------------------------------------------------


def test_exit_completes_successfully_and_stops(iso: Isolate) -> None:
    msgs = iso.run('store("k", 1); text("before"); exit(); text("after");')
    assert texts(msgs) == ["before"]
    d = ok_done(msgs)
    assert d["result"] is None
    assert d["writes"] == {"k": 1}


def test_exit_after_await(iso: Isolate) -> None:
    msgs = iso.run('await null; text("before"); exit(); text("after");')
    assert texts(msgs) == ["before"]
    ok_done(msgs)


def test_exit_can_be_caught(iso: Isolate) -> None:
    msgs = iso.run(
        """try { exit(); } catch (e) { text(typeof e + ":" + e); }
        text("after"); return 1;"""
    )
    assert texts(msgs) == ["string:__codex_code_mode_exit__", "after"]
    assert ok_done(msgs)["result"] == {"text": "1", "json": 1}


def test_thrown_sentinel_without_exit_is_a_failure(iso: Isolate) -> None:
    d = done(iso.run('throw "__codex_code_mode_exit__";'))
    assert d["error"] == {
        "name": "ScriptError",
        "message": "__codex_code_mode_exit__",
        "text": "__codex_code_mode_exit__",
    }


def test_exit_inside_a_timer_fails_the_cell(iso: Isolate) -> None:
    msgs = iso.run('store("k", 1); setTimeout(() => exit(), 5); await new Promise(() => {});')
    assert msgs == [{"t": "timer", "id": 1, "delay": 5}]
    d = done(iso.fire(1))
    assert d["error"] == {
        "name": "ScriptError",
        "message": "__codex_code_mode_exit__",
        "text": "__codex_code_mode_exit__",
    }
    assert d["writes"] == {}


# --- setTimeout / clearTimeout ----------------------------------------------------------------


def test_set_timeout_ids_and_delays(iso: Isolate) -> None:
    msgs = iso.run(
        """const f = () => {};
        const ids = [setTimeout(f), setTimeout(f, 10.9), setTimeout(f, -5), setTimeout(f, NaN),
          setTimeout(f, "25"), setTimeout(f, Infinity), setTimeout(f, null), setTimeout(f, 1, 2)];
        text(ids.join());"""
    )
    timers = [m for m in msgs if m["t"] == "timer"]
    assert [(m["id"], m["delay"]) for m in timers] == [
        (1, 0),
        (2, 10),
        (3, 0),
        (4, 0),
        (5, 25),
        (6, 0),
        (7, 0),
        (8, 1),
    ]
    assert texts(msgs) == ["1,2,3,4,5,6,7,8"]
    ok_done(msgs)


@pytest.mark.parametrize("arg", ["", '"code"', "null", "{}"])
def test_set_timeout_needs_a_function(iso: Isolate, arg: str) -> None:
    assert thrown(iso, f"setTimeout({arg})") == "string:setTimeout expects a function callback"
    assert not [m for m in iso.messages() if m["t"] == "timer"]


def test_timer_fires_with_no_this_and_no_arguments(iso: Isolate) -> None:
    msgs = iso.run(
        """await new Promise((resolve) => setTimeout(function (...args) {
          text(String(this) + ":" + args.length); resolve();
        }, 10, "extra"));
        text("after");"""
    )
    assert msgs == [{"t": "timer", "id": 1, "delay": 10}]
    msgs = iso.fire(1)
    assert texts(msgs) == ["undefined:0", "after"]
    ok_done(msgs)
    assert iso.fire(1) == []


def test_clear_timeout(iso: Isolate) -> None:
    msgs = iso.run(
        """const f = () => text("fired");
        const a = setTimeout(f, 5), b = setTimeout(f, 5), c = setTimeout(f, 5);
        clearTimeout(a); clearTimeout(a); clearTimeout(String(b)); clearTimeout(c + 0.7);
        clearTimeout(); clearTimeout(null); clearTimeout(undefined); clearTimeout(99);
        clearTimeout(-1); clearTimeout(NaN); clearTimeout("x");
        text(String(clearTimeout(a)));
        setTimeout(f, 1);
        await new Promise(() => {});"""
    )
    assert [m for m in msgs if m["t"] in ("timer", "clear_timer")] == [
        {"t": "timer", "id": 1, "delay": 5},
        {"t": "timer", "id": 2, "delay": 5},
        {"t": "timer", "id": 3, "delay": 5},
        {"t": "clear_timer", "id": 1},
        {"t": "clear_timer", "id": 2},
        {"t": "clear_timer", "id": 3},
        {"t": "timer", "id": 4, "delay": 1},
    ]
    assert texts(msgs) == ["undefined"]
    assert iso.fire(1) == []  # cleared: nothing runs
    assert texts(iso.fire(4)) == ["fired"]


@pytest.mark.parametrize("arg", ['Symbol("t")', "1n", "{valueOf() { throw new Error('x'); }}"])
def test_clear_timeout_conversion_error(iso: Isolate, arg: str) -> None:
    assert thrown(iso, f"clearTimeout({arg})") == "string:clearTimeout expects a numeric timeout id"


def test_timer_callback_error_fails_the_cell_without_writes(iso: Isolate) -> None:
    msgs = iso.run(
        """store("k", 1);
        setTimeout(() => { throw new TypeError("bad timer"); }, 1);
        await new Promise(() => {});"""
    )
    d = done(iso.fire(1))
    assert d["error"]["name"] == "TypeError"
    assert d["error"]["message"] == "bad timer"
    assert d["error"]["text"].startswith("TypeError: bad timer\n    at ")
    assert "codemode-prelude.js" not in d["error"]["text"]
    assert d["writes"] == {}
    assert d["result"] is None
    assert msgs == [{"t": "timer", "id": 1, "delay": 1}]


def test_timers_do_not_keep_the_cell_alive(iso: Isolate) -> None:
    msgs = iso.run('setTimeout(() => text("late"), 1); text("main");')
    assert texts(msgs) == ["main"]
    ok_done(msgs)
    assert iso.fire(1) == []


# --- tools --------------------------------------------------------------------------------------

TOOLS = [
    {"name": "echo-tool", "description": "Echo things", "kind": "function"},
    {"name": "apply_patch", "description": "Patch files", "kind": "freeform"},
    {"name": "mcp__rmcp__echo", "description": "MCP echo", "kind": "function"},
    {"name": "9lives", "description": "digit first", "kind": "function"},
    {"name": "", "description": "empty", "kind": "function"},
    {"name": "\U0001f600x.y", "description": "emoji", "kind": "function"},
    {"name": "echo_tool", "description": "later duplicate", "kind": "freeform"},
]


def test_tools_object_and_all_tools(iso: Isolate) -> None:
    msgs = iso.run(
        """text(JSON.stringify(Object.keys(tools)));
        text(JSON.stringify(ALL_TOOLS));
        text(String(Array.isArray(ALL_TOOLS) && Object.isFrozen(ALL_TOOLS)));
        text(typeof tools.echo_tool + ":" + tools.echo_tool.name);""",
        tools=TOOLS,
    )
    keys, all_tools, frozen, kind = texts(msgs)
    assert json.loads(keys) == [
        "echo_tool",
        "apply_patch",
        "mcp__rmcp__echo",
        "_lives",
        "_",
        "_x_y",
    ]
    assert json.loads(all_tools) == [
        {"name": "echo_tool", "description": "Echo things"},
        {"name": "apply_patch", "description": "Patch files"},
        {"name": "mcp__rmcp__echo", "description": "MCP echo"},
        {"name": "_lives", "description": "digit first"},
        {"name": "_", "description": "empty"},
        {"name": "_x_y", "description": "emoji"},
        {"name": "echo_tool", "description": "later duplicate"},
    ]
    assert frozen == "true"
    assert kind == "function:echo_tool"


def test_tool_names_that_are_object_prototype_keys(iso: Isolate) -> None:
    tools = [{"name": n, "description": n} for n in ["__proto__", "constructor", "toString"]]
    msgs = iso.run(
        """text(JSON.stringify(Object.keys(tools)));
        text(String(Object.getPrototypeOf(tools) === Object.prototype));
        tools.__proto__("x"); tools.constructor(); tools.toString({});
        await new Promise(() => {});""",
        tools=tools,
    )
    assert texts(msgs) == ['["__proto__","constructor","toString"]', "true"]
    assert [(m["name"], m.get("input")) for m in msgs if m["t"] == "call"] == [
        ("__proto__", "x"),
        ("constructor", None),
        ("toString", {}),
    ]


def test_tool_calls_post_ids_names_kinds_and_inputs(iso: Isolate) -> None:
    msgs = iso.run(
        """const a = tools.mcp__rmcp__echo({message: "hi", n: [1, 2]});
        const b = tools.apply_patch("*** Begin Patch");
        const c = tools.mcp__rmcp__echo();
        const d = tools.mcp__rmcp__echo(undefined);
        const e = tools._lives(null, "ignored");
        const f = tools.echo_tool(new Date(0));
        text(String(a instanceof Promise));
        await new Promise(() => {});""",
        tools=TOOLS,
    )
    calls = [m for m in msgs if m["t"] == "call"]
    assert calls == [
        {
            "t": "call",
            "id": 1,
            "name": "mcp__rmcp__echo",
            "kind": "function",
            "input": {"message": "hi", "n": [1, 2]},
        },
        {
            "t": "call",
            "id": 2,
            "name": "apply_patch",
            "kind": "freeform",
            "input": "*** Begin Patch",
        },
        {"t": "call", "id": 3, "name": "mcp__rmcp__echo", "kind": "function"},
        {"t": "call", "id": 4, "name": "mcp__rmcp__echo", "kind": "function"},
        {"t": "call", "id": 5, "name": "9lives", "kind": "function", "input": None},
        {
            "t": "call",
            "id": 6,
            "name": "echo_tool",
            "kind": "freeform",
            "input": "1970-01-01T00:00:00.000Z",
        },
    ]
    assert texts(msgs) == ["true"]


def test_tool_results_and_plain_string_rejections(iso: Isolate) -> None:
    msgs = iso.run(
        """const [x, y] = await Promise.all([tools.mcp__rmcp__echo({}), tools.apply_patch("p")]);
        text(JSON.stringify(x)); text(y);
        const err = await tools.mcp__rmcp__echo({}).catch((e) => e);
        text(typeof err + ":" + err);
        return x;""",
        tools=TOOLS,
    )
    assert [m["id"] for m in msgs if m["t"] == "call"] == [1, 2]
    assert iso.resolve(2, True, "patched") == []
    assert iso.resolve(99, True, "unknown id is ignored") == []
    msgs = iso.resolve(1, True, {"content": [{"type": "text", "text": "hi"}], "isError": False})
    assert msgs[-1] == {
        "t": "call",
        "id": 3,
        "name": "mcp__rmcp__echo",
        "kind": "function",
        "input": {},
    }
    assert texts(msgs) == ['{"content":[{"type":"text","text":"hi"}],"isError":false}', "patched"]
    assert iso.resolve(1, True, "already settled") == []
    msgs = iso.resolve(3, False, "first failed")
    assert texts(msgs) == ["string:first failed"]
    d = ok_done(msgs)
    assert d["result"]["json"] == {"content": [{"type": "text", "text": "hi"}], "isError": False}


def test_uncaught_tool_rejection_fails_the_cell(iso: Isolate) -> None:
    iso.run("await tools.mcp__rmcp__echo({});", tools=TOOLS)
    d = done(iso.resolve(1, False, "tool `x` is not enabled in exec"))
    assert d["error"] == {
        "name": "ScriptError",
        "message": "tool `x` is not enabled in exec",
        "text": "tool `x` is not enabled in exec",
    }


def test_tool_input_stringify_error_throws_synchronously(iso: Isolate) -> None:
    msgs = iso.run(
        """const o = {}; o.self = o;
        try { tools.mcp__rmcp__echo(o); } catch (e) { text(typeof e + ":" + e.split("\\n")[0]); }
        try { tools.mcp__rmcp__echo({n: 1n}); } catch (e) { text(typeof e); }
        tools.mcp__rmcp__echo({ok: true});
        await new Promise(() => {});""",
        tools=TOOLS,
    )
    assert texts(msgs) == ["string:TypeError: Converting circular structure to JSON", "string"]
    assert [m for m in msgs if m["t"] == "call"] == [
        {"t": "call", "id": 1, "name": "mcp__rmcp__echo", "kind": "function", "input": {"ok": True}}
    ]


def test_tool_results_after_completion_post_nothing(iso: Isolate) -> None:
    msgs = iso.run('tools.mcp__rmcp__echo({}).then(() => text("late")); text("main");', tools=TOOLS)
    ok_done(msgs)
    assert iso.resolve(1, True, "x") == []


# --- store / load ---------------------------------------------------------------------------


def test_store_and_load_semantics(iso: Isolate) -> None:
    msgs = iso.run(
        """store("a", {x: [1, 2]});
        const copy = load("a"); copy.x.push(3);
        text(JSON.stringify(load("a")));
        text(String(load("a") === load("a")));
        text(String(load("missing")));
        text(JSON.stringify(load("seeded")));
        store(1, "one"); text(load("1"));
        text(JSON.stringify(load({toString() { return "a"; }})));
        store("d", {date: new Date(0), u: undefined, n: NaN, m: new Map([[1, 2]]), z: -0});
        text(JSON.stringify(load("d")));
        text(String(store("e", null)) + ":" + String(load("e")));""",
        store={"seeded": [1, {"b": None}]},
    )
    assert texts(msgs) == [
        '{"x":[1,2]}',
        "false",
        "undefined",
        '[1,{"b":null}]',
        "one",
        '{"x":[1,2]}',
        '{"date":"1970-01-01T00:00:00.000Z","n":null,"m":{},"z":0}',
        "undefined:null",
    ]
    d = ok_done(msgs)
    assert d["writes"] == {
        "a": {"x": [1, 2]},
        "1": "one",
        "d": {"date": "1970-01-01T00:00:00.000Z", "n": None, "m": {}, "z": 0},
        "e": None,
    }


def test_snapshot_values_are_not_writes(iso: Isolate) -> None:
    d = ok_done(iso.run('text(String(load("k")));', store={"k": 5}))
    assert d["writes"] == {}


def test_writes_keep_write_order_even_for_integer_keys(iso: Isolate) -> None:
    msgs = iso.run('store("b", 1); store("10", 2); store("a", 3); store("b", 4);')
    raw_done = iso.raw_messages()[-1]
    assert raw_done.endswith('"writes":{"b":4,"10":2,"a":3}}')
    assert list(ok_done(msgs)["writes"]) == ["b", "10", "a"]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ('store(Symbol("k"), 1)', "store key must be a string"),
        ('load(Symbol("k"))', "load key must be a string"),
        ("store({toString() { throw 1; }}, 1)", "store key must be a string"),
        ("store()", 'Unable to store "undefined". Only plain serializable objects can be stored.'),
        ('store("k")', 'Unable to store "k". Only plain serializable objects can be stored.'),
        (
            'store("k", () => 1)',
            'Unable to store "k". Only plain serializable objects can be stored.',
        ),
        (
            'store("k", Symbol("v"))',
            'Unable to store "k". Only plain serializable objects can be stored.',
        ),
        (
            'store("a\\"b\\\\c\\nd\\u001b", undefined)',
            'Unable to store "a\\"b\\\\c\\nd\\u{1b}". '
            "Only plain serializable objects can be stored.",
        ),
    ],
)
def test_store_errors(iso: Isolate, call: str, error: str) -> None:
    assert thrown(iso, call) == f"string:{error}"
    assert ok_done(iso.messages())["writes"] == {}


def test_store_of_unserializable_values_throws_the_error_text(iso: Isolate) -> None:
    circular = thrown(iso, 'const o = {}; o.o = o; store("k", o)')
    assert circular.startswith("string:TypeError: Converting circular structure to JSON")
    other = Isolate()
    try:
        assert thrown(other, 'store("k", {n: 1n})').startswith(
            "string:TypeError: Do not know how to serialize a BigInt"
        )
    finally:
        other.close()


def test_failures_keep_writes(iso: Isolate) -> None:
    d = done(iso.run('store("kept", true); await null; throw new Error("boom");'))
    assert d["error"]["name"] == "Error"
    assert d["writes"] == {"kept": True}


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


# --- the out-channel ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "a"])
def test_long_messages_are_chunked(iso: Isolate, prefix: str) -> None:
    # 200k code units, mostly surrogate pairs; with the "a" prefix the pairs straddle the
    # 65532-unit chunk boundary, which must then move back by one unit.
    payload = prefix + "\U0001f600" * 50_000 + "x" * 100_000
    msgs = iso.run(
        f'text({json.dumps(prefix)} + "\\u{{1F600}}".repeat(50000) + "x".repeat(100000));'
    )
    assert msgs[0] == {"t": "text", "text": payload}
    frames = iso.frames()[0]
    assert len(frames) == 4
    assert all(f["length"] <= 65532 for f in frames)
    assert [f["last"] for f in frames] == [0, 0, 0, 1]
    assert all(f["reserved"] == 0 for f in frames)
    assert not any(0xD800 <= f["tail"] <= 0xDBFF for f in frames)
    raw = iso.raw_messages()[0]
    assert sum(f["length"] for f in frames) == len(raw.encode("utf-16-le")) // 2
    if prefix:
        assert frames[0]["length"] == 65531
    else:
        assert frames[0]["length"] == 65532


def test_small_messages_are_one_frame(iso: Isolate) -> None:
    iso.run('text("hi");')
    assert [len(f) for f in iso.frames()] == [1, 1]
    assert iso.frames()[0][0]["last"] == 1


def test_patched_builtins_do_not_break_the_protocol(iso: Isolate) -> None:
    msgs = iso.run(
        """JSON.stringify = () => "hacked"; JSON.parse = () => 0;
        Object.prototype.toJSON = function () { return "hijacked"; };
        Map.prototype.set = Map.prototype.get = () => { throw new Error("no maps"); };
        Array.prototype.push = () => { throw new Error("no push"); };
        String.prototype.charCodeAt = () => 0;
        Promise.prototype.then = () => { throw new Error("no then"); };
        text("still works"); store("k", 1); console.log([1, {a: 2}]);
        return [1];"""
    )
    assert msgs[0] == {"t": "text", "text": "still works"}
    assert msgs[1] == {"t": "console", "stream": "stdout", "text": "[ 1, { a: 2 } ]"}
    d = ok_done(msgs)
    assert d["writes"] == {"k": 1}
    assert d["result"] == {"text": "[ 1 ]", "json": "hijacked"}  # toJSON is the user's business


def test_buffer_allocations_are_counted_for_the_memory_guard(iso: Isolate) -> None:
    msgs = iso.run(
        """const big = new Uint8Array(10 * 1024 * 1024);
        const shared = new Uint8Array(big.buffer);       // a view: no new bytes
        const copy = big.slice();                        // species: counted
        const raw = new ArrayBuffer(8 * 1024 * 1024);
        text([big instanceof Uint8Array, copy instanceof Uint8Array,
              shared.buffer === big.buffer, Uint8Array.name,
              Object.getOwnPropertyDescriptor(globalThis, "Uint8Array").enumerable]);"""
    )
    # Reported every 16 MiB: 10 (big) + 10 (its copy) = 20 MiB; +8 MiB is not yet a step.
    assert [m["bytes"] for m in msgs if m["t"] == "buffers"] == [20 * 1024 * 1024]
    assert texts(msgs) == ['[true,true,true,"Uint8Array",false]']
