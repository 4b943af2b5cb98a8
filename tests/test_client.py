"""`CodeModeClient` against real kernels: requests, Python tools, and model output byte for byte.

One kernel serves the module (starting one costs about two seconds). The client lives on an event
loop in a background thread, so plain pytest functions can drive it without an async plugin, the
way a program that owns its own loop would.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from jupyter_client.manager import KernelManager

from codemode_kernel import Tool
from codemode_kernel.client import CodeModeClient, CodeModeClientError, Notification
from codemode_kernel.client.results import EMPTY_SOURCE_ERROR, ExecResult
from codemode_kernel.output.items import ImageItem, TextItem
from codemode_kernel.output.truncation import model_header, truncate_text_items

pytestmark = pytest.mark.e2e

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwA"
    "FBQIAX8jx0gAAAABJRU5ErkJggg=="
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>'


class Loop:
    """An event loop on its own thread; `run` blocks until a coroutine is done there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --- the tools ----------------------------------------------------------------------------


class Probe:
    """What the tools and callbacks saw, for assertions; reset per test.

    They run on the client's loop thread and the tests on theirs, so every record goes through
    `add`, which wakes a test waiting in `until`.
    """

    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.started: list[str] = []
        self.events: list[tuple[str, str]] = []
        self.notified: list[tuple[str, str]] = []
        self.changed = threading.Condition()

    def add(self, into: list[T], value: T) -> None:
        with self.changed:
            into.append(value)
            self.changed.notify_all()

    def until(self, done: Callable[[], bool], timeout: float = 3.0) -> None:
        """Block until `done()` holds (it is checked under the lock) or `timeout` passed."""
        with self.changed:
            self.changed.wait_for(done, timeout)


PROBE = Probe()


def add(a: float, b: float) -> float:
    """Add two numbers."""
    return a + b


def blocking_echo(text: str, seconds: float = 0.0) -> str:
    """A sync tool that blocks its worker thread (never the client's loop)."""
    time.sleep(seconds)
    return text


async def sleepy(label: str, seconds: float) -> str:
    """An async tool that sleeps, and records being cancelled."""
    PROBE.add(PROBE.started, label)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        PROBE.add(PROBE.cancelled, label)
        raise
    return label


def fail(message: str) -> None:
    """Always raises."""
    raise ValueError(message)


def not_json() -> Any:
    """Returns something JSON cannot carry."""
    return {1, 2}


SHOUT = Tool("shout", "Upper-case a string.", lambda text: text.upper(), kind="freeform")


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    runner = Loop()
    yield runner
    runner.close()


@pytest.fixture(scope="module")
def client(loop: Loop) -> Iterator[CodeModeClient]:
    async def on_event(cell_id: str, event: str) -> None:  # async callbacks are awaited
        PROBE.add(PROBE.events, (cell_id, event))

    opened = loop.run(
        CodeModeClient.start(
            tools=[add, blocking_echo, sleepy, fail, not_json, SHOUT],
            on_notify=lambda cell_id, text: PROBE.add(PROBE.notified, (cell_id, text)),
            on_event=on_event,
        ).open()
    )
    yield opened
    loop.run(opened.close())


@pytest.fixture(autouse=True)
def fresh_probe() -> None:
    PROBE.__init__()  # type: ignore[misc]


def events_of(cell_id: str, count: int) -> list[str]:
    """The cell events `on_event` got for a cell, once `count` arrived (callbacks are tasks)."""

    def of_cell() -> list[str]:
        return [event for cid, event in PROBE.events if cid == cell_id]

    PROBE.until(lambda: len(of_cell()) >= count)
    return of_cell()


def run(loop: Loop, client: CodeModeClient, source: str, **options: Any) -> ExecResult:
    return loop.run(client.exec(source, **options))


def header(result: ExecResult, status: str) -> dict[str, str]:
    """The header item, with the wall time the client measured for this result."""
    return {"type": "input_text", "text": model_header(status, result.wall_time_s)}


def texts(*values: str) -> list[dict[str, str]]:
    return [{"type": "input_text", "text": v} for v in values]


# --- exec and its items -------------------------------------------------------------------


def test_completed_exec_items_result_and_model_output(loop: Loop, client: CodeModeClient) -> None:
    r = run(
        loop,
        client,
        'console.log("out", 1, {a: 1}); text("shown"); console.error("err");\n'
        'store("k", 1); notify("on the side");\n({sum: await tools.add({a: 2, b: 40})})',
    )
    assert r.status == "completed" and r.cell_id is not None and not r.request_error
    assert r.items == [
        TextItem("out 1 { a: 1 }", "stdout"),
        TextItem("shown"),
        TextItem("err", "stderr"),
        TextItem("{ sum: 42 }"),
    ]
    assert r.result == {"sum": 42}
    assert r.error_text is None and r.truncated_tokens == 0 and r.total_lines == 3
    assert 0 < r.wall_time_s < 5
    assert r.to_model_output() == [
        header(r, "Script completed"),
        *texts("out 1 { a: 1 }", "shown", "err", "{ sum: 42 }"),
    ]


