"""`await prompt(message)`: a question to the person at the front end, over Jupyter's stdin.

A cell's prompt is a call of kind "prompt" (session/router.py); this provider answers it with an
`input_request` parented to the request observing the cell, and settles the call with the
`input_reply`'s value. Only a request that allowed stdin (`allow_stdin`, true in JupyterLab and
false in nbclient and most agents) can be asked; otherwise, and for a cell nobody observes, the call
is refused at once. The reply is awaited on a worker thread, so neither the kernel's loop nor the
cell's isolate ever blocks on it: the cell can be terminated or interrupted while it waits, which
cancels the wait. One question is on the channel at a time (stdin is a single conversation).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

from ..session.router import PROMPT_UNAVAILABLE, Toolbox, ToolCall

_log = logging.getLogger(__name__)

#: How often the reply wait looks at its cancel flag, in milliseconds.
_POLL_MS = 50


@dataclass(frozen=True)
class StdinTarget:
    """Where a question for one request goes: its parent header and its client's identity."""

    parent: dict[str, Any]
    ident: bytes


class StdinPrompter:
    """The `prompter` of a kernel's Toolbox."""

    label = "front end"  # answers `prompt()`, which is no tool: `%tools` never lists it

    def __init__(
        self,
        toolbox: Toolbox,
        session: Any,  # jupyter_client.session.Session
        socket: zmq.Socket[Any],
        target_of: Callable[[str], StdinTarget | None],
    ) -> None:
        self._toolbox = toolbox
        self._session = session
        self._socket = socket
        self._target_of = target_of  # cell id -> the observing request, when it allows stdin
        self._one_at_a_time = asyncio.Lock()
        # call id -> (the asking task, kept referenced; its cancel flag)
        self._asking: dict[str, tuple[asyncio.Task[None], threading.Event]] = {}
        toolbox.prompter = self

    def start_call(self, call: ToolCall) -> None:
        target = self._target_of(call.cell.cell_id)
        if target is None:
            self._toolbox.settle(call.call_id, False, PROMPT_UNAVAILABLE)
            return
        cancelled = threading.Event()
        task = asyncio.ensure_future(self._ask(call, target, cancelled))
        self._asking[call.call_id] = (task, cancelled)
        task.add_done_callback(lambda _: self._asking.pop(call.call_id, None))

    def cancel_call(self, call: ToolCall) -> None:
        # Only the flag: the wait's thread notices it within a poll and returns, and only then
        # is the socket free for the next question (a zmq socket is not for two threads).
        asking = self._asking.pop(call.call_id, None)
        if asking is not None:
            asking[1].set()

    async def _ask(self, call: ToolCall, target: StdinTarget, cancelled: threading.Event) -> None:
        async with self._one_at_a_time:
            if cancelled.is_set():
                return
            self._drop_stale_replies()
            content = {"prompt": str(call.input), "password": False}
            request = self._session.send(
                self._socket, "input_request", content, parent=target.parent, ident=target.ident
            )
            answer = await asyncio.to_thread(self._reply_to, request["header"]["msg_id"], cancelled)
        if answer is not None:
            self._toolbox.settle(call.call_id, True, answer)

    def _drop_stale_replies(self) -> None:
        """Answers to questions no longer asked (a cancelled prompt's) must not answer this one."""
        while self._socket.poll(0):
            self._socket.recv_multipart(zmq.NOBLOCK)

    def _reply_to(self, msg_id: str, cancelled: threading.Event) -> str | None:
        """The value of the input_reply to `msg_id` (worker thread); None once cancelled."""
        while not cancelled.is_set():
            if not self._socket.poll(_POLL_MS):
                continue
            try:
                _, reply = self._session.recv(self._socket, mode=zmq.NOBLOCK)
            except Exception:
                _log.warning("an unreadable message on stdin was dropped", exc_info=True)
                continue
            if reply is None or reply.get("msg_type") != "input_reply":
                continue
            if reply.get("parent_header", {}).get("msg_id") not in (msg_id, None):
                continue  # the answer to a question asked before (a cancelled prompt)
            value = reply.get("content", {}).get("value", "")
            return value if isinstance(value, str) else str(value)
        return None
