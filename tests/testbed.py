"""kernel-testbed's 27 conformance checks (runtimed/kernel-testbed), redone with jupyter_client.

Each check sends what the testbed sends and passes on what it passes on, including its quirks: a
partial pass counts as a pass, `Unsupported` counts against the kernel, and the Deno-only display
snippets (`Deno.jupyter.broadcast`) are used as they are for any `javascript` kernel.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

Message = dict[str, Any]
TIMEOUT_S = 10.0

# The testbed's `typescript` snippets (also used for "javascript").
PRINT_HELLO = "console.log('hello')"
PRINT_STDERR = "console.error('error')"
SIMPLE_EXPR = "1 + 1"
INCOMPLETE = "const x = {"
COMPLETE = "const x = 1"
SYNTAX_ERROR = "function function"
INPUT_PROMPT = "prompt('Enter: ')"
COMPLETION_SETUP = "const testVariableForCompletion = 42"
COMPLETION_PREFIX = "testVariableFor"
COMPLETION_VAR = "testVariableForCompletion"
DISPLAY_DATA = (
    'await Deno.jupyter.broadcast("display_data", { data: { "text/html": "<b>bold</b>" }, '
    "metadata: {}, transient: {} })"
)
UPDATE_DISPLAY_DATA = (
    'await Deno.jupyter.broadcast("display_data", { data: { "text/html": "<b>initial</b>" }, '
    'metadata: {}, transient: { display_id: "test_update" } }); '
    'await Deno.jupyter.broadcast("update_display_data", { data: { "text/html": '
    '"<b>updated</b>" }, metadata: {}, transient: { display_id: "test_update" } })'
)
RICH_RESULT = '[{letter: "A", frequency: 0.08167}, {letter: "B", frequency: 0.01492}]'


class Verdict(enum.Enum):
    PASS = "pass"
    PARTIAL = "partial pass"
    UNSUPPORTED = "unsupported"
    FAIL = "fail"

    @property
    def passed(self) -> bool:
        return self in (Verdict.PASS, Verdict.PARTIAL)


@dataclass(frozen=True)
class Result:
    name: str
    tier: int
    verdict: Verdict
    note: str = ""


class KernelUnderTest:
    """One kernel under test, started the way the testbed starts it."""

    def __init__(self, kernel_name: str) -> None:
        self.km = KernelManager(kernel_name=kernel_name)
        self.km.start_kernel()
        time.sleep(2.0)  # the testbed's own pause after spawning, before it connects
        self.kc: BlockingKernelClient = self.km.client()
        self.kc.start_channels()
        self.welcomed = self._iopub_welcome(0.5)
        self.kc.wait_for_ready(timeout=60)
        self.kernel_info = self._shell(self.kc.kernel_info)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    # -- the testbed's primitives -------------------------------------------------------------

    def _iopub_welcome(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.kc.get_iopub_msg(timeout=left)["msg_type"] == "iopub_welcome":
                    return True
            except Exception:  # queue.Empty: nothing arrived in time
                return False
        return False

    def _shell(self, send: Callable[[], str]) -> Message:
        msg_id = send()
        while True:
            reply: Message = self.kc.get_shell_msg(timeout=TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def execute(self, code: str, stdin_answer: str | None = None) -> tuple[list[Message], Message]:
        """IOPub messages of the request until its idle, then its reply (stdin answered)."""
        msg_id = self.kc.execute(code, allow_stdin=stdin_answer is not None)
        iopub: list[Message] = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if stdin_answer is not None and self.kc.stdin_channel.msg_ready():
                request = self.kc.get_stdin_msg(timeout=0)
                iopub.append(request)  # kept with the rest so a check can see it arrived
                self.kc.input(stdin_answer)
            try:
                msg = self.kc.get_iopub_msg(timeout=0.05)
            except Exception:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            iopub.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self._shell(lambda: msg_id)
        return iopub, reply

    # -- the checks -------------------------------------------------------------------------

    def run(self) -> list[Result]:
        results = [
            self._check("heartbeat_responds", 1, self._heartbeat),
            Result(
                "iopub_welcome",
                1,
                Verdict.PASS if self.welcomed else Verdict.PARTIAL,
                "" if self.welcomed else "no iopub_welcome within 500 ms",
            ),
            self._bool("kernel_info_reply_valid", 1, self.kernel_info["content"]["status"] == "ok"),
            self._bool(
                "kernel_info_has_language_info",
                1,
                bool(self.kernel_info["content"].get("language_info", {}).get("name")),
            ),
            self._bool(
                "kernel_info_has_protocol_version",
                1,
                bool(self.kernel_info["content"].get("protocol_version")),
            ),
        ]
        out, _ = self.execute(PRINT_HELLO)
        results.append(self._bool("execute_stdout", 1, _stream(out, "stdout", "hello")))
        out, _ = self.execute(PRINT_STDERR)
        results.append(self._bool("execute_stderr", 1, _stream(out, "stderr", "error")))
        out, reply = self.execute(COMPLETE)
        results.append(self._bool("execute_reply_ok", 1, reply["content"]["status"] == "ok"))
        states = [m["content"]["execution_state"] for m in out if m["msg_type"] == "status"]
        lifecycle = (
            "busy" in states and "idle" in states and states.index("busy") < states.index("idle")
        )
        results.append(self._bool("status_busy_idle_lifecycle", 1, lifecycle))
        results.append(self._bool("execute_input_broadcast", 1, _has(out, "execute_input")))
        results += self._tier2() + self._tier3() + self._tier4()
        results.append(self._shutdown())
        return results

    def _tier2(self) -> list[Result]:
        self.execute(COMPLETION_SETUP)
        kc = self.kc
        complete = self._shell(lambda: kc.complete(COMPLETION_PREFIX, len(COMPLETION_PREFIX)))
        inspect = self._shell(lambda: kc.inspect(COMPLETION_VAR, len(COMPLETION_VAR), 0))
        done = self._shell(lambda: kc.is_complete(COMPLETE))["content"]["status"]
        unfinished = self._shell(lambda: kc.is_complete(INCOMPLETE))["content"]["status"]
        self.execute(COMPLETE)
        history = self._shell(lambda: kc.history(hist_access_type="tail", n=10, raw=True))
        comm_info = self._shell(lambda: kc.comm_info())
        out, reply = self.execute(SYNTAX_ERROR)
        return [
            self._bool("complete_request", 2, complete["content"]["status"] == "ok"),
            self._bool("inspect_request", 2, inspect["content"]["status"] == "ok"),
            Result(
                "is_complete_complete", 2, Verdict.PASS if done == "complete" else Verdict.PARTIAL
            ),
            Result(
                "is_complete_incomplete",
                2,
                Verdict.PASS if unfinished == "incomplete" else Verdict.PARTIAL,
            ),
            self._bool("history_request", 2, history["content"]["status"] == "ok"),
            self._bool("comm_info_request", 2, comm_info["content"]["status"] == "ok"),
            self._bool(
                "error_handling", 2, reply["content"]["status"] == "error" or _has(out, "error")
            ),
        ]

    def _tier3(self) -> list[Result]:
        out, _ = self.execute(DISPLAY_DATA)
        display = Verdict.PASS if _has(out, "display_data") else Verdict.UNSUPPORTED
        out, _ = self.execute(UPDATE_DISPLAY_DATA)
        shown, updated = _has(out, "display_data"), _has(out, "update_display_data")
        update = (
            Verdict.PASS if shown and updated else Verdict.PARTIAL if shown else Verdict.UNSUPPORTED
        )
        simple, _ = self.execute(SIMPLE_EXPR)
        rich, _ = self.execute(RICH_RESULT)
        return [
            Result("display_data", 3, display),
            Result("update_display_data", 3, update),
            self._bool("execute_result", 3, _has(simple, "execute_result")),
            Result(
                "rich_execute_result",
                3,
                Verdict.PASS if _has(rich, "execute_result") else Verdict.UNSUPPORTED,
            ),
        ]

    def _tier4(self) -> list[Result]:
        out, reply = self.execute(INPUT_PROMPT, stdin_answer='"test_input_42"')
        asked = _has(out, "input_request")
        stdin = self._bool("stdin_input_request", 4, asked and reply["content"]["status"] == "ok")
        comm_id = f"test-comm-{uuid.uuid4()}"
        msg = self.kc.session.msg(
            "comm_open",
            {"comm_id": comm_id, "target_name": "jupyter.kernel_testbed.test", "data": {}},
        )
        self.kc.shell_channel.send(msg)
        closed = self._comm_closed(comm_id, 0.5)
        if not closed:
            close = self.kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
            self.kc.shell_channel.send(close)
            time.sleep(0.1)  # the testbed's own pause before it checks the kernel still answers
            self.execute(COMPLETE)
        interrupt = self._control("interrupt_request", {})
        _, first = self.execute(COMPLETE)
        out, second = self.execute(COMPLETE)
        parents = all(m["parent_header"] for m in out) and bool(second["parent_header"])
        return [
            stdin,
            Result("comms_lifecycle", 4, Verdict.PASS),  # either branch above passes
            self._bool("interrupt_request", 4, interrupt["content"]["status"] == "ok"),
            self._bool(
                "execution_count_increments",
                4,
                second["content"]["execution_count"] > first["content"]["execution_count"],
            ),
            self._bool("parent_header_correlation", 4, parents),
        ]

    def _shutdown(self) -> Result:
        reply = self._control("shutdown_request", {"restart": False})
        return self._bool("shutdown_reply", 1, reply["content"]["status"] == "ok")

    # -- helpers ------------------------------------------------------------------------------

    def _heartbeat(self) -> bool:
        return bool(self.kc.is_alive())

    def _control(self, msg_type: str, content: dict[str, Any]) -> Message:
        msg = self.kc.session.msg(msg_type, content)
        self.kc.control_channel.send(msg)
        while True:
            reply: Message = self.kc.get_control_msg(timeout=TIMEOUT_S)
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                return reply

    def _comm_closed(self, comm_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except Exception:
                return False
            if msg["msg_type"] == "comm_close" and msg["content"].get("comm_id") == comm_id:
                return True
        return False

    @staticmethod
    def _check(name: str, tier: int, probe: Callable[[], bool]) -> Result:
        return KernelUnderTest._bool(name, tier, probe())

    @staticmethod
    def _bool(name: str, tier: int, ok: bool) -> Result:
        return Result(name, tier, Verdict.PASS if ok else Verdict.FAIL)


def _has(messages: list[Message], msg_type: str) -> bool:
    return any(m["msg_type"] == msg_type for m in messages)


def _stream(messages: list[Message], name: str, text: str) -> bool:
    return any(
        m["msg_type"] == "stream" and m["content"]["name"] == name and text in m["content"]["text"]
        for m in messages
    )


def score(results: list[Result]) -> str:
    passed = sum(r.verdict.passed for r in results)
    lines = [f"{r.tier}  {r.name:<30} {r.verdict.value} {r.note}".rstrip() for r in results]
    return "\n".join([*lines, f"score: {passed}/{len(results)}"])
