"""Hostile inputs through a real kernel: each gets a reply with a clear error (or completes),
and the kernel keeps serving. The client here packs messages with `ensure_ascii` and NaN allowed,
as a careless client could, so lone surrogates and NaN really reach the kernel."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e

SURROGATE = "\ud800"
NESTED = 100_000


@pytest.fixture(scope="module")
def k() -> Iterator[Kernel]:
    kernel = Kernel.start()
    kernel.kc.session.pack = lambda obj: json.dumps(obj, default=str).encode()
    try:
        yield kernel
    finally:
        kernel.stop()


@pytest.fixture(autouse=True)
def still_serving(k: Kernel) -> Iterator[None]:
    yield
    run = k.execute("1 + 1", timeout=10)
    assert run.status == "ok" and run.texts == ["2"]


def _error(k: Kernel, code: str) -> dict[str, Any]:
    run = k.execute(code, timeout=10)
    assert run.status == "error", run.texts
    assert run.error is not None
    assert run.reply["content"]["evalue"] == run.error["evalue"]
    return run.error


@pytest.mark.parametrize(
    ("code", "evalue"),
    [
        (
            "// @exec: " + "[" * NESTED + "]" * NESTED + "\n1",
            "exec pragma must be valid JSON with supported fields `yield_time_ms` and "
            "`max_output_tokens`: nested too deeply",
        ),
        (
            '// @wait: {"cell_id": ' + "[" * NESTED,
            "wait pragma must be valid JSON with fields cell_id, yield_time_ms, max_tokens and "
            "terminate: nested too deeply",
        ),
        (
            "%wait 1 --yield-time-ms " + "9" * 5000,
            "%wait: --yield-time-ms expects a non-negative integer no larger than "
            "9007199254740991, got " + "9" * 40 + "… (5000 characters)",
        ),
        (
            '// @exec: {"yield_time_ms": ' + "9" * 400 + "}\n1",
            "exec pragma fields `yield_time_ms` and `max_output_tokens` must be non-negative "
            "safe integers: number out of range",
        ),
        (
            '// @wait: {"cell_id": "\\ud800"}',
            "wait pragma contains a lone UTF-16 surrogate (a \\u escape)",
        ),
        (
            '// @exec: {"\\udc00": 1}\n1',
            "exec pragma contains a lone UTF-16 surrogate (a \\u escape)",
        ),
        (
            f"%wait {SURROGATE}",
            "cell contains a lone UTF-16 surrogate at line 1, column 7; write it as an escape "
            "(e.g. \\ud800) inside a string literal",
        ),
        (
            f'\ntext("a{SURROGATE}")',
            "cell contains a lone UTF-16 surrogate at line 2, column 8; write it as an escape "
            "(e.g. \\ud800) inside a string literal",
        ),
    ],
    ids=[
        "exec-deep",
        "wait-deep",
        "wait-digits",
        "exec-huge-int",
        "wait-id",
        "exec-key",
        "magic-arg",
        "source",
    ],
)
def test_bad_request_gets_an_exec_error(k: Kernel, code: str, evalue: str) -> None:
    error = _error(k, code)
    assert error["ename"] == "ExecError"
    assert error["evalue"] == evalue


def test_surrogates_in_outputs_become_replacement_characters(k: Kernel) -> None:
    run = k.execute(
        'text("t\\ud800"); console.log("c\\udfff"); notify("n\\ud800"); ({ s: "r\\ud800" })',
        timeout=10,
    )
    assert run.status == "ok"
    assert run.texts[:3] == ["t\ufffd", "c\ufffd\n", "n\ufffd"]
    result = run.of_type("execute_result")[0]["content"]["data"]
    assert result["application/json"] == {"s": "r\ufffd"}


def test_surrogate_in_an_error_message_still_replies(k: Kernel) -> None:
    error = _error(k, 'throw new Error("e\\ud800")')
    assert error["ename"] == "Error" and error["evalue"] == "e\ufffd"


@pytest.mark.parametrize(
    ("code", "start"),
    [
        ('store("k", ["\\ud800"])', 'store value of "k" contains a lone UTF-16 surrogate'),
        ('store("k\\udc00", 1)', "store key contains a lone UTF-16 surrogate"),
    ],
)
def test_surrogate_in_the_store_is_refused_and_store_still_answers(
    k: Kernel, code: str, start: str
) -> None:
    error = _error(k, f'store("fine", 1); {code}')
    assert error["evalue"].startswith(start)
    run = k.execute("%store", timeout=10)
    assert run.status == "ok"
    assert "fine" not in run.of_type("display_data")[-1]["content"]["data"]["application/json"]


def test_register_tools_with_a_surrogate_is_refused(k: Kernel) -> None:
    comm = k.open_comm({"tools": [{"name": f"t{SURROGATE}"}]})
    [reply] = k.comm_messages(comm)
    assert reply == {
        "type": "error",
        "message": "register_tools: a tool definition contains a lone UTF-16 surrogate; names, "
        "descriptions and schemas must be well-formed Unicode text",
    }
    k.close_comm(comm)


def _answering(k: Kernel, comm: str, result: Any) -> Any:
    def answer(msg: dict[str, Any]) -> None:
        data = msg["content"].get("data", {})
        if msg["msg_type"] == "comm_msg" and data.get("type") == "tool_call":
            k.send_comm(comm, {"type": "tool_result", "call_id": data["call_id"], "result": result})

    return answer


def test_tool_result_with_surrogates_reaches_the_cell(k: Kernel) -> None:
    comm = k.open_comm({"tools": [{"name": "echo"}]})
    k.comm_messages(comm)
    result = {"s": f"x{SURROGATE}", f"k{SURROGATE}": 1}
    code = "const r = await tools.echo({}); text(r.s); Object.keys(r).length"
    run = k.execute(code, timeout=10, on_message=_answering(k, comm, result))
    assert run.status == "ok" and run.texts == ["x\ufffd", "2"]
    k.close_comm(comm)


def test_tool_result_with_nan_fails_the_call_not_the_kernel(k: Kernel) -> None:
    comm = k.open_comm({"tools": [{"name": "nan"}]})
    k.comm_messages(comm)
    code = "try { await tools.nan({}) } catch (e) { text(String(e)) } 7"
    run = k.execute(code, timeout=10, on_message=_answering(k, comm, {"x": float("nan")}))
    assert run.status == "ok"
    assert run.texts == ["`result` must be JSON: NaN and Infinity are not JSON values", "7"]
    k.close_comm(comm)
