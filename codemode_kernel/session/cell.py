"""One cell's lifecycle: the reference's cell actor, on the kernel's event loop.

A cell runs on its own isolate (the runtime layer) and is *observed* by at most one request at a
time. An observation ends at the earliest of completion, `yield_control()`, the yield time or
termination; output produced while nobody observes is buffered for the next observer, and a
completion nobody has seen yet is kept until someone collects it. Nothing here knows about
Jupyter or V8: the runtime is reached through `CellRuntime`, requests through `Observer`.

State machine (see docs/design.md):

    running ──yield/timeout──▶ running (unobserved, still executing)
       │                          │
       ├──done──▶ completed ◀─────┤  (buffered until observed, then closed)
       └──terminate──▶ terminating ──isolate stopped──▶ terminated (closed)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import CellBusy, CellTerminating
from ..output.items import ImageItem, Item, TextItem
from ..protocol import CellStatus
from ..runtime import CellRuntime, Message

Status = CellStatus


class Observer(Protocol):
    """What observes a cell: the kernel's request publisher, or a test."""

    def on_attach(self, cell_id: str) -> None: ...

    def on_item(self, item: Item) -> None: ...

    def on_notify(self, text: str) -> None: ...


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


@dataclass(frozen=True)
class Observation:
    """How one observation of a cell ended."""

    cell_id: str
    status: Status
    error: ScriptError | None = None
    result: Result | None = None
    stored: dict[str, Any] | None = None  # the keys this cell committed, at completion


@dataclass
class _Watch:
    observer: Observer
    done: asyncio.Future[Observation]
    timer: asyncio.TimerHandle | None = None


@dataclass
class CellHooks:
    """How a cell talks back to its session (store commits, tools, notifications, events)."""

    commit: Callable[[dict[str, Any]], str | None]  # returns an error text if refused
    call_tool: Callable[[Cell, Message], None]
    cancel_tools: Callable[[Cell], None]
    notify: Callable[[Cell, str], None]
    event: Callable[[Cell, str], None]  # yielded / completed / failed / terminated / closed


@dataclass
class Cell:
    """A live cell, created by the session; driven with `observe` and `terminate`."""

    cell_id: str
    hooks: CellHooks
    loop: asyncio.AbstractEventLoop
    runtime: CellRuntime | None = None
    started: float = field(default_factory=time.monotonic)
    buffer: list[Item] = field(default_factory=list)
    completion: Observation | None = None
    terminating: bool = False
    closed: bool = False
    _watch: _Watch | None = None
    _inbox: deque[Message] = field(default_factory=deque)
    _scheduled: bool = False

    # -- from the runtime (any thread) ---------------------------------------------------

    def sink(self, message: Message) -> None:
        """Runtime messages arrive on isolate threads; hand them to the loop in batches."""
        self._inbox.append(message)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        while self._inbox:
            self._handle(self._inbox.popleft())

    def _handle(self, message: Message) -> None:
        if self.closed or self.completion is not None:
            return
        kind = message["t"]
        if kind == "text":
            self._emit(TextItem(message["text"]))
        elif kind == "console":
            self._emit(TextItem(message["text"], stream=message["stream"]))
        elif kind == "image":
            self._emit(ImageItem(message["image_url"], message.get("detail") or "high"))
        elif kind == "notify":
            self.hooks.notify(self, message["text"])
            if self._watch is not None:
                self._watch.observer.on_notify(message["text"])
        elif kind == "yield":
            self._yield()
        elif kind == "call":
            if not self.terminating:
                self.hooks.call_tool(self, message)
        elif kind == "done":
            self._complete(message)

    def _emit(self, item: Item) -> None:
        if self._watch is not None:
            self._watch.observer.on_item(item)
        else:
            self.buffer.append(item)

    def _complete(self, message: Message) -> None:
        if self.terminating:
            return  # a queued termination wins over a completion not yet processed
        self.hooks.cancel_tools(self)
        error = _script_error(message.get("error"))
        writes: dict[str, Any] = message.get("writes") or {}
        refused = self.hooks.commit(writes) if writes else None
        if refused is not None:
            error = ScriptError("ResourceLimitExceeded", refused, refused)
            writes = {}
        raw = message.get("result")
        result = None
        if raw is not None and error is None:
            result = Result(raw["text"], raw.get("json"), "json" in raw)
        status: Status = "failed" if error else "completed"
        self.completion = Observation(self.cell_id, status, error, result, writes or None)
        self.hooks.event(self, status)
        if self._watch is not None:
            self._deliver_completion()

    # -- from requests (kernel loop) -----------------------------------------------------

    def observe(self, observer: Observer, yield_time_ms: int) -> asyncio.Future[Observation]:
        """Attach an observer: buffered output first, then live output until the end."""
        if self._watch is not None or self.terminating:
            raise CellBusy(self.cell_id)
        watch = _Watch(observer, self.loop.create_future())
        self._watch = watch
        observer.on_attach(self.cell_id)
        pending, self.buffer = self.buffer, []
        for item in pending:
            observer.on_item(item)
        if self.completion is not None:
            self._deliver_completion()
        else:
            watch.timer = self.loop.call_later(yield_time_ms / 1000, self._yield)
        return watch.done

    def detach(self, observer: Observer) -> None:
        """An observer went away without an outcome (its request was cancelled)."""
        if self._watch is not None and self._watch.observer is observer:
            self._end_watch(None)

    async def terminate(self) -> tuple[list[Item], Observation]:
        """Stop the cell and wait until its isolate has stopped.

        Returns the output nobody has seen and the outcome: a completion already processed
        wins; otherwise the cell is terminated and its store writes are discarded.
        """
        if self.terminating:
            raise CellTerminating(self.cell_id)
        pending, self.buffer = self.buffer, []
        if self.completion is not None:
            outcome = self.completion
            self._close()
            return pending, outcome
        self.terminating = True
        self.hooks.cancel_tools(self)
        if self.runtime is not None:
            await asyncio.wrap_future(self.runtime.terminate(), loop=self.loop)
        pending += self.buffer
        self.buffer = []
        outcome = Observation(self.cell_id, "terminated")
        self.hooks.event(self, "terminated")
        self._end_watch(outcome)
        self._close()
        return pending, outcome

    # -- internals -----------------------------------------------------------------------

    def _yield(self) -> None:
        """`yield_control()` or the yield time: end the observation; the cell runs on. Without
        an observer it is a no-op (the reference's unattached yield)."""
        if self._watch is not None and self.completion is None and not self.terminating:
            self._end_watch(Observation(self.cell_id, "running"))
            self.hooks.event(self, "yielded")

    def _deliver_completion(self) -> None:
        assert self.completion is not None
        self._end_watch(self.completion)
        self._close()

    def _end_watch(self, outcome: Observation | None) -> None:
        watch, self._watch = self._watch, None
        if watch is None:
            return
        if watch.timer is not None:
            watch.timer.cancel()
        if outcome is not None and not watch.done.done():
            watch.done.set_result(outcome)

    def _close(self) -> None:
        if not self.closed:
            self.closed = True
            self.hooks.event(self, "closed")

    @property
    def state(self) -> str:
        """A word for `%cells`."""
        if self.terminating:
            return "terminating"
        if self.completion is not None:
            return self.completion.status
        return "observed" if self._watch is not None else "running"


def _script_error(raw: dict[str, Any] | None) -> ScriptError | None:
    if raw is None:
        return None
    text = str(raw.get("text") or raw.get("message") or "unknown code mode exception")
    return ScriptError(str(raw.get("name") or "ScriptError"), str(raw.get("message", text)), text)
