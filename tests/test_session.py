"""The session and cell layers driven directly: real V8 isolates, no Jupyter, no ZMQ.

These port the reference's behavioural cases (yield, wait, terminate, store commits, timers, exit,
limits) to the session API.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from codemode_kernel.errors import CellBusy, CellNotFound, CellTerminating, SessionShuttingDown
from codemode_kernel.output.items import ImageItem, Item, TextItem
from codemode_kernel.runtime import Engine, Limits
from codemode_kernel.session.cell import Observation
from codemode_kernel.session.session import Session, SessionConfig
from codemode_kernel.source import ExecRequest, WaitRequest

pytestmark = pytest.mark.unit

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(prepared=2)
    yield eng
    eng.shutdown()


@dataclass
class Seen:
    """A test observer: records what a cell showed this observation."""

    cell_id: str = ""
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def on_attach(self, cell_id: str) -> None:
        self.cell_id = cell_id

    def on_item(self, item: Item) -> None:
        self.items.append(item)

    def on_notify(self, text: str) -> None:
        self.notes.append(text)

    @property
    def texts(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, TextItem)]


def run(engine: Engine, scenario: Callable[[Session], Awaitable[None]], **config: Any) -> None:
    """Run one async scenario against a fresh session on a shared engine."""

    async def main() -> None:
        session = Session(engine, SessionConfig(**config))
        try:
            await asyncio.wait_for(scenario(session), 30)
        finally:
            session._shutting_down = True
            for cell in list(session._cells.values()):
                if not cell.closed and not cell.terminating:
                    await cell.terminate()

    asyncio.run(main())


async def exec_(
    session: Session, code: str, yield_ms: int | None = None
) -> tuple[Observation, Seen]:
    seen = Seen()
    outcome = await session.exec(ExecRequest(code, yield_ms, None), seen)
    return outcome, seen


async def wait(
    session: Session, cell_id: str, yield_ms: int | None = None, terminate: bool = False
) -> tuple[Observation, Seen]:
    seen = Seen()
    outcome = await session.wait(WaitRequest(cell_id, yield_ms, None, terminate), seen)
    return outcome, seen


def test_text_completes_with_items_in_order(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, seen = await exec_(s, 'text("a"); console.log("b", 1); text({x: 1})')
        assert out.status == "completed" and out.cell_id == "1"
        assert seen.items == [TextItem("a"), TextItem("b 1", stream="stdout"), TextItem('{"x":1}')]
        out2, _ = await exec_(s, "1")
        assert out2.cell_id == "2"

    run(engine, scenario)


def test_last_expression_is_the_result(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, "const a = 2;\n({a, b: [a * 2]})")
        assert out.result is not None and out.result.json == {"a": 2, "b": [4]}
        out, _ = await exec_(s, "let x = 1")
        assert out.result is None

    run(engine, scenario)


def test_each_cell_gets_a_fresh_isolate(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        await exec_(s, "globalThis.leak = 1; var v = 2")
        out, _ = await exec_(s, "typeof leak + ' ' + typeof v")
        assert out.result is not None and out.result.json == "undefined undefined"

    run(engine, scenario)


def test_yield_control_then_wait_collects_the_rest(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        code = (
            'text("before"); yield_control(); await new Promise(r => setTimeout(r, 50));'
            ' text("after")'
        )
        out, seen = await exec_(s, code)
        assert (out.status, seen.texts) == ("running", ["before"])
        out, seen = await wait(s, out.cell_id)
        assert (out.status, seen.texts) == ("completed", ["after"])
        with pytest.raises(CellNotFound, match="exec cell 1 not found"):
            await wait(s, "1")

    run(engine, scenario)


def test_busy_loop_still_yields_and_terminates(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        started = time.monotonic()
        out, seen = await exec_(s, 'text("phase 1"); while (true) {}', yield_ms=100)
        assert (out.status, seen.texts) == ("running", ["phase 1"])
        assert time.monotonic() - started < 2
        started = time.monotonic()
        out, seen = await wait(s, out.cell_id, terminate=True)
        assert out.status == "terminated" and seen.items == []
        assert time.monotonic() - started < 2
        out, seen = await exec_(s, 'text("after terminate")')
        assert seen.texts == ["after terminate"]

    run(engine, scenario)


def test_runaway_microtask_loop_is_terminated(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, "await null; while (true) {}", yield_ms=50)
        assert out.status == "running"
        out, _ = await wait(s, out.cell_id, terminate=True)
        assert out.status == "terminated"

    run(engine, scenario)


def test_output_while_unobserved_is_buffered_for_the_next_wait(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        code = (
            "yield_control(); for (let i = 0; i < 3; i++) {"
            " await new Promise(r => setTimeout(r, 10)); text(i) }"
        )
        out, _ = await exec_(s, code)
        await asyncio.sleep(0.3)
        assert [c.state for c in s.cells()] == ["completed"]
        out, seen = await wait(s, out.cell_id)
        assert (out.status, seen.texts) == ("completed", ["0", "1", "2"])

    run(engine, scenario)


def test_second_observer_is_rejected_and_terminate_twice_too(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, "while (true) {}", yield_ms=10)
        first = asyncio.ensure_future(wait(s, out.cell_id, yield_ms=5000))
        await asyncio.sleep(0.05)
        with pytest.raises(CellBusy, match="exec cell 1 already has an active observer"):
            await wait(s, out.cell_id)
        term = asyncio.ensure_future(wait(s, out.cell_id, terminate=True))
        await asyncio.sleep(0)
        with pytest.raises(CellTerminating, match="exec cell 1 is already terminating"):
            await wait(s, out.cell_id, terminate=True)
        (o1, _), (o2, _) = await asyncio.gather(first, term)
        assert o1.status == o2.status == "terminated"

    run(engine, scenario)


def test_completion_wins_over_a_later_terminate(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, 'yield_control(); store("k", 1); text("done")')
        await asyncio.sleep(0.2)
        out, seen = await wait(s, out.cell_id, terminate=True)
        assert (out.status, seen.texts) == ("completed", ["done"])
        assert s.store.values == {"k": 1}

    run(engine, scenario)


def test_store_commits_on_success_and_failure_not_on_termination(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, 'store("a", {n: 1}); load("a").n')
        assert out.result is not None and out.result.json == 1 and out.stored == {"a": {"n": 1}}
        out, _ = await exec_(s, 'store("b", 2); throw new Error("boom")')
        assert out.status == "failed" and out.error is not None and out.error.name == "Error"
        assert s.store.values == {"a": {"n": 1}, "b": 2}
        out, _ = await exec_(s, 'store("c", 3); while (true) {}', yield_ms=50)
        await wait(s, out.cell_id, terminate=True)
        assert "c" not in s.store.values
        out, _ = await exec_(s, 'load("a").n + load("b")')
        assert out.result is not None and out.result.json == 3

    run(engine, scenario)


def test_concurrent_cells_merge_by_key_and_see_snapshots(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        slow = (
            "yield_control(); await new Promise(r => setTimeout(r, 100));"
            ' store("x", load("shared") ?? "none"); store("slow", 1)'
        )
        a, _ = await exec_(s, slow)
        b, _ = await exec_(s, 'store("shared", "set"); store("fast", 1)')
        assert b.status == "completed"
        a, _ = await wait(s, a.cell_id)
        assert a.status == "completed"
        assert s.store.values == {"shared": "set", "fast": 1, "x": "none", "slow": 1}

    run(engine, scenario)


def test_timers_order_clear_and_do_not_keep_cells_alive(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        code = """
        const ids = [setTimeout(() => text("late"), 30), setTimeout(() => text("never"), 10)];
        clearTimeout(ids[1]);
        setTimeout(() => text("zero"));
        await new Promise(r => setTimeout(r, 60));
        setTimeout(() => text("dropped"), 10);
        ids
        """
        out, seen = await exec_(s, code)
        assert seen.texts == ["zero", "late"]
        assert out.result is not None and out.result.json == [1, 2]
        out, _ = await exec_(
            s,
            'setTimeout(() => { throw new Error("in timer") }, 0);'
            " await new Promise(r => setTimeout(r, 50))",
        )
        assert out.status == "failed" and out.error is not None
        assert "in timer" in out.error.text

    run(engine, scenario)


def test_exit_completes_with_output_so_far(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, seen = await exec_(s, 'text("before"); exit(); text("after")')
        assert (out.status, seen.texts) == ("completed", ["before"])

    run(engine, scenario)


def test_errors_carry_name_message_and_stack_with_cell_lines(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(s, "text(1)\n\nnull.x")
        assert out.error is not None and out.error.name == "TypeError"
        assert "cell.js:3" in out.error.text
        out, _ = await exec_(s, 'throw "plain"')
        assert out.error is not None and (out.error.name, out.error.text) == (
            "ScriptError",
            "plain",
        )
        out, _ = await exec_(s, 'throw new Error("x")')
        assert out.error is not None and out.error.text == "Error: x\n    at cell.js:1:7"
        out, _ = await exec_(s, "// c\nfunction f() { null.x }\n  f();")
        assert out.error is not None
        assert out.error.text.split("\n")[1:] == ["    at f (cell.js:2:21)", "    at cell.js:3:3"]
        out, _ = await exec_(s, "let y = ;")
        assert out.error is not None and out.error.name == "SyntaxError"
        assert (out.error.message, out.error.text.split("\n")) == (
            "Unexpected token ';'",
            ["cell.js:1: SyntaxError: Unexpected token ';'", "let y = ;", "        ^"],
        )  # the message once, not again after the caret
        out, _ = await exec_(s, "text(1)\nfoo(\n\n")  # unfinished: not the wrapper's line
        assert out.error is not None and (out.error.message, out.error.text.split("\n")) == (
            "Unexpected end of input",
            ["cell.js:2: SyntaxError: Unexpected end of input", "foo(", "    ^"],
        )
        out, _ = await exec_(s, 'import fs from "fs"\ntext(1)')
        assert out.error is not None and out.error.text == "Unsupported import in exec: fs"

    run(engine, scenario)


def test_memory_bomb_fails_only_its_cell(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        await exec_(s, 'store("kept", 1)')
        out, _ = await exec_(s, "const a = []; while (true) a.push({x: [1, 2, 3]})")
        assert out.status == "failed" and out.error is not None
        assert out.error.name == "ResourceLimitExceeded"
        assert out.error.text.startswith(
            "resource limit exceeded: code=resource_exhausted resource=heap_bytes limit="
        )
        out, _ = await exec_(s, 'load("kept")')
        assert out.result is not None and out.result.json == 1

    run(engine, scenario, limits=Limits(heap_bytes=32 * MIB))


def test_too_many_timers_and_too_much_output_fail_the_cell(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        out, _ = await exec_(
            s,
            "for (let i = 0; i < 100; i++) setTimeout(() => {}, 1e6); await new Promise(() => {})",
        )
        assert (
            out.error is not None
            and "resource=pending_timers limit=10 observed=11" in out.error.text
        )
        out, _ = await exec_(s, 'while (true) text("x".repeat(1000))')
        assert out.error is not None and "resource=output_bytes limit=100000" in out.error.text

    run(engine, scenario, limits=Limits(pending_timers=10, output_bytes=100_000))


def test_oversized_store_commit_is_refused(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        await exec_(s, 'store("small", 1)')
        out, _ = await exec_(s, 'store("big", "x".repeat(2000))')
        assert out.status == "failed" and out.error is not None
        assert "resource=committed_state_bytes limit=1000" in out.error.text
        assert s.store.values == {"small": 1}

    run(engine, scenario, store_bytes=1000)


def test_notify_reaches_the_observer_but_not_the_output(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        _out, seen = await exec_(s, 'notify("hello"); text("out")')
        assert seen.notes == ["hello"] and seen.texts == ["out"]

    run(engine, scenario)


def test_images_become_items(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        _out, seen = await exec_(s, 'image("data:image/png;base64,AAA", "low")')
        assert seen.items == [ImageItem("data:image/png;base64,AAA", "low")]

    run(engine, scenario)


def test_two_spinning_cells_while_a_third_runs(engine: Engine) -> None:
    async def scenario(s: Session) -> None:
        a, _ = await exec_(s, "while (true) {}", yield_ms=20)
        b, _ = await exec_(s, "while (true) {}", yield_ms=20)
        started = time.monotonic()
        c, seen = await exec_(s, "let n = 0; for (let i = 0; i < 1e5; i++) n += i; text(n)")
        assert (c.status, seen.texts) == ("completed", [str(sum(range(100_000)))])
        assert time.monotonic() - started < 5
        await asyncio.gather(wait(s, a.cell_id, terminate=True), wait(s, b.cell_id, terminate=True))

    run(engine, scenario)


def test_shutdown_terminates_everything_and_refuses_new_cells() -> None:
    async def scenario() -> None:
        session = Session(Engine(prepared=1))
        await exec_(session, "while (true) {}", yield_ms=10)
        await exec_(session, "await null; while (true) {}", yield_ms=10)
        started = time.monotonic()
        await session.shutdown()
        assert time.monotonic() - started < 1.5
        assert session.cells() == []
        with pytest.raises(SessionShuttingDown, match="code mode session is shutting down"):
            await exec_(session, "1")

    asyncio.run(scenario())


def test_a_buffer_bomb_fails_its_cell_not_the_kernel() -> None:
    """Typed arrays live outside V8's heap: the process-memory guard catches them."""
    from codemode_kernel.runtime.engine import _process_rss

    async def scenario() -> None:
        engine = Engine(prepared=1, memory_guard=_process_rss() + 600 * MIB)
        session = Session(engine)
        await exec_(session, 'store("kept", 1)')
        quiet, _ = await exec_(session, "yield_control(); await new Promise(() => {})")
        bomb = "const a = []; while (true) a.push(new Uint8Array(5e7).fill(1))"
        out, _ = await exec_(session, bomb, yield_ms=30_000)
        assert out.error is not None and out.error.name == "ResourceLimitExceeded"
        assert "resource=memory_bytes" in out.error.text
        assert session.get(quiet.cell_id).state == "running"  # the innocent cell lives on
        out, _ = await exec_(session, 'load("kept")')
        assert out.result is not None and out.result.json == 1
        await session.shutdown()

    asyncio.run(asyncio.wait_for(scenario(), 60))


