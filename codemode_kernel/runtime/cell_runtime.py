"""One cell's JavaScript run: the main script, host-driven timers, tool replies, limits, teardown.

A `CellRuntime` is the cell layer's handle on the V8 side. Its public methods are thread-safe (the
cell layer calls them from the kernel loop); everything else runs on the engine loop. Events from
JavaScript (`protocol.py`) reach the cell layer through the sink, in helper-call order, on
whichever thread produced them; timer and buffer events are consumed here because they are a
runtime concern. Limits that a single event can breach (output bytes, pending timers) are decided
on the isolate thread as the event arrives, so nothing the script sends later can overtake them.
It needs only a `RuntimeHost` (the engine's loop and discard), not the engine itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .. import defaults
from .isolate import Isolate, JSEvalException
from .positions import SourceMap
from .protocol import (
    Buffers,
    ClearTimer,
    Console,
    Decoded,
    Done,
    Event,
    Image,
    Text,
    Timer,
    Undecodable,
    failure,
    fire_timer,
    main_header,
    main_script,
    resolve_call,
)

_HEAP_POLL_S = 0.05
_log = logging.getLogger(__name__)

#: Where a cell's events go (the cell layer's sink); called on any thread.
EventSink = Callable[[Event], None]


class RuntimeHost(Protocol):
    """What a `CellRuntime` needs from the engine that runs it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def discard(self, isolate: Isolate, stopped: concurrent.futures.Future[None]) -> None: ...


@dataclass(frozen=True)
class Limits:
    """Per-cell resource ceilings (docs/limits.md); names follow the reference's resource names."""

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


