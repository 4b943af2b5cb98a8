"""Shared scaffolding for the prelude tests (`tests/test_prelude_*.py`): the JavaScript prelude
(``codemode_kernel/runtime/js``) driven directly in mini-racer.

No kernel and no host: a fake ``notify`` written in JS decodes the out-channel frames into a
list of JSON texts, and the tests drive the control object ``H`` with small evals.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import py_mini_racer

from codemode_kernel.runtime.prelude import PRELUDE

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


def fresh_isolate() -> Iterator[Isolate]:
    """The body of the `iso` fixture (tests/conftest.py): one isolate per test, closed after."""
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


TOOLS = [
    {"name": "echo-tool", "description": "Echo things", "kind": "function"},
    {"name": "apply_patch", "description": "Patch files", "kind": "freeform"},
    {"name": "mcp__rmcp__echo", "description": "MCP echo", "kind": "function"},
    {"name": "9lives", "description": "digit first", "kind": "function"},
    {"name": "", "description": "empty", "kind": "function"},
    {"name": "\U0001f600x.y", "description": "emoji", "kind": "function"},
    {"name": "echo_tool", "description": "later duplicate", "kind": "freeform"},
]
