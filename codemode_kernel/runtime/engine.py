"""The process-wide V8 engine: one loop thread that drives every isolate, and a pool of isolates
prepared ahead of need so a cell never waits for V8 start-up.

Each isolate has its own C++ thread, so cells' JavaScript runs in parallel; the engine loop only
shuffles messages, timers and teardown and never blocks on JavaScript (see `isolate.py`).
Blocking teardown (`mr_free_context` joins the isolate thread) runs on a small executor.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from .. import defaults
from .cell_runtime import CellRuntime, EventSink, Limits
from .isolate import Isolate, init_v8

_GUARD_EVERY_S = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")
_log = logging.getLogger(__name__)


class V8Unavailable(RuntimeError):
    """V8 could not be loaded or started, so no cell can run in this process. Its text is what
    every cell fails with (ename `V8Unavailable`) and what the kernel reports for kernel_info."""


def _process_rss() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _physical_memory() -> int:
    return int(os.sysconf("SC_PHYS_PAGES")) * _PAGE


class Engine:
    """Starts cell runtimes. Thread-safe; create one per process."""

    def __init__(
        self,
        prepared: int = 2,
        *,
        prepare_now: bool = True,
        memory_guard: int | None = None,
        heap_budget: int = defaults.HEAP_BUDGET_BYTES,
        init: Callable[[], Any] = init_v8,
    ) -> None:
        """`prepare_now=False` waits for `start_preparing()` (a kernel calls it once it has
        answered its first kernel_info, so preparing isolates does not slow its start-up).

        `init` loads and starts V8 and returns mini-racer's library handle; a test passes one
        that fails, to see the engine report `V8Unavailable` instead of dying silently.

        `memory_guard` is the process RSS above which the live cell that allocated the most
        buffer bytes is failed (default: half the machine's memory). V8's heap limit cannot
        see ArrayBuffers, so without it a typed-array loop would take the whole kernel down.

        `heap_budget` bounds the V8 heaps of all live cells together: each cell's heap limit is
        its own limit or an equal share of the budget, whichever is smaller, recomputed as cells
        start and end (V8 applies a lowered limit at the isolate's next garbage collection).
        """
        self._prepared = prepared
        self.memory_guard = memory_guard or _physical_memory() // 2
        self._live: set[CellRuntime] = set()
        self.heap_budget = heap_budget
        self._guarding = False
        self._prepare_now = prepare_now
        self._ready: deque[Isolate] = deque()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._filling = False
        self._closed = False
        self._reaper = concurrent.futures.ThreadPoolExecutor(2, "codemode-reaper")
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="codemode-engine", daemon=True)
        self._init = init
        self._v8_version = ""
        self._v8_error: V8Unavailable | None = None
        self._v8_started = threading.Event()
        self._thread.start()

    def _run_loop(self) -> None:
        # Loading and starting V8 takes ~35 ms: do it here, overlapping the kernel's own start-up.
        # If it fails the loop still runs, so every cell ends with the error instead of hanging.
        try:
            self._v8_version = self._init().mr_v8_version().decode()
        except Exception as exc:
            _log.exception("V8 could not start")
            self._v8_error = V8Unavailable(f"V8 could not start: {exc!r}")
            self._closed = True  # nothing to prepare
        finally:
            self._v8_started.set()
        asyncio.set_event_loop(self.loop)
        if self._prepare_now:
            self.loop.call_soon(self._refill)
        self.loop.run_forever()

    def start_preparing(self) -> None:
        """Fill the pool of prepared isolates now (thread-safe, idempotent)."""
        self.loop.call_soon_threadsafe(self._refill)

    @property
    def v8_version(self) -> str:
        """V8's version (waits for V8 to have started); raises `V8Unavailable` if it could not."""
        if self.v8_error is not None:
            raise self.v8_error
        return self._v8_version

    @property
    def v8_error(self) -> V8Unavailable | None:
        """Why V8 could not start, or None once it has (waits for the attempt)."""
        self._v8_started.wait()
        return self._v8_error

    # -- public, any thread -------------------------------------------------------------------

    def start_cell(
        self,
        body: str,
        config: dict[str, Any],
        sink: EventSink,
        limits: Limits,
        insertions: tuple[tuple[int, int, int], ...] = (),
    ) -> CellRuntime:
        """Run prepared cell code on a fresh isolate; events go to `sink` (any thread).

        `insertions` are what `source.prepare` added, so error positions can be mapped back."""
        runtime = CellRuntime(self, sink, limits, body, config, insertions)
        isolate = self._take_prepared()
        if isolate is not None:
            runtime.begin(isolate)  # on the caller's thread: no hop before V8 starts the cell
        self.loop.call_soon_threadsafe(self._launch, runtime, isolate is not None)
        return runtime

    def _take_prepared(self) -> Isolate | None:
        """A prepared isolate, or None (the pool is empty, or V8 failed). Any thread: the pool
        is a deque, whose appends (engine loop) and pops are atomic."""
        if self._v8_error is not None:
            return None
        try:
            return self._ready.popleft()
        except IndexError:
            return None

    def stop_preparing(self) -> None:
        """Prepare no more isolates (shutdown has begun; cells are being terminated)."""
        self._closed = True

    def shutdown(self, timeout: float = 1.0) -> None:
        """Free every prepared isolate and stop the loop (cells must be terminated first)."""
        if not self.loop.is_running():
            return
        self._closed = True

        async def drain() -> None:
            # Let isolates being created or freed finish, then free the prepared ones.
            busy = [t for t in self._tasks if t is not asyncio.current_task()]
            if busy:
                await asyncio.wait(busy, timeout=timeout / 2)
            while self._ready:
                await self._ready.popleft().aclose(self._free)

        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)

    # -- engine loop ---------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine on the engine loop, keeping a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def discard(self, isolate: Isolate, stopped: concurrent.futures.Future[None]) -> None:
        """Tear an isolate down in the background; `stopped` completes when it is gone."""

        async def close() -> None:
            try:
                await isolate.aclose(self._free)
            except Exception:
                _log.exception("freeing an isolate failed")
            finally:
                if not stopped.done():
                    stopped.set_result(None)
                self._refill()

        self.spawn(close())

    async def _free(self, fn: Callable[[], None]) -> None:
        await self.loop.run_in_executor(self._reaper, fn)

    def _launch(self, runtime: CellRuntime, begun: bool) -> None:
        self._live.add(runtime)
        self._share_heap()
        runtime.stopped.add_done_callback(
            lambda _: self.loop.call_soon_threadsafe(self._forget, runtime)
        )
        if not self._guarding:
            self._guarding = True
            self.loop.call_later(_GUARD_EVERY_S, self._guard_memory)
        runtime.watch()
        if not begun:
            self.spawn(self._start(runtime))

    def _forget(self, runtime: CellRuntime) -> None:
        self._live.discard(runtime)
        self._share_heap()

    def _share_heap(self) -> None:
        """Give every live cell at most an equal share of the kernel's heap budget."""
        share = self.heap_budget // max(1, len(self._live))
        for runtime in self._live:
            runtime.limit_heap(share)

    def _guard_memory(self) -> None:
        """While cells live: if the process is over its memory guard, fail the cell whose
        buffers grew the most since the last check (the one growing now, not one that merely
        holds a lot), or failing that the one that allocated the most (the heap limit already
        covers everything else)."""
        if not self._live:
            self._guarding = False
            return
        growth = {runtime: runtime.buffer_growth() for runtime in self._live}
        rss = _process_rss()
        if rss > self.memory_guard:
            culprit = max(self._live, key=lambda r: (growth[r], r.buffer_bytes))
            if culprit.buffer_bytes > 0:
                culprit.fail_memory(self.memory_guard, rss)
        self.loop.call_later(_GUARD_EVERY_S, self._guard_memory)

    async def _start(self, runtime: CellRuntime) -> None:
        """Start a cell that found no prepared isolate (or V8 unavailable)."""
        # The pool is topped up when a cell's isolate is freed, not here: creating an isolate
        # costs milliseconds of CPU that would compete with the cell that just started.
        if self._v8_error is not None:
            runtime.lost(str(self._v8_error), "V8Unavailable")
            return
        try:
            isolate = self._take_prepared()
            if isolate is None:
                self._refill()
                isolate = await self._new_isolate()
            runtime.begin(isolate)
        except Exception as exc:
            # No isolate, or a bug of ours: the cell must still end, never hang.
            _log.exception("cell runtime failed")
            runtime.lost(f"exec runtime ended unexpectedly: {exc!r}")

    async def _new_isolate(self) -> Isolate:
        isolate = await Isolate.create(self.loop, self._reaper)
        await isolate.install_prelude()
        return isolate

    def _refill(self) -> None:
        if not self._filling and not self._closed and len(self._ready) < self._prepared:
            self._filling = True
            self.spawn(self._fill())

    async def _fill(self) -> None:
        try:
            while not self._closed and len(self._ready) < self._prepared:
                isolate = await self._new_isolate()
                self._ready.append(isolate)
        except Exception:
            # A cell that finds the pool empty creates its own isolate and reports the error.
            _log.exception("preparing an isolate failed")
        finally:
            self._filling = False
