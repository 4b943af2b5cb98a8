"""End to end: a real kernel process driven over ZMQ with jupyter_client."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import time
from collections.abc import Iterator

import pytest
from driver import Kernel

from codemode_kernel.output.traceback import strip_ansi

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel.start()
    yield k
    k.stop()


def test_kernel_info_has_language_and_no_debugger(kernel: Kernel) -> None:
    kernel.kc.kernel_info()
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    info = reply["language_info"]
    assert (info["name"], info["mimetype"], info["file_extension"]) == (
        "javascript",
        "text/javascript",
        ".js",
    )
    assert info["version"][0].isdigit()  # V8's version
    assert "debugger" not in reply.get("supported_features", [])


def test_console_goes_to_streams_and_text_to_displays(kernel: Kernel) -> None:
    run = kernel.execute('console.log("out", {a: 1}); console.error("err"); text("t")')
    assert run.status == "ok"
    streams = [(m["content"]["name"], m["content"]["text"]) for m in run.of_type("stream")]
    assert streams == [("stdout", "out { a: 1 }\n"), ("stderr", "err\n")]
    display = run.of_type("display_data")[0]["content"]
    assert display["data"] == {"text/plain": "t"}
    assert display["metadata"]["codemode"]["type"] == "text"
    meta = run.codemode
    assert meta["status"] == "completed" and meta["cell_id"].isdigit()
    assert meta["output"] == {"total_lines": 3, "truncated_tokens": 0, "omitted_text_items": 0}


def test_result_is_an_execute_result_with_json(kernel: Kernel) -> None:
    run = kernel.execute("const xs = [1, 2, 3];\nxs.map(x => x * 2)")
    result = run.of_type("execute_result")[0]["content"]
    assert result["data"]["text/plain"] == "[ 2, 4, 6 ]"
    assert result["data"]["application/json"] == [2, 4, 6]


def test_each_cell_is_a_fresh_isolate(kernel: Kernel) -> None:
    kernel.execute("globalThis.leaked = 42")
    run = kernel.execute("typeof leaked")
    assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "'undefined'"


def test_traceback_names_cell_js_with_the_users_line(kernel: Kernel) -> None:
    run = kernel.execute('text("one")\n\nfunction f() {\n  throw new TypeError("bad")\n}\nf()')
    assert run.status == "error"
    err = run.error
    assert err is not None and (err["ename"], err["evalue"]) == ("TypeError", "bad")
    # Coloured as ipykernel colours it (name red, frames dimmed); the text underneath is exact.
    assert err["traceback"][0] == "\x1b[0;31mTypeError\x1b[0m: bad"
    lines = [strip_ansi(line) for line in err["traceback"]]
    assert lines[0] == "TypeError: bad" and "cell.js:4:" in lines[1]
    assert lines == run.codemode["error_text"].split("\n")
    assert run.codemode["error_text"].startswith("TypeError: bad\n")


def test_pragma_line_counts_as_line_one(kernel: Kernel) -> None:
    run = kernel.execute('// @exec: {"yield_time_ms": 5000}\nnull.boom')
    assert run.error is not None and "cell.js:2:" in "\n".join(run.error["traceback"])


def test_static_import_is_rejected(kernel: Kernel) -> None:
    run = kernel.execute('import fs from "fs";\ntext(1)')
    assert run.status == "error"
    assert run.error is not None and run.error["evalue"] == "Unsupported import in exec: fs"
    assert run.texts == []


def test_bad_pragma_is_an_exec_error(kernel: Kernel) -> None:
    run = kernel.execute('// @exec: {"nope": 1}\ntext(1)')
    assert run.error is not None and run.error["ename"] == "ExecError"
    assert run.error["evalue"] == (
        "exec pragma only supports `yield_time_ms` and `max_output_tokens`; got `nope`"
    )


def test_empty_cell_is_a_no_op(kernel: Kernel) -> None:
    run = kernel.execute("   \n ")
    assert run.status == "ok" and run.messages == []
    assert run.codemode == {
        "cell_id": None,
        "status": "completed",
        "wall_time_s": 0.0,
        "output": {"total_lines": 0, "truncated_tokens": 0, "omitted_text_items": 0},
    }


def test_yield_then_wait_and_the_status_display(kernel: Kernel) -> None:
    run = kernel.execute(
        'text("first"); yield_control(); await new Promise(r => setTimeout(r, 300)); text("second")'
    )
    cid = run.codemode["cell_id"]
    assert run.codemode["status"] == "running"
    status = run.of_type("display_data")[-1]["content"]
    assert status["data"]["text/plain"] == f"Script running with cell ID {cid}"
    assert status["transient"]["display_id"] == f"codemode-cell-{cid}"
    assert run.texts[0] == "first"
    time.sleep(0.6)  # finishes while nobody observes: the status display is updated
    waited = kernel.execute(f"%wait {cid}")
    assert waited.codemode["status"] == "completed" and "second" in waited.texts


def test_background_completion_updates_the_yield_display(kernel: Kernel) -> None:
    run = kernel.execute(
        '// @exec: {"yield_time_ms": 50}\nawait new Promise(r => setTimeout(r, 200))'
    )
    cid = run.codemode["cell_id"]
    time.sleep(0.5)
    msgs = []
    while True:
        try:
            msgs.append(kernel.kc.get_iopub_msg(timeout=0.5))
        except Exception:
            break
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert updates, msgs
    content = updates[-1]["content"]
    assert content["transient"]["display_id"] == f"codemode-cell-{cid}"
    assert f"%wait {cid}" in content["data"]["text/plain"]
    assert kernel.execute(f"%wait {cid}").codemode["status"] == "completed"


def test_wait_on_unknown_cell(kernel: Kernel) -> None:
    run = kernel.execute("%wait 999999")
    assert run.error is not None
    assert (run.error["ename"], run.error["evalue"]) == (
        "CellNotFound",
        "exec cell 999999 not found",
    )
    assert run.codemode["status"] == "failed"
    assert run.codemode["error_text"] == "exec cell 999999 not found"


def test_interrupt_stops_a_busy_loop_and_the_kernel_lives_on(kernel: Kernel) -> None:
    msg_id = kernel.kc.execute("while (true) {}")
    time.sleep(0.5)
    started = time.monotonic()
    kernel.km.interrupt_kernel()
    run = kernel.collect(msg_id, timeout=10)
    assert time.monotonic() - started < 3
    assert run.status == "error"
    assert run.error is not None
    assert (run.error["ename"], run.error["evalue"]) == ("CellTerminated", "Script terminated")
    assert (
        kernel.execute("1 + 1").of_type("execute_result")[0]["content"]["data"]["text/plain"] == "2"
    )


def test_interrupt_stops_a_runaway_microtask(kernel: Kernel) -> None:
    msg_id = kernel.kc.execute("await null; while (true) {}")
    time.sleep(0.3)
    kernel.km.interrupt_kernel()
    run = kernel.collect(msg_id, timeout=10)
    assert run.error is not None and run.error["ename"] == "CellTerminated"


def test_cells_and_store_magics(kernel: Kernel) -> None:
    kernel.execute('store("answer", 42)')
    run = kernel.execute("%store")
    data = run.of_type("display_data")[0]["content"]["data"]
    assert data["application/json"]["answer"] == 42
    spin = kernel.execute('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')
    cid = spin.codemode["cell_id"]
    table = kernel.execute("%cells").of_type("display_data")[0]["content"]["data"]
    assert cid in table["text/plain"] and "<table" in table["text/html"]
    assert kernel.execute(f"%terminate {cid}").codemode["status"] == "terminated"


def test_store_display_after_commit(kernel: Kernel) -> None:
    run = kernel.execute('store("a", [1]); store("b", {c: true})')
    store = [
        m
        for m in run.of_type("display_data")
        if m["content"]["metadata"]["codemode"]["type"] == "store"
    ]
    assert store[0]["content"]["data"] == {
        "application/json": {"a": [1], "b": {"c": True}},
        "text/plain": "Stored: a, b",
    }


def test_shutdown_is_quick_even_with_runaway_cells() -> None:
    k = Kernel.start()
    try:
        k.execute('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')
        k.execute('// @exec: {"yield_time_ms": 10}\nawait null; while (true) {}')
        started = time.monotonic()
        k.kc.shutdown()
        reply = k.kc.control_channel.get_msg(timeout=5)
        assert reply["msg_type"] == "shutdown_reply"
        assert time.monotonic() - started < 1.0
        while k.km.is_alive() and time.monotonic() - started < 5:
            time.sleep(0.01)
        assert not k.km.is_alive() and time.monotonic() - started < 2.0
    finally:
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=True)


def test_wait_pragma_and_its_errors(kernel: Kernel) -> None:
    run = kernel.execute(
        '// @exec: {"yield_time_ms": 0}\nawait new Promise(r => setTimeout(r, 100)); 7'
    )
    cid = run.codemode["cell_id"]
    waited = kernel.execute(f'// @wait: {{"cell_id": {cid}, "yield_time_ms": 5000}}')
    assert waited.codemode["status"] == "completed"
    assert waited.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "7"
    bad = kernel.execute('// @wait: {"cell_id": "1", "nope": 1}')
    assert bad.error is not None and bad.error["evalue"] == (
        "wait only supports cell_id, yield_time_ms, max_tokens and terminate; got nope"
    )


def test_truncation_streams_the_head_and_reports_the_cut(kernel: Kernel) -> None:
    from codemode_kernel.output.truncation import truncate_text_items

    code = '// @exec: {"max_output_tokens": 20}\nfor (let i = 0; i < 50; i++) text(`line ${i}`)'
    run = kernel.execute(code)
    meta = run.codemode["output"]
    texts = [f"line {i}" for i in range(50)]
    (expected,) = truncate_text_items(texts, 20)
    assert meta["total_lines"] == 50 and meta["truncated_tokens"] > 0
    marker = f"…{meta['truncated_tokens']} tokens truncated…"
    shown = run.texts
    assert marker in shown
    cut = shown.index(marker)
    head, tail = "\n".join(shown[:cut]), "\n".join(shown[cut + 1 :])
    assert f"Total output lines: 50\n\n{head}{marker}{tail}" == expected


def test_a_memory_bomb_fails_only_its_cell(kernel: Kernel) -> None:
    kernel.execute('store("survivor", 1)')
    run = kernel.execute("const a = []; while (true) a.push(new Array(1e5).fill(1))", timeout=60)
    assert run.error is not None and run.error["ename"] == "ResourceLimitExceeded"
    assert run.error["evalue"].startswith(
        "resource limit exceeded: code=resource_exhausted resource=heap_bytes limit=268435456"
    )
    run = kernel.execute('load("survivor")')
    assert run.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "1"


def test_interrupt_during_wait_terminates_the_waited_cell(kernel: Kernel) -> None:
    spin = kernel.execute('// @exec: {"yield_time_ms": 10}\nwhile (true) {}')
    cid = spin.codemode["cell_id"]
    msg_id = kernel.kc.execute(f"%wait {cid} --yield-time-ms 20000")
    time.sleep(0.3)
    kernel.km.interrupt_kernel()
    run = kernel.collect(msg_id, timeout=10)
    assert run.error is not None and run.error["ename"] == "CellTerminated"
    assert kernel.execute(f"%wait {cid}").error["ename"] == "CellNotFound"  # type: ignore[index]


def test_subshells_run_cells_beside_a_busy_main_shell(kernel: Kernel) -> None:
    """A subshell request (its own thread in ipykernel) runs while the main shell waits."""
    kernel.kc.control_channel.send(kernel.kc.session.msg("create_subshell_request", {}))
    reply = kernel.kc.control_channel.get_msg(timeout=10)["content"]
    subshell = reply["subshell_id"]
    slow = kernel.execute(
        '// @exec: {"yield_time_ms": 10}\nawait new Promise(r => setTimeout(r, 1500))'
    )
    cid = slow.codemode["cell_id"]
    waiting = kernel.kc.execute(f"%wait {cid}")  # the main shell is now busy for ~1.5 s

    def on_subshell(code: str) -> str:
        msg = kernel.kc.session.msg("execute_request", {"code": code, "silent": False})
        msg["header"]["subshell_id"] = subshell
        kernel.kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    started = time.monotonic()
    quick = kernel.collect(on_subshell("6 * 7"), timeout=10)
    assert time.monotonic() - started < 1.0
    assert quick.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"
    busy = kernel.collect(on_subshell(f"%wait {cid}"), timeout=10)
    assert busy.error is not None and busy.error["evalue"] == (
        f"exec cell {cid} already has an active observer"
    )
    assert kernel.collect(waiting, timeout=10).codemode["status"] == "completed"


def test_silent_execute_broadcasts_nothing_and_takes_no_count(kernel: Kernel) -> None:
    """Jupyter's `silent`: the cell runs (its store commit lands), nothing is broadcast, no
    execute_input, the reply's execution count does not move; a reply still comes. The cell
    takes the next free id, which no later prompt number repeats."""
    before = kernel.execute("1").reply["content"]["execution_count"]
    msg_id = kernel.kc.execute(
        'text("hidden"); console.log("x"); store("quiet", 7); 5', silent=True
    )
    seen: list[str] = []
    run = kernel.collect(msg_id, on_message=lambda m: seen.append(m["msg_type"]))
    assert run.status == "ok" and run.codemode["status"] == "completed"
    assert run.messages == [] and "execute_input" not in seen
    assert run.reply["content"]["execution_count"] == before
    assert run.codemode["cell_id"] == str(before + 1)
    failed = kernel.collect(kernel.kc.execute('throw new Error("quiet")', silent=True))
    assert failed.status == "error" and failed.messages == []
    assert failed.codemode["cell_id"] == str(before + 2)
    after = kernel.execute('load("quiet")')
    assert after.reply["content"]["execution_count"] == before + 3
    assert after.codemode["cell_id"] == str(before + 3)
    assert after.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "7"


def test_a_request_the_kernel_fails_on_still_gets_a_reply(kernel: Kernel) -> None:
    """Malformed requests make their handlers raise; each still ends with an error reply and
    `idle`, and the kernel goes on serving."""
    session, shell = kernel.kc.session, kernel.kc.shell_channel

    def send(msg_type: str, content: dict[str, object]) -> str:
        msg = session.msg(msg_type, content)
        shell.send(msg)
        return str(msg["header"]["msg_id"])

    run = kernel.collect(send("execute_request", {"code": 5, "silent": False}), timeout=10)
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "KernelError"
    assert run.reply["content"]["evalue"].startswith("the kernel failed on this request: ")
    assert run.codemode["status"] == "failed" and run.codemode["cell_id"] is None
    assert run.error is not None and run.error["ename"] == "KernelError"
    for msg_type, content in [
        ("complete_request", {"code": "tex", "cursor_pos": "x"}),
        ("inspect_request", {"code": None, "cursor_pos": 0, "detail_level": 0}),
        ("is_complete_request", {"code": 7}),
    ]:
        msg_id = send(msg_type, content)
        reply = kernel.kc.get_shell_msg(timeout=10)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["msg_type"] == msg_type.replace("_request", "_reply")
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KernelError"
    ok = kernel.execute("1 + 1")
    assert ok.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "2"


def test_sigint_interrupts_the_observed_cell_and_the_kernel_lives_on(kernel: Kernel) -> None:
    """Ctrl-C in a terminal sends SIGINT to the kernel process: an interrupt, not an exit."""
    msg_id = kernel.kc.execute("while (true) {}")
    time.sleep(0.3)
    os.kill(kernel.km.provisioner.process.pid, signal.SIGINT)  # type: ignore[union-attr]
    run = kernel.collect(msg_id, timeout=10)
    assert run.error is not None
    assert (run.error["ename"], run.error["evalue"]) == ("CellTerminated", "Script terminated")
    assert kernel.km.is_alive()
    ok = kernel.execute("1 + 1")
    assert ok.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "2"


def test_completion_and_inspect_through_the_kernel(kernel: Kernel) -> None:
    kernel.kc.complete("const total = 1;\nMath.", 22)
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    assert reply["status"] == "ok" and {"max", "PI"} <= set(reply["matches"])
    assert (reply["cursor_start"], reply["cursor_end"]) == (22, 22)
    kernel.kc.inspect('text("a", ', 10)
    reply = kernel.kc.get_shell_msg(timeout=10)["content"]
    assert reply["found"] and reply["data"]["text/plain"].startswith("text(value):")


def test_the_kernel_says_busy_while_a_yielded_cell_runs_in_the_background(kernel: Kernel) -> None:
    """A server's culler takes the kernel's state from statuses parented to requests: after the
    request's own idle, `busy` again while its yielded cell runs, `idle` when the cell ends."""
    msg_id = kernel.kc.execute("yield_control(); await new Promise(r => setTimeout(r, 800)); 1")
    states: list[str] = []

    def record(msg: dict[str, object]) -> None:
        parent = msg["parent_header"]
        if msg["msg_type"] == "status" and parent.get("msg_id") == msg_id:  # type: ignore[union-attr]
            states.append(msg["content"]["execution_state"])  # type: ignore[index]

    run = kernel.collect(msg_id, on_message=record)
    assert run.codemode["status"] == "running"
    deadline = time.monotonic() + 10
    while states[-1:] != ["idle"] or len(states) < 4:
        assert time.monotonic() < deadline, states
        with contextlib.suppress(queue.Empty):
            record(kernel.kc.get_iopub_msg(timeout=0.2))
    assert states == ["busy", "idle", "busy", "idle"]
