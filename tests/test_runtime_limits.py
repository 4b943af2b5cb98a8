"""Limits and the protocol path a cell cannot walk around, through real V8 and the session:
results and errors count toward `output_bytes`, tool results the cell cannot read reject the
call, patched built-ins cannot break timers or tool results, and the function wrapper cannot be
closed from inside the cell."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from codemode_kernel.output.items import Item, TextItem
from codemode_kernel.runtime import Engine, Limits
from codemode_kernel.session.cell import Observation
from codemode_kernel.session.router import Toolbox, ToolCall
from codemode_kernel.session.session import Session, SessionConfig
from codemode_kernel.source import ExecRequest

pytestmark = pytest.mark.unit

LIMIT = 64 * 1024
OUTPUT_LIMITED = Limits(output_bytes=LIMIT)
OVER = f"resource limit exceeded: code=resource_exhausted resource=output_bytes limit={LIMIT}"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    eng = Engine(prepared=2)
    yield eng
    eng.shutdown()


class Seen:
    def __init__(self) -> None:
        self.items: list[Item] = []

    def on_attach(self, cell_id: str) -> None:
        pass

    def on_item(self, item: Item) -> None:
        self.items.append(item)

    def on_notify(self, text: str) -> None:
        pass

    @property
    def texts(self) -> list[str]:
        return [i.text for i in self.items if isinstance(i, TextItem)]


Scenario = Callable[[Session], Awaitable[None]]


def run(
    engine: Engine,
    scenario: Scenario,
    tools: Toolbox | None = None,
    limits: Limits = OUTPUT_LIMITED,
) -> None:
    async def main() -> None:
        config = SessionConfig(limits=limits)
        session = Session(engine, config, tools=tools)
        await asyncio.wait_for(scenario(session), 30)

    asyncio.run(main())


async def exec_(session: Session, code: str) -> tuple[Observation, Seen]:
    seen = Seen()
    outcome = await session.exec(ExecRequest(code, 10_000, None), seen)
    return outcome, seen


def _failed_with(outcome: Observation, name: str) -> str:
    assert outcome.status == "failed" and outcome.error is not None, outcome
    assert outcome.error.name == name, outcome.error
    return outcome.error.text


@pytest.mark.parametrize(
    "code",
    [
        f'"x".repeat({LIMIT + 1})',  # a result's text
        f'({{big: "x".repeat({LIMIT + 1})}})',  # its JSON (the inspect text is abbreviated)
        f'throw new Error("x".repeat({LIMIT + 1}))',  # an error text
        f'text("x".repeat({LIMIT // 2})); "y".repeat({LIMIT // 2})',  # after other output
    ],
)
def test_results_and_errors_count_toward_output_bytes(engine: Engine, code: str) -> None:
    async def scenario(session: Session) -> None:
        outcome, _ = await exec_(session, f'store("k", 1); {code}')
        assert _failed_with(outcome, "ResourceLimitExceeded").startswith(OVER + " observed=")
        assert outcome.stored is None and session.store.values == {}  # nothing committed
        small, _ = await exec_(session, '"x".repeat(100)')
        assert small.status == "completed"

    run(engine, scenario)


def test_the_breach_is_decided_before_the_script_own_completion(engine: Engine) -> None:
    """The breaching item is the last thing the script does: its `done` must not win."""

    async def scenario(session: Session) -> None:
        for _ in range(10):
            outcome, seen = await exec_(session, f'text("x".repeat({LIMIT + 1})); 1')
            _failed_with(outcome, "ResourceLimitExceeded")
            assert seen.texts == []

    run(engine, scenario)


class Answers:
    """A provider that answers every call at once with a fixed value, as a client could."""

    label = "comm client"

    def __init__(self, toolbox: Toolbox, values: dict[str, Any]) -> None:
        self._toolbox, self._values = toolbox, values
        toolbox.register(self, [{"name": name} for name in values])

    def start_call(self, call: ToolCall) -> None:
        settle = self._toolbox.settle
        asyncio.get_running_loop().call_soon(settle, call.call_id, True, self._values[call.name])

    def cancel_call(self, call: ToolCall) -> None:
        pass


def test_tool_results_the_cell_cannot_read_reject_the_call(engine: Engine) -> None:
    toolbox = Toolbox()
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    Answers(toolbox, {"nan": math.nan, "inf": -math.inf, "set": {1}, "deep": deep, "ok": [1]})

    async def scenario(session: Session) -> None:
        code = """const out = [];
        for (const name of ["nan", "inf", "set", "deep", "ok"]) {
          try { out.push(JSON.stringify(await tools[name]({}))); }
          catch (e) { out.push(String(e)); }
        }
        out"""
        outcome, _ = await exec_(session, code)
        assert outcome.result is not None, outcome
        prefix = "tool result is not JSON the cell can read: "
        nan, inf, a_set, too_deep, ok = outcome.result.json
        assert nan.startswith(prefix + "Out of range float values are not JSON compliant")
        assert inf.startswith(prefix + "Out of range float values are not JSON compliant")
        assert a_set == prefix + "Object of type set is not JSON serializable"
        assert too_deep.startswith(prefix + "maximum recursion depth exceeded")
        assert ok == "[1]"

    run(engine, scenario, toolbox)


@pytest.mark.parametrize(
    "patch",
    [
        "Promise = null",
        "delete globalThis.Promise",
        "Promise.resolve = Promise.reject = () => { throw new Error('patched') }",
        "Symbol = null",
        "Symbol.for = () => Symbol('forged')",
        "globalThis = 5",
    ],
)
def test_patched_builtins_cannot_break_timers_or_tool_results(engine: Engine, patch: str) -> None:
    """Patched before the cell's first await, when the host has yet to take its completion."""
    toolbox = Toolbox()
    Answers(toolbox, {"answer": {"n": 42}})

    async def scenario(session: Session) -> None:
        code = f"""const P = Promise;
        const later = tools.answer({{}});
        {patch};
        await new P((resolve) => setTimeout(() => {{ text("tick"); resolve(); }}, 1));
        text(JSON.stringify(await later));
        "end" """
        outcome, seen = await exec_(session, code)
        assert outcome.status == "completed", outcome.error
        assert seen.texts == ["tick", '{"n":42}']
        assert outcome.result is not None and outcome.result.json == "end"

    run(engine, scenario, toolbox)


