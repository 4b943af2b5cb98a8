"""`CodeModeClient`: drive a codemode kernel from asyncio, with Python functions as its tools.

This is the program-facing side of SPEC §8: an agent loop calls `exec`/`wait`/`terminate` and
hands `ExecResult.to_model_output()` to its model, while the client answers the cells' nested
tool calls by running Python callables. Everything goes over the plain Jupyter protocol
(`jupyter_client`), so the same kernel also serves notebooks at the same time.

Two background tasks read the kernel's sockets and route by parent msg_id: shell replies to the
request waiting for them, IOPub output to that request's collector, and `codemode` comm messages
to the tool runner, the notification queue and the callbacks. Requests may therefore be issued
concurrently from several tasks; the kernel answers each on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import queue
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from ..protocol import COMM_TARGET, EXEC_PRAGMA, KERNEL_NAME
from ..tools import Tool, tools_from
from .mcp import ClientMCP, ToolOrServer, split_tools
from .results import EMPTY_SOURCE_ERROR, ExecResult, Notification, OutputCollector

__all__ = ["CodeModeClient", "CodeModeClientError", "ExecResult", "Notification"]

log = logging.getLogger("codemode_kernel.client")

ToolLike = Tool | Callable[..., Any]
NotifyCallback = Callable[[str, str], Any]  # (cell_id, text); may return an awaitable
EventCallback = Callable[[str, str], Any]  # (cell_id, event)
Opener = Callable[[], Awaitable[tuple[AsyncKernelClient, AsyncKernelManager | None]]]


class CodeModeClientError(RuntimeError):
    """The kernel did not behave like a codemode kernel: no comm, no answer, or it died."""


@dataclass
class _Request:
    """An execute_request in flight: done once its reply and its `status: idle` both arrived."""

    collector: OutputCollector
    started: float
    done: asyncio.Future[ExecResult]
    reply: dict[str, Any] | None = None
    idle: bool = False


class CodeModeClient:
    """An asyncio client for one codemode kernel; its tools answer the cells' `tools.x()` calls.

    Use `CodeModeClient.start(...)` (a new kernel, shut down at the end) or
    `CodeModeClient.connect(connection_file, ...)` (an existing one, left running), as
    `async with ... as client`, or call `await client.open()` / `await client.close()`.
    """

    def __init__(
        self,
        opener: Opener,
        tools: Iterable[ToolOrServer] = (),
        *,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        register_timeout: float = 30.0,
    ) -> None:
        self._opener = opener
        plain, servers = split_tools(tools)
        self._tools = {tool.name: tool for tool in tools_from(plain)}
        self._mcp = ClientMCP(servers)  # MCP servers: sessions run here, tools join ours
        self.on_notify = on_notify
        self.on_event = on_event
        self.register_timeout = register_timeout
        #: Every `notify(...)` of every cell, in arrival order.
        self.notifications: asyncio.Queue[Notification] = asyncio.Queue()
        self.kc: AsyncKernelClient | None = None
        self.km: AsyncKernelManager | None = None
        self.comm_id = uuid.uuid4().hex
        self._comm_open = False
        self._requests: dict[str, _Request] = {}
        # Answers by the msg_id they are parented to: comm answers (IOPub), other replies (shell).
        self._comm_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._shell_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tool_tasks: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._readers: list[asyncio.Task[None]] = []
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
        startup_timeout: float = 60.0,
        register_timeout: float = 30.0,
        **km_kwargs: Any,
    ) -> CodeModeClient:
        """A client for a new kernel of `kernel_name`, shut down when the client closes.

        `km_kwargs` go to `AsyncKernelManager.start_kernel` (e.g. `extra_arguments`, `env`,
        `cwd`), as with jupyter_client's `start_new_kernel`.
        """

        async def opener() -> tuple[AsyncKernelClient, AsyncKernelManager | None]:
            km = AsyncKernelManager(kernel_name=kernel_name)
            await km.start_kernel(**km_kwargs)
            return await _ready(km.client(), startup_timeout, km), km

        options = {"on_notify": on_notify, "on_event": on_event}
        return cls(opener, tools, register_timeout=register_timeout, **options)

    @classmethod
    def connect(
        cls,
        connection_file: str,
        tools: Iterable[ToolOrServer] = (),
        *,
        on_notify: NotifyCallback | None = None,
        on_event: EventCallback | None = None,
        startup_timeout: float = 60.0,
        register_timeout: float = 30.0,
    ) -> CodeModeClient:
        """A client for a running kernel; closing it leaves the kernel (and its cells) alive."""

        async def opener() -> tuple[AsyncKernelClient, AsyncKernelManager | None]:
            kc = AsyncKernelClient()
            kc.load_connection_file(connection_file)
            return await _ready(kc, startup_timeout), None

        options = {"on_notify": on_notify, "on_event": on_event}
        return cls(opener, tools, register_timeout=register_timeout, **options)

    async def __aenter__(self) -> CodeModeClient:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> CodeModeClient:
        """Connect, then open the `codemode` comm with our tools and wait until registered."""
        if self.kc is not None or self._closed:
            raise RuntimeError("a CodeModeClient can be opened only once")
        mcp_tools = asyncio.ensure_future(self._mcp.open())  # while the kernel starts
        try:
            self.kc, self.km = await self._opener()
            self._tools.update({tool.name: tool for tool in await mcp_tools})
        except BaseException:
            mcp_tools.cancel()
            await self.close()
            raise
        self._readers = [
            asyncio.create_task(self._read_shell(self.kc)),
            asyncio.create_task(self._read_iopub(self.kc)),
        ]
        try:
            definitions = [tool.definition() for tool in self._tools.values()]
            data = {"tools": definitions}
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
        for task in [*self._tool_tasks.values(), *self._background]:
            task.cancel()
        if self.kc is not None and self._comm_open and self._dead is None:
            self._comm_open = False
            self._post("comm_close", self._comm_data({}))
            # A reply to a later request shows the close was delivered before the sockets go.
            barrier = self._expect(self._shell_waiters, self._post("kernel_info_request", {}))
            with contextlib.suppress(Exception):
                await asyncio.wait_for(barrier, 2.0)
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        self._fail_pending(CodeModeClientError("the client was closed"))
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            await self.km.shutdown_kernel()
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
        options = {"yield_time_ms": yield_time_ms, "max_output_tokens": max_output_tokens}
        given = {key: value for key, value in options.items() if value is not None}
        if given:
            if source.split("\n", 1)[0].lstrip().startswith(EXEC_PRAGMA):
                raise ValueError("the source already starts with a `// @exec:` pragma")
            source = f"{EXEC_PRAGMA} {json.dumps(given)}\n{source}"
        elif not source.strip():  # the reference's answer; the kernel would take it as a no-op
            return ExecResult.refused("ExecError", EMPTY_SOURCE_ERROR)
        return await self._execute(source, None)

    async def wait(
        self, cell_id: str | int, yield_time_ms: int | None = None, max_tokens: int | None = None
    ) -> ExecResult:
        """Observe a yielded cell again: its new output, or its completion (`%wait`)."""
        options = {"--yield-time-ms": yield_time_ms, "--max-tokens": max_tokens}
        code = f"%wait {_cell_arg(cell_id)}"
        code += "".join(f" {name} {value}" for name, value in options.items() if value is not None)
        return await self._execute(code, str(cell_id))

    async def terminate(self, cell_id: str | int) -> ExecResult:
        """Stop a cell; `Script terminated` with its undelivered output (`%terminate`)."""
        return await self._execute(f"%terminate {_cell_arg(cell_id)}", str(cell_id))

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
        if replace:
            self._tools.clear()
        self._tools.update({tool.name: tool for tool in new})
        return [str(name) for name in data.get("names", [])]

    async def _execute(self, code: str, cell_id: str | None) -> ExecResult:
        self._require_open()
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            # ipykernel aborts the queued requests after an error unless told not to, and
            # ours come from independent tasks.
            "stop_on_error": False,
        }
        started = time.monotonic()
        msg_id = self._post("execute_request", content)
        done: asyncio.Future[ExecResult] = asyncio.get_running_loop().create_future()
        self._requests[msg_id] = _Request(OutputCollector(cell_id), started, done)
        try:
            return await done
        finally:
            self._requests.pop(msg_id, None)

    # -- comm and shell plumbing -------------------------------------------------------------

    def _require_open(self) -> None:
        if self._dead is not None:
            raise self._dead
        if self.kc is None or self._closed:
            raise CodeModeClientError("the client is not open; use `async with` or open()")

    def _post(self, msg_type: str, content: dict[str, Any]) -> str:
        """Send on shell; returns the msg_id that answers will be parented to.

        Nothing can arrive before the caller registers its waiter: the readers run on this
        loop, and sending does not yield to it.
        """
        assert self.kc is not None
        msg = self.kc.session.msg(msg_type, content)
        self.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    @staticmethod
    def _expect(
        waiters: dict[str, asyncio.Future[dict[str, Any]]], msg_id: str
    ) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiters[msg_id] = future
        future.add_done_callback(lambda _: waiters.pop(msg_id, None))
        return future

    def _comm_data(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"comm_id": self.comm_id, "data": data}

    async def _comm_request(self, msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
        """Send on the comm and wait for the kernel's answer, which is parented to our message."""
        self._require_open()
        answer = self._expect(self._comm_waiters, self._post(msg_type, content))
        try:
            return await asyncio.wait_for(answer, self.register_timeout)
        except asyncio.TimeoutError:
            raise CodeModeClientError(
                f"no answer on the `{COMM_TARGET}` comm within {self.register_timeout:g} s: "
                "is this a codemode kernel (kernelspec `codemode`, ipykernel >= 7.4)?"
            ) from None

    async def _read_shell(self, kc: AsyncKernelClient) -> None:
        """Route replies; with no traffic, check once a second that the kernel still lives."""
        while True:
            try:
                msg = await kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not await kc.is_alive():
                    self._dead = CodeModeClientError("the kernel died")
                    self._fail_pending(self._dead)
                    return
                continue
            parent = msg["parent_header"].get("msg_id")
            waiter = self._shell_waiters.get(parent)
            if waiter is not None and not waiter.done():
                waiter.set_result(msg)
            request = self._requests.get(parent)
            if request is not None:
                request.reply = msg
                self._maybe_done(request)

    async def _read_iopub(self, kc: AsyncKernelClient) -> None:
        while True:
            try:
                msg = await kc.get_iopub_msg()
            except Exception as exc:  # the socket is gone: nothing more will arrive
                self._dead = CodeModeClientError(f"lost the kernel's IOPub channel: {exc}")
                self._fail_pending(self._dead)
                return
            try:
                self._on_iopub(msg)
            except Exception:  # one odd message must not stop all routing
                log.exception("codemode client: could not handle %s", msg.get("msg_type"))

    def _on_iopub(self, msg: dict[str, Any]) -> None:
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type.startswith("comm_") and content.get("comm_id") == self.comm_id:
            self._on_comm(msg_type, content.get("data") or {}, msg["parent_header"])
            return
        request = self._requests.get(msg["parent_header"].get("msg_id"))
        if request is None:
            return
        if msg_type == "status":
            request.idle = content.get("execution_state") == "idle"
            self._maybe_done(request)
        else:
            request.collector.feed(msg)

    def _maybe_done(self, request: _Request) -> None:
        if request.reply is None or not request.idle or request.done.done():
            return
        wall = time.monotonic() - request.started
        request.done.set_result(request.collector.finish(request.reply, wall))

    def _fail_pending(self, error: Exception) -> None:
        futures: list[asyncio.Future[Any]] = [
            *(r.done for r in self._requests.values()),
            *self._comm_waiters.values(),
            *self._shell_waiters.values(),
        ]
        for future in futures:
            if not future.done():
                future.set_exception(error)

    # -- kernel → client on the comm --------------------------------------------------------

    def _on_comm(self, msg_type: str, data: dict[str, Any], parent: dict[str, Any]) -> None:
        if msg_type == "comm_close":
            self._comm_open = False
            error = CodeModeClientError(
                f"the kernel closed the `{COMM_TARGET}` comm (no such comm target): "
                "is it a codemode kernel?"
            )
            for future in self._comm_waiters.values():
                if not future.done():
                    future.set_exception(error)
            return
        kind = data.get("type")
        waiter = self._comm_waiters.get(parent.get("msg_id", ""))
        if waiter is not None and not waiter.done():
            if kind == "error":
                waiter.set_exception(CodeModeClientError(str(data.get("message"))))
            else:
                waiter.set_result(data)
        if kind == "tool_call":
            self._start_call(data)
        elif kind == "tool_cancel":
            task = self._tool_tasks.pop(str(data.get("call_id")), None)
            if task is not None:
                task.cancel()
        elif kind == "notify":
            cell_id, text = str(data.get("cell_id")), str(data.get("text"))
            self.notifications.put_nowait(Notification(cell_id, text))
            self._callback(self.on_notify, cell_id, text)
        elif kind == "cell_event":
            self._callback(self.on_event, str(data.get("cell_id")), str(data.get("event")))
        elif kind == "error" and waiter is None:
            log.warning("codemode kernel rejected a comm message: %s", data.get("message"))

    def _start_call(self, data: dict[str, Any]) -> None:
        call_id = str(data.get("call_id"))
        task = asyncio.create_task(self._run_call(data))
        self._tool_tasks[call_id] = task
        task.add_done_callback(lambda _: self._tool_tasks.pop(call_id, None))

    async def _run_call(self, call: dict[str, Any]) -> None:
        reply = await answer_call(self._tools, call)
        if self._comm_open:
            self._post("comm_msg", self._comm_data(reply))

    def _callback(self, callback: Callable[[str, str], Any] | None, *args: str) -> None:
        if callback is None:
            return
        try:
            outcome = callback(*args)
        except Exception:
            log.exception("codemode client: callback %r failed", callback)
            return
        if inspect.isawaitable(outcome):
            task = asyncio.ensure_future(outcome)
            self._background.add(task)
            task.add_done_callback(self._background.discard)


