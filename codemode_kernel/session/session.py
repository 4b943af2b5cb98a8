"""The code-mode session: cells by id, the store, tool routing. No Jupyter, no V8 details.

One session per kernel process. Cell ids are "1", "2", … and never reused. The store is the only
state that crosses cells: each cell starts from a snapshot, and its writes are merged by key when
it completes naturally (successfully or not) — never when it is terminated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import defaults
from ..errors import CellNotFound, CellTerminating, ResourceLimitExceeded, SessionShuttingDown
from ..runtime import Engine, Limits, limit_error
from ..source import ExecRequest, WaitRequest, prepare
from .cell import Cell, CellHooks, Observation, Observer, Phase, ScriptError, ToolRequest
from .store import Store

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionConfig:
    """Defaults and limits (the kernel maps its traitlets onto this)."""

    yield_time_ms: int = defaults.YIELD_TIME_MS
    limits: Limits = field(default_factory=Limits)
    max_cells: int = defaults.MAX_CELLS
    store_bytes: int = defaults.STORE_BYTES


class ToolRouter(Protocol):
    """Where `tools.x()` calls go (comm providers, kernel-side tools)."""

    def definitions(self) -> list[dict[str, Any]]: ...

    def call(self, request: ToolRequest) -> None: ...

    def cancel(self, cell: Cell) -> None: ...


class SessionListener(Protocol):
    """Out-of-band news: lifecycle events and notifications, for every cell."""

    def cell_event(self, cell: Cell, event: str) -> None: ...

    def notify(self, cell: Cell, text: str) -> None: ...


class NoTools:
    """The router of a session nobody has registered tools with."""

    def definitions(self) -> list[dict[str, Any]]:
        return []

    def call(self, request: ToolRequest) -> None:
        reason = f"tool `{request.name}` is not enabled in exec"
        request.cell.resolve_tool(request.js_id, False, reason)

    def cancel(self, cell: Cell) -> None:
        pass


@dataclass(frozen=True)
class CellInfo:
    cell_id: str
    state: str
    age_s: float
    buffered: int


class Session:
    """Creates, observes and terminates cells. Lives on one asyncio loop."""

    def __init__(
        self,
        engine: Engine,
        config: SessionConfig | None = None,
        tools: ToolRouter | None = None,
        store: Store | None = None,
    ) -> None:
        self.engine = engine
        self.config = config or SessionConfig()
        self.store = store if store is not None else Store(self.config.store_bytes)
        self.tools: ToolRouter = tools or NoTools()
        self.listeners: list[SessionListener] = []
        self._cells: dict[str, Cell] = {}
        self._last_number = 0  # the highest cell id or prompt number used so far
        self._shutting_down = False

    # -- requests ------------------------------------------------------------------------

    async def exec(
        self, request: ExecRequest, observer: Observer, number: int | None = None
    ) -> Observation:
        """Start a new cell and observe it until it completes, yields or is terminated.

        `number` is the request's prompt number, which becomes the cell id; without one (a
        silent request, or a caller that has no prompt) the cell takes the next number above
        every id and number used so far. Ids are never reused.
        """
        if self._shutting_down:
            raise SessionShuttingDown()
        if len(self._cells) >= self.config.max_cells:
            limit = self.config.max_cells
            raise ResourceLimitExceeded(limit_error("active_cells", limit, limit + 1))
        cell = self._new_cell(number)
        prepared = prepare(request.code)
        if prepared.static_import is not None:
            text = f"Unsupported import in exec: {prepared.static_import}"
            cell.fail(ScriptError("ScriptError", text, text))
        else:
            config = {
                "cellId": cell.cell_id,
                "store": self.store.values,
                "tools": self.tools.definitions(),
            }
            runtime = self.engine.start_cell(
                prepared.body, config, cell.sink, self.config.limits, prepared.insertions
            )
            cell.attach(runtime)
        yield_ms = self._yield_ms(request.yield_time_ms)
        return await self._observe(cell, observer, yield_ms)

    async def wait(self, request: WaitRequest, observer: Observer) -> Observation:
        """Attach to a live cell (or terminate it, when the request says so)."""
        cell = self.get(request.cell_id) if request.cell_id is not None else self.newest_running()
        if request.terminate:
            pending, outcome = await cell.terminate()
            observer.on_attach(cell.cell_id)
            for item in pending:
                observer.on_item(item)
            return outcome
        return await self._observe(cell, observer, self._yield_ms(request.yield_time_ms))

    async def terminate(self, cell_id: str) -> Observation:
        """Terminate a cell on behalf of its own observer (a Jupyter interrupt)."""
        _, outcome = await self.get(cell_id).terminate()
        return outcome

    def get(self, cell_id: str) -> Cell:
        cell = self._cells.get(cell_id)
        if cell is None or cell.closed:
            raise CellNotFound(cell_id)
        return cell

    def newest_running(self) -> Cell:
        """The most recently created cell still running (yielded or observed)."""
        for cell in reversed(self._cells.values()):
            if cell.phase is Phase.RUNNING:
                return cell
        raise CellNotFound(None)

    def number(self, used: int) -> None:
        """A prompt number a request used without creating a cell: no later cell takes it."""
        self._last_number = max(self._last_number, used)

    @property
    def last_number(self) -> int:
        """The highest cell id or prompt number used so far."""
        return self._last_number

    def cells(self) -> list[CellInfo]:
        now = time.monotonic()
        return [
            CellInfo(c.cell_id, c.state, now - c.started, len(c.buffer))
            for c in self._cells.values()
        ]

    async def shutdown(self) -> None:
        """Refuse new cells, terminate every live one, free the engine. Idempotent."""
        self._shutting_down = True
        self.engine.stop_preparing()
        cells = [c for c in self._cells.values() if not c.closed and not c.terminating]
        outcomes = await asyncio.gather(*(c.terminate() for c in cells), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception) and not isinstance(outcome, CellTerminating):
                _log.error("terminating a cell at shutdown failed", exc_info=outcome)
        await asyncio.to_thread(self.engine.shutdown)
        self.store.close()

    # -- internals -----------------------------------------------------------------------

    def _yield_ms(self, requested: int | None) -> int:
        return self.config.yield_time_ms if requested is None else requested

    async def _observe(self, cell: Cell, observer: Observer, yield_ms: int) -> Observation:
        done = cell.observe(observer, yield_ms)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            cell.detach(observer)
            raise

    def _new_cell(self, number: int | None) -> Cell:
        if number is None or number <= self._last_number:
            number = self._last_number + 1
        self._last_number = number
        cell_id = str(number)
        hooks = CellHooks(
            commit=self.store.commit,
            call_tool=self.tools.call,
            cancel_tools=self.tools.cancel,
            notify=self._notify,
            event=self._event,
        )
        cell = Cell(cell_id, hooks, asyncio.get_running_loop())
        self._cells[cell_id] = cell
        return cell

    def _notify(self, cell: Cell, text: str) -> None:
        for listener in self.listeners:
            listener.notify(cell, text)

    def _event(self, cell: Cell, event: str) -> None:
        if event == "closed":  # its terminal outcome was delivered: the id is gone
            self._cells.pop(cell.cell_id, None)
        for listener in self.listeners:
            listener.cell_event(cell, event)


__all__ = ["CellInfo", "Observation", "ScriptError", "Session", "SessionConfig", "Store"]
