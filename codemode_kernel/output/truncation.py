"""The reference's output truncation, as pure functions over strings and items.

These mirror `codex-rs/utils/string/src/truncate.rs` and `codex-rs/utils/output-truncation`
byte for byte, because a client must be able to hand a model exactly what Codex would have
handed it. Everything counts UTF-8 bytes (1 token = 4 bytes) and cuts on character boundaries.
Strings coming out of V8 may hold lone surrogates; they are measured and cut as the three
bytes `surrogatepass` gives them, so nothing here ever raises on odd text.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import replace

from ..protocol import truncated_header, truncation_marker
from .items import ImageItem, Item, TextItem

BYTES_PER_TOKEN = 4
_ENCODING = "utf-8"
_ERRORS = "surrogatepass"


def utf8_len(text: str) -> int:
    """Byte length as Rust's `str::len` would report it."""
    return len(text.encode(_ENCODING, _ERRORS))


def approx_tokens(text: str) -> int:
    """The reference's token estimate: ceil(UTF-8 bytes / 4)."""
    return tokens_for_bytes(utf8_len(text))


def tokens_for_bytes(n_bytes: int) -> int:
    """ceil(n / 4), clamped at 0 like `approx_tokens_from_byte_count_i64`."""
    return max(0, -(-n_bytes // BYTES_PER_TOKEN))


def count_lines(text: str) -> int:
    """Rust's `str::lines().count()`.

    Only `\\n` ends a line (`\\r\\n` is one ending), and a trailing newline does not start an
    empty last line; Python's `splitlines` also splits on `\\r`, `\\x0b`, U+2028 … so it can't
    be used.
    """
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def join_texts(texts: Iterable[str]) -> str:
    """Join texts the way the reference builds its `combined` string.

    The reference pushes the `"\\n"` separator only once the combined string is non-empty, so
    leading empty texts vanish (`["", "abc"]` → `"abc"`) while later ones still add a newline
    (`["a", "", "b"]` → `"a\\n\\nb"`). Plain `"\\n".join` differs on leading empties.
    """
    combined = ""
    for text in texts:
        combined = f"{combined}\n{text}" if combined else text
    return combined


def head_boundary(data: bytes, limit: int) -> int:
    """Largest UTF-8 character boundary in `data` that is <= `limit`."""
    if limit >= len(data):
        return len(data)
    cut = max(limit, 0)
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def tail_boundary(data: bytes, start: int) -> int:
    """Smallest UTF-8 character boundary in `data` that is >= `start`."""
    cut = max(start, 0)
    while cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut += 1
    return min(cut, len(data))


def _decode(data: bytes) -> str:
    return data.decode(_ENCODING, _ERRORS)


def middle_cut(text: str, max_bytes: int) -> tuple[str, int]:
    """Keep the first floor(B/2) and last B - floor(B/2) bytes around a marker.

    Returns `(text, removed_tokens)`. Like `truncate_with_byte_estimate(.., use_tokens=true)`:
    text that fits (or is empty) comes back unchanged with 0 removed; at a budget of 0 the
    result is the marker alone, counting every byte as removed.
    """
    data = text.encode(_ENCODING, _ERRORS)
    budget = max(max_bytes, 0)
    if len(data) <= budget:
        return text, 0
    left = budget // 2
    head_end = head_boundary(data, left)
    tail_start = tail_boundary(data, len(data) - (budget - left))
    removed = tokens_for_bytes(len(data) - budget)
    head = _decode(data[:head_end])
    tail = _decode(data[tail_start:])
    return f"{head}{truncation_marker(removed)}{tail}", removed


def truncated_text(combined: str, max_tokens: int) -> str:
    """`formatted_truncate_text` for an over-budget string: line count header + middle cut."""
    middle, _ = middle_cut(combined, BYTES_PER_TOKEN * max_tokens)
    return f"{truncated_header(count_lines(combined))}{middle}"


def truncate_text_items(texts: Sequence[str], max_tokens: int) -> list[str]:
    """The all-text rule (`formatted_truncate_text_content_items_with_policy`).

    Within budget the texts come back unchanged; otherwise they become one text holding the
    line count of the combined text and its middle cut.
    """
    if not texts:
        return []
    combined = join_texts(texts)
    if utf8_len(combined) <= BYTES_PER_TOKEN * max(max_tokens, 0):
        return list(texts)
    return [truncated_text(combined, max(max_tokens, 0))]


def _truncate_mixed(items: Sequence[Item], max_tokens: int) -> list[Item]:
    """The text+image rule (`truncate_function_output_items_with_policy`, token policy).

    Texts are kept whole while their token cost fits; the first that doesn't is middle-cut to
    what is left, later ones are dropped and counted. Images are always kept. This follows the
    cell-actor-era source, where an empty text still costs nothing and is kept while budget
    remains, and counts as omitted once it is spent.
    """
    out: list[Item] = []
    remaining = max(max_tokens, 0)
    omitted = 0
    for item in items:
        if isinstance(item, ImageItem):
            out.append(item)
            continue
        if remaining == 0:
            omitted += 1
            continue
        cost = approx_tokens(item.text)
        if cost <= remaining:
            out.append(item)
            remaining -= cost
            continue
        snippet, _ = middle_cut(item.text, BYTES_PER_TOKEN * remaining)
        if snippet:
            out.append(replace(item, text=snippet))
        else:
            omitted += 1
        remaining = 0
    if omitted:
        out.append(TextItem(f"[omitted {omitted} text items ...]"))
    return out


def truncate_items(items: Sequence[Item], max_tokens: int) -> list[Item]:
    """What core's `truncate_code_mode_result` hands the model (before the header).

    Core picks the all-text rule when every item is text and the mixed rule otherwise, so one
    image anywhere changes how the texts are cut.
    """
    texts = [item.text for item in items if isinstance(item, TextItem)]
    if len(texts) < len(items):
        return _truncate_mixed(items, max_tokens)
    combined = join_texts(texts)
    if utf8_len(combined) <= BYTES_PER_TOKEN * max(max_tokens, 0):
        return list(items)
    return [TextItem(truncated_text(combined, max(max_tokens, 0)))]


def _f32(value: float) -> float:
    """Round a float to the nearest IEEE single, as Rust's `f32` arithmetic does."""
    result: float = struct.unpack("f", struct.pack("f", value))[0]
    return result


def round_wall_time(wall_time_s: float) -> float:
    """Core's `((secs_f32 * 10.0).round() / 10.0)` in f32: halves round away from zero."""
    if not math.isfinite(wall_time_s) or wall_time_s <= 0:
        return 0.0
    seconds = min(wall_time_s, 1e30)  # keep clear of f32 overflow; no cell runs that long
    tenths = math.floor(_f32(_f32(seconds) * 10.0) + 0.5)
    return _f32(tenths / 10.0)


def model_header(status_line: str, wall_time_s: float) -> str:
    """The header text item that core inserts before the (already truncated) items."""
    return f"{status_line}\nWall time {round_wall_time(wall_time_s):.1f} seconds\nOutput:\n"