def test_a_result_without_json_is_its_text(loop: Loop, client: CodeModeClient) -> None:
    r = run(loop, client, "[1n, undefined]")
    assert r.result == "[ 1n, undefined ]" and r.items == [TextItem("[ 1n, undefined ]")]
    assert run(loop, client, "const x = 1;").result is None


def test_failed_cell_keeps_output_and_appends_the_error(loop: Loop, client: CodeModeClient) -> None:
    r = run(loop, client, 'text("before");\nthrow new RangeError("boom")')
    assert r.status == "failed" and r.error_name == "RangeError" and not r.request_error
    assert r.error_text is not None and r.error_text.startswith(
        "RangeError: boom\n    at cell.js:2"
    )
    assert r.to_model_output() == [
        header(r, "Script failed"),
        *texts("before", f"Script error:\n{r.error_text}"),
    ]


def test_images_in_order_with_data_urls(loop: Loop, client: CodeModeClient) -> None:
    svg_url = "data:image/svg+xml;utf8," + SVG
    r = run(
        loop,
        client,
        f'text("a"); image("{PNG}", "low"); console.log("b");\n'
        f"image({svg_url!r}); image('data:text/plain,hi'); text('c')",
    )
    svg_b64 = "data:image/svg+xml;base64," + base64.b64encode(SVG.encode()).decode()
    assert r.items == [
        TextItem("a"),
        ImageItem(PNG, "low"),
        TextItem("b", "stdout"),
        ImageItem(svg_b64, "high"),
        TextItem("<image text/plain, 2 bytes>"),  # no front end shows it, so no data comes back
        TextItem("c"),
    ]
    out = r.to_model_output()
    assert out[2] == {"type": "input_image", "image_url": PNG, "detail": "low"}
    kinds = ["text", "text", "image", "text", "image", "text", "text"]
    assert [item["type"] for item in out] == [f"input_{kind}" for kind in kinds]


# --- truncation ---------------------------------------------------------------------------


def _lines_program(count: int) -> tuple[str, list[str]]:
    """A cell mixing text() and console lines (multibyte too), and the texts it outputs."""
    source = (
        f"for (let i = 0; i < {count}; i++) {{\n"
        "  if (i % 3) console.log(`line ${i} é€😀`); else text(`text ${i}`);\n}"
    )
    expected = [f"line {i} é€😀" if i % 3 else f"text {i}" for i in range(count)]
    return source, expected


@pytest.mark.parametrize("budget", [0, 1, 7, 20, 33])
def test_truncated_output_is_the_reference_text(
    loop: Loop, client: CodeModeClient, budget: int
) -> None:
    source, expected = _lines_program(30)
    r = run(loop, client, source, max_output_tokens=budget)
    (reference,) = truncate_text_items(expected, budget)
    assert r.truncated_tokens > 0 and r.total_lines == 30
    assert r.to_model_output() == [header(r, "Script completed"), *texts(reference)]


