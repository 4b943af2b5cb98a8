"""Kernel-side tools (configuration and entry points), with no client providing anything."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    # An installed distribution that declares a tool in the `codemode_kernel.tools` group.
    site = tmp_path_factory.mktemp("site")
    dist = site / "demo_tools-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-tools\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[codemode_kernel.tools]\nshout = kernel_tools:shout\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FIXTURES), str(site)])}
    k = Kernel.start(
        env=env,
        extra_arguments=[
            "--CodeModeKernel.tools=kernel_tools:multiply",
            "--CodeModeKernel.tools=kernel_tools:slow_echo",
            "--CodeModeKernel.tools=kernel_tools:fail",
            "--CodeModeKernel.tools=no_such_module:tool",  # logged and skipped, not fatal
        ],
    )
    yield k
    k.stop()


def value(run: object) -> object:
    """The result's JSON value: `application/json` for a structure, metadata for a scalar."""
    content = run.of_type("execute_result")[0]["content"]  # type: ignore[attr-defined]
    return content["data"].get("application/json", content["metadata"]["codemode"].get("value"))


def test_configured_and_entry_point_tools_are_callable(kernel: Kernel) -> None:
    run = kernel.execute(
        "[await tools.multiply({a: 6, b: 7}), await tools.shout({text: 'hi'}),"
        " ALL_TOOLS.map(t => t.name).sort()]"
    )
    assert value(run) == [42, "HI", ["fail", "multiply", "shout", "slow_echo"]]


def test_a_raising_tool_rejects_with_its_message(kernel: Kernel) -> None:
    run = kernel.execute("await tools.fail({reason: 'broken'}).catch(e => e)")
    assert value(run) == "broken"


def test_calls_run_concurrently(kernel: Kernel) -> None:
    run = kernel.execute(
        "const t = Date.now();\n"
        "await Promise.all([1, 2, 3].map(i => tools.slow_echo({text: String(i), delay: 0.3})));\n"
        "Date.now() - t < 800"
    )
    assert value(run) is True


def test_completion_and_inspect_know_the_tools(kernel: Kernel) -> None:
    kernel.kc.complete("tools.mul", 9)
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    assert reply["matches"] == ["multiply"]
    kernel.kc.inspect("tools.multiply", 14)
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    assert reply["found"]
    text = reply["data"]["text/plain"]
    assert text.startswith("Multiply two numbers.\n\nexec tool declaration:")
    assert "multiply(args: { a: number; b: number; }): Promise<number>" in text


def test_a_long_tool_call_shows_a_live_progress_line(kernel: Kernel) -> None:
    run = kernel.execute("await tools.slow_echo({text: 'x', delay: 2.5})", timeout=30)
    lines = [
        m["content"]["data"]["text/plain"]
        for m in run.messages
        if m["msg_type"] in ("display_data", "update_display_data")
        and m["content"]["metadata"]["codemode"]["type"] == "status"
    ]
    assert any("running" in line and "tools: slow_echo" in line for line in lines), lines
    assert lines[-1].startswith(f"Cell {run.codemode['cell_id']} completed after ")


def test_percent_tools_lists_each_tool_with_its_provider(kernel: Kernel) -> None:
    comm_id = kernel.open_comm(
        {"tools": [{"name": "note-it", "description": "Take a note.\nMore.", "kind": "freeform"}]}
    )
    assert kernel.comm_messages(comm_id)[0]["type"] == "tools_registered"
    run = kernel.execute("%tools")
    assert run.status == "ok"
    (display,) = run.of_type("display_data")
    plain = display["content"]["data"]["text/plain"].splitlines()
    assert plain[0].split() == ["tool", "kind", "provider", "description"]
    rows = {line.split("  ")[0]: " ".join(line.split()) for line in plain[1:]}
    assert rows["multiply"] == "multiply function kernel config Multiply two numbers."
    assert rows["shout"] == (
        "shout function entry point Upper-case text (registered through an entry point)."
    )
    assert rows["note_it"] == "note_it freeform comm client Take a note."  # the JS name
    html = display["content"]["data"]["text/html"]
    assert "<th>provider</th>" in html and "<td>comm client</td>" in html
    kernel.close_comm(comm_id)
