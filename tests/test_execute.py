"""The execute path in-process: every outcome of a request, as IOPub messages and reply content.

A real session with real V8 isolates; the only stand-in is the socket. Outputs go through the real
`Publisher` into a real jupyter_client `Session` that packs each message (so content that could not
go over the wire fails here too) and records it instead of writing it to IOPub.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_client.session import Session as JupyterSession

from codemode_kernel.kernel.displays import CellDisplays
from codemode_kernel.kernel.execute import ExecuteHandler, kernel_failed
from codemode_kernel.kernel.publish import Publisher
from codemode_kernel.output.traceback import strip_ansi
from codemode_kernel.runtime import Engine, Limits
from codemode_kernel.session.cell import Cell
from codemode_kernel.session.router import Toolbox
from codemode_kernel.session.session import Session, SessionConfig

pytestmark = pytest.mark.unit


def plain(traceback: list[str]) -> list[str]:
    """A traceback without its colour: the text underneath is the exact error text."""
    return [strip_ansi(line) for line in traceback]


MIB = 1024 * 1024
NO_OUTPUT = {"total_lines": 0, "truncated_tokens": 0, "omitted_text_items": 0}


class Recorder(JupyterSession):
    """A jupyter_client session that packs every message, then keeps it instead of sending it."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send(self, stream: Any, msg_or_type: Any, content: Any = None, **kwargs: Any) -> Any:
        msg = super().send(None, msg_or_type, content, **kwargs)
        self.sent.append(msg)
        return msg


@dataclass
class Run:
    """One request: its reply content and the messages parented to it so far."""

    reply: dict[str, Any]
    msg_id: str
    recorder: Recorder

    @property
    def messages(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (m["msg_type"], m["content"])
            for m in self.recorder.sent
            if m["parent_header"].get("msg_id") == self.msg_id
        ]

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [content for msg_type, content in self.messages if msg_type in types]

    @property
    def texts(self) -> list[str]:
        out = []
        for msg_type, content in self.messages:
            if msg_type == "stream":
                out.append(content["text"])
            elif msg_type in ("display_data", "execute_result", "update_display_data"):
                out.append(content["data"].get("text/plain", ""))
        return out

    @property
    def status(self) -> str:
        return str(self.reply["status"])

    @property
    def codemode(self) -> dict[str, Any]:
        return dict(self.reply["metadata"]["codemode"])


