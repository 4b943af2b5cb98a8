"""One V8 isolate with the prelude installed: the only module that touches mini-racer.

mini-racer's public API makes synchronous calls into the isolate (proxies, `JSFunction.__call__`,
`await promise`), and each of those hangs forever when user JavaScript is stuck in a loop. So this
module talks to the library one level down and keeps two rules:

* **Host → JS** is only ever an asynchronous, cancelable eval (`eval_cancelable`): it queues
  behind running JavaScript instead of blocking a Python thread.
* **JS → host** goes through a typed-array *out-channel*. JavaScript writes a message into a
  `Uint16Array` and calls a host callback; that callback runs synchronously on the isolate's own
  thread while JavaScript is paused inside the call, so Python copies the message out with no
  isolate call at all. Output therefore arrives live even from `text(1); while (true) {}`.

Closing frees the context, which stops any JavaScript (including runaway microtasks) and joins the
isolate thread; because no Python thread is ever parked inside a synchronous isolate call, that
join cannot deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from itertools import count
from typing import Any

import py_mini_racer._mini_racer as _mini_racer
from py_mini_racer import JSEvalException, JSParseException
from py_mini_racer._context import Context, ContextType
from py_mini_racer._dll import DEFAULT_V8_FLAGS, init_mini_racer, mr_callback_func
from py_mini_racer._objects import _ERRORS, ObjectFactoryImpl

from .prelude import PRELUDE
from .protocol import BIND_HOST, Decoded, decode

# mini-racer's own setTimeout polyfill is broken for 0/negative/missing delays and installs
# non-deletable globals; the prelude brings host-driven timers instead.
_mini_racer.INSTALL_SET_TIMEOUT = "0"  # type: ignore[attr-defined]

#: Callback ids of the out-channel, of the cell's main script and of the host's later calls into
#: it. mini-racer numbers its own callbacks from 1, so the Context below is given a counter that
#: starts after these.
_CHANNEL_ID = 1
_MAIN_ID = 2
_POSTED_ID = 3
_HEADER = 4  # UTF-16 units before the payload: length low, length high, last-chunk flag, unused

#: V8 flags for the process. `--no-lazy` compiles functions when their script is compiled: every
#: cell is a fresh isolate, so lazily compiled prelude helpers would be compiled again on first use
#: in every cell (measured: 0.97 ms → 0.50 ms per trivial cell, +0.8 ms per prepared isolate).
#: `--no-memory-protection-keys`: on CPUs with PKU, V8 guards code memory with a protection key
#: whose rights live in each thread's PKRU register; isolates here are created, run and freed on
#: different threads, and the first cell after the pool was filled died with SIGSEGV (a PK fault
#: in libmini_racer.so). Code pages stay W^X through mprotect instead.
V8_FLAGS = (*DEFAULT_V8_FLAGS, "--no-lazy", "--no-memory-protection-keys")

#: Where decoded out-channel messages go; called on the isolate's thread.
MessageSink = Callable[[Decoded], None]
#: Where the main script's own failure (compile error, termination) goes; isolate thread.
ErrorSink = Callable[[JSEvalException], None]

__all__ = ["ErrorSink", "Isolate", "JSEvalException", "JSParseException", "MessageSink"]

_log = logging.getLogger(__name__)


_init_lock = threading.Lock()


def init_v8() -> Any:
    """Load and initialize V8 once per process, with our flags (first caller wins)."""
    with _init_lock:
        return init_mini_racer(flags=V8_FLAGS, ignore_duplicate_init=True)


def preload_v8() -> None:
    """Start loading V8 (a 74 MB library) in the background, to overlap other start-up work."""
    threading.Thread(target=_preload, name="codemode-v8-load", daemon=True).start()


def _preload() -> None:
    try:
        init_v8()
    except Exception:
        # The engine tries again and reports the failure (V8Unavailable) to every cell.
        _log.debug("preloading V8 failed", exc_info=True)


class Isolate:
    """A fresh isolate, ready to run one cell. Create, prepare and close it on the engine's loop;
    `run_main` and `post` may be called from any thread."""

    def __init__(self) -> None:
        """Do not call directly: use `create`, which starts the isolate off the loop."""
        self._dll = init_v8()
        self._sink: MessageSink | None = None
        self._on_main_error: ErrorSink | None = None
        self._closed = False
        self._lock = threading.Lock()  # no eval is queued once closing has begun
        self._chunks: list[str] = []
        self._channel: memoryview | None = None
        # Keep the ctypes callback alive as long as the context: V8 calls it from its thread.
        self._callback = mr_callback_func(self._on_callback)  # type: ignore[arg-type]
        self._ctx_id = 0
        self._context: Context  # set by `create`
        self._keep: list[object] = []
        self._pending: set[asyncio.Future[Any]] = set()

    @classmethod
    async def create(cls, loop: asyncio.AbstractEventLoop, executor: Executor) -> Isolate:
        """A new isolate; starting V8's isolate and thread blocks, so it runs on `executor`."""
        isolate = cls()
        isolate._ctx_id = await loop.run_in_executor(
            executor, isolate._dll.mr_init_context, isolate._callback
        )
        ids = count(_POSTED_ID + 1)
        ctx = ContextType(isolate._ctx_id)
        isolate._context = Context(isolate._dll, ctx, loop, ObjectFactoryImpl(), ids)
        return isolate

    async def install_prelude(self) -> None:
        """Run the prelude, bind the host's handle on it and map its out-channel buffer
        (before any user code exists)."""
        setup = await self._context.eval_cancelable(PRELUDE)
        raw = self._dll.mr_make_js_callback(self._ctx_id, _CHANNEL_ID)
        notify = self._context._value_handle_to_python(self._context._wrap_raw_handle(raw))
        buffer = await self._context.call_function_cancelable(setup, notify)  # type: ignore[arg-type]
        assert isinstance(buffer, memoryview)
        await self._context.eval_cancelable(BIND_HOST)
        self._channel = buffer.cast("B") if buffer.format != "B" else buffer
        self._keep = [setup, notify, buffer]

    def set_sink(self, sink: MessageSink) -> None:
        """Where messages from JavaScript go. Called on the isolate's thread: must not block."""
        self._sink = sink

    def set_heap_limit(self, limit_bytes: int) -> None:
        self._dll.mr_set_hard_memory_limit(self._ctx_id, limit_bytes)

    def heap_limit_reached(self) -> bool:
        return bool(self._dll.mr_hard_memory_limit_reached(self._ctx_id))

    def run_main(self, source: str, on_error: ErrorSink) -> None:
        """Start the cell's main script.

        Like `post`, it only queues the eval, and its completion is handled on the isolate's
        thread without waking any event loop: the cell reports its own end over the
        out-channel, so only a failure of the script itself (a compile error, or V8 stopping
        it) is passed on, to `on_error`.
        """
        self._on_main_error = on_error
        self._queue(source, _MAIN_ID)

    def post(self, source: str) -> None:
        """Queue a host → JS call (a tool result, a timer) from any thread. Its own outcome is
        ignored: a JS error there surfaces as the cell's `Done`. Dropped once closing began."""
        self._queue(source, _POSTED_ID)

    def _queue(self, source: str, callback_id: int) -> None:
        with self._lock:
            if self._closed:
                return
            code = self._context._python_to_value_handle(source)
            # The queued task holds its own reference to the code, so the handle may go now.
            self._dll.mr_eval(self._ctx_id, code.raw, callback_id)
            del code

    async def eval(self, source: str) -> Any:
        """Queue `source` on the isolate; raises JSEvalException subclasses for JS errors."""
        task = asyncio.ensure_future(self._context.eval_cancelable(source))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await task

    async def aclose(self, free: Callable[[Callable[[], None]], Awaitable[None]]) -> None:
        """Free the isolate: stop all JavaScript and join its thread. Idempotent.

        Evals still queued are cancelled first (their cleanup touches the context), then `free`
        runs the blocking teardown somewhere that is not the engine loop.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._sink = None
        pending = list(self._pending)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._keep.clear()
        await free(self._free_context)

    def _free_context(self) -> None:
        self._dll.mr_free_context(self._ctx_id)
        self._channel = None

    # -- the out-channel ------------------------------------------------------------------

    def _completed(self, callback_id: int, raw: Any) -> None:
        """A queued eval ended (isolate thread): pass on the main script's failure, if any."""
        handle = self._context._wrap_raw_handle(raw)  # freed when dropped
        on_error = self._on_main_error if callback_id == _MAIN_ID else None
        if raw.contents.type not in _ERRORS or on_error is None:
            return
        try:
            self._context._value_handle_to_python(handle)  # reads the error out of the handle
        except JSEvalException as exc:
            on_error(exc)

    def _on_callback(self, callback_id: int, raw: Any) -> None:
        """Every callback from V8, on the isolate's thread. Must return quickly and never raise."""
        if self._closed:
            return  # late completions after close: the context they point into is gone
        if callback_id in (_MAIN_ID, _POSTED_ID):
            self._completed(callback_id, raw)
            return
        if callback_id != _CHANNEL_ID:
            self._context.handle_callback_from_v8(callback_id, raw)
            return
        self._dll.mr_free_value(self._ctx_id, raw)
        channel = self._channel
        if channel is None:
            return
        length = channel[0] | channel[1] << 8 | channel[2] << 16 | channel[3] << 24
        last = channel[4]
        start = 2 * _HEADER
        self._chunks.append(
            bytes(channel[start : start + 2 * length]).decode("utf-16-le", "replace")
        )
        if not last:
            return
        text = "".join(self._chunks)
        self._chunks.clear()
        sink = self._sink
        if sink is None:
            return
        try:
            sink(decode(text))
        except Exception:
            # Raising into V8's callback would crash the process; the runtime's own sink
            # releases its cell before anything can raise here, so this is a bug to log.
            _log.exception("out-channel sink failed")
