"""One cell's JavaScript run: the main script, host-driven timers, tool replies, limits, teardown.

A `CellRuntime` is the cell layer's handle on the V8 side. Its public methods are thread-safe (the
cell layer calls them from the kernel loop); everything else runs on the engine loop. Messages
from JavaScript reach the cell layer through the sink, in helper-call order, on whichever thread
produced them; timer messages are consumed here because timers are a runtime concern.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import defaults
from .isolate import Isolate, JSEvalException, Message, MessageSink
from .positions import SourceMap

if TYPE_CHECKING:
    from .engine import Engine

_HEAP_POLL_S = 0.05
_HOST = 'globalThis[Symbol.for("codemode.host")]'


@dataclass(frozen=True)
class Limits:
    """Per-cell resource ceilings (SPEC §9); names follow the reference's resource names."""

    heap_bytes: int = defaults.HEAP_BYTES
    pending_timers: int = defaults.PENDING_TIMERS
    output_bytes: int = defaults.OUTPUT_BYTES
    delegate_result_bytes: int = defaults.TOOL_RESULT_BYTES


def limit_error(resource: str, limit: int, observed: int) -> str:
    """The reference's resource-limit message, exactly."""
    return (
        "resource limit exceeded: code=resource_exhausted "
        f"resource={resource} limit={limit} observed={observed}"
    )


def failure(name: str, text: str, message: str | None = None) -> Message:
    """A `done` message for a failure the host detected (the JS never got to report it)."""
    error = {"name": name, "message": text if message is None else message, "text": text}
    return {"t": "done", "error": error, "result": None, "writes": {}}


_HEADER = f'{_HOST}.main(async function (__import) {{"use strict";'


def script_for(body: str, config: dict[str, Any]) -> str:
    """Wrap prepared user code so line N of the cell is line N of `cell.js`."""
    return f"{_HEADER}{body}\n}}, {json.dumps(json.dumps(config))});\n//# sourceURL=cell.js"