async def _ready(
    kc: AsyncKernelClient, timeout: float, km: AsyncKernelManager | None = None
) -> AsyncKernelClient:
    """Channels started and kernel_info answered; on failure nothing is left running."""
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=timeout)
    except BaseException:
        kc.stop_channels()
        if km is not None:
            await km.shutdown_kernel(now=True)
        raise
    return kc


async def answer_call(tools: Mapping[str, Tool], call: dict[str, Any]) -> dict[str, Any]:
    """The `tool_result` (or `tool_error` with `str(exc)`) for a `tool_call` comm message.

    Cancellation propagates: a cancelled call gets no answer, as the kernel no longer wants one.
    """
    call_id, name = str(call.get("call_id")), str(call.get("name"))
    try:
        tool = tools.get(name)
        if tool is None:
            raise LookupError(f"tool `{name}` is not provided by this client")
        result = await tool.invoke(call.get("input"))
    except Exception as exc:
        return {"type": "tool_error", "call_id": call_id, "error": str(exc)}
    return {"type": "tool_result", "call_id": call_id, "result": result}


def _cell_arg(cell_id: str | int) -> str:
    """A cell id as one magic argument; ids are the kernel's "1", "2", … so this only guards
    against a caller passing something that would split into several arguments."""
    text = str(cell_id)
    if not text or len(text.split()) != 1 or text != text.strip():
        raise ValueError(f"not a cell id: {cell_id!r}")
    return text
