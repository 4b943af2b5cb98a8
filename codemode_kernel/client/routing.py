"""Routing what a kernel sends to whoever waits for it, by the msg_id it is parented to.

Jupyter parents every answer to the message it answers: an execute_reply (shell) and the
request's IOPub output to the execute_request, a comm answer (IOPub) to the comm message it
answers, a kernel_info_reply to its request. So a client that registers a waiter under the
msg_id it just sent can have any number of requests in flight from any number of tasks, over
any `Connection`. A request is done once both its reply and its `status: idle` arrived: they
travel on different channels, and only `idle` says that all its output was sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .connection import Channel, CodeModeClientError, Message
from .results import ExecResult, OutputCollector

__all__ = ["CommHandler", "Routes"]

#: (msg_type, data, answered): news on our comm, after any waiter for it was resolved;
#: `answered` says whether it was an answer to one of our messages.
CommHandler = Callable[[str, dict[str, Any], bool], None]


@dataclass
class _Request:
    """An execute_request in flight."""

    collector: OutputCollector
    started: float
    done: asyncio.Future[ExecResult]
    reply: Message | None = None
    idle: bool = False


class Routes:
    """The waiters of one client; `deliver` is the `Deliver` its connection calls."""

    def __init__(self, comm_id: str, on_comm: CommHandler) -> None:
        self.comm_id = comm_id
        self._on_comm = on_comm
        self._requests: dict[str, _Request] = {}
        # Answers by the msg_id they are parented to: comm answers (IOPub), other replies (shell).
        self._comm_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._shell_waiters: dict[str, asyncio.Future[Message]] = {}

    def shell_reply(self, msg_id: str) -> asyncio.Future[Message]:
        """The shell reply to `msg_id`."""
        return _expect(self._shell_waiters, msg_id)

    def comm_answer(self, msg_id: str) -> asyncio.Future[dict[str, Any]]:
        """The data of the comm message that answers `msg_id` (an `error` answer raises)."""
        return _expect(self._comm_waiters, msg_id)

    async def result(self, msg_id: str, cell_id: str | None, started: float) -> ExecResult:
        """The `ExecResult` of the execute_request `msg_id`, sent at `started` (monotonic)."""
        done: asyncio.Future[ExecResult] = asyncio.get_running_loop().create_future()
        self._requests[msg_id] = _Request(OutputCollector(cell_id), started, done)
        try:
            return await done
        finally:
            self._requests.pop(msg_id, None)

    def fail(self, error: Exception) -> None:
        """Every request and answer still awaited fails with `error`."""
        futures: list[asyncio.Future[Any]] = [
            *(r.done for r in self._requests.values()),
            *self._comm_waiters.values(),
            *self._shell_waiters.values(),
        ]
        _fail(futures, error)

    def fail_comm(self, error: Exception) -> None:
        """The comm is gone: answers awaited on it fail with `error`; requests go on."""
        _fail(list(self._comm_waiters.values()), error)

    def deliver(self, channel: Channel, msg: Message) -> None:
        if channel == "shell":
            self._on_shell(msg)
        else:
            self._on_iopub(msg)

    def _on_shell(self, msg: Message) -> None:
        parent = msg["parent_header"].get("msg_id")
        waiter = self._shell_waiters.get(parent)
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)
        request = self._requests.get(parent)
        if request is not None:
            request.reply = msg
            self._maybe_done(request)

    def _on_iopub(self, msg: Message) -> None:
        msg_type, content = msg["msg_type"], msg["content"]
        if msg_type.startswith("comm_") and content.get("comm_id") == self.comm_id:
            self._on_our_comm(msg_type, content.get("data") or {}, msg["parent_header"])
            return
        request = self._requests.get(msg["parent_header"].get("msg_id"))
        if request is None:
            return
        if msg_type == "status":
            # Once idle, for good: the kernel says busy again for a request whose cell runs on
            # in the background, which may arrive before the request's own reply.
            request.idle = request.idle or content.get("execution_state") == "idle"
            self._maybe_done(request)
        else:
            request.collector.feed(msg)

    def _on_our_comm(self, msg_type: str, data: dict[str, Any], parent: dict[str, Any]) -> None:
        waiter = self._comm_waiters.get(parent.get("msg_id", ""))
        if msg_type != "comm_close" and waiter is not None and not waiter.done():
            if data.get("type") == "error":
                waiter.set_exception(CodeModeClientError(str(data.get("message"))))
            else:
                waiter.set_result(data)
        self._on_comm(msg_type, data, waiter is not None)

    def _maybe_done(self, request: _Request) -> None:
        if request.reply is None or not request.idle or request.done.done():
            return
        wall = time.monotonic() - request.started
        request.done.set_result(request.collector.finish(request.reply, wall))


def _expect(waiters: dict[str, asyncio.Future[Any]], msg_id: str) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    waiters[msg_id] = future
    future.add_done_callback(lambda _: waiters.pop(msg_id, None))
    return future


def _fail(futures: list[asyncio.Future[Any]], error: Exception) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(error)