class CellRuntime:
    """The V8 side of one cell: runs once, reports a single `Done`, then frees its isolate.

    "Over" is claimed exactly once, under a lock, by whoever ends the cell first: the script's
    own `Done` (isolate thread), a limit breach or a compile error (engine loop), or a
    termination (any thread). Only the claimant reports, so the cell layer sees at most one
    `Done`, and none after a termination.
    """

    def __init__(
        self,
        host: RuntimeHost,
        sink: EventSink,
        limits: Limits,
        body: str,
        config: dict[str, Any],
        insertions: tuple[tuple[int, int, int], ...] = (),
    ) -> None:
        self._host = host
        self._script = main_script(body, config)
        self._source_map = SourceMap(len(main_header(body)), insertions, tuple(body.split("\n")))
        self._loop = host.loop
        self._sink = sink
        self._limits = limits
        self._isolate: Isolate | None = None
        self._timers: dict[int, asyncio.TimerHandle] = {}
        #: Timer ids set and not yet cleared or fired: counted on the isolate thread (under the
        #: lock), so the pending_timers limit is decided before anything the script sends next.
        self._armed: set[int] = set()
        self._output_bytes = 0
        #: Bytes of ArrayBuffers / typed arrays this cell has allocated (reported by the prelude).
        self.buffer_bytes = 0
        #: The heap limit in force: the cell's own, or its share of the kernel's budget.
        self._heap_limit = limits.heap_bytes
        self._buffer_bytes_seen = 0  # as of the memory guard's last look
        self._lock = threading.Lock()
        self._over = False
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()

    # -- thread-safe API for the cell layer ------------------------------------------------

    def resolve_tool(self, call_id: int, ok: bool, value: Any) -> None:
        """Settle `tools.x()` call `call_id`: resolve with `value`, or reject with the string.
        Queued on the isolate straight from the caller's thread."""
        try:
            payload = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            reason = f"tool result is not JSON the cell can read: {exc}"
            self._send(resolve_call(call_id, False, json.dumps(reason)))
            return
        limit = self._limits.delegate_result_bytes
        if len(payload) > limit:
            self._loop.call_soon_threadsafe(
                self._fail_limit, "delegate_result_bytes", limit, len(payload)
            )
            return
        self._send(resolve_call(call_id, ok, payload))

    def terminate(self) -> concurrent.futures.Future[None]:
        """Stop the cell now; the future completes once its isolate thread has really stopped."""
        self._claim()
        self._loop.call_soon_threadsafe(self._release)
        return self._stopped

    @property
    def stopped(self) -> concurrent.futures.Future[None]:
        """Completes when the isolate has been freed (after `Done` or a termination)."""
        return self._stopped

    def begin(self, isolate: Isolate) -> None:
        """Run the cell on `isolate`, which is this cell's alone. Any thread: the kernel starts a
        cell that finds a prepared isolate straight from its own loop, with no hop through the
        engine loop (which `watch` is then called on)."""
        if self._over:  # terminated before it started
            self._host.discard(isolate, self._stopped)
            return
        self._isolate = isolate
        isolate.set_heap_limit(self._heap_limit)
        isolate.set_sink(self._on_message)
        isolate.run_main(self._script, self._on_main_error)

    # -- engine loop -----------------------------------------------------------------------

    def watch(self) -> None:
        """Start polling the heap limit (engine loop, once, when the cell is launched)."""
        self._loop.call_later(_HEAP_POLL_S, self._poll_heap)

    def _on_main_error(self, exc: JSEvalException) -> None:
        """The main script failed (isolate thread): report it from the engine loop."""
        self._loop.call_soon_threadsafe(self._fail_from_exception, exc)

    def _claim(self) -> bool:
        with self._lock:
            if self._over:
                return False
            self._over = True
            return True

    def _on_message(self, message: Decoded) -> None:
        """Runs on the isolate thread while JavaScript waits: keep it short."""
        if self._over:
            return
        match message:
            case Buffers(bytes=total):
                self.buffer_bytes = total
            case Timer(timer_id=timer_id):
                with self._lock:
                    self._armed.add(timer_id)
                    armed = len(self._armed)
                limit = self._limits.pending_timers
                if armed > limit:
                    error = limit_error("pending_timers", limit, armed)
                    self._finish(failure("ResourceLimitExceeded", error))
                else:
                    self._loop.call_soon_threadsafe(self._timer_message, message)
            case ClearTimer(timer_id=timer_id):
                with self._lock:
                    self._armed.discard(timer_id)
                self._loop.call_soon_threadsafe(self._timer_message, message)
            case Done():
                if message.error is not None:
                    text = self._source_map.stack(message.error.text)
                    message = replace(message, error=replace(message.error, text=text))
                # The result and the error are output too: a breach fails the cell instead.
                if not self._output_exceeded(_done_size(message)):
                    self._finish(message)
            case Undecodable(reason=reason):
                text = f"exec runtime could not read a message from the cell: {reason}"
                self._finish(failure("ScriptError", text))
            case Text() | Console() | Image():
                if not self._output_exceeded(_size(message)):
                    self._sink(message)
            case _:
                self._sink(message)

    def _output_exceeded(self, size: int) -> bool:
        """Count `size` output bytes; past the limit, end the cell now (on this thread, so no
        `Done` of the script's own can overtake the breach) and say so."""
        self._output_bytes += size
        limit = self._limits.output_bytes
        if self._output_bytes <= limit:
            return False
        error = limit_error("output_bytes", limit, self._output_bytes)
        self._finish(failure("ResourceLimitExceeded", error))
        return True

    def _finish(self, done: Done) -> None:
        """Report the cell's end from the isolate thread; the isolate is freed whatever the
        sink does."""
        if not self._claim():
            return
        try:
            self._sink(done)
        finally:
            self._loop.call_soon_threadsafe(self._release)

    def _timer_message(self, message: Timer | ClearTimer) -> None:
        if self._over:
            return
        match message:
            case ClearTimer(timer_id=timer_id):
                handle = self._timers.pop(timer_id, None)
                if handle is not None:
                    handle.cancel()
            case Timer(timer_id=timer_id, delay_ms=delay_ms):
                delay = max(0.0, delay_ms) / 1000
                self._timers[timer_id] = self._loop.call_later(delay, self._fire, timer_id)

    def _fire(self, timer_id: int) -> None:
        with self._lock:
            self._armed.discard(timer_id)
        if self._timers.pop(timer_id, None) is not None:
            self._send(fire_timer(timer_id))

    def _send(self, source: str) -> None:
        """Queue a host → JS call (any thread); a JS error there surfaces as the cell's own
        `Done`, and a call that races the cell's end is dropped by the isolate."""
        isolate = self._isolate
        if isolate is not None and not self._over:
            isolate.post(source)

    def _poll_heap(self) -> None:
        if not self._over and not self._heap_exceeded():
            self._loop.call_later(_HEAP_POLL_S, self._poll_heap)

    def _heap_exceeded(self) -> bool:
        """Fail the cell if V8 stopped it at the heap limit; says whether it did."""
        isolate = self._isolate
        if isolate is None or not isolate.heap_limit_reached():
            return False
        self._fail_limit("heap_bytes", self._heap_limit, self._heap_limit)
        return True

    def _fail_from_exception(self, exc: JSEvalException) -> None:
        """The main script itself failed (compile error, or killed for memory)."""
        if self._heap_exceeded():
            return
        name, message, text = self._source_map.parse_error(str(exc))
        self._report(failure(name, text, message))

    def lost(self, text: str, name: str = "ScriptError") -> None:
        """The runtime could not run the cell at all (no isolate): report it as a failure."""
        self._report(failure(name, text))

    def limit_heap(self, share: int) -> None:
        """The kernel's heap budget allows this cell `share` bytes now (engine loop)."""
        limit = min(self._limits.heap_bytes, share)
        if limit != self._heap_limit:
            self._heap_limit = limit
            if self._isolate is not None and not self._over:
                self._isolate.set_heap_limit(limit)

    def buffer_growth(self) -> int:
        """Buffer bytes allocated since the last call (the memory guard's question)."""
        grown, self._buffer_bytes_seen = (
            self.buffer_bytes - self._buffer_bytes_seen,
            self.buffer_bytes,
        )
        return grown

    def fail_memory(self, limit: int, observed: int) -> None:
        """The kernel process ran short of memory and this cell allocated the most buffers."""
        self._fail_limit("memory_bytes", limit, observed)

    def _fail_limit(self, resource: str, limit: int, observed: int) -> None:
        self._report(failure("ResourceLimitExceeded", limit_error(resource, limit, observed)))

    def _report(self, done: Done) -> None:
        """Report the cell's end from the engine loop (same guarantee as `_finish`)."""
        if not self._claim():
            return
        try:
            self._sink(done)
        finally:
            self._release()

    def _release(self) -> None:
        """Drop timers and free the isolate; pending tool calls simply never settle."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        isolate, self._isolate = self._isolate, None
        if isolate is not None:
            self._host.discard(isolate, self._stopped)
        elif not self._stopped.done():
            # No isolate ran this cell's code (ended before it had one): nothing to wait for.
            self._stopped.set_result(None)


def _size(event: Text | Console | Image) -> int:
    text = event.image_url if isinstance(event, Image) else event.text
    return _utf8_len(text)


def _done_size(done: Done) -> int:
    """The bytes a cell's end shows: its result (text and JSON) or its error text."""
    size = 0
    if done.result is not None:
        size += _utf8_len(done.result.text)
        if done.result.has_json:
            size += len(json.dumps(done.result.json))
    if done.error is not None:
        size += _utf8_len(done.error.text)
    return size


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "replace"))
