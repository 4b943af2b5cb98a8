"""How a client reaches a kernel: the transport seam under `CodeModeClient`.

A `Connection` sends Jupyter messages on the shell channel and hands every message that comes
back (shell replies and IOPub output alike) to one callback, tagged with its channel. Everything
above it — routing by parent msg_id, the `codemode` comm, tool calls, results — is the same
whatever carries the messages. `ZmqConnection` is the local one (jupyter_client over ZMQ: a
kernel we start, or one we attach to by its connection file); a transport over a Jupyter
Server's channels websocket (`gateway.py`) implements the same five methods.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from ..protocol import KERNEL_NAME

__all__ = [
    "Channel",
    "CodeModeClientError",
    "Connection",
    "Deliver",
    "Message",
    "ZmqConnection",
]

Channel = Literal["shell", "iopub", "stdin"]
Message = dict[str, Any]
#: Called on the client's loop for each arriving message; it must not block.
Deliver = Callable[[Channel, Message], None]
Opener = Callable[[], Awaitable[tuple[AsyncKernelClient, AsyncKernelManager | None]]]


class CodeModeClientError(RuntimeError):
    """The kernel did not behave like a codemode kernel: no comm, no answer, or it died."""


class Connection(Protocol):
    """A transport to one kernel, used by exactly one client on one event loop."""

    async def open(self) -> None:
        """Reach the kernel (start it, or attach) and return once it answered kernel_info."""

    def send(
        self,
        msg_type: str,
        content: dict[str, Any],
        channel: Channel = "shell",
        parent: Message | None = None,
    ) -> str:
        """Send a message (shell, or stdin for an `input_reply` to `parent`); returns its
        msg_id, which the answers will be parented to.

        It must not yield to the loop: the caller registers its waiter after the send, and
        nothing may be delivered in between. A transport whose writes are asynchronous (a
        websocket) makes the message and its id here and writes it from a task of its own.
        """

    async def run(self, deliver: Deliver) -> CodeModeClientError:
        """Deliver messages until the kernel is lost; returns why (cancel it to stop reading)."""

    async def interrupt(self) -> None:
        """Interrupt the kernel, as Jupyter's Kernel → Interrupt does (the observed cell ends)."""

    async def reconnect(self) -> bool:
        """After `run` returned: reach the same kernel again if only the transport was lost
        and the kernel still lives (its cells, store and our comm with it). False otherwise;
        the client then stays failed."""

    async def close(self) -> None:
        """Release the transport, and shut down a kernel that this connection started."""


class ZmqConnection:
    """jupyter_client's ZMQ channels to a local kernel.

    `ZmqConnection.start(...)` starts a new kernel, shut down by `close()`;
    `ZmqConnection.attach(connection_file)` reaches a running one, which `close()` leaves alive.
    """

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self.kc: AsyncKernelClient | None = None
        self.km: AsyncKernelManager | None = None

    @classmethod
    def start(
        cls, kernel_name: str = KERNEL_NAME, startup_timeout: float = 60.0, **km_kwargs: Any
    ) -> ZmqConnection:
        """A new kernel of `kernel_name`; `km_kwargs` go to `AsyncKernelManager.start_kernel`
        (e.g. `extra_arguments`, `env`, `cwd`), as with jupyter_client's `start_new_kernel`."""

        async def opener() -> tuple[AsyncKernelClient, AsyncKernelManager | None]:
            km = AsyncKernelManager(kernel_name=kernel_name)
            await km.start_kernel(**km_kwargs)
            return await _ready(km.client(), startup_timeout, km), km

        return cls(opener)

    @classmethod
    def attach(cls, connection_file: str, startup_timeout: float = 60.0) -> ZmqConnection:
        """A running kernel, by its connection file."""

        async def opener() -> tuple[AsyncKernelClient, AsyncKernelManager | None]:
            kc = AsyncKernelClient()
            kc.load_connection_file(connection_file)
            return await _ready(kc, startup_timeout), None

        return cls(opener)

    async def open(self) -> None:
        self.kc, self.km = await self._opener()

    def send(
        self,
        msg_type: str,
        content: dict[str, Any],
        channel: Channel = "shell",
        parent: Message | None = None,
    ) -> str:
        kc = self._client()
        msg = kc.session.msg(msg_type, content, parent=parent)
        (kc.stdin_channel if channel == "stdin" else kc.shell_channel).send(msg)
        return str(msg["header"]["msg_id"])

    async def run(self, deliver: Deliver) -> CodeModeClientError:
        """Read shell, IOPub and stdin side by side; whichever is lost first ends them all."""
        kc = self._client()
        readers = [
            asyncio.create_task(self._read_shell(kc, deliver)),
            asyncio.create_task(self._read_iopub(kc, deliver)),
            asyncio.create_task(self._read_stdin(kc, deliver)),
        ]
        try:
            done, _ = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def interrupt(self) -> None:
        """Through the kernel manager when we started the kernel (it honours the kernelspec's
        interrupt_mode); otherwise an `interrupt_request` on control, which codemode's
        `interrupt_mode: message` kernelspec asks for."""
        if self.km is not None:
            await self.km.interrupt_kernel()
            return
        kc = self._client()
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))

    async def reconnect(self) -> bool:
        """ZMQ reconnects by itself; a lost channel here means the kernel is gone."""
        return False

    async def close(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            await self.km.shutdown_kernel()

    def _client(self) -> AsyncKernelClient:
        if self.kc is None:
            raise CodeModeClientError("the connection is not open")
        return self.kc

    @staticmethod
    async def _read_shell(kc: AsyncKernelClient, deliver: Deliver) -> CodeModeClientError:
        """Replies; with no traffic, check once a second that the kernel still lives."""
        while True:
            try:
                msg = await kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not await kc.is_alive():
                    return CodeModeClientError("the kernel died")
                continue
            deliver("shell", msg)

    @staticmethod
    async def _read_iopub(kc: AsyncKernelClient, deliver: Deliver) -> CodeModeClientError:
        while True:
            try:
                msg = await kc.get_iopub_msg()
            except Exception as exc:  # the socket is gone: nothing more will arrive
                return CodeModeClientError(f"lost the kernel's IOPub channel: {exc}")
            deliver("iopub", msg)

    @staticmethod
    async def _read_stdin(kc: AsyncKernelClient, deliver: Deliver) -> CodeModeClientError:
        """`input_request`s of `prompt()`, asked only when the client sent `allow_stdin`."""
        while True:
            try:
                msg = await kc.get_stdin_msg()
            except Exception as exc:
                return CodeModeClientError(f"lost the kernel's stdin channel: {exc}")
            deliver("stdin", msg)


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
