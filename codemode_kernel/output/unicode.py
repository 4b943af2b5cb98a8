"""Lone UTF-16 surrogates: JavaScript strings may hold them, UTF-8 Jupyter messages cannot.

A value that must round-trip (a store value, a tool name) is refused when it holds one
(`lone_surrogate`); text that is only shown (outputs, results, comm news) has each one replaced
with U+FFFD (`well_formed`), so no message can fail to pack.
"""

from __future__ import annotations

import json
from typing import Any


def _is_lone(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def lone_surrogate(value: Any) -> str | None:
    """The first string (a key or a value) of a JSON value that holds a lone surrogate.

    Iterative, so a deeply nested value cannot overflow the stack here.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _is_lone(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def surrogate_position(text: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of the first lone surrogate in `text`, or None."""
    if not _is_lone(text):
        return None
    for index, char in enumerate(text):
        if 0xD800 <= ord(char) <= 0xDFFF:
            line = text.count("\n", 0, index) + 1
            return line, index - (text.rfind("\n", 0, index) + 1) + 1
    return None


def well_formed_text(text: str) -> str:
    """`text` with adjacent surrogate halves joined and every lone one replaced by U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def well_formed(content: Any) -> Any:
    """A JSON-like message content with every string made well-formed (see `well_formed_text`)."""
    return json.loads(well_formed_text(json.dumps(content, ensure_ascii=False)))
