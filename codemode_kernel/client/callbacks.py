"""The client's callbacks: what a program hands in to hear of notifications and cell events,
and to answer a cell's `prompt()`. Each may be a plain function or a coroutine function."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from .connection import Connection, Message

log = logging.getLogger("codemode_kernel.client")

NotifyCallback = Callable[[str, str], Any]  # (cell_id, text); may return an awaitable
EventCallback = Callable[[str, str], Any]  # (cell_id, event)
#: Answers a cell's `prompt(message)`: (message, password) -> the answer, or an awaitable of it.
#: Without one, requests say `allow_stdin: false` and `prompt()` rejects in the cell.
InputCallback = Callable[[str, bool], Any]


def call_now(callback: Callable[..., Any], *args: Any) -> Coroutine[Any, Any, Any] | None:
    """Run `callback` at once (a plain function has done its work when this returns); what it
    gave back to await, if anything, as a coroutine to schedule. A failure is logged, never
    raised into the client's routing."""
    try:
        outcome = callback(*args)
    except Exception:
        log.exception("codemode client: callback %r failed", callback)
        return None
    return _logged(callback, outcome) if inspect.isawaitable(outcome) else None


async def answer_input(on_input: InputCallback, request: Message, connection: Connection) -> None:
    """Answer an `input_request` on stdin with what `on_input` says ("" if it failed)."""
    content = request.get("content") or {}
    prompt, password = str(content.get("prompt", "")), bool(content.get("password"))
    try:
        value = on_input(prompt, password)
        if inspect.isawaitable(value):
            value = await value
    except Exception:
        log.exception("codemode client: on_input failed; answering with an empty string")
        value = ""
    reply = {"value": "" if value is None else str(value)}
    connection.send("input_reply", reply, "stdin", parent=request["header"])


async def _logged(callback: Callable[..., Any], outcome: Awaitable[Any]) -> Any:
    try:
        return await outcome
    except Exception:
        log.exception("codemode client: callback %r failed", callback)
        return None
