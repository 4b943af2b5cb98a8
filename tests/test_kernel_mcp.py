"""The kernel's own MCP servers (`c.CodeModeKernel.mcp_servers` / `mcp_config`), through a real
kernel process and real stdio servers (tests/fixtures/mcp_echo_server.py): cells call their
tools; a broken or silent server delays neither kernel_info nor other cells; a server that dies
rejects its calls, leaves the next cell's tools and comes back when retried; its stderr goes to
the kernel log; shutdown ends the sessions."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from driver import Kernel, Run

pytestmark = pytest.mark.e2e

FIXTURE = str(Path(__file__).parent / "fixtures" / "mcp_echo_server.py")
RETRY_S = 2.0


def fixture_server(log: Path) -> dict[str, Any]:
    return {"command": sys.executable, "args": [FIXTURE], "env": {"MCP_FIXTURE_LOG": str(log)}}


class Started:
    def __init__(self, kernel: Kernel, seconds: float, tmp: Path) -> None:
        self.kernel, self.start_seconds, self.tmp = kernel, seconds, tmp

    @property
    def stderr(self) -> str:
        return (self.tmp / "kernel.err").read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    tmp = tmp_path_factory.mktemp("kernel-mcp")
    config = tmp / "mcp.json"
    servers = {
        "echo": fixture_server(tmp / "echo.log"),
        "broken": {"command": str(tmp / "no-such-command")},
        # Never answers `initialize`: it must cost nothing but its own tools.
        "silent": {"command": sys.executable, "args": ["-c", "import time; time.sleep(120)"]},
    }
    config.write_text(json.dumps({"mcpServers": servers}))
    crashy = json.dumps({"crashy": fixture_server(tmp / "crashy.log")})
    err = (tmp / "kernel.err").open("w")
    began = time.monotonic()
    kernel = Kernel.start(
        stderr=err,
        extra_arguments=[
            f"--CodeModeKernel.mcp_config={config}",
            f"--CodeModeKernel.mcp_servers={crashy}",
            f"--CodeModeKernel.mcp_retry_seconds={RETRY_S}",
        ],
    )
    seconds = time.monotonic() - began  # start_new_kernel waits for the kernel_info reply
    yield Started(kernel, seconds, tmp)
    kernel.stop()
    err.close()


def value(run: Run) -> Any:
    assert run.status == "ok", run.error
    content = run.of_type("execute_result")[0]["content"]
    return content["data"].get("application/json", content["metadata"]["codemode"].get("value"))


def tool_names(kernel: Kernel) -> list[str]:
    return list(value(kernel.execute("ALL_TOOLS.map(t => t.name).sort()")))


def wait_for_tool(kernel: Kernel, name: str, present: bool = True, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (name in tool_names(kernel)) != present:
        assert time.monotonic() < deadline, f"{name} {'never came' if present else 'stayed'}"
        time.sleep(0.2)


def test_kernel_info_and_plain_cells_do_not_wait_for_servers(started: Started) -> None:
    assert started.start_seconds < 10  # the silent server alone would take 30 s to time out
    began = time.monotonic()
    assert value(started.kernel.execute("1 + 1")) == 2
    assert time.monotonic() - began < 5


def test_a_cell_calls_a_kernel_mcp_tool(started: Started) -> None:
    kernel = started.kernel
    wait_for_tool(kernel, "mcp__echo__echo")
    run = kernel.execute('await tools.mcp__echo__echo({text: "hi"})')
    result = value(run)
    assert result["content"] == [{"type": "text", "text": "hi"}]
    assert result["isError"] is False
    names = tool_names(kernel)
    assert "mcp__echo__dashed_name" in names  # its JS identifier
    assert not [n for n in names if n.startswith(("mcp__broken__", "mcp__silent__"))]
    assert "MCP server 'broken'" in started.stderr  # logged, naming the server


def test_percent_tools_names_the_mcp_server(started: Started) -> None:
    wait_for_tool(started.kernel, "mcp__echo__add")
    run = started.kernel.execute("%tools")
    (display,) = run.of_type("display_data")
    lines = display["content"]["data"]["text/plain"].splitlines()
    assert "mcp__echo__add function mcp:echo Add two integers." in [
        " ".join(x.split()) for x in lines
    ]
    assert "<td>mcp:echo</td>" in display["content"]["data"]["text/html"]


def test_tools_list_changed_refreshes_later_cells(started: Started) -> None:
    kernel = started.kernel
    wait_for_tool(kernel, "mcp__echo__grow")
    assert value(kernel.execute('await tools.mcp__echo__grow({name: "sprout"})'))
    wait_for_tool(kernel, "mcp__echo__sprout", timeout=10)
    run = kernel.execute("(await tools.mcp__echo__sprout()).structuredContent.result")
    assert value(run) == "sprout"


def test_a_server_that_dies_rejects_calls_and_its_tools_leave(started: Started) -> None:
    kernel = started.kernel
    wait_for_tool(kernel, "mcp__crashy__crash")
    run = kernel.execute(
        "const slow = tools.mcp__crashy__slow({seconds: 30}).catch(e => e);\n"
        "await new Promise(r => setTimeout(r, 300));\n"
        "const crash = await tools.mcp__crashy__crash().catch(e => e);\n"
        "[typeof crash, crash, await slow]"
    )
    kind, crash, slow = value(run)
    assert kind == "string"
    assert crash.startswith("tool `mcp__crashy__crash`: ") and "crashy" in crash
    assert slow.startswith("tool `mcp__crashy__slow`: ") and "crashy" in slow
    assert not any("crashing on purpose" in text for text in run.texts)
    wait_for_tool(kernel, "mcp__crashy__crash", present=False, timeout=10)
    assert "mcp__echo__echo" in tool_names(kernel)  # the other servers are untouched
    deadline = time.monotonic() + 10
    while "crashing on purpose" not in started.stderr:  # its stderr is in the kernel log
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # Down servers are tried again when a cell starts (at most every RETRY_S seconds).
    time.sleep(RETRY_S)
    wait_for_tool(kernel, "mcp__crashy__echo")
    assert value(kernel.execute('(await tools.mcp__crashy__echo({text: "back"})).content[0].text'))


def test_shutdown_closes_the_sessions(started: Started) -> None:
    kernel = started.kernel
    wait_for_tool(kernel, "mcp__echo__echo")
    pids = [
        int(line.split()[1])
        for line in (started.tmp / "echo.log").read_text().splitlines()
        if line.startswith("pid ")
    ]
    began = time.monotonic()
    kernel.kc.shutdown()
    reply = kernel.kc.control_channel.get_msg(timeout=10)
    assert reply["msg_type"] == "shutdown_reply"
    assert time.monotonic() - began < 2.5
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, "an MCP server outlived the kernel's shutdown"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