@dataclass
class Events:
    """A session listener that lets a test wait for a cell event."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def cell_event(self, cell: Cell, event: str) -> None:
        self.seen.append((cell.cell_id, event))
        self.changed.set()

    def notify(self, cell: Cell, text: str) -> None:
        pass

    async def until(self, cell_id: str, event: str) -> None:
        while (cell_id, event) not in self.seen:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)


@dataclass
class Harness:
    session: Session
    handler: ExecuteHandler
    displays: CellDisplays
    events: Events
    recorder: Recorder = field(default_factory=Recorder)
    count: int = 0

    def start(self, code: str, *, silent: bool = False) -> tuple[str, Awaitable[dict[str, Any]]]:
        """Begin a request the way ipykernel does (the count moves for non-silent ones)."""
        parent = self.recorder.msg("execute_request", {"code": code, "silent": silent})
        publisher = Publisher(self.recorder, None, parent, "kernel.test")
        if not silent:
            self.count += 1
        running = self.handler.execute(code, publisher, self.count, silent=silent)
        return str(parent["header"]["msg_id"]), running

    async def run(self, code: str, *, silent: bool = False) -> Run:
        msg_id, running = self.start(code, silent=silent)
        return Run(await running, msg_id, self.recorder)

    async def background(self, code: str) -> tuple[str, asyncio.Task[dict[str, Any]]]:
        """Start a request and return once it observes its cell."""
        msg_id, running = self.start(code)
        task = asyncio.ensure_future(running)
        before = self.displays.observed()
        while self.displays.observed() == before:
            await asyncio.sleep(0.005)
        return msg_id, task


Scenario = Callable[[Harness], Awaitable[None]]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(prepared=2)
    yield eng
    eng.shutdown()


def scenario_on(engine: Engine, scenario: Scenario, **config: Any) -> None:
    """Run one scenario against a fresh session (with `config`) on the shared engine."""
    max_tokens = config.pop("max_output_tokens", 10_000)
    progress_delay = config.pop("progress_delay", 60.0)

    async def main() -> None:
        toolbox = Toolbox()
        session = Session(engine, SessionConfig(**config), tools=toolbox)
        displays, events = CellDisplays(), Events()
        session.listeners += [displays, events]
        handler = ExecuteHandler(session, toolbox, displays, max_tokens, progress_delay)
        try:
            await asyncio.wait_for(scenario(Harness(session, handler, displays, events)), 30)
        finally:
            for info in session.cells():
                cell = session.get(info.cell_id)
                if not cell.terminating:
                    await cell.terminate()

    asyncio.run(main())


def test_completed_cell_shows_outputs_then_the_result(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('text("a"); console.log("b", 1); 6 * 7')
        assert run.status == "ok"
        assert [t for t, _ in run.messages] == ["display_data", "stream", "execute_result"]
        assert run.texts == ["a", "b 1\n", "42"]
        result = run.of_type("execute_result")[0]
        assert result["execution_count"] == 1 and run.reply["execution_count"] == 1
        assert run.codemode["status"] == "completed" and run.codemode["cell_id"] == "1"
        assert run.codemode["output"] == {
            "total_lines": 2,
            "truncated_tokens": 0,
            "omitted_text_items": 0,
        }
        assert "error_text" not in run.codemode

    scenario_on(engine, scenario)


def test_json_result_carries_application_json(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("[1, 2].map(x => x * 2)")
        assert run.of_type("execute_result")[0]["data"]["application/json"] == [2, 4]

    scenario_on(engine, scenario)


def test_failed_cell_is_an_error_output_and_an_error_reply(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('text("before")\nthrow new TypeError("bad")')
        assert run.status == "error"
        assert (run.reply["ename"], run.reply["evalue"]) == ("TypeError", "bad")
        (error,) = run.of_type("error")
        assert error["traceback"] == run.reply["traceback"]
        lines = plain(error["traceback"])
        assert lines[0] == "TypeError: bad" and "cell.js:2:" in lines[1]
        assert run.codemode["status"] == "failed"
        assert run.codemode["error_text"].startswith("TypeError: bad\n")
        assert run.texts == ["before"]

    scenario_on(engine, scenario)


def test_a_thrown_non_error_is_a_script_error(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('throw "plain"')
        assert (run.reply["ename"], run.reply["evalue"]) == ("ScriptError", "plain")

    scenario_on(engine, scenario)


def test_static_import_fails_the_cell(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('import fs from "fs";\ntext(1)')
        assert run.status == "error" and run.reply["evalue"] == "Unsupported import in exec: fs"
        assert run.codemode["cell_id"] == "1" and run.texts == []

    scenario_on(engine, scenario)


def test_yield_shows_a_running_display_and_replies_ok(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        code = 'text("first"); yield_control(); await new Promise(r => setTimeout(r, 50))'
        run = await h.run(code)
        cid = run.codemode["cell_id"]
        assert run.status == "ok" and run.codemode["status"] == "running"
        status = run.of_type("display_data")[-1]
        assert status["data"]["text/plain"] == f"Script running with cell ID {cid}"
        assert status["transient"] == {"display_id": f"codemode-cell-{cid}"}
        assert status["metadata"]["codemode"]["type"] == "status"
        assert run.texts[0] == "first"
        assert h.displays.observed() == set()

    scenario_on(engine, scenario)


def test_background_completion_updates_the_display_of_the_yielding_request(
    engine: Engine,
) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run(
            '// @exec: {"yield_time_ms": 10}\nawait new Promise(r => setTimeout(r, 100))'
        )
        cid = run.codemode["cell_id"]
        await h.events.until(cid, "completed")
        (update,) = run.of_type("update_display_data")
        assert update["transient"] == {"display_id": f"codemode-cell-{cid}"}
        assert update["data"]["text/plain"] == (
            f"Script completed with cell ID {cid}; collect its output with %wait {cid}"
        )
        waited = await h.run(f"%wait {cid}")
        assert waited.codemode["status"] == "completed"
        assert waited.of_type("update_display_data") == []
        final = run.of_type("update_display_data")[-1]
        assert final["data"]["text/plain"] == f"Script completed with cell ID {cid}"


def test_wait_collects_a_yielded_cell_with_its_result(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        code = 'yield_control(); await new Promise(r => setTimeout(r, 50)); text("second"); 7'
        cid = (await h.run(code)).codemode["cell_id"]
        waited = await h.run(f'// @wait: {{"cell_id": {cid}, "yield_time_ms": 5000}}')
        assert waited.status == "ok" and waited.codemode["status"] == "completed"
        assert waited.codemode["cell_id"] == cid
        # The yielded cell's status line is updated by (and parented to) the collecting request.
        assert waited.texts == ["second", f"Script completed with cell ID {cid}", "7"]
        assert waited.of_type("update_display_data")[0]["transient"] == {
            "display_id": f"codemode-cell-{cid}"
        }
        assert waited.of_type("execute_result")[0]["execution_count"] == 2

    scenario_on(engine, scenario)


def test_wait_that_yields_again_shows_the_display_again(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        cid = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode["cell_id"]
        again = await h.run(f"%wait {cid} --yield-time-ms 10")
        assert again.codemode["status"] == "running"
        assert again.texts[-1] == f"Script running with cell ID {cid}"

    scenario_on(engine, scenario)


def test_terminate_magic_replies_ok_with_a_terminated_line(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        cid = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode["cell_id"]
        run = await h.run(f"%terminate {cid}")
        assert run.status == "ok" and run.codemode["status"] == "terminated"
        line = f"Script terminated with cell ID {cid}"
        assert run.texts == [line, line]  # the running line updated, and this request's own
        assert [t for t, _ in run.messages] == ["update_display_data", "display_data"]
        gone = await h.run(f"%wait {cid}")
        assert gone.reply["ename"] == "CellNotFound"

    scenario_on(engine, scenario)


def test_wait_on_an_unknown_cell_fails_the_request(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("%wait 999")
        assert run.status == "error"
        assert (run.reply["ename"], run.reply["evalue"]) == (
            "CellNotFound",
            "exec cell 999 not found",
        )
        assert plain(run.reply["traceback"]) == ["CellNotFound: exec cell 999 not found"]
        assert run.codemode == {
            "cell_id": "999",
            "status": "failed",
            "wall_time_s": 0.0,
            "output": NO_OUTPUT,
            "error_text": "exec cell 999 not found",
        }

    scenario_on(engine, scenario)


def test_a_second_observer_is_refused(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        cid = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode["cell_id"]
        _, first = await h.background(f"%wait {cid} --yield-time-ms 5000")
        busy = await h.run(f"%wait {cid}")
        assert (busy.reply["ename"], busy.reply["evalue"]) == (
            "CellBusy",
            f"exec cell {cid} already has an active observer",
        )
        h.handler.interrupt()
        assert (await first)["ename"] == "CellTerminated"

    scenario_on(engine, scenario)


def test_interrupt_terminates_the_observed_cell_only(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        other = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode[
            "cell_id"
        ]
        msg_id, task = await h.background(
            'text("spinning"); await new Promise(r => setTimeout(r, 20)); while (true) {}'
        )
        while not Run({}, msg_id, h.recorder).texts:
            await asyncio.sleep(0.005)
        h.handler.interrupt()
        run = Run(await task, msg_id, h.recorder)
        assert run.status == "error"
        assert (run.reply["ename"], run.reply["evalue"]) == ("CellTerminated", "Script terminated")
        assert plain(run.reply["traceback"]) == ["CellTerminated: Script terminated"]
        assert run.codemode["status"] == "terminated"
        assert run.texts == ["spinning"]
        assert h.session.get(other).state == "running"  # not observed: not interrupted
        h.handler.interrupt()  # nothing observed now: a no-op
        assert h.session.get(other).state == "running"

    scenario_on(engine, scenario)


def test_interrupt_during_wait_terminates_the_waited_cell(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        cid = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode["cell_id"]
        msg_id, task = await h.background(f"%wait {cid} --yield-time-ms 20000")
        h.handler.interrupt()
        run = Run(await task, msg_id, h.recorder)
        assert run.reply["ename"] == "CellTerminated" and run.codemode["cell_id"] == cid
        assert (await h.run(f"%wait {cid}")).reply["ename"] == "CellNotFound"

    scenario_on(engine, scenario)


def test_exit_completes_with_the_output_so_far(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('text("before"); exit(); text("after")')
        assert run.status == "ok" and run.codemode["status"] == "completed"
        assert run.texts == ["before"]

    scenario_on(engine, scenario)


def test_too_many_live_cells_fails_the_request(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')
        run = await h.run("1")
        assert run.reply["ename"] == "ResourceLimitExceeded"
        assert run.reply["evalue"] == (
            "resource limit exceeded: code=resource_exhausted resource=active_cells limit=1 "
            "observed=2"
        )
        assert run.codemode["cell_id"] is None and run.codemode["status"] == "failed"

    scenario_on(engine, scenario, max_cells=1)


def test_a_heap_bomb_fails_its_cell_with_the_limit(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        await h.run('store("kept", 1)')
        run = await h.run("const a = []; while (true) a.push(new Array(1e5).fill(1))")
        assert run.reply["ename"] == "ResourceLimitExceeded"
        assert run.reply["evalue"].startswith(
            f"resource limit exceeded: code=resource_exhausted resource=heap_bytes limit={32 * MIB}"
        )
        assert run.codemode["status"] == "failed" and run.codemode["cell_id"] == "2"
        assert (await h.run('load("kept")')).texts == ["1"]

    scenario_on(engine, scenario, limits=Limits(heap_bytes=32 * MIB))


@pytest.mark.parametrize(
    ("code", "evalue"),
    [
        (
            '// @exec: {"nope": 1}\ntext(1)',
            "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `nope`",
        ),
        (
            '// @wait: {"cell_id": "1", "nope": 1}',
            "wait only supports cell_id, yield_time_ms, max_tokens and terminate; got nope",
        ),
    ],
)
def test_pragma_errors_are_exec_errors(engine: Engine, code: str, evalue: str) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run(code)
        assert (run.reply["ename"], run.reply["evalue"]) == ("ExecError", evalue)
        assert plain(run.of_type("error")[0]["traceback"]) == [f"ExecError: {evalue}"]
        assert run.codemode["status"] == "failed" and run.codemode["error_text"] == evalue
        assert h.session.cells() == []

    scenario_on(engine, scenario)


def test_empty_cell_is_a_no_op(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("  \n ")
        assert run.status == "ok" and run.messages == []
        assert run.codemode == {
            "cell_id": None,
            "status": "completed",
            "wall_time_s": 0.0,
            "output": NO_OUTPUT,
        }
        assert h.session.cells() == []

    scenario_on(engine, scenario)


def test_cells_magic_lists_the_live_cells(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        cid = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode["cell_id"]
        run = await h.run("%cells")
        (table,) = run.of_type("display_data")
        assert cid in table["data"]["text/plain"] and "<table" in table["data"]["text/html"]
        assert run.codemode["cell_id"] is None and run.status == "ok"

    scenario_on(engine, scenario)


def test_store_commit_display_and_the_store_magics(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('store("a", [1]); store("b", {c: true})')
        (stored,) = run.of_type("display_data")
        assert stored["data"] == {
            "application/json": {"a": [1], "b": {"c": True}},
            "text/plain": "Stored: a, b",
        }
        assert stored["metadata"]["codemode"] == {"cell_id": "1", "type": "store"}
        shown = (await h.run("%store")).of_type("display_data")[0]["data"]
        assert shown["application/json"] == {"a": [1], "b": {"c": True}}
        await h.run("%store --clear")
        assert dict(h.session.store.values) == {}

    scenario_on(engine, scenario)


def test_truncation_reports_the_cut_in_the_reply(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("for (let i = 0; i < 50; i++) text(`line ${i}`)")
        output = run.codemode["output"]
        assert output["total_lines"] == 50 and output["truncated_tokens"] > 0
        marker = f"…{output['truncated_tokens']} tokens truncated…"
        assert marker in run.texts

    scenario_on(engine, scenario, max_output_tokens=20)


def test_a_pragma_budget_overrides_the_default(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        code = '// @exec: {"max_output_tokens": 10000}\nfor (let i = 0; i < 50; i++) text(i)'
        run = await h.run(code)
        assert run.codemode["output"]["truncated_tokens"] == 0 and len(run.texts) == 50

    scenario_on(engine, scenario, max_output_tokens=5)


def test_notify_shows_while_observed(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('notify("heads up"); 1')
        notes = [
            c for c in run.of_type("display_data") if c["metadata"]["codemode"]["type"] == "notify"
        ]
        assert [n["data"]["text/plain"] for n in notes] == ["heads up"]

    scenario_on(engine, scenario)


def test_a_long_observation_shows_a_progress_line(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("await new Promise(r => setTimeout(r, 300))")
        msg_id = run.msg_id
        lines = [
            (t, c["data"]["text/plain"], c["transient"]["display_id"])
            for t, c in run.messages
            if t in ("display_data", "update_display_data")
        ]
        assert lines[0][0] == "display_data" and lines[0][1].startswith("Cell 1 running · ")
        assert {d for _, _, d in lines} == {f"codemode-progress-{msg_id}"}
        assert lines[-1][0] == "update_display_data"
        assert lines[-1][1].startswith("Cell 1 completed after 0.")

    scenario_on(engine, scenario, progress_delay=0.05)


def test_silent_runs_the_cell_and_broadcasts_nothing(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('text("hidden"); store("k", 1); yield_control(); 5', silent=True)
        assert run.status == "ok" and run.messages == []
        assert run.reply["execution_count"] == 0
        cid = run.codemode["cell_id"]
        assert run.codemode["status"] == "running"
        waited = await h.run(f"%wait {cid}")
        assert waited.texts == ["Stored: k", "5"]  # no display of a yield nobody saw
        assert waited.reply["execution_count"] == 1
        failed = await h.run('throw new Error("quiet")', silent=True)
        assert failed.status == "error" and failed.reply["evalue"] == "quiet"
        assert failed.messages == []

    scenario_on(engine, scenario)


def test_a_lone_surrogate_in_an_error_still_packs(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run('throw new Error("bad \\ud800 text")')
        assert run.reply["evalue"] == "bad \ufffd text"
        assert run.of_type("error")[0]["evalue"] == "bad \ufffd text"

    scenario_on(engine, scenario)


def test_a_request_the_kernel_failed_on_is_a_kernel_error_reply() -> None:
    recorder = Recorder()
    parent = recorder.msg("execute_request", {"code": 5})
    reply = kernel_failed(TypeError("no"), Publisher(recorder, None, parent, "kernel.test"), 3)
    evalue = "the kernel failed on this request: TypeError: no"
    assert (reply["status"], reply["ename"], reply["evalue"]) == ("error", "KernelError", evalue)
    assert reply["execution_count"] == 3
    assert reply["metadata"]["codemode"] == {
        "cell_id": None,
        "status": "failed",
        "wall_time_s": 0.0,
        "output": NO_OUTPUT,
        "error_text": evalue,
    }
    (sent,) = recorder.sent
    assert sent["msg_type"] == "error" and plain(sent["content"]["traceback"]) == [
        f"KernelError: {evalue}"
    ]


def test_a_cell_id_is_its_prompt_number_and_control_cells_take_numbers(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        first = await h.run("1")
        assert (first.codemode["cell_id"], first.reply["execution_count"]) == ("1", 1)
        await h.run("%cells")  # prompt 2, no cell
        third = await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')
        assert third.codemode["cell_id"] == "3" and third.reply["execution_count"] == 3
        assert third.texts[-1] == "Script running with cell ID 3"
        silent = await h.run("yield_control()", silent=True)
        assert silent.codemode["cell_id"] == "4"  # above every id and prompt number so far

    scenario_on(engine, scenario)


def test_wait_and_terminate_without_an_id_take_the_newest_running_cell(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        none = await h.run("%wait")
        assert (none.reply["ename"], none.reply["evalue"]) == (
            "CellNotFound",
            "no exec cell is running",
        )
        assert none.codemode["cell_id"] is None
        older = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode
        newer = (await h.run('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')).codemode
        again = await h.run("%wait --yield-time-ms 10")
        assert again.codemode["cell_id"] == newer["cell_id"]
        stopped = await h.run("%terminate")
        assert stopped.texts[-1] == f"Script terminated with cell ID {newer['cell_id']}"
        stopped = await h.run("%terminate")
        assert stopped.texts[-1] == f"Script terminated with cell ID {older['cell_id']}"
        assert (await h.run("%terminate")).reply["evalue"] == "no exec cell is running"

    scenario_on(engine, scenario)


def test_a_name_from_an_earlier_cell_gets_a_hint_in_the_traceback_only(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        await h.run("let x = 5; const { a, b: [c] } = { a: 1, b: [2] }")
        run = await h.run("x + c")
        hint_line = (
            "Hint: x was declared in cell 1; each cell runs in a fresh isolate, "
            'so store("x", x) there and load("x") here.'
        )
        assert plain(run.reply["traceback"])[-1] == hint_line
        assert plain(run.of_type("error")[0]["traceback"])[-1] == hint_line
        assert "Hint" not in run.codemode["error_text"] and "Hint" not in run.reply["evalue"]
        unknown = await h.run("y")
        assert not any("Hint" in line for line in unknown.reply["traceback"])

    scenario_on(engine, scenario)


def test_calling_a_tool_that_is_not_registered_gets_a_hint(engine: Engine) -> None:
    async def scenario(h: Harness) -> None:
        run = await h.run("await tools.nope({})")
        assert run.reply["evalue"] == "tools.nope is not a function"
        assert plain(run.reply["traceback"])[-1] == (
            "Hint: no tool nope is registered; %tools lists the tools this cell could call."
        )

    scenario_on(engine, scenario)
