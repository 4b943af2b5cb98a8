"""`CodeModeClient`: drive a codemode kernel from asyncio, with Python functions as its tools.

An agent loop calls `exec`/`wait`/`terminate` and hands `ExecResult.to_model_output()` to its
model, while the client answers the cells' nested tool calls by running Python callables
(docs/protocol.md has the comm it speaks). Everything goes over the plain Jupyter protocol, so
the same kernel also serves notebooks at the same time; how the messages travel is the
`Connection`'s business (`connection.py`).

The connection delivers every message to `Routes` (`routing.py`), which routes by parent msg_id:
shell replies to the request waiting for them, IOPub output to that request's collector, and
`codemode` comm messages back here, for the tool runner, the notification queue and the
callbacks. Requests may therefore be issued concurrently from several tasks; the kernel answers
each on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from ..protocol import COMM_TARGET, KERNEL_NAME
from ..tools import tools_from
from .callbacks import EventCallback, InputCallback, NotifyCallback, answer_input, call_now
from .connection import Channel, CodeModeClientError, Connection, Message, ZmqConnection
from .gateway import GatewayConnection
from .mcp import ClientMCP, ToolOrServer, split_tools
from .requests import exec_source, execute_content, terminate_cell, wait_cell
from .results import EMPTY_SOURCE_ERROR, ExecResult, Notification
from .routing import Routes
from .toolrunner import ToolLike, ToolRunner

__all__ = ["CodeModeClient", "CodeModeClientError", "ExecResult", "Notification"]

log = logging.getLogger("codemode_kernel.client")


class CodeModeClient:
    """An asyncio client for one codemode kernel; its tools answer the cells' `tools.x()` calls.

    Use `CodeModeClient.start(...)` (a new kernel, shut down at the end),
    `CodeModeClient.connect(connection_file, ...)` (an existing one, left running) or
    `CodeModeClient.connect_gateway(url, ...)` (a kernel behind a Jupyter Server or gateway), as
    `async with ... as client`, or call `await client.open()` / `await client.close()`.
    Any other transport comes in as a `Connection`: `CodeModeClient(connection, tools)`.
    """

    def __init__(
        self,
        connection: Connection,
        tools: Iterable[ToolOrServer] = (),
        *,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        on_input: InputCallback | None = None,
        register_timeout: float = 30.0,
    ) -> None:
        self.connection = connection
        plain, servers = split_tools(tools)
        self._runner = ToolRunner(plain)
        self._mcp = ClientMCP(servers)  # MCP servers: sessions run here, tools join ours
        self.on_notify = on_notify
        self.on_event = on_event
        self.on_input = on_input
        self.register_timeout = register_timeout
        #: Every `notify(...)` of every cell, in arrival order.
        self.notifications: asyncio.Queue[Notification] = asyncio.Queue()
        self.comm_id = uuid.uuid4().hex
        self._opened = False
        self._comm_open = False
        self._routes = Routes(self.comm_id, self._on_comm)
        self._background: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._dead: CodeModeClientError | None = None

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        tools: Iterable[ToolOrServer] = (),
        kernel_name: str = KERNEL_NAME,
        *,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        on_input: InputCallback | None = None,
        startup_timeout: float = 60.0,
        register_timeout: float = 30.0,
        **km_kwargs: Any,
    ) -> CodeModeClient:
        """A client for a new kernel of `kernel_name`, shut down when the client closes.

        `km_kwargs` go to `AsyncKernelManager.start_kernel` (e.g. `extra_arguments`, `env`,
        `cwd`), as with jupyter_client's `start_new_kernel`.
        """
        connection = ZmqConnection.start(kernel_name, startup_timeout, **km_kwargs)
        return cls(
            connection,
            tools,
            on_notify=on_notify,
            on_event=on_event,
            on_input=on_input,
            register_timeout=register_timeout,
        )

    @classmethod
    def connect(
        cls,
        connection_file: str,
        tools: Iterable[ToolOrServer] = (),
        *,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        on_input: InputCallback | None = None,
        startup_timeout: float = 60.0,
        register_timeout: float = 30.0,
    ) -> CodeModeClient:
        """A client for a running kernel; closing it leaves the kernel (and its cells) alive."""
        connection = ZmqConnection.attach(connection_file, startup_timeout)
        return cls(
            connection,
            tools,
            on_notify=on_notify,
            on_event=on_event,
            on_input=on_input,
            register_timeout=register_timeout,
        )

    @classmethod
    def connect_gateway(
        cls,
        url: str,
        *,
        token: str | None = None,
        kernel_id: str | None = None,
        kernel_name: str = KERNEL_NAME,
        tools: Iterable[ToolOrServer] = (),
        headers: dict[str, str] | None = None,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        on_input: InputCallback | None = None,
        startup_timeout: float = 60.0,
        register_timeout: float = 30.0,
    ) -> CodeModeClient:
        """A client for a kernel behind the Jupyter Server (or Kernel/Enterprise Gateway) at
        `url`: a new kernel of `kernel_name`, deleted when the client closes, or the running
        `kernel_id`, left running. `token` is the server's; `headers` go with every request."""
        connection = GatewayConnection(
            url,
            token=token,
            kernel_id=kernel_id,
            kernel_name=kernel_name,
            headers=headers,
            startup_timeout=startup_timeout,
        )
        return cls(
            connection,
            tools,
            on_notify=on_notify,
            on_event=on_event,
            on_input=on_input,
            register_timeout=register_timeout,
        )

    @property
    def kc(self) -> AsyncKernelClient | None:
        """jupyter_client's client, when the connection is the local ZMQ one."""
        return self.connection.kc if isinstance(self.connection, ZmqConnection) else None

    @property
    def km(self) -> AsyncKernelManager | None:
        """The kernel manager of a kernel this client started, else None."""
        return self.connection.km if isinstance(self.connection, ZmqConnection) else None

    async def __aenter__(self) -> CodeModeClient:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> CodeModeClient:
        """Connect, then open the `codemode` comm with our tools and wait until registered."""
        if self._opened or self._closed:
            raise RuntimeError("a CodeModeClient can be opened only once")
        self._opened = True
        mcp_tools = asyncio.ensure_future(self._mcp.open())  # while the kernel starts
        try:
            await self.connection.open()
            self._runner.add(await mcp_tools)
        except BaseException:
            mcp_tools.cancel()
            await self.close()
            raise
        self._reader = asyncio.create_task(self._read())
        try:
            data = {"tools": self._runner.definitions()}
            await self._comm_request(
                "comm_open", {**self._comm_data(data), "target_name": COMM_TARGET}
            )
            self._comm_open = True
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close the comm (the kernel forgets our tools), stop the channels, and shut down a
        kernel we started. Pending requests fail with CodeModeClientError."""
        if self._closed:
            return
        self._closed = True
        self._runner.cancel_all()
        for task in self._background:
            task.cancel()
        if self._comm_open and self._dead is None:
            self._comm_open = False
            self._post("comm_close", self._comm_data({}))
            # A reply to a later request shows the close was delivered before the sockets go.
            barrier = self._routes.shell_reply(self._post("kernel_info_request", {}))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(barrier, 2.0)
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        self._routes.fail(CodeModeClientError("the client was closed"))
        if self._opened:
            await self.connection.close()
        await self._mcp.close()

    # -- requests --------------------------------------------------------------------------

    async def exec(
        self,
        source: str,
        yield_time_ms: int | None = None,
        max_output_tokens: int | None = None,
    ) -> ExecResult:
        """Run a code-mode cell; returns at completion, yield, or the yield time.

        The options become the first-line `// @exec:` pragma; a source that already starts with
        one cannot take options too (ValueError), since the kernel would see two pragmas.
        """
        code = exec_source(source, yield_time_ms, max_output_tokens)
        if not code.strip():  # the reference's answer; the kernel would take it as a no-op
            return ExecResult.refused("ExecError", EMPTY_SOURCE_ERROR)
        return await self._execute(code, None)

    async def wait(
        self, cell_id: str | int, yield_time_ms: int | None = None, max_tokens: int | None = None
    ) -> ExecResult:
        """Observe a yielded cell again: its new output, or its completion (`%wait`)."""
        code = wait_cell(cell_id, yield_time_ms, max_tokens)
        return await self._execute(code, str(cell_id))

    async def terminate(self, cell_id: str | int) -> ExecResult:
        """Stop a cell; `Script terminated` with its undelivered output (`%terminate`)."""
        return await self._execute(terminate_cell(cell_id), str(cell_id))

    async def interrupt(self) -> None:
        """Interrupt the kernel: the cell an `exec` or `wait` is observing ends as terminated;
        cells running in the background go on."""
        self._require_open()
        await self.connection.interrupt()

    async def describe(self) -> dict[str, str]:
        """The exec and wait tool descriptions, with a declaration per registered tool."""
        data = await self._comm_request("comm_msg", self._comm_data({"type": "describe"}))
        return {"exec": str(data["exec"]), "wait": str(data["wait"])}

    async def register(self, tools: Iterable[ToolLike], replace: bool = False) -> list[str]:
        """Add tools (or, with `replace`, set ours) for cells started from now on."""
        new = tools_from(tools)
        payload: dict[str, Any] = {"type": "register_tools", "tools": [t.definition() for t in new]}
        payload["replace"] = replace
        data = await self._comm_request("comm_msg", self._comm_data(payload))
        self._runner.add(new, replace)
        return [str(name) for name in data.get("names", [])]

    async def _execute(self, code: str, cell_id: str | None) -> ExecResult:
        self._require_open()
        content = execute_content(code, allow_stdin=self.on_input is not None)
        started = time.monotonic()
        return await self._routes.result(self._post("execute_request", content), cell_id, started)

    # -- comm and shell plumbing -------------------------------------------------------------

    def _require_open(self) -> None:
        if self._dead is not None:
            raise self._dead
        if not self._opened or self._closed:
            raise CodeModeClientError("the client is not open; use `async with` or open()")

    def _post(self, msg_type: str, content: dict[str, Any]) -> str:
        """Send on shell; returns the msg_id that answers will be parented to.

        Nothing can arrive before the caller registers its waiter: delivery runs on this loop,
        and sending does not yield to it.
        """
        return self.connection.send(msg_type, content)

    def _comm_data(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"comm_id": self.comm_id, "data": data}

    async def _comm_request(self, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
        """Send on the comm and wait for the kernel's answer, which is parented to our message."""
        self._require_open()
        answer = self._routes.comm_answer(self._post(msg_type, content))
        try:
            return await asyncio.wait_for(answer, self.register_timeout)
        except asyncio.TimeoutError:
            raise CodeModeClientError(
                f"no answer on the `{COMM_TARGET}` comm within {self.register_timeout:g} s: "
                "is this a codemode kernel (kernelspec `codemode`, ipykernel >= 7.4)?"
            ) from None

    async def _read(self) -> None:
        """Route until the connection is lost; then every pending request fails with why, and
        the client goes on only if the transport reaches the same kernel again."""
        while True:
            try:
                error = await self.connection.run(self._route)
            except Exception as exc:  # a transport that breaks must not leave requests waiting
                log.exception("codemode client: the connection failed")
                error = CodeModeClientError(f"lost the connection to the kernel: {exc}")
            self._dead = error  # requests fail fast while the transport reconnects
            self._routes.fail(error)
            if self._closed or not await self._reconnected():
                return
            self._dead = None

    async def _reconnected(self) -> bool:
        try:
            return await self.connection.reconnect()
        except Exception:
            log.exception("codemode client: reconnecting failed")
            return False

    def _route(self, channel: Channel, msg: Message) -> None:
        try:
            if channel == "stdin":
                self._on_input_request(msg)
            else:
                self._routes.deliver(channel, msg)
        except Exception:  # one odd message must not stop all routing
            log.exception("codemode client: could not handle %s", msg.get("msg_type"))

    # -- kernel → client on the comm --------------------------------------------------------

    def _on_comm(self, msg_type: str, data: dict[str, Any], answered: bool) -> None:
        """News on our comm (`Routes` has already resolved the answers to our messages)."""
        if msg_type == "comm_close":
            self._comm_open = False
            self._routes.fail_comm(
                CodeModeClientError(
                    f"the kernel closed the `{COMM_TARGET}` comm (no such comm target): "
                    "is it a codemode kernel?"
                )
            )
            return
        kind = data.get("type")
        if self._runner.handle(data, self._answer):
            return
        if kind == "notify":
            cell_id, text = str(data.get("cell_id")), str(data.get("text"))
            self.notifications.put_nowait(Notification(cell_id, text))
            self._callback(self.on_notify, cell_id, text)
        elif kind == "cell_event":
            self._callback(self.on_event, str(data.get("cell_id")), str(data.get("event")))
        elif kind == "error" and not answered:
            log.warning("codemode kernel rejected a comm message: %s", data.get("message"))

    def _answer(self, reply: dict[str, Any]) -> None:
        """A tool's answer goes out while our comm is open; after close nobody wants it."""
        if self._comm_open:
            self._post("comm_msg", self._comm_data(reply))

    def _on_input_request(self, msg: Message) -> None:
        """A cell's `prompt()`: ask `on_input`, send its answer back on stdin."""
        if msg.get("msg_type") == "input_request" and self.on_input is not None:
            self._spawn(answer_input(self.on_input, msg, self.connection))

    def _callback(self, callback: Callable[[str, str], Any] | None, *args: str) -> None:
        later = None if callback is None else call_now(callback, *args)
        if later is not None:
            self._spawn(later)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
