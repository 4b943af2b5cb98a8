"""`CellDisplays` on its own: which request shows a cell's news, and its status display's life.

The cells are real `Cell` objects (no runtime attached: the displays only read their ids), and the
publishers real ones over a jupyter_client session that packs and records each message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.session import Session as JupyterSession

from codemode_kernel.kernel.displays import CellDisplays
from codemode_kernel.kernel.publish import Publisher
from codemode_kernel.session.cell import Cell, CellHooks

pytestmark = pytest.mark.unit


class Recorder(JupyterSession):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send(self, stream: Any, msg_or_type: Any, content: Any = None, **kwargs: Any) -> Any:
        msg = super().send(None, msg_or_type, content, **kwargs)
        self.sent.append(msg)
        return msg


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def publisher(recorder: Recorder, *, muted: bool = False) -> Publisher:
    parent = recorder.msg("execute_request", {"code": ""})
    return Publisher(recorder, None, parent, "kernel.test", muted=muted)


@pytest.fixture(scope="module", autouse=True)
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    global _loop
    _loop = asyncio.new_event_loop()
    yield _loop
    _loop.close()


_loop: asyncio.AbstractEventLoop


def cell(cell_id: str) -> Cell:
    def nothing(*args: Any) -> None:
        return None

    hooks = CellHooks(
        commit=nothing, call_tool=nothing, cancel_tools=nothing, notify=nothing, event=nothing
    )
    return Cell(cell_id, hooks, _loop)


def shown(recorder: Recorder, to: Publisher) -> list[tuple[str, str, str]]:
    msg_id = to.parent["header"]["msg_id"]
    return [
        (m["msg_type"], m["content"]["data"]["text/plain"], m["content"]["transient"]["display_id"])
        for m in recorder.sent
        if m["parent_header"]["msg_id"] == msg_id
    ]


def test_attach_routes_a_cells_news_to_its_latest_observer(recorder: Recorder) -> None:
    displays = CellDisplays()
    first, second = publisher(recorder), publisher(recorder)
    assert displays.publisher_of("1") is None
    displays.attach("1", first)
    assert displays.observed() == {"1"} and displays.publisher_of("1") is first
    displays.detach(first)
    assert displays.observed() == set() and displays.publisher_of("1") is first
    displays.attach("1", second)
    displays.detach(second)
    assert displays.publisher_of("1") is second
    displays.cell_event(cell("1"), "closed")
    assert displays.publisher_of("1") is None


def test_a_yield_display_is_updated_in_the_background_then_closed_on_collection(
    recorder: Recorder,
) -> None:
    displays = CellDisplays()
    yielding, collecting = publisher(recorder), publisher(recorder)
    displays.yielded("3", yielding)
    displays.cell_event(cell("3"), "completed")
    displays.collected("3", "completed", collecting)
    displays.collected("3", "completed", collecting)  # once only
    # The background news goes where the display was shown; the final line to the request that
    # collected the cell (nbclient reads only the running request's messages).
    assert shown(recorder, yielding) == [
        ("display_data", "Script running with cell ID 3", "codemode-cell-3"),
        (
            "update_display_data",
            "Script completed with cell ID 3; collect its output with %wait 3",
            "codemode-cell-3",
        ),
    ]
    assert shown(recorder, collecting) == [
        ("update_display_data", "Script completed with cell ID 3", "codemode-cell-3"),
    ]


def test_an_observed_cell_ending_leaves_its_display_to_the_observer(recorder: Recorder) -> None:
    displays = CellDisplays()
    yielding, waiting = publisher(recorder), publisher(recorder)
    displays.yielded("4", yielding)
    displays.attach("4", waiting)
    displays.cell_event(cell("4"), "failed")
    assert len(shown(recorder, yielding)) == 1  # only the running line: nobody was told yet
    displays.collected("4", "failed", waiting)
    assert len(shown(recorder, yielding)) == 1
    assert shown(recorder, waiting) == [
        ("update_display_data", "Script failed with cell ID 4", "codemode-cell-4")
    ]


def test_a_cell_that_never_yielded_has_no_display_to_close(recorder: Recorder) -> None:
    displays = CellDisplays()
    displays.cell_event(cell("5"), "completed")
    displays.collected("5", "completed", publisher(recorder))
    assert recorder.sent == []


def test_a_silent_yield_shows_nothing_now_or_later(recorder: Recorder) -> None:
    displays = CellDisplays()
    displays.yielded("6", publisher(recorder, muted=True))
    displays.cell_event(cell("6"), "completed")
    displays.collected("6", "completed", publisher(recorder, muted=True))
    assert recorder.sent == []


def test_interrupted_is_asked_once(recorder: Recorder) -> None:
    displays = CellDisplays()
    displays.interrupted("7")
    assert displays.take_interrupted("7") is True
    assert displays.take_interrupted("7") is False
    assert displays.take_interrupted("8") is False
