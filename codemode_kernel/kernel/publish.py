"""IOPub publishing: one way to send a message, always as the child of a request.

`Publisher` is bound to the request a message belongs to, so a message without a parent cannot be
built. `RequestObserver` is what an execute_request hands to the session: it turns the cell's items
into IOPub messages as they arrive, through the observation's truncation shaper.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..output.items import Item
from ..output.messages import Output, notify_output, status_output, status_update
from ..output.shaper import ObservationShaper, OutputStats
from ..output.unicode import well_formed
from ..protocol import progress_display_id


@dataclass(frozen=True)
class Publisher:
    """Sends IOPub messages parented to one request; a `muted` one (a silent request's) drops
    them."""

    session: Any  # jupyter_client.session.Session
    socket: Any  # the kernel's iopub socket (thread-safe)
    parent: dict[str, Any]
    topic_prefix: str
    muted: bool = False

    def send(self, output: Output) -> None:
        """Send; content that cannot pack as UTF-8 (a lone surrogate) goes with U+FFFD instead."""
        if self.muted:
            return
        msg_type, content = output
        topic = f"{self.topic_prefix}.{msg_type}".encode()
        try:
            self.session.send(self.socket, msg_type, content, parent=self.parent, ident=topic)
        except UnicodeEncodeError:
            content = well_formed(content)
            self.session.send(self.socket, msg_type, content, parent=self.parent, ident=topic)


@dataclass
class RequestObserver:
    """Observes a cell for one request: live output, shaped for this observation's budget."""

    publisher: Publisher
    max_tokens: int
    attached: Callable[[str], None] = lambda cell_id: None
    cell_id: str = ""
    shaper: ObservationShaper | None = field(default=None, init=False)

    def on_attach(self, cell_id: str) -> None:
        self.cell_id = cell_id
        self.shaper = ObservationShaper(cell_id, self.max_tokens)
        self.attached(cell_id)

    def on_item(self, item: Item) -> None:
        assert self.shaper is not None
        for output in self.shaper.feed(item):
            self.publisher.send(output)

    def on_notify(self, text: str) -> None:
        self.publisher.send(notify_output(self.cell_id, text))

    def finish(self) -> OutputStats:
        """Flush what truncation held back; returns the observation's output stats."""
        assert self.shaper is not None
        outputs, stats = self.shaper.finish()
        for output in outputs:
            self.publisher.send(output)
        return stats


@dataclass
class ProgressLine:
    """A live status line for an observation that lasts longer than `delay` seconds.

    It shows the elapsed time and the tool calls in flight, updates in place every `every`
    seconds, and at the end turns into the observation's final status.
    """

    publisher: Publisher
    observer: RequestObserver
    running_tools: Callable[[str], list[str]]
    delay: float = 1.0
    every: float = 1.0
    _shown: bool = field(default=False, init=False)
    _started: float = field(default_factory=time.monotonic, init=False)

    @property
    def display_id(self) -> str:
        return progress_display_id(self.publisher.parent["header"]["msg_id"])

    async def run(self) -> None:
        await asyncio.sleep(self.delay)
        while True:
            cid = self.observer.cell_id
            elapsed = time.monotonic() - self._started
            text = f"Cell {cid} running · {elapsed:.0f} s"
            tools = self.running_tools(cid)
            if tools:
                text += " · tools: " + ", ".join(tools)
            self._show(text)
            await asyncio.sleep(self.every)

    def finish(self, text: str) -> None:
        if self._shown:
            self._show(text)

    def _show(self, text: str) -> None:
        cid = self.observer.cell_id
        output = (status_update if self._shown else status_output)(cid, text, self.display_id)
        self._shown = True
        self.publisher.send(output)
