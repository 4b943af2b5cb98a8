"""Nested tool calls over the `codemode` comm, spoken raw with jupyter_client (docs/protocol.md)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e

ADD = {
    "name": "add",
    "description": "Add two numbers.",
    "kind": "function",
    "input_schema": {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
}
SHOUT = {"name": "shout-it", "description": "Upper-case text.", "kind": "freeform"}


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel.start(extra_arguments=["--CodeModeKernel.tool_result_bytes=100000"])
    yield k
    k.stop()


@pytest.fixture
def provider(kernel: Kernel) -> Iterator[str]:
    comm_id = kernel.open_comm({"tools": [ADD, SHOUT]})
    replies = kernel.comm_messages(comm_id)
    assert replies == [{"type": "tools_registered", "names": ["add", "shout-it"]}]
    yield comm_id
    kernel.close_comm(comm_id)


def answering(
    kernel: Kernel, comm_id: str, answer: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> tuple[Callable[[dict[str, Any]], None], list[dict[str, Any]]]:
    """An IOPub hook that answers this comm's tool calls with `answer(call)`."""
    seen: list[dict[str, Any]] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] != "comm_msg" or msg["content"]["comm_id"] != comm_id:
            return
        data = msg["content"]["data"]
        seen.append({**data, "parent": msg["parent_header"].get("msg_type")})
        if data.get("type") == "tool_call":
            reply = answer(data)
            if reply is not None:
                kernel.send_comm(comm_id, {"call_id": data["call_id"], **reply})

    return hook, seen


def compute(call: dict[str, Any]) -> dict[str, Any]:
    if call["name"] == "add":
        return {"type": "tool_result", "result": call["input"]["a"] + call["input"]["b"]}
    return {"type": "tool_result", "result": str(call["input"]).upper()}


def result_of(run: Any) -> Any:
    """The result's JSON value: `application/json` for a structure, metadata for a scalar."""
    content = run.of_type("execute_result")[0]["content"]
    return content["data"].get("application/json", content["metadata"]["codemode"].get("value"))


def test_a_tool_call_round_trip_parented_to_the_request(kernel: Kernel, provider: str) -> None:
    hook, seen = answering(kernel, provider, compute)
    run = kernel.execute("await tools.add({a: 2, b: 40})", on_message=hook)
    assert run.status == "ok" and result_of(run) == 42
    call = next(m for m in seen if m["type"] == "tool_call")
    assert call["name"] == "add" and call["kind"] == "function"
    assert call["input"] == {"a": 2, "b": 40}
    assert call["call_id"] == f"{run.codemode['cell_id']}/tool-1"
    assert call["parent"] == "execute_request"
    events = [m["event"] for m in seen if m["type"] == "cell_event"]
    assert events[-2:] == ["completed", "closed"]


def test_freeform_tools_normalized_names_and_all_tools(kernel: Kernel, provider: str) -> None:
    hook, _ = answering(kernel, provider, compute)
    run = kernel.execute(
        'const r = await tools.shout_it("hi");\n[r, ALL_TOOLS.map(t => t.name)]', on_message=hook
    )
    assert result_of(run) == ["HI", ["add", "shout_it"]]
    run = kernel.execute('ALL_TOOLS.find(t => t.name === "add").description')
    description = result_of(run)
    assert description.startswith("Add two numbers.\n\nexec tool declaration:\n```ts\n")
    assert "declare const tools" in description and "add(args:" in description


def test_tool_errors_reject_with_the_plain_string(kernel: Kernel, provider: str) -> None:
    hook, _ = answering(kernel, provider, lambda c: {"type": "tool_error", "error": "nope"})
    run = kernel.execute("await tools.add({a: 1, b: 2}).catch(e => [typeof e, e])", on_message=hook)
    assert result_of(run) == ["string", "nope"]
    run = kernel.execute("await tools.add({a: 1, b: 2})", on_message=hook)
    assert run.status == "error" and run.error is not None and run.error["evalue"] == "nope"


def test_host_rules_reject_before_the_call_leaves(kernel: Kernel, provider: str) -> None:
    hook, seen = answering(kernel, provider, compute)
    code = """
    const r = [];
    for (const f of [() => tools.add(5), () => tools.add(null), () => tools.shout_it({x: 1}),
                     () => tools.shout_it()]) {
      r.push(await f().catch(e => e));
    }
    r
    """
    run = kernel.execute(code, on_message=hook)
    assert result_of(run) == [
        "tool `add` expects a JSON object for arguments",
        "tool `add` expects a JSON object for arguments",
        "tool `shout-it` expects a string input",
        "tool `shout-it` expects a string input",
    ]
    assert not [m for m in seen if m["type"] == "tool_call"]
    run = kernel.execute("tools.missing()")
    assert run.error is not None and run.error["ename"] == "TypeError"


