"""Busy while cells run in the background, so a server's idle culler leaves the kernel alone.

Jupyter Server, Kernel Gateway and Enterprise Gateway cull a kernel that has looked idle for long
enough (never a busy one, by default), and they take the kernel's state from `status` messages
parented to a request. ipykernel reports `idle` after every request, also when the cell it
started yielded and keeps running. So after each request's `idle`, while any yielded cell still
runs, the kernel says `busy` again, parented to the request that showed that cell; when the last
such cell ends with no request in flight, it says `idle` with the same parent. Clients match
statuses by their own request's msg_id, so only a kernel-wide indicator (JupyterLab's) shows it:
the kernel is busy, in the background.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..session.cell import Cell
from .displays import CellDisplays

#: Publish `status` with this execution state, parented to this request.
SendStatus = Callable[[str, dict[str, Any]], None]


class BackgroundBusy:
    """A session listener (after `CellDisplays`) that also hears the shell's own statuses."""

    def __init__(self, displays: CellDisplays, send_status: SendStatus) -> None:
        self._displays = displays
        self._send = send_status
        self._lock = threading.Lock()  # subshells publish their statuses from their own threads
        self._requests = 0  # shell requests between their busy and idle
        self._shown: dict[str, Any] | None = None  # the parent of the busy we said

    def shell_status(self, status: str) -> None:
        """ipykernel published `status` for a shell request."""
        with self._lock:
            if status == "busy":
                self._requests += 1
                return
            if status != "idle":
                return
            self._requests = max(0, self._requests - 1)
            self._shown = None  # the request's own idle is the server's state now
            self._update()

    def cell_event(self, cell: Cell, event: str) -> None:
        with self._lock:
            self._update()

    def notify(self, cell: Cell, text: str) -> None:
        """Notifications change nothing here."""

    def _update(self) -> None:
        if self._requests:
            return  # the request's idle comes later and decides
        parent = self._displays.background_request()
        if parent is not None and self._shown is None:
            self._shown = parent
            self._send("busy", parent)
        elif parent is None and self._shown is not None:
            self._send("idle", self._shown)
            self._shown = None
