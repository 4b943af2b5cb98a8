"""Truncation while streaming: the reference's middle cut, computed as a cell's items arrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from .items import ImageItem, Item, TextItem
from .messages import Output, image_output, text_output, text_piece, truncated_output
from .truncation import BYTES_PER_TOKEN, head_boundary, tail_boundary, tokens_for_bytes


@dataclass(frozen=True)
class OutputStats:
    """What `execute_reply` reports under `metadata.codemode.output`."""

    total_lines: int
    truncated_tokens: int
    omitted_text_items: int

    def as_dict(self) -> dict[str, int]:
        return {
            "total_lines": self.total_lines,
            "truncated_tokens": self.truncated_tokens,
            "omitted_text_items": self.omitted_text_items,
        }


@dataclass
class _HeldText:
    """A text item (or what is left of it) waiting for the end of the observation.

    `start`/`end` are its byte range in the joined text; `offset` is how many of its bytes
    went out already as a head piece (`head_sent`).
    """

    item: TextItem
    data: bytes
    start: int
    end: int
    offset: int = 0
    head_sent: bool = False


_Held: TypeAlias = _HeldText | ImageItem


@dataclass
class ObservationShaper:
    """The truncation of docs/protocol.md for one observation, computed as items arrive.

    The joined text is what the reference truncates: the texts of text and console items,
    joined with "\\n" (none before the first non-empty text, as the reference does). With a
    budget of B = 4 * max_tokens bytes, its first floor(B/2) bytes are shown as they come; the
    rest waits for `finish`, which either flushes it (the text fit in B) or shows the marker
    and the last B - floor(B/2) bytes. Images are never cut but keep their place in order.

    A client rebuilds the reference's truncated text from the pieces shown:
    `Total output lines: {total_lines}\\n\\n{head}{marker}{tail}`, where `head` is
    `truncation.join_texts` of the text pieces before the marker and `tail` is `"\\n".join`
    of those after it (stream texts without their final "\\n", except head pieces, which
    have none). An empty piece is sent where a cut falls on a separator, so the newline is
    not lost: as a head piece when the head ends with it, as a tail piece of the previous
    item when the tail starts with it.
    """

    cell_id: str
    max_tokens: int
    #: Bytes of the joined text so far (the reference's `combined.len()`).
    text_bytes: int = field(default=0, init=False)
    _newlines: int = field(default=0, init=False, repr=False)
    _ends_with_newline: bool = field(default=False, init=False, repr=False)
    _head_open: bool = field(default=True, init=False, repr=False)
    _held: list[_Held] = field(default_factory=list, init=False, repr=False)
    _finished: bool = field(default=False, init=False, repr=False)

    @property
    def budget(self) -> int:
        """B, the byte budget for the joined text."""
        return BYTES_PER_TOKEN * max(self.max_tokens, 0)

    @property
    def head_bytes(self) -> int:
        """floor(B/2): how much of the joined text can be shown before the end is known."""
        return self.budget // 2

    @property
    def total_lines(self) -> int:
        """Rust `lines().count()` of the joined text so far."""
        if self.text_bytes == 0:
            return 0
        return self._newlines + (0 if self._ends_with_newline else 1)

    @property
    def held_items(self) -> int:
        """Items (or remainders) waiting for `finish`."""
        return len(self._held)

    def feed(self, item: Item) -> list[Output]:
        """Outputs to send now for the next item of the cell."""
        if self._finished:
            raise RuntimeError("observation already finished")
        if isinstance(item, ImageItem):
            if self._held:
                self._held.append(item)
                return []
            return [image_output(self.cell_id, item)]
        data = item.text.encode("utf-8", "surrogatepass")
        separator = 1 if self.text_bytes > 0 else 0
        start = self.text_bytes + separator
        end = start + len(data)
        self._account(item.text, separator, len(data))
        if not self._head_open:
            self._held.append(_HeldText(item, data, start, end))
            return []
        head = self.head_bytes
        if end <= head:
            return [text_output(self.cell_id, item)]
        self._head_open = False
        if head < start:
            # The head ends right before this item's separator: nothing of it is head text.
            self._held.append(_HeldText(item, data, start, end))
            return []
        offset = head_boundary(data, head - start)
        self._held.append(_HeldText(item, data, start, end, offset, head_sent=True))
        piece = data[:offset].decode("utf-8", "surrogatepass")
        return [text_piece(self.cell_id, item, piece, "head")]

    def _account(self, text: str, separator: int, n_bytes: int) -> None:
        """Track the joined text's length and line count without keeping it."""
        self._newlines += separator + text.count("\n")
        if text:
            self._ends_with_newline = text.endswith("\n")
        elif separator:
            self._ends_with_newline = True
        self.text_bytes += separator + n_bytes

    def finish(self) -> tuple[list[Output], OutputStats]:
        """Outputs to send at the end of the observation, and its numbers for the reply."""
        if self._finished:
            raise RuntimeError("observation already finished")
        self._finished = True
        held, self._held = self._held, []
        if self.text_bytes <= self.budget:
            outputs = [self._held_output(entry, 0) for entry in held]
            return outputs, OutputStats(self.total_lines, 0, 0)
        removed = tokens_for_bytes(self.text_bytes - self.budget)
        tail_from = self.text_bytes - (self.budget - self.head_bytes)
        outputs = [truncated_output(self.cell_id, removed)]
        omitted = 0
        for entry in held:
            if isinstance(entry, _HeldText) and entry.end < tail_from:
                omitted += 0 if entry.head_sent else 1
                continue
            outputs.append(self._held_output(entry, tail_from))
        return outputs, OutputStats(self.total_lines, removed, omitted)

    def _held_output(self, entry: _Held, tail_from: int) -> Output:
        """A held image as is, or a held text from where the shown tail starts in it."""
        if isinstance(entry, ImageItem):
            return image_output(self.cell_id, entry)
        offset = entry.offset
        if entry.start < tail_from:
            offset = max(offset, tail_boundary(entry.data, tail_from - entry.start))
        if offset == 0 and not entry.head_sent:
            return text_output(self.cell_id, entry.item)
        piece = entry.data[offset:].decode("utf-8", "surrogatepass")
        return text_piece(self.cell_id, entry.item, piece, "tail")
