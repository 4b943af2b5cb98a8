"""What a client gets back: `ExecResult` (one observation, with the model-facing items rebuilt
from IOPub) and `Notification`.

The kernel speaks Jupyter (display_data, stream, execute_result, error), but an agent needs
Codex code mode's content items ("the reference's" below), exactly as Codex would have handed
them to a model. Every cell output carries `metadata.codemode` (docs/protocol.md), so the
pieces can be told apart and put back together: text displays and console lines are text
items, image displays are image items, and the truncation the kernel applied while streaming
(`output.shaper.ObservationShaper`) is undone into the reference's single
`Total output lines: …` item.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ..output.items import ImageItem, Item, TextItem
from ..output.messages import BASE64_IMAGE_TYPES, SVG_TYPE
from ..output.truncation import join_texts, model_header
from ..protocol import METADATA_KEY, CellStatus, status_line, truncated_header, truncation_marker

Status = CellStatus
ModelItem = dict[str, str]

#: The reference's answer to an empty `exec` (docs/cells.md, last section); the kernel itself
#: treats an empty cell as a Jupyter no-op, so the client answers this one without asking it.
EMPTY_SOURCE_ERROR = (
    "exec expects raw JavaScript source text (non-empty). Provide JS only, optionally with "
    'first-line `// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`.'
)
#: Request-level errors that the reference still reports as a `Script failed` observation; every
#: other refused request (bad pragma, busy cell, …) reaches the model as the plain error string.
_FAILED_OBSERVATION_ERRORS = frozenset({"CellNotFound"})
#: The enames of the kernel's request-level errors (`errors.CodeModeError` subclasses).
REQUEST_ERRORS = frozenset(
    {"ExecError", "CellNotFound", "CellBusy", "CellTerminating", "SessionShuttingDown"}
)
_OUTPUT_TYPES = frozenset({"display_data", "stream", "execute_result", "error"})


@dataclass(frozen=True)
class Notification:
    """One `notify(...)` from a cell. It reaches the client at once, whoever observes the cell,
    and is not part of any observation's output (docs/protocol.md, the `notify` message)."""

    cell_id: str
    text: str


@dataclass
class ExecResult:
    """The outcome of one `exec`, `wait` or `terminate`: one observation of a cell.

    `items` are the cell's output items in helper-call order: `text(...)` displays, console lines
    (without the newline the stream adds), images (as data URLs) and, last, the result value's
    text. Stored-value, notify, status and truncation-marker displays are not items. When the
    kernel truncated the observation, `items` hold the pieces it showed (head and tail) and
    `model_items` the reference's single truncated text item instead.

    `request_error` marks a request the kernel refused before observing anything (bad pragma,
    unknown or busy cell, …): `status` is "failed", `error_name` the kernel's ename and
    `error_text` its message.
    """

    status: Status
    cell_id: str | None
    items: list[Item] = field(default_factory=list)
    error_text: str | None = None
    wall_time_s: float = 0.0
    result: Any = None
    truncated_tokens: int = 0
    total_lines: int = 0
    omitted_text_items: int = 0
    error_name: str | None = None
    request_error: bool = False
    model_items: list[Item] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @classmethod
    def refused(
        cls, error_name: str, error_text: str, cell_id: str | None = None, **fields: Any
    ) -> ExecResult:
        """A request the kernel (or the client, for an empty source) refused to run."""
        return cls(
            "failed",
            cell_id,
            error_text=error_text,
            error_name=error_name,
            request_error=True,
            **fields,
        )

    @property
    def status_line(self) -> str:
        """The first line of the reference's header (docs/cells.md, the model-facing text)."""
        return status_line(self.status, str(self.cell_id))

    def to_model_output(self) -> list[ModelItem]:
        """The content items the reference hands the model for this observation.

        `[header, *items, "Script error:\\n…"?]` with the header from `truncation.model_header`
        and the items after truncation. A refused request is the plain error text alone, as the
        reference returns service and pragma errors without a header — except an unknown cell,
        which the reference reports as `Script failed` plus `Script error:`.

        Known gaps, all from what the kernel sends rather than from this code:

        * The reference truncates after appending `Script error:`, so a failing cell's error text
          counts against the budget and can be cut; the kernel truncates the cell's output only,
          so here the error item is always whole and the output is cut as if it were absent.
        * With images among the items the reference switches to another rule (texts kept whole
          while their tokens fit, then `[omitted N text items ...]`); the kernel always applies
          the all-text rule to the joined text and keeps every image. The rebuilt text item
          stands where the first text was: images before it stay before, all others follow.
        * The result value is a kernel extension the reference does not have; it comes last,
          outside truncation. Images come back as the kernel re-encoded them (canonical base64;
          SVG as base64), and an `image(...)` of a type no front end shows (not png, jpeg, gif,
          webp or svg) arrives without its data, so it becomes its `<image …>` text placeholder.
        """
        if self.request_error and self.error_name not in _FAILED_OBSERVATION_ERRORS:
            return [_text(self.error_text or "")]
        header = model_header(self.status_line, self.wall_time_s)
        items = self.items if self.model_items is None else self.model_items
        out = [_text(header), *(_model_item(item) for item in items)]
        if self.status == "failed" and self.error_text is not None:
            out.append(_text(f"Script error:\n{self.error_text}"))
        return out


