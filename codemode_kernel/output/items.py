"""Output items a cell produces, in helper-call order.

These are the reference's content items (`input_text` / `input_image`); everything above the
cell layer (output shaping, the client) speaks in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Stream = Literal["stdout", "stderr"]


@dataclass(frozen=True)
class TextItem:
    """One `text(...)` call, or one console line when `stream` is set."""

    text: str
    stream: Stream | None = None


@dataclass(frozen=True)
class ImageItem:
    """One `image(...)` / `generatedImage(...)` image, always a `data:` URL."""

    image_url: str
    detail: str = "high"


Item = TextItem | ImageItem