@pytest.mark.parametrize(
    "escape",
    [
        "}); text('escaped'); (function(){",
        '}, JSON.stringify({store: {forged: 1}, tools: []})); text("escaped"); (function(){',
        "}\n, '{}');\ntext('escaped');\n(function(){",  # across lines
    ],
)
def test_the_cell_cannot_close_its_function_wrapper(engine: Engine, escape: str) -> None:
    async def scenario(session: Session) -> None:
        outcome, seen = await exec_(session, f"text('inside'); {escape}")
        text = _failed_with(outcome, "SyntaxError")
        assert text.startswith("SyntaxError: ")
        assert seen.texts == []  # nothing of the cell ran, inside or outside the wrapper
        ordinary, _ = await exec_(session, "const x = ;")
        assert _failed_with(ordinary, "SyntaxError").startswith("cell.js:1: SyntaxError: ")
        fine, _ = await exec_(session, "const f = function () { return '})'; }; f()")
        assert fine.result is not None and fine.result.json == "})"

    run(engine, scenario)


def test_the_timer_limit_is_decided_before_the_script_own_completion(engine: Engine) -> None:
    async def scenario(session: Session) -> None:
        over = "resource limit exceeded: code=resource_exhausted resource=pending_timers limit=3"
        for _ in range(10):
            code = "for (let i = 0; i < 4; i++) setTimeout(() => {}, 60000); 1"
            outcome, _ = await exec_(session, code)
            assert _failed_with(outcome, "ResourceLimitExceeded") == over + " observed=4"
        cleared = "for (let i = 0; i < 9; i++) clearTimeout(setTimeout(() => {}, 1)); 1"
        outcome, _ = await exec_(session, cleared)
        assert outcome.status == "completed"

    run(engine, scenario, limits=Limits(output_bytes=LIMIT, pending_timers=3))


def test_a_parser_stack_overflow_is_a_range_error(engine: Engine) -> None:
    async def scenario(session: Session) -> None:
        outcome, _ = await exec_(session, "[" * 30_000 + "]" * 30_000)
        text = _failed_with(outcome, "RangeError")
        assert text == "RangeError: Maximum call stack size exceeded"
        assert outcome.error is not None
        assert outcome.error.message == "Maximum call stack size exceeded"

    run(engine, scenario)