def test_concurrent_calls_answered_out_of_order(kernel: Kernel, provider: str) -> None:
    pending: list[dict[str, Any]] = []

    def hold(call: dict[str, Any]) -> None:
        pending.append(call)
        if len(pending) == 3:
            for c in reversed(pending):
                kernel.send_comm(provider, {"call_id": c["call_id"], **compute(c)})

    hook, _ = answering(kernel, provider, hold)  # type: ignore[arg-type]
    code = "await Promise.all([1, 2, 3].map(n => tools.add({a: n, b: 10})))"
    run = kernel.execute(code, on_message=hook)
    assert result_of(run) == [11, 12, 13]
    assert [c["call_id"].split("/")[1] for c in pending] == ["tool-1", "tool-2", "tool-3"]


def test_unawaited_calls_are_cancelled_when_the_cell_ends(kernel: Kernel, provider: str) -> None:
    hook, seen = answering(kernel, provider, lambda c: None)
    run = kernel.execute('tools.add({a: 1, b: 1}); text("done")', on_message=hook)
    assert run.status == "ok"
    call = next(m for m in seen if m["type"] == "tool_call")
    assert {"type": "tool_cancel", "call_id": call["call_id"], "parent": "execute_request"} in seen
    kernel.send_comm(provider, {"type": "tool_result", "call_id": call["call_id"], "result": 1})
    assert kernel.execute("1").status == "ok"  # a late result is ignored


def test_closing_the_comm_rejects_outstanding_calls(kernel: Kernel) -> None:
    comm_id = kernel.open_comm({"tools": [ADD]})
    kernel.comm_messages(comm_id)

    def close(call: dict[str, Any]) -> None:
        kernel.close_comm(comm_id)

    hook, _ = answering(kernel, comm_id, close)  # type: ignore[arg-type]
    code = "const call = () => tools.add({a: 1, b: 2}).catch(e => e);\n[await call(), await call()]"
    run = kernel.execute(code, on_message=hook)
    assert result_of(run) == [
        "tool `add` provider disconnected",
        "tool `add` is not enabled in exec",
    ]
    assert result_of(kernel.execute("typeof tools.add")) == "undefined"  # gone for new cells


def test_a_provider_that_never_answers_only_holds_its_cell(kernel: Kernel, provider: str) -> None:
    hook, _ = answering(kernel, provider, lambda c: None)
    run = kernel.execute(
        '// @exec: {"yield_time_ms": 200}\nawait tools.add({a: 1, b: 1})', on_message=hook
    )
    assert run.codemode["status"] == "running"
    assert result_of(kernel.execute("2 + 2")) == 4
    assert (
        kernel.execute(f"%terminate {run.codemode['cell_id']}").codemode["status"] == "terminated"
    )


def test_describe_returns_model_ready_descriptions(kernel: Kernel, provider: str) -> None:
    kernel.send_comm(provider, {"type": "describe"})
    (reply,) = kernel.comm_messages(provider)
    assert reply["type"] == "description"
    assert "Run JavaScript code to orchestrate/compose tool calls" in reply["exec"]
    assert "add" in reply["exec"] and "shout-it" in reply["exec"]
    assert (
        "- Use `wait` only after `exec` returns `Script running with cell ID ...`." in reply["wait"]
    )


def test_malformed_messages_get_clear_errors(kernel: Kernel, provider: str) -> None:
    bad = [
        ("not an object", "codemode comm messages must be JSON objects with a `type`"),
        ({"no": "type"}, "unknown codemode message type None"),
        (
            {"type": "tool_result", "call_id": 5, "result": 1},
            "tool_result: `call_id` must be a string",
        ),
        ({"type": "tool_result", "call_id": "x"}, "tool_result needs a `result`"),
        ({"type": "register_tools", "tools": [{"name": ""}]}, "every tool needs a non-empty"),
        ({"type": "register_tools", "tools": [{"name": "t", "kind": "x"}]}, "has kind 'x'"),
    ]
    for data, message in bad:
        kernel.send_comm(provider, data)
        (reply,) = kernel.comm_messages(provider)
        assert reply["type"] == "error" and message in reply["message"]
    kernel.send_comm(provider, {"type": "tool_result", "call_id": "99/tool-1", "result": 1})
    assert result_of(kernel.execute("1 + 1")) == 2


