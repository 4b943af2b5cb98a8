"""Which request shows what of each cell: the per-cell display state of one kernel.

A cell outlives the request that started it (it yields and keeps running), so news of it — tool
calls, cell events, the final line of its "Script running" display — must go somewhere after that
request has replied. This class is the one place that remembers where:

- which request is observing which cell right now (what a Jupyter interrupt terminates);
- which request last observed each cell (where its comm traffic is parented);
- which request showed each yielded cell's status display (updated when the cell ends);
- which cells a Jupyter interrupt terminated (their reply is an error, not `ok`).

It is a `SessionListener`, so a cell that finishes with nobody observing updates its display, and a
closed cell is forgotten. Everything here runs on the kernel's main loop.
"""

from __future__ import annotations

from typing import Any

from ..output.messages import status_output, status_update
from ..protocol import finished_line, running_line, status_display_id
from ..session.cell import Cell
from .publish import Publisher


class CellDisplays:
    """The display and routing state of every live cell, keyed by cell id."""

    def __init__(self) -> None:
        self._observing: dict[str, str] = {}  # request msg_id -> the cell it observes
        self._publishers: dict[str, Publisher] = {}  # cell id -> its latest observer's
        self._yields: dict[str, Publisher] = {}  # cell id -> where its status display shows
        self._interrupted: set[str] = set()  # cells a Jupyter interrupt terminated
        self._background: set[str] = set()  # yielded cells still running, with a display

    # -- observations ------------------------------------------------------------------------

    def attach(self, cell_id: str, publisher: Publisher) -> None:
        """`publisher`'s request now observes `cell_id`; the cell's news goes to it."""
        self._observing[_msg_id(publisher)] = cell_id
        self._publishers[cell_id] = publisher

    def detach(self, publisher: Publisher) -> None:
        """`publisher`'s request stopped observing (it is about to reply)."""
        self._observing.pop(_msg_id(publisher), None)

    def observed(self) -> set[str]:
        """The cells some request is observing now."""
        return set(self._observing.values())

    def publisher_of(self, cell_id: str) -> Publisher | None:
        """The request observing `cell_id`, or the last one that did."""
        return self._publishers.get(cell_id)

    # -- the yielded cell's status display ---------------------------------------------------

    def yielded(self, cell_id: str, publisher: Publisher) -> None:
        """Show "Script running with cell ID n"; the cell's end updates it in place.

        A silent request shows nothing, so there is no display to update later either.
        """
        if publisher.muted:
            return
        self._yields[cell_id] = publisher
        self._background.add(cell_id)
        publisher.send(status_output(cell_id, running_line(cell_id), status_display_id(cell_id)))

    def background_request(self) -> dict[str, Any] | None:
        """The request that showed the newest yielded cell still running in the background."""
        live = [cid for cid in list(self._yields) if cid in self._background]
        return self._yields[live[-1]].parent if live else None

    def collected(self, cell_id: str, status: str, publisher: Publisher) -> None:
        """`publisher`'s request collected the cell's end: the status display says so, for good.

        The update is parented to the collecting request: a client that reads only the running
        request's messages (nbclient) sees it too, and updates the display where it is shown.
        """
        self._background.discard(cell_id)
        if self._yields.pop(cell_id, None) is not None:
            text = finished_line(status, cell_id)
            publisher.send(status_update(cell_id, text, status_display_id(cell_id)))

    # -- interrupts --------------------------------------------------------------------------

    def interrupted(self, cell_id: str) -> None:
        self._interrupted.add(cell_id)

    def take_interrupted(self, cell_id: str) -> bool:
        """Whether a Jupyter interrupt terminated `cell_id` (asked once, when it is collected)."""
        if cell_id in self._interrupted:
            self._interrupted.discard(cell_id)
            return True
        return False

    # -- SessionListener ---------------------------------------------------------------------

    def cell_event(self, cell: Cell, event: str) -> None:
        cid = cell.cell_id
        if event != "yielded":
            self._background.discard(cid)
        if event == "closed":
            self._publishers.pop(cid, None)
        publisher = self._yields.get(cid)
        if (
            publisher is not None
            and event in ("completed", "failed")
            and cid not in self.observed()
        ):
            text = finished_line(event, cid, collected=False)
            publisher.send(status_update(cid, text, status_display_id(cid)))

    def notify(self, cell: Cell, text: str) -> None:
        """Notifications reach an observer through the session; nothing to show here."""


def _msg_id(publisher: Publisher) -> str:
    return str(publisher.parent["header"]["msg_id"])