GROWERS = {
    # buffers grown without a constructor call
    "transfer": "const kept = [];"
    "while (true) kept.push(new Uint8Array(new ArrayBuffer(1).transfer(5e7)).fill(1))",
    # ICU data behind Intl objects, outside the heap
    "intl": "const kept = []; while (true) kept.push(new Intl.DateTimeFormat('en'))",
}


@pytest.mark.parametrize("grower", sorted(GROWERS))
def test_the_guard_blames_the_cell_growing_now_not_one_holding_buffers(grower: str) -> None:
    """A cell that holds 50 MB of typed arrays and idles is innocent; the one growing the
    kernel's memory in a way the heap limit cannot see is the one failed."""
    from codemode_kernel.runtime.engine import _process_rss

    async def scenario() -> None:
        engine = Engine(prepared=1, memory_guard=_process_rss() + 300 * MIB)
        session = Session(engine)
        holder = "const held = new Uint8Array(5e7).fill(1);"
        holder += "yield_control(); await new Promise(() => {})"
        quiet, _ = await exec_(session, holder)
        out, _ = await exec_(session, GROWERS[grower], yield_ms=60_000)
        assert out.error is not None and "resource=memory_bytes" in out.error.text
        assert session.get(quiet.cell_id).state == "running"
        await session.shutdown()

    asyncio.run(asyncio.wait_for(scenario(), 90))


def test_live_cells_share_the_kernel_heap_budget() -> None:
    """All isolates allocate in one pointer-compression cage, so their heaps share a budget:
    with four cells live each may grow to a quarter of it; alone, a cell gets its own limit."""

    async def scenario() -> None:
        engine = Engine(prepared=1, heap_budget=100 * MIB)
        session = Session(engine)
        idle = "yield_control(); await new Promise(() => {})"
        quiet = [(await exec_(session, idle))[0].cell_id for _ in range(3)]
        grow = "const a = []; for (let i = 0; i < 1.5e6; i++) a.push({ i }); a.length"
        out, _ = await exec_(session, grow, yield_ms=30_000)
        assert out.error is not None and out.error.name == "ResourceLimitExceeded"
        assert f"resource=heap_bytes limit={25 * MIB} " in out.error.text
        assert [session.get(cid).state for cid in quiet] == ["running"] * 3
        for cid in quiet:
            await session.get(cid).terminate()
        out, _ = await exec_(session, grow, yield_ms=30_000)
        assert out.error is None and out.result is not None and out.result.json == 1_500_000
        await session.shutdown()

    asyncio.run(asyncio.wait_for(scenario(), 60))
