"""A small synchronous driver for a real kernel process over ZMQ (jupyter_client)."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel


@dataclass
class Run:
    """One request's reply and the IOPub messages parented to it, in arrival order."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str(self.reply["content"]["status"])

    @property
    def codemode(self) -> dict[str, Any]:
        return dict(self.reply["metadata"].get("codemode", {}))

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in types]

    @property
    def texts(self) -> list[str]:
        """Plain text of every display_data / stream / execute_result, in order."""
        out = []
        for m in self.messages:
            c = m["content"]
            if m["msg_type"] == "stream":
                out.append(c["text"])
            elif m["msg_type"] in ("display_data", "execute_result", "update_display_data"):
                out.append(c["data"].get("text/plain", ""))
        return out

    @property
    def error(self) -> dict[str, Any] | None:
        errors = self.of_type("error")
        return errors[0]["content"] if errors else None


class Kernel:
    """Start a codemode kernel and run requests against it."""

    def __init__(self, km: KernelManager, kc: BlockingKernelClient) -> None:
        self.km, self.kc = km, kc

    @classmethod
    def start(cls, **kwargs: Any) -> Kernel:
        km, kc = start_new_kernel(kernel_name="codemode", **kwargs)
        return cls(km, kc)

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def execute(
        self,
        code: str,
        timeout: float = 30,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> Run:
        msg_id = self.kc.execute(code)
        return self.collect(msg_id, timeout, on_message)

    # -- raw comm messages (docs/protocol.md), as a client program would send them ------------

    def open_comm(self, data: dict[str, Any] | None = None, target: str = "codemode") -> str:
        comm_id = uuid.uuid4().hex
        content = {"comm_id": comm_id, "target_name": target, "data": data or {}}
        self.kc.shell_channel.send(self.kc.session.msg("comm_open", content))
        return comm_id

    def send_comm(self, comm_id: str, data: Any) -> str:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def close_comm(self, comm_id: str) -> None:
        self.kc.shell_channel.send(
            self.kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
        )

    def comm_messages(self, comm_id: str, timeout: float = 2.0, count: int = 1) -> list[Any]:
        """Data of the next `count` comm_msgs for `comm_id` on IOPub (others are dropped)."""
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
                found.append(msg["content"]["data"])
        return found

    def collect(
        self,
        msg_id: str,
        timeout: float = 30,
        on_message: Callable[[dict[str, Any]], None] | None = None,
    ) -> Run:
        """Wait for the reply and for `status: idle` of `msg_id` (idle = all output sent).

        `on_message` sees every IOPub message as it arrives (e.g. to answer tool calls)."""
        deadline = time.monotonic() + timeout
        reply: dict[str, Any] | None = None
        messages: list[dict[str, Any]] = []
        idle = False
        while not (idle and reply is not None):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply/idle for {msg_id}; got {messages}")
            if reply is None:
                try:
                    msg = self.kc.get_shell_msg(timeout=0.01)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg
                except queue.Empty:
                    pass
            try:
                msg = self.kc.get_iopub_msg(timeout=0.01 if reply is None else left)
            except queue.Empty:
                continue
            if on_message is not None:
                on_message(msg)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif msg["msg_type"] != "execute_input":
                messages.append(msg)
        assert reply is not None
        return Run(reply, messages)
