"""CodeModeKernel: the Jupyter protocol adapter. Requests in, IOPub messages and replies out.

Everything about cells lives in the session; this class parses a request, calls the session on
the main shell loop, and turns the outcome into messages. Requests that arrive on other threads
(subshells, the control thread for interrupt and shutdown) hop to the main loop first, so the
session is only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import comm
import ipykernel.ipkernel  # noqa: F401 - wires comm.create_comm / get_comm_manager to the kernel
from ipykernel.kernelbase import Kernel
from traitlets import Float, Int, List, Unicode

from .. import __version__, defaults
from ..errors import CodeModeError
from ..output.messages import (
    MISSING,
    cells_output,
    error_output,
    result_output,
    status_output,
    status_update,
    store_output,
)
from ..output.unicode import well_formed, well_formed_text
from ..protocol import (
    KERNEL_NAME,
    METADATA_KEY,
    finished_line,
    running_line,
    status_display_id,
)
from ..runtime import Engine, Limits
from ..session.cell import Cell, Observation
from ..session.router import LocalTools, Toolbox
from ..session.session import Session, SessionConfig
from ..session.store import open_store
from ..source import (
    ExecRequest,
    ListCells,
    ShowStore,
    WaitRequest,
    completion_target,
    is_complete,
    parse_cell,
)
from ..tools import Tool, load_configured, load_entry_points
from .comms import CommHub
from .helpdocs import HELPERS, JS_GLOBALS, JS_KEYWORDS, MAGICS
from .publish import ProgressLine, Publisher, RequestObserver

T = TypeVar("T")


class CodeModeKernel(Kernel):
    """A kernel whose every execute_request is a code-mode cell (or a control cell)."""

    implementation = KERNEL_NAME
    implementation_version = __version__
    banner = "Code Mode (JavaScript): each cell runs in a fresh V8 isolate."

    # ipykernel sleeps this long before every execute_reply, to let stray prints flush; cells
    # write to IOPub directly, so the sleep only added 0.5 ms to every cell.
    _execute_sleep = Float(0.0).tag(config=True)

    yield_time_ms = Int(
        defaults.YIELD_TIME_MS, help="Default yield time of exec and wait, in ms."
    ).tag(config=True)
    max_output_tokens = Int(
        defaults.MAX_OUTPUT_TOKENS, help="Default output budget per observation."
    ).tag(config=True)
    heap_bytes = Int(defaults.HEAP_BYTES, help="V8 heap limit per cell.").tag(config=True)
    max_cells = Int(defaults.MAX_CELLS, help="Live cells at once.").tag(config=True)
    pending_timers = Int(defaults.PENDING_TIMERS, help="Pending setTimeout timers per cell.").tag(
        config=True
    )
    output_bytes = Int(defaults.OUTPUT_BYTES, help="Output bytes per cell.").tag(config=True)
    store_bytes = Int(defaults.STORE_BYTES, help="Committed store size.").tag(config=True)
    tool_result_bytes = Int(defaults.TOOL_RESULT_BYTES, help="Size of one tool result.").tag(
        config=True
    )
    prepared_isolates = Int(
        defaults.PREPARED_ISOLATES, help="Isolates kept ready ahead of need."
    ).tag(config=True)
    memory_guard_bytes = Int(
        0,
        help="Kernel RSS above which the cell that allocated the most ArrayBuffer/typed-array "
        "bytes fails (they live outside the V8 heap limit). 0: half the machine's memory.",
    ).tag(config=True)
    store_path = Unicode(
        "",
        help="SQLite file for a durable store (each commit one transaction, reloaded at start). "
        "Empty: the store lives in memory and a restart loses it.",
    ).tag(config=True)
    tools = List(
        Unicode(),
        help='Kernel-side tools as import paths, e.g. ["package.module:callable"]; entry points '
        "in the group `codemode_kernel.tools` are added too.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.engine = Engine(
            prepared=self.prepared_isolates,
            prepare_now=False,
            memory_guard=self.memory_guard_bytes or None,
        )
        limits = Limits(
            heap_bytes=self.heap_bytes,
            pending_timers=self.pending_timers,
            output_bytes=self.output_bytes,
            delegate_result_bytes=self.tool_result_bytes,
        )
        config = SessionConfig(self.yield_time_ms, limits, self.max_cells, self.store_bytes)
        self.toolbox = Toolbox()
        local = [*self._configured_tools(), *load_entry_points()]
        if local:
            LocalTools(self.toolbox, local)
        store = open_store(self.store_bytes, self.store_path or None)
        self.session_ = Session(self.engine, config, tools=self.toolbox, store=store)
        self.session_.listeners.append(self)
        self._main_loop = asyncio.get_event_loop()
        self._observing: dict[str, str] = {}  # request msg_id -> cell id it observes
        self._cell_publishers: dict[str, Publisher] = {}  # cell id -> its latest observer's
        self._interrupted: set[str] = set()  # cell ids terminated by a Jupyter interrupt
        self._yield_displays: dict[str, Publisher] = {}  # cell id -> where its status shows
        self._background: set[asyncio.Future[None]] = set()
        self.comm_manager = comm.get_comm_manager()
        for msg_type in ("comm_open", "comm_msg", "comm_close"):
            self.shell_handlers[msg_type] = getattr(self.comm_manager, msg_type)
        self.comms = CommHub(self.toolbox, self._publisher, self._publisher_of_cell)
        self.comms.register_with(self.comm_manager)

    def _configured_tools(self) -> list[Tool]:
        """`c.CodeModeKernel.tools`; a bad entry is logged and skipped, never fatal."""
        tools: list[Tool] = []
        for spec in self.tools:
            try:
                tools += load_configured([spec])
            except ValueError as exc:
                self.log.error("CodeModeKernel.tools: %s", exc)
        return tools

    @property
    def language_info(self) -> dict[str, Any]:  # type: ignore[override]
        """Asked for in kernel_info; V8's version is known once the engine has started V8."""
        return {
            "name": "javascript",
            "mimetype": "text/javascript",
            "file_extension": ".js",
            "codemirror_mode": "javascript",
            "pygments_lexer": "javascript",
            "version": "" if self.engine.v8_error is not None else self.engine.v8_version,
        }

    @property
    def kernel_info(self) -> dict[str, Any]:
        info: dict[str, Any] = super().kernel_info
        info["supported_features"] = [
            f for f in info.get("supported_features", []) if f != "debugger"
        ]
        error = self.engine.v8_error
        if error is not None:  # answer, and say why every cell will fail, instead of hanging
            info.update(status="error", ename="V8Unavailable", evalue=str(error))
            info["traceback"] = [str(error)]
        return info

    async def kernel_info_request(self, stream: Any, ident: Any, parent: Any) -> None:
        await super().kernel_info_request(stream, ident, parent)
        # Clients ask this first; prepare isolates after answering, not during start-up.
        self.engine.start_preparing()

    # -- execute ---------------------------------------------------------------------------

    def _publish_execute_input(self, code: str, parent: Any, execution_count: int) -> None:
        """ipykernel's echo of the source, which must pack even with a lone surrogate in it."""
        super()._publish_execute_input(well_formed_text(code), parent, execution_count)

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        publisher = self._publisher(self.get_parent())
        return await self._on_main_loop(self._execute(code, publisher))

    async def _execute(self, code: str, publisher: Publisher) -> dict[str, Any]:
        request = None
        try:
            request = parse_cell(code)
            if isinstance(request, (ExecRequest, WaitRequest)):
                return await self._observe(request, publisher)
            if isinstance(request, ListCells):
                rows = [(c.cell_id, c.state, c.age_s, c.buffered) for c in self.session_.cells()]
                publisher.send(cells_output(rows))
            elif isinstance(request, ShowStore):
                if request.clear:
                    self.session_.store.clear()
                publisher.send(store_output(None, dict(self.session_.store.values)))
            # An empty cell or a table: no cell was observed, and nothing failed.
            return self._reply("ok", metadata=_meta(None, "completed"))
        except CodeModeError as exc:
            # A request-level failure: the reference renders it as `Script failed` with the
            # message as the error text, so the reply metadata says the same.
            message = str(exc)
            cid = request.cell_id if isinstance(request, WaitRequest) else None
            meta = {**_meta(cid, "failed"), "error_text": message}
            # Jupyter front ends show only the traceback: let it name the error.
            return self._error(publisher, cid, meta, exc.ename, message, f"{exc.ename}: {message}")

    async def _observe(
        self, request: ExecRequest | WaitRequest, publisher: Publisher
    ) -> dict[str, Any]:
        budget = (
            request.max_output_tokens if isinstance(request, ExecRequest) else request.max_tokens
        )
        msg_id = publisher.parent["header"]["msg_id"]

        def attached(cell_id: str) -> None:
            self._observing[msg_id] = cell_id
            self._cell_publishers[cell_id] = publisher

        tokens = self.max_output_tokens if budget is None else budget
        observer = RequestObserver(publisher, tokens, attached)
        progress = ProgressLine(publisher, observer, self._running_tools)
        ticker = asyncio.ensure_future(progress.run())
        started = time.monotonic()
        try:
            if isinstance(request, ExecRequest):
                outcome = await self.session_.exec(request, observer)
            else:
                outcome = await self.session_.wait(request, observer)
        finally:
            self._observing.pop(msg_id, None)
            ticker.cancel()
        wall = time.monotonic() - started
        state = "still running" if outcome.status == "running" else outcome.status
        progress.finish(f"Cell {outcome.cell_id} {state} after {wall:.1f} s")
        return self._conclude(outcome, observer, publisher, wall)

    def _running_tools(self, cell_id: str) -> list[str]:
        try:
            cell = self.session_.get(cell_id)
        except CodeModeError:
            return []
        return [call.name for call in self.toolbox.running(cell)]

    def _conclude(
        self, outcome: Observation, observer: RequestObserver, publisher: Publisher, wall: float
    ) -> dict[str, Any]:
        cid = outcome.cell_id
        stats = observer.finish()
        meta = _meta(cid, outcome.status, wall, stats.as_dict())
        if outcome.stored:
            publisher.send(store_output(cid, outcome.stored))
        if outcome.status == "running":
            self._yield_displays[cid] = publisher
            text = running_line(cid)
            publisher.send(status_output(cid, text, status_display_id(cid)))
            return self._reply("ok", metadata=meta)
        self._finish_display(cid, outcome.status, collected=True)
        if outcome.result is not None:
            res = outcome.result
            value = res.json if res.has_json else MISSING
            publisher.send(result_output(cid, res.text, value, self.execution_count))
        if outcome.status == "terminated" and cid in self._interrupted:
            self._interrupted.discard(cid)
            text = "Script terminated"
            return self._error(
                publisher, cid, meta, "CellTerminated", text, f"CellTerminated: {text}"
            )
        if outcome.status == "terminated":
            text = f"Script terminated with cell ID {cid}"
            publisher.send(status_output(cid, text, status_display_id(cid)))
        if outcome.error is not None:
            err = outcome.error
            meta["error_text"] = err.text
            return self._error(publisher, cid, meta, err.name, err.message, err.text)
        return self._reply("ok", metadata=meta)

    def _error(
        self,
        publisher: Publisher,
        cid: str | None,
        meta: dict[str, Any],
        ename: str,
        evalue: str,
        error_text: str,
    ) -> dict[str, Any]:
        """Publish an `error` output and build the matching error reply."""
        msg_type, content = error_output(cid, ename, evalue, error_text)
        publisher.send((msg_type, content))
        return self._reply(
            "error", metadata=meta, ename=ename, evalue=evalue, traceback=content["traceback"]
        )

    def _reply(
        self, status: str, metadata: dict[str, Any] | None = None, **error: Any
    ) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "status": status,
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
        }
        if metadata is not None:
            reply["metadata"] = {METADATA_KEY: metadata}
        reply.update(error)
        # An error text may quote a cell's string, lone surrogates included: they must pack.
        return well_formed(reply) if error else reply

    def finish_metadata(self, parent: Any, metadata: Any, reply_content: Any) -> Any:
        """Move the codemode block from the reply content into the reply's metadata."""
        metadata = super().finish_metadata(parent, metadata, reply_content)
        extra = reply_content.pop("metadata", None)
        if extra:
            metadata.update(extra)
        return metadata

    # -- background news from the session (SessionListener) ---------------------------------

    def cell_event(self, cell: Cell, event: str) -> None:
        cid = cell.cell_id
        self.comms.broadcast(cid, {"type": "cell_event", "cell_id": cid, "event": event})
        if event == "closed":
            self._cell_publishers.pop(cid, None)
        observed = cid in self._observing.values()
        if event in ("completed", "failed") and cid in self._yield_displays and not observed:
            self._finish_display(cid, event, collected=False)

    def notify(self, cell: Cell, text: str) -> None:
        cid = cell.cell_id
        self.comms.broadcast(cid, {"type": "notify", "cell_id": cid, "text": text})

    def _finish_display(self, cid: str, status: str, *, collected: bool) -> None:
        publisher = self._yield_displays.get(cid)
        if publisher is None:
            return
        text = finished_line(status, cid, collected=collected)
        if collected:
            del self._yield_displays[cid]
        publisher.send(status_update(cid, text, status_display_id(cid)))

    # -- interrupt and shutdown (control thread) ------------------------------------------

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:
        """Terminate the cells that running requests observe; the kernel lives on."""
        self._main_loop.call_soon_threadsafe(self._interrupt)
        if self.session is not None:
            self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def _interrupt(self) -> None:
        for cid in set(self._observing.values()):
            try:
                cell = self.session_.get(cid)
            except CodeModeError:
                continue
            if not cell.terminating:
                self._interrupted.add(cid)
                task = asyncio.ensure_future(self._terminate_quietly(cid))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _terminate_quietly(self, cid: str) -> None:
        with contextlib.suppress(CodeModeError):
            await self.session_.terminate(cid)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(self.session_.shutdown(), self._main_loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), timeout=1.0)
        except Exception:  # a timeout included: shutdown must answer regardless
            self.log.warning("code mode session did not shut down cleanly within 1 s")
        return {"status": "ok", "restart": restart}

    async def shutdown_request(self, stream: Any, ident: Any, parent: Any) -> None:
        """ipykernel's shutdown, with the loops stopped only after this message is done.

        The base handler stops the main loop from inside the handler; the main thread then
        closes IOPub while the control thread still flushes and publishes `idle` for this very
        message, which stalls the exit for 10 s or forever (measured in half the shutdowns).
        Scheduling the stop on the control loop runs it after that tail.
        """
        if self.session is None:
            return
        content = await self.do_shutdown(parent["content"]["restart"])
        self.session.send(stream, "shutdown_reply", content, parent, ident=ident)
        self._shutdown_message = self.session.msg("shutdown_reply", content, parent)
        await self._at_shutdown()
        control_loop = self.control_stream.io_loop if self.control_stream else None

        def stop_loops() -> None:
            if control_loop is not None:
                control_loop.stop()
            self.io_loop.add_callback(self.io_loop.stop)
            if self.shell_stream and self.shell_stream.io_loop != self.io_loop:
                self.shell_stream.io_loop.add_callback(self.shell_stream.io_loop.stop)

        if control_loop is not None:
            control_loop.add_callback(stop_loops)
        else:
            stop_loops()

    # -- introspection ---------------------------------------------------------------------

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        obj, prefix, start = completion_target(code, cursor_pos)
        if obj == "tools":
            names = [t["global_name"] for t in self.toolbox.definitions()]
        elif obj is not None:
            names = []
        elif prefix.startswith("%"):
            names = list(MAGICS)
        else:
            names = [*HELPERS, *JS_GLOBALS, *JS_KEYWORDS]
        matches = sorted({n for n in names if n.startswith(prefix)})
        return {
            "status": "ok",
            "matches": matches,
            "cursor_start": start,
            "cursor_end": cursor_pos,
            "metadata": {},
        }

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        obj, prefix, start = completion_target(code, cursor_pos)
        end = start + len(prefix)
        while end < len(code) and (code[end].isalnum() or code[end] in "_$"):
            end += 1
        word = code[start:end]
        doc = HELPERS.get(word) if obj is None else None
        if obj is None and word.startswith("%"):
            doc = MAGICS.get(word)
        if obj == "tools":
            found = [t for t in self.toolbox.definitions() if t["global_name"] == word]
            doc = found[-1]["description"] if found else None
        if doc is None:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        return {"status": "ok", "found": True, "data": {"text/plain": doc}, "metadata": {}}

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        status, indent = is_complete(code)
        reply: dict[str, Any] = {"status": status}
        if status == "incomplete":
            reply["indent"] = indent
        return reply

    # -- plumbing --------------------------------------------------------------------------

    def _publisher(self, parent: dict[str, Any]) -> Publisher:
        return Publisher(self.session, self.iopub_socket, parent, f"kernel.{self.ident}")

    def _publisher_of_cell(self, cell_id: str) -> Publisher:
        """Where news of a cell goes: the request observing it, or the last one that did."""
        return self._cell_publishers.get(cell_id) or self._publisher(self.get_parent())

    async def _on_main_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the main shell loop (subshell requests arrive on their own threads)."""
        if asyncio.get_running_loop() is self._main_loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._main_loop))


def _meta(
    cell_id: str | None,
    status: str,
    wall_time_s: float = 0.0,
    output: dict[str, int] | None = None,
) -> dict[str, Any]:
    """`execute_reply.metadata.codemode` (SPEC §4), present on every reply."""
    return {
        "cell_id": cell_id,
        "status": status,
        "wall_time_s": round(wall_time_s, 3),
        "output": output or {"total_lines": 0, "truncated_tokens": 0, "omitted_text_items": 0},
    }
