"""Cell output items → Jupyter IOPub message contents, and per-observation truncation.

Nothing here sends anything: every function returns `(msg_type, content)` pairs so the one
layer that builds messages (always with their parent) stays the only one that talks to
Jupyter. Every content carries `metadata.codemode` so a client can tell a cell's outputs apart
from anything else on IOPub and undo the display-level splitting the shaper does.
"""

from __future__ import annotations

import base64
import binascii
import enum
import html
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias
from urllib.parse import unquote_to_bytes

from codemode_kernel.items import ImageItem, Item, TextItem
from codemode_kernel.truncation import (
    BYTES_PER_TOKEN,
    head_boundary,
    tail_boundary,
    tokens_for_bytes,
    truncation_marker,
)

Output = tuple[str, dict[str, Any]]
OutputType = Literal[
    "text", "console", "image", "store", "notify", "status", "result", "error", "truncated"
]
Cut = Literal["head", "tail"]

#: Image types Jupyter front ends render from base64 data.
BASE64_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SVG_TYPE = "image/svg+xml"
INVALID_IMAGE_TEXT = "<image: invalid data URL>"


class Missing(enum.Enum):
    """Marks "no JSON value", since `None` is a perfectly good JSON value (null)."""

    MISSING = enum.auto()


MISSING = Missing.MISSING


def codemode_metadata(cell_id: str | None, kind: OutputType, **extra: Any) -> dict[str, Any]:
    """The `metadata` every cell output carries (SPEC §4)."""
    return {"codemode": {"cell_id": cell_id, "type": kind, **extra}}


def display_data(
    bundle: dict[str, Any], metadata: dict[str, Any], display_id: str | None = None
) -> dict[str, Any]:
    """A display_data / update_display_data content; `transient` only ever holds the id."""
    transient = {} if display_id is None else {"display_id": display_id}
    return {"data": bundle, "metadata": metadata, "transient": transient}


def status_display_id(cell_id: str) -> str:
    """The display id of a cell's "Script running" line, so a later update can replace it."""
    return f"codemode-cell-{cell_id}"


# --- text -------------------------------------------------------------------------------


def _text_piece(cell_id: str, item: TextItem, text: str, cut: Cut | None) -> Output:
    """One text item, or a piece of it that truncation split off.

    A console line is a stream message that ends its line, except for a head piece: its line
    continues in the tail piece (or after the truncation marker), so no newline is added yet.
    """
    extra: dict[str, Any] = {} if cut is None else {"cut": cut}
    if item.stream is not None:
        newline = "" if cut == "head" else "\n"
        metadata = codemode_metadata(cell_id, "console", **extra)
        return "stream", {"name": item.stream, "text": text + newline, "metadata": metadata}
    metadata = codemode_metadata(cell_id, "text", **extra)
    return "display_data", display_data({"text/plain": text}, metadata)


def text_output(cell_id: str, item: TextItem) -> Output:
    """A whole `text(...)` item (display_data) or console line (stream)."""
    return _text_piece(cell_id, item, item.text, None)


def notify_output(cell_id: str, text: str) -> Output:
    """A `notify(...)` shown to whoever observes the cell; not a cell output item."""
    return "display_data", display_data({"text/plain": text}, codemode_metadata(cell_id, "notify"))


def truncated_output(cell_id: str, removed_tokens: int) -> Output:
    """The stand-in for the cut middle of an observation's text."""
    metadata = codemode_metadata(cell_id, "truncated", truncated_tokens=removed_tokens)
    return "display_data", display_data({"text/plain": truncation_marker(removed_tokens)}, metadata)


# --- images -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DataUrl:
    """A decoded `data:` URL."""

    mime: str
    payload: bytes


def _forgiving_base64(text: bytes) -> bytes | None:
    """Decode base64 the way browsers read data URLs: whitespace ignored, padding optional."""
    compact = b"".join(text.split())
    if compact.endswith(b"=="):
        compact = compact[:-2]
    elif compact.endswith(b"="):
        compact = compact[:-1]
    if len(compact) % 4 == 1:
        return None
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def parse_data_url(url: str) -> DataUrl | None:
    """Split `data:{mime}[;params][;base64],{payload}`; None when it is not one or is corrupt.

    The runtime checks only the scheme (reference §2.4), so anything can reach this point.
    An empty MIME type means `text/plain`, as RFC 2397 says.
    """
    if url[:5].lower() != "data:" or "," not in url:
        return None
    header, _, payload = url[5:].partition(",")
    params = [part.strip() for part in header.split(";")]
    mime = params[0].lower() or "text/plain"
    try:
        raw = unquote_to_bytes(payload)
    except (TypeError, ValueError):
        return None
    if len(params) > 1 and params[-1].lower() == "base64":
        decoded = _forgiving_base64(raw)
        return None if decoded is None else DataUrl(mime, decoded)
    return DataUrl(mime, raw)


