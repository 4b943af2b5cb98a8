"""The V8 ↔ host protocol: out-channel messages decode once into typed events, and a message
that cannot be read is an `Undecodable` event, never an exception or a silent drop."""

from __future__ import annotations

import json

import pytest

from codemode_kernel.runtime.protocol import (
    Buffers,
    ClearTimer,
    Console,
    Done,
    Image,
    Notify,
    Result,
    ScriptError,
    Text,
    Timer,
    ToolCall,
    Undecodable,
    Yield,
    decode,
    fire_timer,
    main_header,
    main_script,
    resolve_call,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ({"t": "text", "text": "hi"}, Text("hi")),
        ({"t": "console", "text": "x", "stream": "stderr"}, Console("x", "stderr")),
        ({"t": "image", "image_url": "data:,", "detail": "low"}, Image("data:,", "low")),
        ({"t": "image", "image_url": "data:,", "detail": None}, Image("data:,", "high")),
        ({"t": "notify", "text": "n"}, Notify("n")),
        ({"t": "yield"}, Yield()),
        ({"t": "call", "id": 3, "name": "a", "kind": "function"}, ToolCall(3, "a", "function")),
        (
            {"t": "call", "id": 1, "name": "a", "kind": "function", "input": None},
            ToolCall(1, "a", "function", None, True),
        ),
        ({"t": "buffers", "bytes": 16}, Buffers(16)),
        ({"t": "timer", "id": 2, "delay": 5}, Timer(2, 5.0)),
        ({"t": "clear_timer", "id": 2}, ClearTimer(2)),
        (
            {"t": "done", "error": None, "result": {"text": "1", "json": 1}, "writes": {"k": 2}},
            Done(Result("1", 1, True), None, {"k": 2}),
        ),
        (
            {"t": "done", "error": {"name": "", "text": "boom"}, "result": None, "writes": {}},
            Done(None, ScriptError("ScriptError", "boom", "boom"), {}),
        ),
    ],
)
def test_messages_decode_into_events(message: dict[str, object], event: object) -> None:
    assert decode(json.dumps(message)) == event


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,  # deeper than the decoder's recursion limit
        "not json",
        "[1]",
        '{"t": "teleport"}',
        '{"t": "text"}',
        '{"t": "text", "text": 5}',
        '{"t": "timer", "id": true, "delay": 1}',
        '{"t": "console", "text": "x", "stream": "stdin"}',
        '{"t": "done", "writes": [1]}',
    ],
)
def test_unreadable_messages_are_undecodable_events(text: str) -> None:
    assert isinstance(decode(text), Undecodable)


def test_commands_reach_the_host_through_the_script_binding_only() -> None:
    script = main_script("return (1)", {"cellId": "1"})
    assert script.startswith(main_header("return (1)") + "return (1)\n")
    assert script.endswith("//# sourceURL=cell.js")
    for command in (script, resolve_call(3, True, '{"a": 1}'), fire_timer(2)):
        assert "globalThis" not in command and "Symbol" not in command
    assert resolve_call(3, False, '"no"') == '__codemodeHost.resolve(3, false, "\\"no\\"")'