def test_notify_and_cell_events_reach_every_comm(kernel: Kernel, provider: str) -> None:
    other = kernel.open_comm()
    hook, seen = answering(kernel, provider, compute)
    hook_other, seen_other = answering(kernel, other, compute)

    def both(msg: dict[str, Any]) -> None:
        hook(msg)
        hook_other(msg)

    run = kernel.execute('notify("hello"); text("x")', on_message=both)
    cid = run.codemode["cell_id"]
    note = {"type": "notify", "cell_id": cid, "text": "hello", "parent": "execute_request"}
    assert note in seen and note in seen_other
    assert [m["event"] for m in seen_other if m["type"] == "cell_event"] == ["completed", "closed"]
    kernel.close_comm(other)
    displays = [
        m
        for m in run.of_type("display_data")
        if m["content"]["metadata"]["codemode"]["type"] == "notify"
    ]
    assert displays and displays[0]["content"]["data"]["text/plain"] == "hello"


def test_later_registration_of_a_name_wins(kernel: Kernel, provider: str) -> None:
    second = kernel.open_comm({"tools": [{**ADD, "description": "Second add."}]})
    kernel.comm_messages(second)
    hook, _ = answering(kernel, second, lambda c: {"type": "tool_result", "result": "second"})
    run = kernel.execute("await tools.add({a: 1, b: 1})", on_message=hook)
    assert result_of(run) == "second"
    kernel.close_comm(second)
    time.sleep(0.2)


def test_results_over_the_limit_fail_only_that_cell(kernel: Kernel, provider: str) -> None:
    hook, _ = answering(
        kernel, provider, lambda c: {"type": "tool_result", "result": "x" * 200_000}
    )
    run = kernel.execute("await tools.add({a: 1, b: 1})", on_message=hook)
    assert run.error is not None and run.error["ename"] == "ResourceLimitExceeded"
    assert "resource=delegate_result_bytes limit=100000" in run.error["evalue"]
    assert result_of(kernel.execute("3")) == 3


def test_comm_traffic_on_a_subshell_is_handled_on_the_main_thread() -> None:
    """JupyterLab >= 4.4 sends comm traffic on subshells, whose requests ipykernel runs on their
    own threads; the comm hub and the toolbox must still only ever run on the main loop."""
    fixtures = str(Path(__file__).parent / "fixtures")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([fixtures, os.environ.get("PYTHONPATH", "")]),
    }
    k = Kernel.start(env=env, extra_arguments=["--CodeModeKernel.tools=thread_probe:comm_threads"])
    try:
        session, shell = k.kc.session, k.kc.shell_channel
        k.kc.control_channel.send(session.msg("create_subshell_request", {}))
        subshell = k.kc.control_channel.get_msg(timeout=10)["content"]["subshell_id"]

        def on_subshell(msg_type: str, content: dict[str, Any]) -> None:
            msg = session.msg(msg_type, content)
            msg["header"]["subshell_id"] = subshell
            shell.send(msg)

        comm_id = uuid.uuid4().hex
        on_subshell(
            "comm_open", {"comm_id": comm_id, "target_name": "codemode", "data": {"tools": [ADD]}}
        )
        assert k.comm_messages(comm_id, timeout=10) == [
            {"type": "tools_registered", "names": ["add"]}
        ]

        def answer(msg: dict[str, Any]) -> None:
            data = msg["content"].get("data", {})
            if msg["msg_type"] == "comm_msg" and data.get("type") == "tool_call":
                result = data["input"]["a"] + data["input"]["b"]
                reply = {"type": "tool_result", "call_id": data["call_id"], "result": result}
                on_subshell("comm_msg", {"comm_id": comm_id, "data": reply})

        run = k.execute(
            "[await tools.add({a: 2, b: 3}), await tools.add({a: 1, b: 1}),"
            " await tools.comm_threads()]",
            on_message=answer,
        )
        value = run.of_type("execute_result")[0]["content"]["data"]["application/json"]
        assert value == [5, 2, ["MainThread", "MainThread", "MainThread"]]
        on_subshell("comm_msg", {"comm_id": comm_id, "data": {"type": "describe"}})
        (description,) = k.comm_messages(comm_id, timeout=10)
        assert "add(args: { a: number; b: number; }): Promise<unknown>" in description["exec"]
        on_subshell("comm_close", {"comm_id": comm_id, "data": {}})
        # The close runs too, on the main loop; the subshell and the main shell are separate
        # queues, so the next execute may be handled first: wait for the close to be seen.
        names = ""
        deadline = time.monotonic() + 10
        while names != "[ 'comm_threads' ]" and time.monotonic() < deadline:
            closed = k.execute("ALL_TOOLS.map(t => t.name)")
            names = closed.of_type("execute_result")[0]["content"]["data"]["text/plain"]
        assert names == "[ 'comm_threads' ]"
    finally:
        k.stop()
