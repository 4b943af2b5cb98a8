"""One cell's lifecycle: the reference's cell actor, on the kernel's event loop.

A cell runs on its own isolate (the runtime layer) and is *observed* by at most one request at a
time. An observation ends at the earliest of completion, `yield_control()`, the yield time or
termination; output produced while nobody observes is buffered for the next observer, and a
completion nobody has seen yet is kept until someone collects it. Nothing here knows about
Jupyter or V8: the runtime is reached through `CellRuntime`, requests through `Observer`.

State machine (see docs/design.md), the `Phase` of a cell:

    RUNNING ──yield/timeout──▶ RUNNING (unobserved, still executing)
       │                          │
       ├──done──▶ COMPLETED ◀─────┤  (kept until observed) ──delivered──▶ CLOSED
       └──terminate──▶ TERMINATING ──isolate stopped──▶ CLOSED (terminated)
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import CellBusy, CellTerminating
from ..output.items import ImageItem, Item, TextItem
from ..protocol import CellStatus
from ..runtime import CellRuntime
from ..runtime.protocol import (
    Console,
    Done,
    Event,
    Image,
    Notify,
    Result,
    ScriptError,
    Text,
    ToolCall,
    Yield,
)

Status = CellStatus


class Phase(enum.Enum):
    """Where a cell is in the state machine above (and in docs/design.md)."""

    RUNNING = "running"  # executing, observed or not
    COMPLETED = "completed"  # done (completed or failed); the outcome waits for an observer
    TERMINATING = "terminating"  # terminate() waits for the isolate to stop
    CLOSED = "closed"  # terminal outcome delivered; the session forgets the id


class Observer(Protocol):
    """What observes a cell: the kernel's request publisher, or a test."""

    def on_attach(self, cell_id: str) -> None: ...

    def on_item(self, item: Item) -> None: ...

    def on_notify(self, text: str) -> None: ...


_NO_INPUT: Any = object()


@dataclass(frozen=True)
class ToolRequest:
    """A `tools.<name>(input?)` call of a cell, on its way to the session's tool router."""

    cell: Cell
    js_id: int  # the id the cell's JavaScript knows the call by: per cell from 1, in call order
    name: str
    input: Any = _NO_INPUT
    kind: str = "function"  # as the cell sent it; "prompt" for `prompt()` (session/router.py)

    @property
    def has_input(self) -> bool:
        """False for `tools.x()` with no argument (the router then decides by tool kind)."""
        return self.input is not _NO_INPUT


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
    call_tool: Callable[[ToolRequest], None]
    cancel_tools: Callable[[Cell], None]
    notify: Callable[[Cell, str], None]
    event: Callable[[Cell, str], None]  # yielded / completed / failed / terminated / closed


@dataclass(eq=False)
class Cell:
    """A live cell, created by the session; driven with `observe` and `terminate`."""

    cell_id: str
    hooks: CellHooks
    loop: asyncio.AbstractEventLoop
    started: float = field(default_factory=time.monotonic)
    buffer: list[Item] = field(default_factory=list)
    completion: Observation | None = None
    phase: Phase = Phase.RUNNING
    _runtime: CellRuntime | None = None
    _watch: _Watch | None = None
    _inbox: deque[Event] = field(default_factory=deque)
    _scheduled: bool = False

    @property
    def terminating(self) -> bool:
        return self.phase is Phase.TERMINATING

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    # -- the cell's verbs (session layer, kernel loop) -------------------------------------

    def attach(self, runtime: CellRuntime) -> None:
        """The runtime now running this cell's code (its events arrive through `sink`)."""
        self._runtime = runtime

    def resolve_tool(self, js_id: int, ok: bool, value: Any) -> None:
        """Settle the cell's tool call `js_id` (reject with the string `value` when not ok)."""
        if self._runtime is not None:
            self._runtime.resolve_tool(js_id, ok, value)

    def fail(self, error: ScriptError) -> None:
        """End the cell with `error` without running it (e.g. a static import was refused)."""
        self.sink(Done(error=error))

    # -- from the runtime (any thread) ---------------------------------------------------

    def sink(self, event: Event) -> None:
        """Runtime events arrive on isolate threads; hand them to the loop in batches."""
        self._inbox.append(event)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        while self._inbox:
            self._handle(self._inbox.popleft())

    def _handle(self, event: Event) -> None:
        if self.phase not in (Phase.RUNNING, Phase.TERMINATING):
            return
        match event:
            case Text(text=text):
                self._emit(TextItem(text))
            case Console(text=text, stream=stream):
                self._emit(TextItem(text, stream=stream))
            case Image(image_url=url, detail=detail):
                self._emit(ImageItem(url, detail or "high"))
            case Notify(text=text):
                self.hooks.notify(self, text)
                if self._watch is not None:
                    self._watch.observer.on_notify(text)
            case Yield():
                self._yield()
            case ToolCall(call_id=js_id, name=name, kind=kind) if self.phase is Phase.RUNNING:
                value = event.input if event.has_input else _NO_INPUT
                self.hooks.call_tool(ToolRequest(self, js_id, name, value, kind))
            case Done():
                self._complete(event)

    def _emit(self, item: Item) -> None:
        if self._watch is not None:
            self._watch.observer.on_item(item)
        else:
            self.buffer.append(item)

    def _complete(self, done: Done) -> None:
        if self.phase is not Phase.RUNNING:
            return  # a queued termination wins over a completion not yet processed
        self.hooks.cancel_tools(self)
        error, writes = done.error, done.writes
        refused = self.hooks.commit(writes) if writes else None
        if refused is not None:
            error = ScriptError("ResourceLimitExceeded", refused, refused)
            writes = {}
        result = done.result if error is None else None
        status: Status = "failed" if error else "completed"
        self.completion = Observation(self.cell_id, status, error, result, writes or None)
        self.phase = Phase.COMPLETED
        self.hooks.event(self, status)
        if self._watch is not None:
            self._deliver_completion()

    # -- from requests (kernel loop) -----------------------------------------------------

    def observe(self, observer: Observer, yield_time_ms: int) -> asyncio.Future[Observation]:
        """Attach an observer: buffered output first, then live output until the end."""
        if self._watch is not None or self.phase is Phase.TERMINATING:
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
        if self.phase is Phase.TERMINATING or (self.closed and self.completion is None):
            raise CellTerminating(self.cell_id)
        pending, self.buffer = self.buffer, []
        if self.completion is not None:
            outcome = self.completion
            self._close()
            return pending, outcome
        self.phase = Phase.TERMINATING
        self.hooks.cancel_tools(self)
        if self._runtime is not None:
            await asyncio.wrap_future(self._runtime.terminate(), loop=self.loop)
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
        if self._watch is not None and self.phase is Phase.RUNNING:
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
        if self.phase is not Phase.CLOSED:
            self.phase = Phase.CLOSED
            self.hooks.event(self, "closed")

    @property
    def state(self) -> str:
        """A word for `%cells`."""
        if self.phase is Phase.TERMINATING:
            return "terminating"
        if self.completion is not None:
            return self.completion.status
        return "observed" if self._watch is not None else "running"


__all__ = [
    "Cell",
    "CellHooks",
    "Observation",
    "Observer",
    "Phase",
    "Result",
    "ScriptError",
    "ToolRequest",
]
