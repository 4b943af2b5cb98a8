"""IOPub publishing: one way to send a message, always as the child of a request.

`Publisher` is bound to the request a message belongs to, so a message without a parent cannot be
built. `RequestObserver` is what an execute_request hands to the session: it turns the cell's items
into IOPub messages as they arrive, through the observation's truncation shaper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .items import Item
from .outputs import ObservationShaper, Output, notify_output


@dataclass(frozen=True)
class Publisher:
    """Sends IOPub messages parented to one request."""

    session: Any  # jupyter_client.session.Session
    socket: Any  # the kernel's iopub socket (thread-safe)
    parent: dict[str, Any]
    topic_prefix: str

    def send(self, output: Output) -> None:
        msg_type, content = output
        topic = f"{self.topic_prefix}.{msg_type}".encode()
        self.session.send(self.socket, msg_type, content, parent=self.parent, ident=topic)


@dataclass
class RequestObserver:
    """Observes a cell for one request: live output, shaped for this observation's budget."""

    publisher: Publisher
    max_tokens: int
    cell_id: str = ""
    shaper: ObservationShaper | None = field(default=None, init=False)

    def on_attach(self, cell_id: str) -> None:
        self.cell_id = cell_id
        self.shaper = ObservationShaper(cell_id, self.max_tokens)

    def on_item(self, item: Item) -> None:
        assert self.shaper is not None
        for output in self.shaper.feed(item):
            self.publisher.send(output)

    def on_notify(self, text: str) -> None:
        self.publisher.send(notify_output(self.cell_id, text))

    def finish(self) -> Any:
        """Flush what truncation held back; returns the observation's output stats."""
        assert self.shaper is not None
        outputs, stats = self.shaper.finish()
        for output in outputs:
            self.publisher.send(output)
        return stats
