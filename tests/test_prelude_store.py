"""store / load (`js/store.js`): the snapshot, the writes in write order, and their
errors."""

from __future__ import annotations

import pytest
from prelude_harness import (
    Isolate,
    done,
    ok_done,
    texts,
    thrown,
)

pytestmark = pytest.mark.unit


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


DEEP = "let deep = 1; for (let i = 0; i < 300; i++) deep = [deep];"
LIMIT = "resource limit exceeded: code=resource_exhausted resource=json_depth limit=256"


def test_values_nested_past_the_host_limit_do_not_leave_the_isolate(iso: Isolate) -> None:
    """The host's JSON decoder has a recursion limit: a deeper store value, tool input or
    result is refused here, with an error the cell sees, instead of a lost message."""
    assert thrown(iso, DEEP + 'store("k", deep)') == (
        'string:Unable to store "k". Only plain serializable objects can be stored.'
    )
    tools = [{"name": "t", "global_name": "t", "description": "", "kind": "function"}]
    other = Isolate()
    try:
        msgs = other.run(DEEP + "try { tools.t({ deep }) } catch (e) { text(e) }", tools=tools)
        assert texts(msgs) == [f"{LIMIT} observed=301"]  # the input object around 300 arrays
        assert [m for m in msgs if m["t"] == "call"] == []
    finally:
        other.close()
    last = Isolate()
    try:
        d = done(last.run(DEEP + 'store("ok", [[1]]); return deep'))
        assert d["error"]["name"] == "ResourceLimitExceeded"
        assert d["error"]["text"] == f"{LIMIT} observed=301"  # the result message around it
        assert d["writes"] == {"ok": [[1]]}  # the cell's writes still commit, as for a failure
    finally:
        last.close()