def image_bundle(image_url: str) -> dict[str, Any]:
    """The MIME bundle for an image URL; never raises, whatever the cell passed."""
    parsed = parse_data_url(image_url)
    if parsed is None:
        return {"text/plain": INVALID_IMAGE_TEXT}
    bundle: dict[str, Any] = {}
    if parsed.mime in BASE64_IMAGE_TYPES:
        bundle[parsed.mime] = base64.b64encode(parsed.payload).decode("ascii")
    elif parsed.mime == SVG_TYPE:
        bundle[parsed.mime] = parsed.payload.decode("utf-8", "replace")
    bundle["text/plain"] = f"<image {parsed.mime}, {len(parsed.payload)} bytes>"
    return bundle


def image_output(cell_id: str, item: ImageItem) -> Output:
    """An `image(...)` / `generatedImage(...)` item as display_data."""
    metadata = codemode_metadata(cell_id, "image", detail=item.detail)
    return "display_data", display_data(image_bundle(item.image_url), metadata)


# --- status, store, result, error ------------------------------------------------------


def status_output(cell_id: str, text: str, display_id: str) -> Output:
    """A status line (e.g. "Script running with cell ID 3") that can be updated later."""
    metadata = codemode_metadata(cell_id, "status")
    return "display_data", display_data({"text/plain": text}, metadata, display_id)


def status_update(cell_id: str, text: str, display_id: str) -> Output:
    """Replaces a status line in place, e.g. when a yielded cell finishes unobserved."""
    metadata = codemode_metadata(cell_id, "status")
    return "update_display_data", display_data({"text/plain": text}, metadata, display_id)


def store_output(cell_id: str | None, values: dict[str, Any]) -> Output:
    """Committed `store` writes, or the whole store for `%store` (no cell: `cell_id` None).

    Keys are listed in the order given; an empty store says so instead of a bare "Stored: ".
    """
    names = ", ".join(values) if values else "(nothing)"
    bundle = {"application/json": values, "text/plain": f"Stored: {names}"}
    return "display_data", display_data(bundle, codemode_metadata(cell_id, "store"))


def cells_output(rows: list[tuple[str, str, float, int]]) -> Output:
    """The `%cells` table: (cell id, state, age in seconds, buffered items) per live cell."""
    header = ("cell", "state", "age", "buffered")
    cells = [(cid, state, f"{age:.1f}s", str(buffered)) for cid, state, age, buffered in rows]
    if not cells:
        return "display_data", display_data(
            {"text/plain": "No live cells.", "text/html": "<p>No live cells.</p>"},
            codemode_metadata(None, "status"),
        )
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(4)]
    plain = "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip()
        for r in [header, *cells]
    )
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in cells
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    bundle = {"text/plain": plain, "text/html": table}
    return "display_data", display_data(bundle, codemode_metadata(None, "status"))


def result_output(
    cell_id: str,
    text: str,
    value: Any | Missing = MISSING,
    execution_count: int | None = None,
) -> Output:
    """The cell's last-expression value: inspect form, plus JSON when it has one."""
    bundle: dict[str, Any] = {"text/plain": text}
    if value is not MISSING:
        bundle["application/json"] = value
    content = {
        "execution_count": execution_count,
        "data": bundle,
        "metadata": codemode_metadata(cell_id, "result"),
    }
    return "execute_result", content


def error_output(cell_id: str | None, ename: str, evalue: str, error_text: str) -> Output:
    """A failure; the traceback is the reference's error text, line by line."""
    content = {
        "ename": ename,
        "evalue": evalue,
        "traceback": error_text.split("\n"),
        "metadata": codemode_metadata(cell_id, "error"),
    }
    return "error", content


def item_output(cell_id: str, item: Item) -> Output:
    """Any item, untruncated."""
    if isinstance(item, ImageItem):
        return image_output(cell_id, item)
    return text_output(cell_id, item)


# --- truncation while streaming --------------------------------------------------------


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
    """SPEC §4 truncation for one observation, computed as items arrive.

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
        return [_text_piece(self.cell_id, item, piece, "head")]

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
        return _text_piece(self.cell_id, entry.item, piece, "tail")
