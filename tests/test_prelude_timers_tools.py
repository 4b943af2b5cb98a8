"""Host-driven timers (`js/timers.js`) and nested tool calls (`js/tools.js`)."""

from __future__ import annotations

import json

import pytest
from prelude_harness import (
    HOST,
    TOOLS,
    Isolate,
    done,
    ok_done,
    texts,
    thrown,
)

pytestmark = pytest.mark.unit


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


def test_a_result_text_the_cell_cannot_parse_rejects_the_call(iso: Isolate) -> None:
    msgs = iso.run("try { await tools.mcp__rmcp__echo({}); } catch (e) { text(e); }", tools=TOOLS)
    assert msgs[0]["t"] == "call"
    iso.eval(f'{HOST}.resolve(1, true, "NaN")')
    msgs = iso.new_messages()
    assert texts(msgs) == ['tool result is not JSON the cell can read: "NaN" is not valid JSON']
    ok_done(msgs)
