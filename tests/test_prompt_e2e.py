"""`await prompt(message)` through a real kernel: an input_request on stdin, answered by the
front end, or refused at once when the request does not allow stdin."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e

UNAVAILABLE = "prompt is not available: the client does not allow stdin"


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel.start()
    yield k
    k.stop()


def input_request(kernel: Kernel, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kernel.kc.get_stdin_msg(timeout=0.1)
        except queue.Empty:
            continue
        if msg["msg_type"] == "input_request":
            return msg
    raise TimeoutError("no input_request")


def test_prompt_asks_the_front_end_and_resolves_with_the_answer(kernel: Kernel) -> None:
    msg_id = kernel.kc.execute(
        'text("before"); const name = await prompt("Your name?"); `hello ${name}`',
        allow_stdin=True,
    )
    asked = input_request(kernel)
    assert asked["content"] == {"prompt": "Your name?", "password": False}
    assert asked["parent_header"]["msg_id"] == msg_id
    kernel.kc.input("Ada")
    run = kernel.collect(msg_id)
    assert run.status == "ok"
    assert run.texts == ["before", "'hello Ada'"]


def test_two_prompts_in_a_row_and_a_message_that_is_not_a_string(kernel: Kernel) -> None:
    msg_id = kernel.kc.execute(
        "const a = await prompt(); const b = await prompt(42); [a, b]", allow_stdin=True
    )
    assert input_request(kernel)["content"]["prompt"] == ""
    kernel.kc.input("x")
    assert input_request(kernel)["content"]["prompt"] == "42"
    kernel.kc.input("y")
    assert kernel.collect(msg_id).texts == ["[ 'x', 'y' ]"]


def test_without_stdin_the_prompt_rejects_at_once_with_a_plain_string(kernel: Kernel) -> None:
    run = kernel.collect(
        kernel.kc.execute("await prompt('x').catch(e => typeof e + ': ' + e)", allow_stdin=False)
    )
    assert run.texts == [f"'string: {UNAVAILABLE}'"]


def test_a_cell_waiting_on_a_prompt_can_be_interrupted(kernel: Kernel) -> None:
    msg_id = kernel.kc.execute('await prompt("never answered")', allow_stdin=True)
    input_request(kernel)
    kernel.km.interrupt_kernel()
    run = kernel.collect(msg_id)
    assert run.status == "error" and run.reply["content"]["ename"] == "CellTerminated"
    # The kernel goes on, and a stale answer to the old question is not taken for a new one.
    kernel.kc.input("late")
    again = kernel.kc.execute("await prompt('again')", allow_stdin=True)
    assert input_request(kernel)["content"]["prompt"] == "again"
    kernel.kc.input("fresh")
    assert kernel.collect(again).texts == ["'fresh'"]
