"""What the client tests share: a loop on its own thread, the Python tools, and a probe.

The client lives on an event loop in a background thread, so plain pytest functions can drive it
without an async plugin, the way a program that owns its own loop would. One kernel serves all
the client tests (conftest's `client` fixture; starting one costs about two seconds).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from codemode_kernel import Tool
from codemode_kernel.client import CodeModeClient
from codemode_kernel.client.results import ExecResult
from codemode_kernel.output.truncation import model_header

T = TypeVar("T")


class Loop:
    """An event loop on its own thread; `run` blocks until a coroutine is done there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --- the tools ----------------------------------------------------------------------------


class Probe:
    """What the tools and callbacks saw, for assertions; reset per test.

    They run on the client's loop thread and the tests on theirs, so every record goes through
    `add`, which wakes a test waiting in `until`.
    """

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.started: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.notified: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    def add(self, into: list[T], value: T) -> None:
        with self.changed:
            into.append(value)
            self.changed.notify_all()

    def until(self, done: Callable[[], bool], timeout: float = 3.0) -> None:
        """Block until `done()` holds (it is checked under the lock) or `timeout` passed."""
        with self.changed:
            self.changed.wait_for(done, timeout)


PROBE = Probe()


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def blocking_echo(text: str, seconds: float = 0.0) -> str:
    """A sync tool that blocks its worker thread (never the client's loop)."""
    time.sleep(seconds)
    return text


async def sleepy(label: str, seconds: float) -> str:
    """An async tool that sleeps, and records being cancelled."""
    PROBE.add(PROBE.started, label)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        PROBE.add(PROBE.cancelled, label)
        raise
    return label


def fail(message: str) -> None:
    """Always raises."""
    raise ValueError(message)


def not_json() -> Any:
    """Returns something JSON cannot carry."""
    return {1, 2}


SHOUT = Tool("shout", "Upper-case a string.", lambda text: text.upper(), kind="freeform")

TOOLS = [add, blocking_echo, sleepy, fail, not_json, SHOUT]


def open_client(loop: Loop) -> CodeModeClient:
    """A client on a new kernel with `TOOLS`, its notifications and cell events in `PROBE`."""

    async def on_event(cell_id: str, event: str) -> None:  # async callbacks are awaited
        PROBE.add(PROBE.events, (cell_id, event))

    return loop.run(
        CodeModeClient.start(
            tools=TOOLS,
            on_notify=lambda cell_id, text: PROBE.add(PROBE.notified, (cell_id, text)),
            on_event=on_event,
        ).open()
    )


def events_of(cell_id: str, count: int) -> list[str]:
    """The cell events `on_event` got for a cell, once `count` arrived (callbacks are tasks)."""

    def of_cell() -> list[str]:
        return [event for cid, event in PROBE.events if cid == cell_id]

    PROBE.until(lambda: len(of_cell()) >= count)
    return of_cell()


def run(loop: Loop, client: CodeModeClient, source: str, **options: Any) -> ExecResult:
    return loop.run(client.exec(source, **options))


def header(result: ExecResult, status: str) -> dict[str, str]:
    """The header item, with the wall time the client measured for this result."""
    return {"type": "input_text", "text": model_header(status, result.wall_time_s)}


def texts(*values: str) -> list[dict[str, str]]:
    return [{"type": "input_text", "text": v} for v in values]