class CellRuntime:
    """The V8 side of one cell: runs once, reports a single `done`, then frees its isolate.

    "Over" is claimed exactly once, under a lock, by whoever ends the cell first: the script's
    own `done` (isolate thread), a limit breach or a compile error (engine loop), or a
    termination (any thread). Only the claimant reports, so the cell layer sees at most one
    `done`, and none after a termination.
    """

    def __init__(
        self,
        engine: Engine,
        sink: MessageSink,
        limits: Limits,
        insertions: tuple[tuple[int, int, int], ...] = (),
    ) -> None:
        self._engine = engine
        self._source_map = SourceMap(len(_HEADER), insertions)
        self._loop = engine.loop
        self._sink = sink
        self._limits = limits
        self._isolate: Isolate | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._output_bytes = 0
        #: Bytes of ArrayBuffers / typed arrays this cell has allocated (reported by the prelude).
        self.buffer_bytes = 0
        self._lock = threading.Lock()
        self._over = False
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()

    # -- thread-safe API for the cell layer ------------------------------------------------

    def resolve_tool(self, call_id: int, ok: bool, value: Any) -> None:
        """Settle `tools.x()` call `call_id`: resolve with `value`, or reject with the string."""
        self._loop.call_soon_threadsafe(self._resolve_tool, call_id, ok, value)

    def terminate(self) -> concurrent.futures.Future[None]:
        """Stop the cell now; the future completes once its isolate thread has really stopped."""
        self._claim()
        self._loop.call_soon_threadsafe(self._release)
        return self._stopped

    @property
    def stopped(self) -> concurrent.futures.Future[None]:
        """Completes when the isolate has been freed (after `done` or a termination)."""
        return self._stopped

    # -- engine loop -----------------------------------------------------------------------

    async def run(self, isolate: Isolate, script: str) -> None:
        if self._over:  # terminated before it started
            self._engine.discard(isolate, self._stopped)
            return
        self._isolate = isolate
        isolate.set_heap_limit(self._limits.heap_bytes)
        isolate.set_sink(self._on_message)
        self._loop.call_later(_HEAP_POLL_S, self._poll_heap)
        try:
            await isolate.eval(script)
        except JSEvalException as exc:
            self._fail_from_exception(exc)
        except asyncio.CancelledError:
            pass

    def _claim(self) -> bool:
        with self._lock:
            if self._over:
                return False
            self._over = True
            return True

    def _on_message(self, message: Message) -> None:
        """Runs on the isolate thread while JavaScript waits: keep it short."""
        if self._over:
            return
        kind = message.get("t")
        if kind == "buffers":
            self.buffer_bytes = int(message["bytes"])
        elif kind in ("timer", "clear_timer"):
            self._loop.call_soon_threadsafe(self._timer_message, message)
        elif kind == "done":
            if self._claim():
                error = message.get("error")
                if error is not None:
                    error["text"] = self._source_map.stack(str(error.get("text", "")))
                self._sink(message)
                self._loop.call_soon_threadsafe(self._release)
        else:
            if kind in ("text", "console", "image"):
                self._output_bytes += _size(message)
                if self._output_bytes > self._limits.output_bytes:
                    limit, observed = self._limits.output_bytes, self._output_bytes
                    self._loop.call_soon_threadsafe(
                        self._fail_limit, "output_bytes", limit, observed
                    )
                    return
            self._sink(message)

    def _timer_message(self, message: Message) -> None:
        if self._over:
            return
        timer_id = int(message["id"])
        if message["t"] == "clear_timer":
            handle = self._timers.pop(timer_id, None)
            if handle is not None:
                handle.cancel()
            return
        if len(self._timers) >= self._limits.pending_timers:
            self._fail_limit("pending_timers", self._limits.pending_timers, len(self._timers) + 1)
            return
        delay = max(0.0, float(message.get("delay", 0))) / 1000
        self._timers[timer_id] = self._loop.call_later(delay, self._fire, timer_id)

    def _fire(self, timer_id: int) -> None:
        if self._timers.pop(timer_id, None) is not None:
            self._send(f"{_HOST}.fire({timer_id})")

    def _resolve_tool(self, call_id: int, ok: bool, value: Any) -> None:
        payload = json.dumps(value)
        if len(payload) > self._limits.delegate_result_bytes:
            limit = self._limits.delegate_result_bytes
            self._fail_limit("delegate_result_bytes", limit, len(payload))
            return
        flag = "true" if ok else "false"
        self._send(f"{_HOST}.resolve({int(call_id)}, {flag}, {json.dumps(payload)})")

    def _send(self, source: str) -> None:
        """Queue a host → JS call; a JS error there surfaces as the cell's own `done`."""
        isolate = self._isolate
        if isolate is not None and not self._over:
            self._engine.spawn(_eval_quietly(isolate, source))

    def _poll_heap(self) -> None:
        if not self._over and self._isolate is not None and not self._heap_exceeded():
            self._loop.call_later(_HEAP_POLL_S, self._poll_heap)

    def _heap_exceeded(self) -> bool:
        """Fail the cell if V8 stopped it at the heap limit; says whether it did."""
        isolate = self._isolate
        if isolate is None or not isolate.heap_limit_reached():
            return False
        self._fail_limit("heap_bytes", self._limits.heap_bytes, self._limits.heap_bytes)
        return True

    def _fail_from_exception(self, exc: JSEvalException) -> None:
        """The main script itself failed (compile error, or killed for memory)."""
        if self._heap_exceeded():
            return
        message, text = self._source_map.parse_error(str(exc))
        name = "SyntaxError" if "SyntaxError" in text.split("\n", 1)[0] else "ScriptError"
        self._report(failure(name, text, message))

    def lost(self, text: str) -> None:
        """The runtime could not run the cell at all (no isolate): report it as a failure."""
        self._report(failure("ScriptError", text))

    def fail_memory(self, limit: int, observed: int) -> None:
        """The kernel process ran short of memory and this cell allocated the most buffers."""
        self._fail_limit("memory_bytes", limit, observed)

    def _fail_limit(self, resource: str, limit: int, observed: int) -> None:
        self._report(failure("ResourceLimitExceeded", limit_error(resource, limit, observed)))

    def _report(self, message: Message) -> None:
        if self._claim():
            self._sink(message)
            self._release()

    def _release(self) -> None:
        """Drop timers and free the isolate; pending tool calls simply never settle."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        isolate, self._isolate = self._isolate, None
        if isolate is not None:
            self._engine.discard(isolate, self._stopped)
        elif not self._stopped.done():
            # No isolate ran this cell's code (ended before it had one): nothing to wait for.
            self._stopped.set_result(None)


async def _eval_quietly(isolate: Isolate, source: str) -> None:
    with contextlib.suppress(JSEvalException, asyncio.CancelledError):
        await isolate.eval(source)


def _size(message: Message) -> int:
    text = message.get("text") or message.get("image_url") or ""
    return len(str(text).encode("utf-8", "replace"))
