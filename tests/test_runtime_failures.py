"""The runtime's failure paths end cells instead of hanging them: V8 that cannot start, a sink
that raises on the final event, a message the host cannot read. Real V8 where it runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from typing import Any

import pytest

from codemode_kernel.runtime import Engine, Limits, V8Unavailable
from codemode_kernel.runtime.protocol import Done, Event, Text
from codemode_kernel.session.session import Session
from codemode_kernel.source import ExecRequest

pytestmark = pytest.mark.unit

CONFIG: dict[str, Any] = {"cellId": "1", "store": {}, "tools": []}


class _Seen:
    def on_attach(self, cell_id: str) -> None:
        pass

    def on_item(self, item: object) -> None:
        pass

    def on_notify(self, text: str) -> None:
        pass


def _no_v8() -> Any:
    raise OSError("libmini_racer.so: cannot open shared object file")


def test_v8_that_cannot_start_fails_every_cell_with_its_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "codemode_kernel.runtime.engine")
    engine = Engine(prepared=1, init=_no_v8)
    try:
        error = engine.v8_error
        assert isinstance(error, V8Unavailable)
        assert str(error) == (
            "V8 could not start: OSError('libmini_racer.so: cannot open shared object file')"
        )
        with pytest.raises(V8Unavailable):
            _ = engine.v8_version
        assert any(r.exc_info for r in caplog.records), "the start-up failure is logged"

        async def scenario() -> None:
            session = Session(engine)
            for _ in range(2):
                request = ExecRequest("text(1)", None, None)
                outcome = await asyncio.wait_for(session.exec(request, _Seen()), 5)
                assert outcome.status == "failed" and outcome.error is not None
                assert outcome.error.name == "V8Unavailable"
                assert outcome.error.text == str(error)

        asyncio.run(scenario())
    finally:
        engine.shutdown()


@pytest.fixture(scope="module")
def engine() -> Any:
    eng = Engine(prepared=1)
    yield eng
    eng.shutdown()


def _wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_sink_that_raises_on_done_still_frees_the_isolate(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "codemode_kernel.runtime.isolate")
    seen: list[Event] = []

    def sink(event: Event) -> None:
        seen.append(event)
        if isinstance(event, Done):
            raise RuntimeError("the cell layer broke")

    runtime = engine.start_cell('text("a"); return (1)', CONFIG, sink, Limits())
    runtime.stopped.result(timeout=5)  # the isolate was freed
    assert seen[0] == Text("a") and isinstance(seen[-1], Done)
    _wait_until(lambda: not engine._live)
    assert any("sink failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_a_result_nested_past_the_host_decoder_fails_the_cell(engine: Engine) -> None:
    """A result nested deeper than the host's JSON decoder can go never leaves the isolate:
    the cell ends with the limit, not with a lost message."""
    done: concurrent.futures.Future[Done] = concurrent.futures.Future()

    def sink(event: Event) -> None:
        if isinstance(event, Done):
            done.set_result(event)

    body = "let v = 1; for (let i = 0; i < 5000; i++) v = [v]; return (v)"
    engine.start_cell(body, CONFIG, sink, Limits())
    error = done.result(timeout=5).error
    assert error is not None and error.name == "ResourceLimitExceeded"
    assert error.text == (
        "resource limit exceeded: code=resource_exhausted resource=json_depth limit=256 "
        "observed=5001"
    )
