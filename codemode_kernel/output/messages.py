"""Cell output items → Jupyter IOPub message contents (truncation is `output.shaper`).

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_to_bytes

from ..protocol import METADATA_KEY, OutputType, truncation_marker
from .items import ImageItem, Item, TextItem
from .traceback import traceback_lines

Output = tuple[str, dict[str, Any]]
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
    """The `metadata` every cell output carries (docs/protocol.md)."""
    return {METADATA_KEY: {"cell_id": cell_id, "type": kind, **extra}}


def display_data(
    bundle: dict[str, Any], metadata: dict[str, Any], display_id: str | None = None
) -> dict[str, Any]:
    """A display_data / update_display_data content; `transient` only ever holds the id."""
    transient = {} if display_id is None else {"display_id": display_id}
    return {"data": bundle, "metadata": metadata, "transient": transient}


# --- text -------------------------------------------------------------------------------


def text_piece(cell_id: str, item: TextItem, text: str, cut: Cut | None) -> Output:
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
    return text_piece(cell_id, item, item.text, None)


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

    The runtime checks only the scheme (as in Codex's code mode), so anything can reach this point.
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
    # JupyterLab shows application/json as a tree, collapsed below the root unless told: the
    # values are what a person wants to read, so it opens fully.
    metadata = {**codemode_metadata(cell_id, "store"), "application/json": {"expanded": True}}
    return "display_data", display_data(bundle, metadata)


def cells_output(rows: list[tuple[str, str, float, int]]) -> Output:
    """The `%cells` table: (cell id, state, age in seconds, buffered items) per live cell."""
    cells = [(cid, state, f"{age:.1f}s", str(buffered)) for cid, state, age, buffered in rows]
    return _table(("cell", "state", "age", "buffered"), cells, "No live cells.")


def tools_output(rows: list[tuple[str, str, str, str]]) -> Output:
    """The `%tools` table: (JS name, kind, provider, first description line) per tool."""
    return _table(("tool", "kind", "provider", "description"), rows, "No tools.")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], empty: str) -> Output:
    """A control cell's table, as aligned `text/plain` columns and an HTML table."""
    if not rows:
        return "display_data", display_data(
            {"text/plain": empty, "text/html": f"<p>{html.escape(empty)}</p>"},
            codemode_metadata(None, "status"),
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    plain = "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=False)).rstrip()
        for r in [header, *rows]
    )
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in rows
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
    """The cell's last-expression value: inspect form, plus JSON when it has one.

    Only objects and arrays go out as `application/json`: front ends render that type as a
    collapsible tree, which helps for a structure and hides a number or a string (`1 + 1` must
    show `2`). A scalar's JSON value rides in the metadata instead, so clients still get it.
    """
    bundle: dict[str, Any] = {"text/plain": text}
    extra: dict[str, Any] = {}
    if isinstance(value, dict | list):
        bundle["application/json"] = value
    elif value is not MISSING:
        extra["value"] = value
    content = {
        "execution_count": execution_count,
        "data": bundle,
        "metadata": codemode_metadata(cell_id, "result", **extra),
    }
    return "execute_result", content


def error_output(
    cell_id: str | None, ename: str, evalue: str, error_text: str, hint_line: str | None = None
) -> Output:
    """A failure; the traceback is the reference's error text line by line, in colour for
    people, and a hint line where one helps (`output.traceback`)."""
    content = {
        "ename": ename,
        "evalue": evalue,
        "traceback": traceback_lines(ename, error_text, hint_line),
        "metadata": codemode_metadata(cell_id, "error"),
    }
    return "error", content


def item_output(cell_id: str, item: Item) -> Output:
    """Any item, untruncated."""
    if isinstance(item, ImageItem):
        return image_output(cell_id, item)
    return text_output(cell_id, item)
