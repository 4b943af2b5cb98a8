"""A `Connection` to a kernel behind a Jupyter Server: REST to start, find, interrupt and delete it,
and the channels websocket for everything else.

Jupyter Server, Jupyter Kernel Gateway and Jupyter Enterprise Gateway speak the same API, so one
transport reaches a kernel on this machine, on another, or in a Kubernetes pod. The websocket
multiplexes the kernel's channels: each message is a JSON object with a `channel` field (the
server's legacy protocol, which every version of all three understands). Routing, the comm and
results are `CodeModeClient`'s, as over ZMQ.

Every failure is a `CodeModeClientError` naming the URL, never a hang: an unreachable server, a
refused token, an unknown kernelspec or kernel id, a websocket that drops (what is in flight
fails), a kernel that the server reports restarted or dead (its cells are gone).
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
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from ..protocol import KERNEL_NAME
from .connection import CodeModeClientError, Deliver, Message

__all__ = ["GatewayConnection"]

#: Images come back as base64 in one message; tornado's default cap is 10 MiB.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
#: REST calls other than starting a kernel (which may take `startup_timeout`).
REQUEST_TIMEOUT = 30.0
#: Pings find a server that vanished without closing the socket (a partition, a dead node).
PING_INTERVAL = 30.0
#: Statuses the server itself sends on the websocket when the kernel's process was replaced.
#: How often the watcher looks, how often it asks the REST API, and how long after the kernel's
#: `shutdown_reply` the replies still on their way are awaited.
WATCH_TICK = 0.2
POLL_INTERVAL = 5.0
SHUTDOWN_GRACE = 1.0
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
        self._http: AsyncHTTPClient | None = None
        self._ws: WebSocketClientConnection | None = None
        self._shutdown: tuple[str, float] | None = None  # how the kernel went, and when
        self._kernel_session = ""  # the kernel process's session id, from its kernel_info_reply

    # -- Connection -------------------------------------------------------------------------

    async def open(self) -> None:
        """Start or find the kernel, connect its channels, and wait for its kernel_info."""
        self._http = AsyncHTTPClient(force_instance=True)
        try:
            if self.kernel_id is None:
                self.kernel_id = await self._start()
                self.started = True
            else:
                await self._rest("GET", self._kernel_path())
            self._ws = await self._connect()
            await self._kernel_info()
        except BaseException:
            await self.close()
            raise

    def send(self, msg_type: str, content: dict[str, Any]) -> str:
        """Write a shell message now; tornado buffers the frame without yielding to the loop.

        A closed socket drops the message: `run` is returning (or has returned) why, and that
        error fails whatever waits for an answer.
        """
        msg = self._session.msg(msg_type, content)
        self._write(msg)
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
            if channel in ("shell", "iopub"):
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
                if not await self._exists():
                    return self._lost("was shut down")

    async def _exists(self) -> bool:
        """False only when the server says the kernel is not there (a 404)."""
        try:
            await self._rest("GET", self._kernel_path())
        except HTTPStatusError as exc:
            return exc.code != 404
        except CodeModeClientError:
            return True  # unreachable for now: the websocket tells whether it is lost
        return True

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

    async def interrupt(self) -> None:
        """Interrupt through the REST API; the server applies the kernelspec's interrupt_mode."""
        await self._rest("POST", f"{self._kernel_path()}/interrupt", {})

    async def close(self) -> None:
        """Close the socket; delete the kernel only if this connection started it."""
        if self._ws is not None:
            self._ws.close()
            self._ws = None
        if self._http is None:
            return
        try:
            if self.started and self.kernel_id is not None:
                self.started = False
                # Already gone (culled, deleted, the server stopped): nothing left to free.
                with contextlib.suppress(CodeModeClientError):
                    await self._rest("DELETE", self._kernel_path())
        finally:
            self._http.close()
            self._http = None

    async def _start(self) -> str:
        """A new kernel's id. Servers answer an unknown kernelspec with a bare 500 or 404, so a
        failure is checked against the server's kernelspecs to say what is missing."""
        body = {"name": self.kernel_name}
        try:
            model = await self._rest("POST", "/api/kernels", body, self.startup_timeout)
        except CodeModeClientError as failed:
            names = await self._kernelspec_names()
            if names is None or self.kernel_name in names:
                raise failed from None  # the start's own error is the one to show then
            raise CodeModeClientError(
                f"the Jupyter server at {self.url} has no kernelspec `{self.kernel_name}` "
                f"(it has: {', '.join(names) or 'none'}); install it there with "
                "`python -m codemode_kernel install`"
            ) from None
        return str(model["id"])

    async def _kernelspec_names(self) -> list[str] | None:
        """The server's kernelspec names, or None when it will not say."""
        try:
            specs = await self._rest("GET", "/api/kernelspecs")
            return sorted(specs["kernelspecs"])
        except (CodeModeClientError, KeyError, TypeError):
            return None

    # -- the websocket ------------------------------------------------------------------------

    async def _connect(self) -> WebSocketClientConnection:
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        path = f"{parts.path}{self._kernel_path()}/channels"
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
            raise self._http_error("connect the channels of", exc) from None
        except OSError as exc:
            raise self._unreachable(exc) from None

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

    def _write(self, msg: Message) -> None:
        ws = self._socket()
        text = json.dumps({**msg, "channel": "shell"}, default=json_default)
        try:
            written = ws.write_message(text)
        except WebSocketClosedError:
            return
        # The frame is buffered already; a failed flush means the socket closed, which `run` sees.
        written.add_done_callback(lambda f: f.exception())

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

    # -- REST ---------------------------------------------------------------------------------

    def _kernel_path(self) -> str:
        return f"/api/kernels/{quote(str(self.kernel_id), safe='')}"

    async def _rest(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Any:
        """One call of the REST API; its JSON answer, or a CodeModeClientError that says why."""
        if self._http is None:
            raise CodeModeClientError(f"the connection to {self.url} is not open")
        request = HTTPRequest(
            self.url + path,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            connect_timeout=min(timeout, REQUEST_TIMEOUT),
            request_timeout=timeout,
        )
        try:
            response: HTTPResponse = await self._http.fetch(request)
        except HTTPClientError as exc:
            raise self._http_error(f"{method} {path} on", exc) from None
        except OSError as exc:
            raise self._unreachable(exc) from None
        return json.loads(response.body) if response.body else None

    def _unreachable(self, exc: OSError) -> CodeModeClientError:
        return CodeModeClientError(f"cannot reach the Jupyter server at {self.url}: {exc}")

    def _http_error(self, doing: str, exc: HTTPClientError) -> HTTPStatusError:
        """What went wrong, in the server's own words where it gave any."""
        code = exc.code
        if code == 599:  # tornado's code for a timeout or a connection that broke
            return HTTPStatusError(code, f"could not {doing} {self.url}: {exc.message}")
        status = f"HTTP {code} {exc.message or ''}".rstrip()
        if code in (401, 403):
            why = f"the Jupyter server at {self.url} refused us ({status})"
            return HTTPStatusError(code, f"{why}: is the token right (token=...)?")
        if code == 404 and self.kernel_id is not None and not self.started:
            why = f"no kernel {self.kernel_id} at {self.url} ({status})"
            return HTTPStatusError(code, f"{why}: it may have been shut down or culled")
        detail = _server_message(exc.response)
        why = f"could not {doing} {self.url} ({status})"
        return HTTPStatusError(code, f"{why}: {detail}" if detail else why)


class HTTPStatusError(CodeModeClientError):
    """The server answered a REST call with an error status (`code`; 599 for no answer)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _server_message(response: HTTPResponse | None) -> str:
    """The `message` (or `reason`) of a Jupyter Server JSON error body, if there is one."""
    if response is None or not response.body:
        return ""
    try:
        body = json.loads(response.body)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("message") or body.get("reason") or "")
