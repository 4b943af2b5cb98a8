"""Notebooks executed with nbclient: `run_notebook` answering tool calls with Python functions,
and the two shipped notebooks (`notebooks/tools.ipynb`, `notebooks/agent.ipynb`) run for real."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

from codemode_kernel.nbclient import run_notebook_path

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXAMPLES = ROOT / "examples"
KERNEL_TOOLS = ["notebook_tools:lookup", "notebook_tools:convert"]


def read(path: Path) -> NotebookNode:
    nb: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    return nb


def texts(cell: NotebookNode) -> list[str]:
    """Each output as plain text: stream text, a bundle's text/plain, or an error's evalue."""
    out = []
    for output in cell.outputs:
        if output["output_type"] == "stream":
            out.append(output["text"])
        elif output["output_type"] == "error":
            out.append(f"{output['ename']}: {output['evalue']}")
        else:
            out.append(output["data"].get("text/plain", ""))
    return out


def seconds(cell: NotebookNode) -> float:
    """How long the cell ran, from nbclient's recorded busy/idle timestamps."""
    timing = cell.metadata["execution"]
    busy, idle = (
        datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
        for key in ("iopub.status.busy", "iopub.status.idle")
    )
    return (idle - busy).total_seconds()


def env_with_examples() -> dict[str, str]:
    """The kernel's environment with `examples/` importable, for the kernel-side tools."""
    path = os.pathsep.join(p for p in (str(EXAMPLES), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


# --- run_notebook with Python tools ------------------------------------------------------


def wait_ms(ms: int) -> str:
    """A sync tool that blocks its worker thread for `ms` milliseconds."""
    time.sleep(ms / 1000)
    return f"waited {ms}"


async def greet(name: str) -> str:
    """An async tool."""
    await asyncio.sleep(0.01)
    return f"hello {name}"


def broken() -> None:
    """Raises."""
    raise RuntimeError("the tool broke")


def test_run_notebook_answers_tool_calls(tmp_path: Path) -> None:
    cells = [
        "ALL_TOOLS.map(t => t.name)",
        "await Promise.all([1, 2, 3].map(() => tools.wait_ms({ms: 300})))",
        'console.log(await tools.greet({name: "nb"}))',
        "await tools.broken().catch(e => `caught: ${e}`)",
        "await tools.broken()",
        '// @exec: {"yield_time_ms": 100}\n'
        'await new Promise(r => setTimeout(r, 300));\ntext(await tools.greet({name: "later"}))',
        # The yielded cell calls its tool while this cell runs; it is answered all the same.
        'await new Promise(r => setTimeout(r, 700)); "slept"',
        "%wait 6",
        'await prompt("name?").catch(e => e)',  # nbclient does not allow stdin
    ]
    source = tmp_path / "tools_demo.ipynb"
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {"name": "codemode", "display_name": "Code Mode", "language": "js"}
    nbformat.write(nb, source)  # type: ignore[no-untyped-call]
    target = tmp_path / "executed.ipynb"
    tools: list[Callable[..., Any]] = [wait_ms, greet, broken]
    run_notebook_path(source, tools, output_path=target, timeout=30, allow_errors=True)

    done = read(target)
    out = [texts(cell) for cell in done.cells]
    assert out[0] == ["[ 'wait_ms', 'greet', 'broken' ]"]
    assert out[1] == ["[ 'waited 300', 'waited 300', 'waited 300' ]"]
    assert seconds(done.cells[1]) < 0.75  # three sync tools, each in its own thread
    assert out[2] == ["hello nb\n"]
    assert out[3] == ["'caught: the tool broke'"]
    assert out[4] == ["ScriptError: the tool broke"]
    # The `%wait` that collected cell 6 updated its status line: nbclient saw the update, since
    # it is parented to the collecting request, and applied it where the line is shown.
    assert out[5] == ["Script completed with cell ID 6"]
    assert out[6] == ["'slept'"]
    assert out[7] == ["hello later"]
    assert out[8] == ["'prompt is not available: the client does not allow stdin'"]


# --- notebooks/tools.ipynb: tools configured in the kernel ---------------------------------


def check_tools_notebook(nb: NotebookNode) -> None:
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    out = [texts(cell) for cell in code]
    assert out[0] == ["[ 'lookup', 'convert' ]"]
    assert "declare const tools: { convert(args: {" in out[1][0]
    assert out[2] == [
        "{ term: 'isolate', definition: 'A V8 heap with its own globals; every code-mode cell "
        "gets a fresh one.' }"
    ]
    assert out[3] == ["a marathon is 26.2188 miles; a mile is 5280 feet"]
    assert out[4] == [  # Node quotes a string holding ' with "
        "\"lookup failed: no glossary entry for 'monad'; known terms: comm, isolate, store, yield\""
    ]


def test_tools_notebook_with_tools_from_the_command_line() -> None:
    nb = read(NOTEBOOKS / "tools.ipynb")
    extra = [f"--CodeModeKernel.tools={spec}" for spec in KERNEL_TOOLS]
    client = NotebookClient(nb, timeout=30, extra_arguments=extra)
    client.execute(env=env_with_examples())
    check_tools_notebook(nb)


def test_tools_notebook_with_tools_from_codemode_kernel_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "codemode_kernel_config.py").write_text(
        f"c.CodeModeKernel.tools = {KERNEL_TOOLS!r}\n"
    )
    env = {**env_with_examples(), "JUPYTER_CONFIG_DIR": str(config), "IPYTHONDIR": str(tmp_path)}
    nb = read(NOTEBOOKS / "tools.ipynb")
    NotebookClient(nb, timeout=30, allow_errors=True).execute(env=env)
    check_tools_notebook(nb)


# --- notebooks/agent.ipynb: a Python notebook driving a second (codemode) kernel -----------


def test_agent_notebook_drives_a_codemode_kernel() -> None:
    nb = read(NOTEBOOKS / "agent.ipynb")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    NotebookClient(nb, timeout=60).execute()
    out = [texts(cell) for cell in nb.cells if cell.cell_type == "code"]
    assert "population(args: { city: string; }): Promise<number>" in out[1][0]
    assert out[2][0].startswith("('completed',\n '1',\n 3,\n [TextItem(text='Paris: 2102650'")
    # The wall time is the machine's: 0.0 on an idle one, a tenth more under load.
    assert re.search(
        r"'text': 'Script completed\\nWall time \d+\.\d seconds\\nOutput:\\n'", out[3][0]
    )
    assert "{'type': 'input_text', 'text': 'total: 3497976'}" in out[3][0]
    assert "Script error:\\nunknown city 'Atlantis'" in out[4][0]
    assert out[5][0].startswith("Script running with cell ID 3\n")
    assert out[5][-1] == "('completed', [1, 4, 9])"
    assert "Notification(cell_id='3', text='squared 3')" in out[6][0]
    assert out[7][0].startswith("78 tokens truncated\nTotal output lines: 50\n\nline 1\n")
    assert out[8] == ["(['input_text', 'input_image', 'input_text'], 'low')"]


@pytest.mark.parametrize("name", ["tools.ipynb", "agent.ipynb"])
def test_shipped_notebooks_are_stored_without_outputs(name: str) -> None:
    nb = read(NOTEBOOKS / name)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