def test_output_that_fits_after_a_split_head_is_whole_again(
    loop: Loop, client: CodeModeClient
) -> None:
    source, expected = _lines_program(6)
    size = len("\n".join(expected).encode())
    r = run(loop, client, source, max_output_tokens=-(-size // 4))  # head split, then it fits
    assert truncate_text_items(expected, -(-size // 4)) == expected
    assert [item.text for item in r.items if isinstance(item, TextItem)] == expected
    assert r.truncated_tokens == 0 and r.model_items is None


def test_truncation_keeps_images_and_the_result(loop: Loop, client: CodeModeClient) -> None:
    source, expected = _lines_program(12)
    r = run(loop, client, f'image("{PNG}");\n{source}\nimage("{PNG}"); "done"', max_output_tokens=5)
    (reference,) = truncate_text_items(expected, 5)
    image = {"type": "input_image", "image_url": PNG, "detail": "high"}
    assert r.to_model_output() == [
        header(r, "Script completed"),
        image,
        *texts(reference),
        image,
        *texts("'done'"),
    ]


def test_wait_truncates_with_its_own_budget(loop: Loop, client: CodeModeClient) -> None:
    source, expected = _lines_program(20)
    first = run(loop, client, f"yield_control();\n{source}", max_output_tokens=1)
    assert first.status == "running" and first.items == []
    r = loop.run(client.wait(str(first.cell_id), max_tokens=9))
    (reference,) = truncate_text_items(expected, 9)
    assert r.to_model_output() == [header(r, "Script completed"), *texts(reference)]


# --- yield, wait, terminate, request errors ------------------------------------------------


def test_yield_wait_and_terminate(loop: Loop, client: CodeModeClient) -> None:
    r = run(
        loop,
        client,
        'text("one");\nawait new Promise(r => setTimeout(r, 400)); text("two")',
        yield_time_ms=50,
    )
    cid = r.cell_id
    assert r.status == "running" and r.items == [TextItem("one")]
    assert r.to_model_output() == [header(r, f"Script running with cell ID {cid}"), *texts("one")]
    done = loop.run(client.wait(str(cid)))
    assert done.status == "completed" and done.cell_id == cid and done.items == [TextItem("two")]
    assert events_of(str(cid), 3) == ["yielded", "completed", "closed"]

    r = run(loop, client, 'text("x"); while (true) {}', yield_time_ms=50)
    again = loop.run(client.wait(str(r.cell_id), yield_time_ms=20))
    assert again.status == "running" and again.items == []
    stopped = loop.run(client.terminate(str(r.cell_id)))
    assert stopped.status == "terminated"
    assert stopped.to_model_output() == [header(stopped, "Script terminated")]


def test_request_level_errors(loop: Loop, client: CodeModeClient) -> None:
    missing = loop.run(client.wait("999999"))
    assert missing.status == "failed" and missing.request_error
    assert missing.error_name == "CellNotFound" and missing.cell_id == "999999"
    assert missing.to_model_output() == [
        header(missing, "Script failed"),
        *texts("Script error:\nexec cell 999999 not found"),
    ]
    bad = run(loop, client, '// @exec: {"yield": 1}\n1')
    assert bad.request_error and bad.error_name == "ExecError" and bad.cell_id is None
    assert bad.to_model_output() == texts(
        "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `yield`"
    )
    assert run(loop, client, "  \n").to_model_output() == texts(EMPTY_SOURCE_ERROR)
    with pytest.raises(ValueError, match="pragma"):
        run(loop, client, '// @exec: {"yield_time_ms": 5}\n1', max_output_tokens=3)
    with pytest.raises(ValueError, match="not a cell id"):
        loop.run(client.wait("1 --max-tokens 3"))


def test_requests_are_served_in_order(loop: Loop, client: CodeModeClient) -> None:
    """Two waits on one cell from two tasks: the kernel handles execute_requests one at a time,
    so the second is served after the first collected the completion and sees a closed cell."""
    r = run(loop, client, "await new Promise(r => setTimeout(r, 400)); 1", yield_time_ms=0)

    async def both() -> list[ExecResult]:
        # gather starts the tasks in order, and each sends its request before its first await,
        # so the first wait is on the wire before the second.
        return await asyncio.gather(client.wait(str(r.cell_id)), client.wait(str(r.cell_id)))

    first, second = loop.run(both())
    assert first.status == "completed" and first.result == 1
    assert second.request_error and second.error_name == "CellNotFound"
    assert second.to_model_output() == [
        header(second, "Script failed"),
        *texts(f"Script error:\nexec cell {r.cell_id} not found"),
    ]


def test_concurrent_requests_from_two_tasks(loop: Loop, client: CodeModeClient) -> None:
    async def both() -> list[ExecResult]:
        slow = client.exec(
            'text("slow"); await tools.sleepy({label: "s", seconds: 0.6}); "s"',
            yield_time_ms=200,
        )
        fast = client.exec('text("fast"); await tools.add({a: 1, b: 1})')
        return await asyncio.gather(slow, fast)  # sent in this order (see above)

    slow, fast = loop.run(both())
    assert slow.status == "running" and slow.items == [TextItem("slow")]
    assert fast.status == "completed" and fast.items == [TextItem("fast"), TextItem("2")]
    done = loop.run(client.wait(str(slow.cell_id)))
    assert done.status == "completed" and done.result == "s"


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


def test_the_readme_agent_snippet_runs_as_a_script(tmp_path: Path) -> None:
    """The README's client example, pasted into a file as it stands, against a real kernel."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Programs and agents")[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "snippet.py"
    script.write_text(snippet, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    status, model_output, description = proc.stdout.splitlines()
    assert status == "completed [TextItem(text='42', stream=None)]"
    assert model_output.startswith("[{'type': 'input_text', 'text': 'Script completed\\nWall time ")
    assert model_output.endswith("{'type': 'input_text', 'text': '42'}]")
    assert description.startswith("Run JavaScript code to orchestrate/compose tool calls")