def _text(text: str) -> ModelItem:
    return {"type": "input_text", "text": text}


def _model_item(item: Item) -> ModelItem:
    if isinstance(item, ImageItem):
        return {"type": "input_image", "image_url": item.image_url, "detail": item.detail}
    return _text(item.text)


def image_item(bundle: dict[str, Any], detail: str) -> Item:
    """A data URL back from an image display's MIME bundle (the kernel sends base64 or SVG)."""
    for mime in BASE64_IMAGE_TYPES:
        if isinstance(bundle.get(mime), str):
            return ImageItem(f"data:{mime};base64,{bundle[mime]}", detail)
    svg = bundle.get(SVG_TYPE)
    if isinstance(svg, str):
        encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return ImageItem(f"data:{SVG_TYPE};base64,{encoded}", detail)
    return TextItem(str(bundle.get("text/plain", "<image>")))


@dataclass
class _Entry:
    """An item (or the piece of one that truncation split) in arrival order."""

    item: Item
    text: str | None  # the text for truncation; None for images (and their placeholders)
    open_head: bool = False  # a head piece whose rest may still come as a tail piece


@dataclass
class OutputCollector:
    """Gathers the IOPub messages of one request and turns them into an `ExecResult`."""

    cell_id: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    _entries: list[_Entry] = field(default_factory=list)
    _marker: int | None = None
    _result: tuple[str, Any] | None = None
    _error: dict[str, Any] | None = None

    def feed(self, msg: dict[str, Any]) -> None:
        """Take one IOPub message parented to the request (others are the caller's business)."""
        if msg["msg_type"] not in _OUTPUT_TYPES:
            return
        self.messages.append(msg)
        content = msg["content"]
        meta = (content.get("metadata") or {}).get(METADATA_KEY)
        if msg["msg_type"] == "error":
            self._error = content
        if not isinstance(meta, dict):
            return
        kind = meta.get("type")
        if kind in ("text", "console"):
            self._text_piece(msg["msg_type"], content, meta.get("cut"))
        elif kind == "image":
            data = content.get("data") or {}
            self._entries.append(_Entry(image_item(data, str(meta.get("detail", "high"))), None))
        elif kind == "truncated":
            self._marker = len(self._entries)
        elif kind == "result":
            data = content.get("data") or {}
            text = str(data.get("text/plain", ""))
            self._result = (text, data.get("application/json", meta.get("value", text)))

    def _text_piece(self, msg_type: str, content: dict[str, Any], cut: Any) -> None:
        """A whole text/console item, or a head/tail piece of one (see ObservationShaper)."""
        if msg_type == "stream":
            text, stream = str(content.get("text", "")), content.get("name")
            if cut != "head" and text.endswith("\n"):
                text = text[:-1]
            item = TextItem(text, "stderr" if stream == "stderr" else "stdout")
        else:
            item = TextItem(str((content.get("data") or {}).get("text/plain", "")))
        if cut == "tail" and self._marker is None:
            # The rest of an item whose head went out live: the observation fit after all.
            for entry in reversed(self._entries):
                if entry.open_head and entry.text is not None:
                    entry.text += item.text
                    entry.item = TextItem(entry.text, item.stream)
                    entry.open_head = False
                    return
        self._entries.append(_Entry(item, item.text, open_head=cut == "head"))

    def finish(self, reply: dict[str, Any], wall_time_s: float) -> ExecResult:
        """The result, from the execute_reply and everything collected before `idle`."""
        content = reply["content"]
        meta = (reply.get("metadata") or {}).get(METADATA_KEY)
        items = [entry.item for entry in self._entries]
        result_value: Any = None
        if self._result is not None:
            items.append(TextItem(self._result[0]))
            result_value = self._result[1]
        error = self._error or (content if content.get("status") == "error" else None)
        ename = None if error is None else str(error.get("ename", ""))
        evalue = None if error is None else str(error.get("evalue", ""))
        common: dict[str, Any] = {
            "items": items,
            "wall_time_s": wall_time_s,
            "result": result_value,
            "messages": self.messages,
        }
        if not isinstance(meta, dict) or self._refused(content, meta, evalue, ename):
            if content.get("status") != "error":  # an empty cell, %cells, %store
                return ExecResult("completed", None, **common)
            cell_id = meta.get("cell_id") if isinstance(meta, dict) else self.cell_id
            cell = None if cell_id is None else str(cell_id)
            return ExecResult.refused(ename or "", evalue or "", cell, **common)
        output = meta.get("output") or {}
        status: Status = meta.get("status", "completed")
        error_text = meta.get("error_text")
        if status == "failed" and error_text is None:
            error_text = evalue
        return ExecResult(
            status,
            str(meta.get("cell_id")),
            error_text=error_text,
            truncated_tokens=int(output.get("truncated_tokens", 0)),
            total_lines=int(output.get("total_lines", 0)),
            omitted_text_items=int(output.get("omitted_text_items", 0)),
            model_items=self._model_items(output),
            error_name=ename,
            **common,
        )

    def _refused(
        self, content: dict[str, Any], meta: dict[str, Any], evalue: str | None, ename: str | None
    ) -> bool:
        """Whether an error reply is a refused request rather than a cell that failed.

        Both carry the same reply metadata; a refusal has no cell (exec) or one of the
        kernel's own request errors with nothing observed (wait, terminate).
        """
        if content.get("status") != "error":
            return False
        if meta.get("cell_id") is None:
            return True
        nothing_seen = not self._entries and self._result is None
        return ename in REQUEST_ERRORS and nothing_seen and meta.get("error_text") == evalue

    def _model_items(self, output: dict[str, Any]) -> list[Item] | None:
        """The reference's items when the kernel truncated; None when `items` are already them.

        `Total output lines: {n}\\n\\n{head}…{K} tokens truncated…{tail}`, where head is the
        reference join of the text pieces before the marker and tail the "\\n" join of those
        after it (the shaper's contract).
        """
        removed = int(output.get("truncated_tokens", 0))
        if self._marker is None or removed <= 0:
            return None
        before = [e.text for e in self._entries[: self._marker] if e.text is not None]
        after = [e.text for e in self._entries[self._marker :] if e.text is not None]
        text = (
            truncated_header(int(output.get("total_lines", 0)))
            + f"{join_texts(before)}{truncation_marker(removed)}{chr(10).join(after)}"
        )
        first_text = next((i for i, e in enumerate(self._entries) if e.text is not None), 0)
        images = [e.item for e in self._entries if e.text is None]
        leading = sum(1 for e in self._entries[:first_text] if e.text is None)
        items = [*images[:leading], TextItem(text), *images[leading:]]
        if self._result is not None:
            items.append(TextItem(self._result[0]))
        return items
