"""A `Connection` to a kernel behind a Jupyter Server: the REST API (`rest.py`) to start, find,
interrupt and delete it, and the channels websocket for everything else.

Jupyter Server, Jupyter Kernel Gateway and Jupyter Enterprise Gateway speak the same API, so one
transport reaches a kernel on this machine, on another, or in a Kubernetes pod. The websocket
multiplexes the kernel's channels: each message is a JSON object with a `channel` field (the
server's legacy protocol, which every version of all three understands). Routing, the comm and
results are `CodeModeClient`'s, as over ZMQ.

Every failure is a `CodeModeClientError` naming the URL, never a hang: an unreachable server, a
refused token, an unknown kernelspec or kernel id, a websocket that drops (what is in flight
fails), a kernel that was restarted, died or was shut down under us (its cells are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from ..protocol import KERNEL_NAME
from .connection import Channel, CodeModeClientError, Deliver, Message
from .rest import REQUEST_TIMEOUT, KernelsAPI, http_error, kernel_path, unreachable

__all__ = ["GatewayConnection"]

#: Images come back as base64 in one message; tornado's default cap is 10 MiB.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: Pings find a server that vanished without closing the socket (a partition, a dead node).
PING_INTERVAL = 30.0
#: How often the watcher looks, how often it asks the REST API, and how long after the kernel's
#: `shutdown_reply` the replies still on their way are awaited.
WATCH_TICK = 0.2
POLL_INTERVAL = 5.0
SHUTDOWN_GRACE = 1.0
#: Statuses the server itself sends on the websocket when the kernel's process was replaced.
LOST_STATES = {"restarting": "was restarted", "dead": "died"}


class GatewayConnection:
    """The channels of one kernel at a Jupyter Server (or Kernel/Enterprise Gateway) `url`.

    Without `kernel_id` it starts a kernel of `kernel_name` and deletes it on `close()`; with
    one it attaches to that running kernel and leaves it running. `token` goes in the
    `Authorization: token ...` header, beside any extra `headers` (a proxy's, say).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        kernel_id: str | None = None,
        kernel_name: str = KERNEL_NAME,
        headers: dict[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        scheme = urlsplit(self.url).scheme
        if scheme not in ("http", "https"):
            raise ValueError(f"a Jupyter server URL starts with http:// or https://, not {url!r}")
        self.kernel_id = kernel_id
        self.kernel_name = kernel_name
        self.startup_timeout = startup_timeout
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"token {token}"
        #: Whether this connection started the kernel (and so deletes it on close).
        self.started = False
        self._session = Session(username="codemode-client")  # builds messages; never signs
        self._api = KernelsAPI(self.url, self.headers)
        self._ws: WebSocketClientConnection | None = None
        self._shutdown: tuple[str, float] | None = None  # how the kernel went, and when
        self._kernel_session = ""  # the kernel process's session id, from its kernel_info_reply
        self._dropped = False  # the socket ended without our close (see `reconnect`)

    # -- Connection -------------------------------------------------------------------------

    async def open(self) -> None:
        """Start or find the kernel, connect its channels, and wait for its kernel_info."""
        self._api.open()
        try:
            if self.kernel_id is None:
                self.kernel_id = await self._api.start(self.kernel_name, self.startup_timeout)
                self.started = True
            else:
                await self._api.find(self.kernel_id)
            self._ws = await self._connect()
            await self._kernel_info()
        except BaseException:
            await self.close()
            raise

    def send(
        self,
        msg_type: str,
        content: dict[str, Any],
        channel: Channel = "shell",
        parent: Message | None = None,
    ) -> str:
        """Write a message now; tornado buffers the frame without yielding to the loop.

        A closed socket drops the message: `run` is returning (or has returned) why, and that
        error fails whatever waits for an answer.
        """
        msg = self._session.msg(msg_type, content, parent=parent)
        self._write(msg, channel)
        return str(msg["header"]["msg_id"])

    async def run(self, deliver: Deliver) -> CodeModeClientError:
        """Deliver shell and IOPub messages until the socket closes or the kernel is gone.

        The server keeps the socket open when the kernel is shut down (deleted, culled), so
        beside the reader a watcher notices the kernel's `shutdown_reply` and, every few
        seconds, asks the REST API whether the kernel still exists.
        """
        ws = self._socket()
        tasks = [
            asyncio.create_task(self._read(ws, deliver)),
            asyncio.create_task(self._watch()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, ws: WebSocketClientConnection, deliver: Deliver) -> CodeModeClientError:
        while True:
            raw = await ws.read_message()
            if raw is None:
                self._dropped = self._ws is ws  # not closed by us: the network or the server
                return self._closed_error(ws)
            msg = json.loads(raw)
            channel = msg.pop("channel", None)
            if channel == "iopub" and msg["msg_type"] == "status":
                lost = self._replaced(msg)
                if lost is not None:
                    return self._lost(lost)
            if channel == "iopub" and msg["msg_type"] == "shutdown_reply":
                restart = bool(msg["content"].get("restart"))
                self._shutdown = ("was restarted" if restart else "was shut down", time.monotonic())
            if channel in ("shell", "iopub", "stdin"):
                deliver(channel, msg)

    async def _watch(self) -> CodeModeClientError:
        """A kernel that announced its shutdown is gone once the replies it sent first (on
        the other channel) had a moment to arrive; one the server no longer has is gone now."""
        polled = time.monotonic()
        while True:
            await asyncio.sleep(WATCH_TICK)
            if self._shutdown is not None:
                how, at = self._shutdown
                if time.monotonic() - at >= SHUTDOWN_GRACE:
                    return self._lost(how)
            elif time.monotonic() - polled >= POLL_INTERVAL:
                polled = time.monotonic()
                if not await self._api.exists(str(self.kernel_id)):
                    return self._lost("was shut down")

    def _lost(self, how: str) -> CodeModeClientError:
        return CodeModeClientError(
            f"the kernel {self.kernel_id} at {self.url} {how}: its cells, their stored values "
            "and this client's tools are gone"
        )

    def _replaced(self, status: Message) -> str | None:
        """Whether a status says the kernel process was replaced, and how.

        The server announces an automatic restart or a death itself; a restart through the REST
        API it does not, but the new process has a new session, and its first status shows it
        (only the kernel sends statuses otherwise, so this cannot mistake another client's).
        """
        lost = LOST_STATES.get(status["content"].get("execution_state"))
        if lost is not None:
            return lost
        session = status.get("header", {}).get("session")
        if session and self._kernel_session and session != self._kernel_session:
            return "was restarted"
        return None

    async def reconnect(self) -> bool:
        """A dropped socket to a kernel the server still has: connect its channels again.

        Not after a restart or a shutdown (the kernel forgot our comm), nor when our own
        `close` ended the socket. The server broadcasts IOPub to every socket of the kernel,
        so the comm opened before goes on working."""
        if not self._dropped or self._shutdown is not None or self.kernel_id is None:
            return False
        self._dropped = False
        session = self._kernel_session
        try:
            if not await self._api.exists(self.kernel_id):
                return False
            self._ws = await self._connect()
            await self._kernel_info()
        except CodeModeClientError:
            return False
        return self._kernel_session == session

    async def interrupt(self) -> None:
        """Interrupt through the REST API; the server applies the kernelspec's interrupt_mode."""
        await self._api.interrupt(str(self.kernel_id))

    async def close(self) -> None:
        """Close the socket; delete the kernel only if this connection started it."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        try:
            if self.started and self.kernel_id is not None:
                self.started = False
                # Already gone (culled, deleted, the server stopped): nothing left to free.
                with contextlib.suppress(CodeModeClientError):
                    await self._api.delete(self.kernel_id)
        finally:
            self._api.close()

    # -- the websocket ------------------------------------------------------------------------

    async def _connect(self) -> WebSocketClientConnection:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = f"{parts.path}{kernel_path(str(self.kernel_id))}/channels"
        query = f"session_id={quote(self._session.session)}"
        ws_url = urlunsplit((scheme, parts.netloc, path, query, ""))
        request = HTTPRequest(
            ws_url,
            headers=self.headers,
            connect_timeout=min(self.startup_timeout, REQUEST_TIMEOUT),
            request_timeout=self.startup_timeout,
        )
        try:
            return await websocket_connect(
                request, ping_interval=PING_INTERVAL, max_message_size=MAX_MESSAGE_BYTES
            )
        except HTTPClientError as exc:
            raise http_error(self.url, "connect the channels of", exc) from None
        except OSError as exc:
            raise unreachable(self.url, exc) from None

    async def _kernel_info(self) -> None:
        """The first answer on the socket proves the kernel is up and the channels are joined."""
        ws = self._socket()
        msg = self._session.msg("kernel_info_request", {})
        self._write(msg)
        msg_id = msg["header"]["msg_id"]

        async def reply() -> None:
            while True:
                raw = await ws.read_message()
                if raw is None:
                    raise self._closed_error(ws)
                answer = json.loads(raw)
                parent = answer.get("parent_header") or {}
                if parent.get("msg_id") == msg_id and answer.get("channel") == "shell":
                    self._kernel_session = str(answer.get("header", {}).get("session", ""))
                    return

        try:
            await asyncio.wait_for(reply(), self.startup_timeout)
        except asyncio.TimeoutError:
            raise CodeModeClientError(
                f"the kernel {self.kernel_id} at {self.url} did not answer kernel_info "
                f"within {self.startup_timeout:g} s"
            ) from None

    def _write(self, msg: Message, channel: Channel = "shell") -> None:
        ws = self._socket()
        text = json.dumps({**msg, "channel": channel}, default=json_default)
        try:
            written = ws.write_message(text)
        except WebSocketClosedError:
            return
        # The frame is buffered already; a failed flush means the socket closed, which `run` sees.
        written.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _socket(self) -> WebSocketClientConnection:
        if self._ws is None:
            raise CodeModeClientError(f"the connection to {self.url} is not open")
        return self._ws

    def _closed_error(self, ws: WebSocketClientConnection) -> CodeModeClientError:
        code = " ".join(str(part) for part in (ws.close_code, ws.close_reason) if part)
        why = f" ({code})" if code else ""
        return CodeModeClientError(
            f"the websocket to the kernel {self.kernel_id} at {self.url} closed{why}"
        )
