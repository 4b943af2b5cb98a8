"""`CodeModeClient` with Python tools, notifications and other kernels: sync and async tools,
errors and cancellation, describe and register, kernels started elsewhere, a transport of the
test's own, and the shipped examples (`examples/agent_loop.py`, the README snippet)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clientkit import PROBE, Loop, add, events_of, run, texts
from jupyter_client.manager import KernelManager

from codemode_kernel.client import CodeModeClient, CodeModeClientError, Notification
from codemode_kernel.client.connection import Channel, Deliver, ZmqConnection
from codemode_kernel.client.results import ExecResult
from codemode_kernel.output.items import TextItem

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def fresh_probe() -> None:
    PROBE.__init__()  # type: ignore[misc]


# --- tools --------------------------------------------------------------------------------


def test_sync_and_async_tools_run_concurrently(loop: Loop, client: CodeModeClient) -> None:
    r = run(
        loop,
        client,
        "await Promise.all([\n"
        '  tools.blocking_echo({text: "sync", seconds: 0.4}),\n'
        '  tools.sleepy({label: "async", seconds: 0.4}),\n'
        '  tools.shout("freeform"),\n])',
    )
    assert r.result == ["sync", "async", "FREEFORM"]
    assert r.wall_time_s < 0.75  # in parallel, not one after the other


def test_a_raising_tool_rejects_with_its_message(loop: Loop, client: CodeModeClient) -> None:
    r = run(
        loop,
        client,
        'const a = await tools.fail({message: "no such page"}).catch(e => [typeof e, e]);\n'
        "const b = await tools.not_json().catch(e => e);\n[a, b]",
    )
    assert r.result == [
        ["string", "no such page"],
        "tool `not_json` returned a value that is not JSON: set",
    ]
    r = run(loop, client, 'await tools.fail({message: "uncaught"})')
    assert r.status == "failed" and r.error_text == "uncaught"
    assert r.to_model_output()[-1] == texts("Script error:\nuncaught")[0]


def test_tool_cancel_cancels_the_running_python_tool(loop: Loop, client: CodeModeClient) -> None:
    r = run(loop, client, 'tools.sleepy({label: "orphan", seconds: 30}); text("bye")')
    assert r.status == "completed" and r.items == [TextItem("bye")]
    r = run(loop, client, 'await tools.sleepy({label: "held", seconds: 30})', yield_time_ms=100)
    assert r.status == "running"
    loop.run(client.terminate(str(r.cell_id)))
    PROBE.until(lambda: len(PROBE.cancelled) >= 2)
    assert PROBE.started == ["orphan", "held"]
    assert PROBE.cancelled == ["orphan", "held"]


def test_notifications_queue_and_callbacks(loop: Loop, client: CodeModeClient) -> None:
    async def drain() -> list[Notification]:
        found = []
        while not client.notifications.empty():
            found.append(client.notifications.get_nowait())
        return found

    loop.run(drain())
    r = run(loop, client, 'notify("first"); notify({n: 2}); text("out")')
    cid = str(r.cell_id)
    assert r.items == [TextItem("out")]  # notify displays are not items
    assert loop.run(drain()) == [Notification(cid, "first"), Notification(cid, '{"n":2}')]
    assert PROBE.notified == [(cid, "first"), (cid, '{"n":2}')]
    assert events_of(cid, 2) == ["completed", "closed"]


def test_describe_and_register(loop: Loop, client: CodeModeClient) -> None:
    description = loop.run(client.describe())
    assert "Run JavaScript code to orchestrate/compose tool calls" in description["exec"]
    assert "add(args: { a: number; b: number; }): Promise<number>" in description["exec"]
    assert "shout(input: string)" in description["exec"]
    assert (
        "- Use `wait` only after `exec` returns `Script running with cell ID ...`."
        in (description["wait"])
    )

    def late(x: int) -> int:
        """Registered after the client opened."""
        return x * 3

    assert loop.run(client.register([late])) == ["late"]
    assert run(loop, client, "await tools.late({x: 5})").result == 15


# --- other kernels ------------------------------------------------------------------------


def test_connect_to_a_kernel_started_elsewhere(loop: Loop, tmp_path: Any) -> None:
    km = KernelManager(kernel_name="codemode", connection_file=str(tmp_path / "kernel.json"))
    km.start_kernel()
    try:
        # Attach once it runs: a bare client judges a starting kernel by its heartbeat, which
        # jupyter_client gives one second, and a loaded machine can take longer to start one.
        ready = km.client()
        ready.start_channels()
        ready.wait_for_ready(timeout=60)
        ready.stop_channels()

        def where() -> str:
            """Which client answered."""
            return "connected client"

        async def session() -> None:
            async with CodeModeClient.connect(km.connection_file, tools=[where]) as c:
                assert (await c.exec("await tools.where()")).result == "connected client"
                background = await c.exec(
                    "await new Promise(r => setTimeout(r, 300)); 7", yield_time_ms=0
                )
            assert km.is_alive()  # closing a connected client leaves the kernel running
            async with CodeModeClient.connect(km.connection_file) as c:
                assert (await c.exec("typeof tools.where")).result == "undefined"
                assert (await c.wait(str(background.cell_id))).result == 7  # cells live on
                spin = 'notify("spinning"); while (true) {}'
                pending = asyncio.ensure_future(c.exec(spin, yield_time_ms=60_000))
                assert (await asyncio.wait_for(c.notifications.get(), 10)).text == "spinning"
                km.shutdown_kernel(now=True)  # with the request in flight
                with pytest.raises(CodeModeClientError, match="died"):
                    await asyncio.wait_for(pending, 10)

        loop.run(session())
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)


class RecordingConnection:
    """A transport of the test's own, wrapping the ZMQ one: the four methods a gateway
    websocket transport would implement, recording what crosses them."""

    def __init__(self, inner: ZmqConnection) -> None:
        self.inner = inner
        self.crossed: list[tuple[str, str]] = []

    async def open(self) -> None:
        await self.inner.open()

    def send(self, msg_type: str, content: dict[str, Any]) -> str:
        self.crossed.append(("send", msg_type))
        return self.inner.send(msg_type, content)

    async def run(self, deliver: Deliver) -> CodeModeClientError:
        def record(channel: Channel, msg: dict[str, Any]) -> None:
            self.crossed.append((channel, msg["msg_type"]))
            deliver(channel, msg)

        return await self.inner.run(record)

    async def close(self) -> None:
        self.crossed.append(("close", ""))
        await self.inner.close()


def test_the_client_runs_over_any_connection(loop: Loop) -> None:
    connection = RecordingConnection(ZmqConnection.start())

    async def session() -> ExecResult:
        async with CodeModeClient(connection, tools=[add]) as c:
            assert c.kc is None and c.km is None  # only the ZMQ transport has these
            return await c.exec("await tools.add({a: 1, b: 2})")

    r = loop.run(session())
    assert r.status == "completed" and r.result == 3
    crossed = connection.crossed
    for step in [
        ("send", "comm_open"),
        ("iopub", "comm_msg"),  # tools_registered, then the tool_call
        ("send", "execute_request"),
        ("send", "comm_msg"),  # the tool_result
        ("shell", "execute_reply"),
        ("send", "comm_close"),
        ("close", ""),
    ]:
        assert step in crossed, step
    assert crossed.index(("send", "comm_close")) < crossed.index(("close", ""))
    assert crossed[-1] == ("close", "")
    assert connection.inner.km is not None and not loop.run(connection.inner.km.is_alive())


class BreakingConnection(RecordingConnection):
    """A transport that breaks (raises out of `run`) when the kernel echoes a cell's source."""

    async def run(self, deliver: Deliver) -> CodeModeClientError:
        def breaking(channel: Channel, msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "execute_input":
                raise OSError("the socket went away")
            deliver(channel, msg)

        return await self.inner.run(breaking)


def test_a_transport_that_breaks_fails_the_requests_in_flight(loop: Loop) -> None:
    connection = BreakingConnection(ZmqConnection.start())

    async def session() -> None:
        async with CodeModeClient(connection) as c:
            with pytest.raises(CodeModeClientError, match="the socket went away"):
                await asyncio.wait_for(c.exec("1"), 10)
            with pytest.raises(CodeModeClientError, match="lost the connection"):
                await c.exec("2")  # the client stays dead, and says why

    loop.run(session())
    assert connection.inner.km is not None and not loop.run(connection.inner.km.is_alive())


def test_a_kernel_without_the_comm_fails_clearly(loop: Loop) -> None:
    started = time.monotonic()
    with pytest.raises(CodeModeClientError, match="no such comm target"):
        loop.run(CodeModeClient.start(kernel_name="python3", register_timeout=5).open())
    assert time.monotonic() - started < 20


def test_the_agent_loop_example_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent_loop.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "word_count(args: { section: string; }): Promise<number>" in out
    assert (
        '"text": "Script error:\\nno section `preface`; sections: intro, lifecycle, tools"' in out
    )
    assert '"text": "Script running with cell ID 3\\nWall time' in out
    assert "── model → wait" in out and '{"cell_id": "3"}' in out
    assert "── notification from cell 3" in out
    assert out.rstrip().endswith("notes 1, 3 cover yielding; the handbook has 101 words")


def _run_readme_example(section: str, tmp_path: Path) -> list[str]:
    """The first Python block under README heading `section`, run as pasted into a file, from
    the repository root; returns its stdout lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8").split(f"## {section}\n")[1]
    script = tmp_path / "example.py"
    script.write_text(text.split("```python\n", 1)[1].split("```", 1)[0], encoding="utf-8")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PATH": path},  # `python` in the MCP example is this one
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_the_readme_agent_example_runs_as_a_script(tmp_path: Path) -> None:
    status, model_output, description = _run_readme_example("Programs and agents", tmp_path)
    assert status == "completed [TextItem(text='42', stream=None)]"
    assert model_output.startswith("[{'type': 'input_text', 'text': 'Script completed\\nWall time ")
    assert model_output.endswith("{'type': 'input_text', 'text': '42'}]")
    assert description.startswith("Run JavaScript code to orchestrate/compose tool calls")


def test_the_readme_mcp_example_runs_as_a_script(tmp_path: Path) -> None:
    assert _run_readme_example("MCP", tmp_path) == ["[TextItem(text='hi', stream=None)]"]
