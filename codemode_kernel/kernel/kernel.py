"""CodeModeKernel: the Jupyter protocol adapter. Requests in, IOPub messages and replies out.

Everything about cells lives in the session; this class parses a request, calls the session on
the main shell loop, and turns the outcome into messages. Requests that arrive on other threads
(subshells, the control thread for interrupt and shutdown) hop to the main loop first, so the
session is only ever touched from one thread.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import comm
import ipykernel.ipkernel  # noqa: F401 - wires comm.create_comm / get_comm_manager to the kernel
from ipykernel._version import kernel_protocol_version
from ipykernel.kernelbase import Kernel
from traitlets import Float

from .. import __version__
from ..output.unicode import well_formed_text
from ..protocol import KERNEL_NAME
from ..runtime import Engine, Limits
from ..session.router import Toolbox
from ..session.session import Session, SessionConfig
from ..session.store import open_store
from .activity import BackgroundBusy
from .comms import CommHub
from .displays import CellDisplays
from .execute import KERNEL_ERROR, ExecuteHandler, kernel_failed, kernel_failure
from .history import History
from .providers import register_local_tools, start_mcp_servers
from .publish import Publisher
from .settings import KernelSettings
from .stdin import StdinPrompter, StdinTarget

T = TypeVar("T")
ShellHandler = Callable[[Any, Any, Any], Awaitable[None]]


class CodeModeKernel(KernelSettings, Kernel):
    """A kernel whose every execute_request is a code-mode cell (or a control cell).

    Its options (`c.CodeModeKernel.…`) are declared in `settings.KernelSettings`."""

    implementation = KERNEL_NAME
    implementation_version = __version__
    banner = "Code Mode (JavaScript): each cell runs in a fresh V8 isolate."

    # ipykernel sleeps this long before every execute_reply, to let stray prints flush; cells
    # write to IOPub directly, so the sleep only added 0.5 ms to every cell.
    _execute_sleep = Float(0.0).tag(config=True)

    def __init__(self, user_ns: Any = None, **kwargs: Any) -> None:
        """`user_ns` is taken and ignored: Enterprise Gateway's Python launcher passes one to
        any kernel class, and cells have no Python namespace."""
        super().__init__(**kwargs)
        self.engine = Engine(
            prepared=self.prepared_isolates,
            prepare_now=False,
            memory_guard=self.memory_guard_bytes or None,
            heap_budget=self.heap_budget_bytes,
        )
        limits = Limits(
            heap_bytes=self.heap_bytes,
            pending_timers=self.pending_timers,
            output_bytes=self.output_bytes,
            delegate_result_bytes=self.tool_result_bytes,
        )
        config = SessionConfig(self.yield_time_ms, limits, self.max_cells, self.store_bytes)
        self.toolbox = Toolbox()
        self.history = History()
        register_local_tools(self.toolbox, self.tools, self.log)
        store = open_store(self.store_bytes, self.store_path or None)
        self.session_ = Session(self.engine, config, tools=self.toolbox, store=store)
        self._main_loop = asyncio.get_event_loop()
        self.mcp = start_mcp_servers(
            self.toolbox,
            self.mcp_servers,
            self.mcp_config,
            self.mcp_retry_seconds,
            self.log,
            self._main_loop,
        )
        self.displays = CellDisplays()
        self.executor = ExecuteHandler(
            self.session_, self.toolbox, self.displays, self.max_output_tokens
        )
        self.comm_manager = comm.get_comm_manager()
        for msg_type in ("comm_open", "comm_msg", "comm_close"):
            self.shell_handlers[msg_type] = self._hop_to_main_loop(
                getattr(self.comm_manager, msg_type)
            )
        self._stdin_targets: dict[str, StdinTarget] = {}  # request msg_id -> where to ask
        if self.stdin_socket is not None:
            StdinPrompter(self.toolbox, self.session, self.stdin_socket, self._stdin_target_of)
        self.comms = CommHub(self.toolbox, self._publisher, self._publisher_of_cell)
        self.comms.register_with(self.comm_manager)
        # Comms first: a cell's `closed` news still goes to its last observer's request.
        self.background = BackgroundBusy(self.displays, self._send_status)
        self.session_.listeners += [self.comms, self.displays, self.background]
        for msg_type, handler in self.shell_handlers.items():
            self.shell_handlers[msg_type] = self._guarded(msg_type, handler)
        self._background: set[asyncio.Future[None]] = set()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_sigterm)

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
        """ipykernel's kernel_info without "debugger" (cells are JavaScript in V8).

        Built here rather than by `super()`, whose first call imports ipykernel's debugger and
        with it debugpy (~120 ms, on the first kernel_info: a quarter of the start-up), only to
        offer the feature this kernel takes away again."""
        info: dict[str, Any] = {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": ["kernel subshells"] if self._supports_kernel_subshells else [],
        }
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
        if store_history and not silent and code.strip():
            self.history.append(self.execution_count, code)
        if self.mcp is not None:  # servers that are down are tried again (at most every 30 s)
            self._main_loop.call_soon_threadsafe(self.mcp.retry_due)
        parent = self.get_parent()
        publisher = self._publisher(parent)
        msg_id = parent["header"]["msg_id"]
        if allow_stdin and not silent:
            self._stdin_targets[msg_id] = StdinTarget(parent, self._parent_ident["shell"])
        run = self.executor.execute(code, publisher, self.execution_count, silent=silent)
        try:
            reply = await self._on_main_loop(run)
        finally:
            self._stdin_targets.pop(msg_id, None)
        if silent:  # a silent exec took the next free id: no later prompt number may repeat it
            self.execution_count = max(self.execution_count, self.session_.last_number)
        return reply

    def finish_metadata(self, parent: Any, metadata: Any, reply_content: Any) -> Any:
        """Move the codemode block from the reply content into the reply's metadata."""
        metadata = super().finish_metadata(parent, metadata, reply_content)
        extra = reply_content.pop("metadata", None)
        if extra:
            metadata.update(extra)
        return metadata

    # -- interrupt and shutdown (control thread) ------------------------------------------

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:
        """Terminate the cells that running requests observe; the kernel lives on."""
        self._main_loop.call_soon_threadsafe(self.executor.interrupt)
        if self.session is not None:
            self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def pre_handler_hook(self) -> None:
        """SIGINT during a request interrupts the observed cells, like an interrupt_request.

        ipykernel installs `default_int_handler` here, whose KeyboardInterrupt ends the asyncio
        loop and with it the kernel; the base `post_handler_hook` restores the saved handler.
        """
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self._main_loop.call_soon_threadsafe(self.executor.interrupt)

    def _publish_status(self, status: str, channel: str, parent: Any = None) -> None:
        super()._publish_status(status, channel, parent)
        if channel == "shell" and hasattr(self, "background"):
            self.background.shell_status(status)

    def _send_status(self, status: str, parent: dict[str, Any]) -> None:
        super()._publish_status(status, "shell", parent)

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        """A process manager asked the kernel to stop: end every cell, close the store, exit 0."""
        self._main_loop.call_soon_threadsafe(
            lambda: self._background.add(asyncio.ensure_future(self._exit_gracefully()))
        )

    async def _exit_gracefully(self) -> None:
        try:
            await asyncio.wait_for(self._shutdown_session(), timeout=1.0)
        except asyncio.TimeoutError:
            self.log.warning("SIGTERM: the code mode session did not shut down within 1 s")
        except Exception:
            self.log.exception("SIGTERM: the code mode session failed while shutting down")
        raise SystemExit(0)  # out of the event loop: the application ends as after a shutdown

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        future = asyncio.run_coroutine_threadsafe(self._shutdown_session(), self._main_loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(future), timeout=1.0)
        except asyncio.TimeoutError:  # shutdown must answer regardless
            self.log.warning("code mode session did not shut down within 1 s")
        except Exception:
            self.log.exception("code mode session failed while shutting down")
        return {"status": "ok", "restart": restart}

    async def _shutdown_session(self) -> None:
        """The cells and the MCP sessions end together, within the shutdown second."""
        closing = [] if self.mcp is None else [self.mcp.close()]
        await asyncio.gather(self.session_.shutdown(), *closing)

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

    # The introspection replies are imported on first use: start-up does not need them.

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        from .introspect import complete_reply

        return complete_reply(code, cursor_pos, self.toolbox.definitions())

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        from .introspect import inspect_reply

        return inspect_reply(code, cursor_pos, self.toolbox.definitions())

    async def do_history(
        self,
        hist_access_type: str,
        output: bool,
        raw: bool,
        session: int | None = None,
        start: int | None = None,
        stop: int | None = None,
        n: int | None = None,
        pattern: str | None = None,
        unique: bool = False,
    ) -> dict[str, Any]:
        return self.history.reply(
            hist_access_type, output, n, start, stop, pattern, unique, session
        )

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        from .introspect import is_complete_reply

        return is_complete_reply(code)

    # -- plumbing --------------------------------------------------------------------------

    def _publisher(self, parent: dict[str, Any]) -> Publisher:
        return Publisher(self.session, self.iopub_socket, parent, f"kernel.{self.ident}")

    def _stdin_target_of(self, cell_id: str) -> StdinTarget | None:
        """Where a `prompt()` of `cell_id` is asked: its observing request, if that allows stdin."""
        publisher = self.displays.publisher_of(cell_id)
        if publisher is None:
            return None
        return self._stdin_targets.get(publisher.parent["header"]["msg_id"])

    def _publisher_of_cell(self, cell_id: str) -> Publisher:
        """Where news of a cell goes: the request observing it, or the last one that did."""
        return self.displays.publisher_of(cell_id) or self._publisher(self.get_parent())

    def _guarded(self, msg_type: str, handler: Callable[[Any, Any, Any], Any]) -> ShellHandler:
        """`handler`, with a reply even when it raises: the error is logged with its traceback
        and answered with a `KernelError` reply, and the kernel goes on serving."""

        async def guarded(stream: Any, ident: Any, parent: Any) -> None:
            try:
                result = handler(stream, ident, parent)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.log.exception("%s failed; answering with an error reply", msg_type)
                if msg_type.endswith("_request") and self.session is not None:
                    self._reply_failed(stream, ident, parent, msg_type, exc)

        return guarded

    def _reply_failed(
        self, stream: Any, ident: Any, parent: Any, msg_type: str, exc: Exception
    ) -> None:
        reply_type = msg_type.removesuffix("_request") + "_reply"
        metadata = self.init_metadata(parent)
        if msg_type == "execute_request":
            content = kernel_failed(exc, self._publisher(parent), self.execution_count)
            metadata = self.finish_metadata(parent, metadata, content)
        else:
            evalue = kernel_failure(exc)
            content = {"status": "error", "ename": KERNEL_ERROR, "evalue": evalue, "traceback": []}
        assert self.session is not None
        self.session.send(stream, reply_type, content, parent, metadata=metadata, ident=ident)

    def _hop_to_main_loop(self, handler: Callable[[Any, Any, Any], None]) -> ShellHandler:
        """A shell handler that runs `handler` on the main loop, whatever thread it arrives on.

        ipykernel runs a message carrying a `subshell_id` on that subshell's thread, and
        JupyterLab >= 4.4 sends comm traffic on subshells; the comm hub and the toolbox it feeds
        are main-loop state, like the session.
        """

        async def on_main_loop(stream: Any, ident: Any, msg: Any) -> None:
            async def run() -> None:
                handler(stream, ident, msg)

            await self._on_main_loop(run())

        return on_main_loop

    async def _on_main_loop(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run on the main shell loop (subshell requests arrive on their own threads)."""
        if asyncio.get_running_loop() is self._main_loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._main_loop))
