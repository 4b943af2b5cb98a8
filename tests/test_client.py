"""`CodeModeClient` against a real kernel: exec, its items and results, truncation, yield, wait
and terminate, request errors, and concurrent requests, with model output byte for byte."""

from __future__ import annotations

import asyncio
import base64

import pytest
from clientkit import PROBE, Loop, events_of, header, run, texts

from codemode_kernel.client import CodeModeClient
from codemode_kernel.client.results import EMPTY_SOURCE_ERROR, ExecResult
from codemode_kernel.output.items import ImageItem, TextItem
from codemode_kernel.output.truncation import truncate_text_items

pytestmark = pytest.mark.e2e

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwA"
    "FBQIAX8jx0gAAAABJRU5ErkJggg=="
)
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>'


@pytest.fixture(autouse=True)
def fresh_probe() -> None:
    PROBE.__init__()  # type: ignore[misc]


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


# --- prompt() answered by the program ------------------------------------------------------


def test_on_input_answers_a_cells_prompt_and_without_it_prompt_rejects(
    loop: Loop, client: CodeModeClient
) -> None:
    asked: list[tuple[str, bool]] = []

    async def on_input(message: str, password: bool) -> str:
        asked.append((message, password))
        return f"answer to {message}"

    async def scenario() -> tuple[ExecResult, ExecResult]:
        async with CodeModeClient.start(on_input=on_input) as answering:
            answered = await answering.exec('`${await prompt("Name?")} / ${await prompt(7)}`')
        refused = await client.exec("await prompt('x').catch(e => e)")
        return answered, refused

    answered, refused = loop.run(scenario(), timeout=60)
    assert answered.result == "answer to Name? / answer to 7"
    assert asked == [("Name?", False), ("7", False)]
    assert refused.result == "prompt is not available: the client does not allow stdin"
