"""The V8 ↔ host protocol, in both directions, declared in one place.

**JS → host**: the prelude posts JSON messages over the out-channel (`js/channel.js`). They are
decoded exactly once, by `decode`, on the isolate thread where they arrive (`isolate.py`), into
the `Event` union below; every layer above dispatches on these types with `match`. A message
that cannot be decoded becomes `Undecodable` instead of being dropped, so the cell that sent it
still ends.

**Host → JS**: every script the host evaluates in an isolate is built here (`main_script`,
`resolve_call`, `fire_timer`, `BIND_HOST`), so no other module writes JavaScript source. The
scripts reach the control object through a script-level `const` bound when the prelude is
installed, never through live globals (`globalThis`, `Symbol.for`) a cell could replace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

#: The control object's symbol key (`js/host.js`) and the lexical binding the host's scripts use.
HOST_SYMBOL = "codemode.host"
_HOST = "__codemodeHost"

#: Evaluated once per isolate right after the prelude, while every built-in is still pristine. A
#: global `const` lives in the script scope shared by later scripts: it is not a property of the
#: global object (so it is not listed as a global), and no cell can delete or reassign it.
BIND_HOST = f"const {_HOST} = globalThis[Symbol.for({json.dumps(HOST_SYMBOL)})];"


# -- values carried by `Done` ------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptError:
    """A failed cell: `text` is the reference's error_text; `name` the thrown value's name."""

    name: str
    message: str
    text: str


@dataclass(frozen=True)
class Result:
    """The value of the cell's last expression: its inspect form and, when it is JSON, itself."""

    text: str
    json: Any = None
    has_json: bool = False


# -- events, JS → host -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """`text(x)`: one output item."""

    text: str


@dataclass(frozen=True)
class Console:
    """A `console.*` line on `stream` ("stdout" or "stderr")."""

    text: str
    stream: Literal["stdout", "stderr"]


@dataclass(frozen=True)
class Image:
    """`image()` / `generatedImage()`: a data URL and its detail."""

    image_url: str
    detail: str = "high"


@dataclass(frozen=True)
class Notify:
    """`notify(x)`: out-of-band news for the observer and the session's listeners."""

    text: str


@dataclass(frozen=True)
class Yield:
    """`yield_control()`: end the current observation; the cell runs on."""


@dataclass(frozen=True)
class ToolCall:
    """`tools.<name>(input?)`: call number `call_id` of this cell (from 1, in call order)."""

    call_id: int
    name: str
    kind: str
    input: Any = None
    has_input: bool = False


@dataclass(frozen=True)
class Buffers:
    """The running total of ArrayBuffer bytes the cell allocated (for the memory guard)."""

    bytes: int


@dataclass(frozen=True)
class Timer:
    """`setTimeout`: call `fire_timer(timer_id)` after `delay_ms`."""

    timer_id: int
    delay_ms: float


@dataclass(frozen=True)
class ClearTimer:
    """`clearTimeout` of a pending timer."""

    timer_id: int


@dataclass(frozen=True)
class Done:
    """The cell is over: the one final event, from JavaScript or from the host."""

    result: Result | None = None
    error: ScriptError | None = None
    writes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Undecodable:
    """A message the host could not read (too deep for the decoder, or malformed)."""

    reason: str


Event = Text | Console | Image | Notify | Yield | ToolCall | Buffers | Timer | ClearTimer | Done
Decoded = Event | Undecodable  # what `decode` returns; the runtime turns Undecodable into a Done

_UNKNOWN_EXCEPTION = "unknown code mode exception"


class _Malformed(Exception):
    pass


def decode(text: str) -> Decoded:
    """One out-channel message as an event; never raises."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Undecodable(f"{type(exc).__name__}: {str(exc)[:200]}")
    if not isinstance(raw, dict):
        return Undecodable("not a JSON object")
    try:
        return _event(raw)
    except (_Malformed, KeyError, TypeError, ValueError) as exc:
        return Undecodable(f"malformed {str(raw.get('t'))[:40]!r} message: {exc!r}"[:300])


def _event(raw: dict[str, Any]) -> Decoded:
    match raw.get("t"):
        case "text":
            return Text(_str(raw, "text"))
        case "console":
            stream = raw.get("stream")
            if stream != "stdout" and stream != "stderr":
                raise _Malformed("stream")
            return Console(_str(raw, "text"), stream)
        case "image":
            return Image(_str(raw, "image_url"), str(raw.get("detail") or "high"))
        case "notify":
            return Notify(_str(raw, "text"))
        case "yield":
            return Yield()
        case "call":
            has_input = "input" in raw
            return ToolCall(
                _int(raw, "id"), _str(raw, "name"), _str(raw, "kind"), raw.get("input"), has_input
            )
        case "buffers":
            return Buffers(_int(raw, "bytes"))
        case "timer":
            delay = raw.get("delay", 0)
            if isinstance(delay, bool) or not isinstance(delay, int | float):
                raise _Malformed("delay")
            return Timer(_int(raw, "id"), float(delay))
        case "clear_timer":
            return ClearTimer(_int(raw, "id"))
        case "done":
            writes = raw.get("writes") or {}
            if not isinstance(writes, dict):
                raise _Malformed("writes")
            return Done(_result(raw.get("result")), _error(raw.get("error")), writes)
    raise _Malformed("unknown type")


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise _Malformed(key)
    return value


def _int(raw: dict[str, Any], key: str) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(key)
    return value


def _result(raw: Any) -> Result | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Malformed("result")
    return Result(_str(raw, "text"), raw.get("json"), "json" in raw)


def _error(raw: Any) -> ScriptError | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _Malformed("error")
    text = str(raw.get("text") or raw.get("message") or _UNKNOWN_EXCEPTION)
    return ScriptError(str(raw.get("name") or "ScriptError"), str(raw.get("message", text)), text)


def failure(name: str, text: str, message: str | None = None) -> Done:
    """The `Done` of a failure the host detected (the JavaScript never got to report it)."""
    return Done(error=ScriptError(name, text if message is None else message, text))


# -- commands, host → JS -----------------------------------------------------------------------


def main_header(body: str) -> str:
    """What precedes the cell's body on line 1 of `cell.js`.

    The first statement compiles the body on its own as an async function body (`H.check`); a
    body that closes the wrapper early (`}); code; (function(){`) is a SyntaxError there, and
    the script stops before any of it runs. The body crosses as an ASCII JSON string, so the
    header stays on one line: the wrapper opens on the cell's first line, and line N of the
    cell is line N of `cell.js`.
    """
    check = f"{_HOST}.check({json.dumps(body)});"
    return f'{check}{_HOST}.main(async function (__import) {{"use strict";'


def main_script(body: str, config: dict[str, Any]) -> str:
    """The one script that runs a prepared cell; `config` crosses as JSON text."""
    config_json = json.dumps(json.dumps(config))
    return f"{main_header(body)}{body}\n}}, {config_json});\n//# sourceURL=cell.js"


def resolve_call(call_id: int, ok: bool, value_json: str) -> str:
    """Settle tool call `call_id` with the JSON text `value_json` (parsed in JS, so a
    `__proto__` key stays a key), or reject it with the string that text holds."""
    flag = "true" if ok else "false"
    return f"{_HOST}.resolve({int(call_id)}, {flag}, {json.dumps(value_json)})"


def fire_timer(timer_id: int) -> str:
    """Run timer `timer_id`'s callback."""
    return f"{_HOST}.fire({int(timer_id)})"
