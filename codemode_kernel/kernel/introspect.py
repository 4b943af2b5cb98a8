"""Replies to complete, inspect and is_complete requests: pure functions of the source text and
the tools a new cell would get (`Toolbox.definitions()`), so they need no kernel to test."""

from __future__ import annotations

from typing import Any

from ..source import completion_target, is_complete
from .helpdocs import HELPERS, JS_GLOBALS, JS_KEYWORDS, MAGICS


def complete_reply(code: str, cursor_pos: int, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Names that complete the word before the cursor: `tools.` members, magics, or globals."""
    obj, prefix, start = completion_target(code, cursor_pos)
    if obj == "tools":
        names = [t["global_name"] for t in tools]
    elif obj is not None:
        names = []
    elif prefix.startswith("%"):
        names = list(MAGICS)
    else:
        names = [*HELPERS, *JS_GLOBALS, *JS_KEYWORDS]
    matches = sorted({n for n in names if n.startswith(prefix)})
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": cursor_pos,
        "metadata": {},
    }


def inspect_reply(code: str, cursor_pos: int, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The doc of the word at the cursor: a helper, a magic, or a tool's description."""
    obj, prefix, start = completion_target(code, cursor_pos)
    end = start + len(prefix)
    while end < len(code) and (code[end].isalnum() or code[end] in "_$"):
        end += 1
    word = code[start:end]
    doc = HELPERS.get(word) if obj is None else None
    if obj is None and word.startswith("%"):
        doc = MAGICS.get(word)
    if obj == "tools":
        found = [t for t in tools if t["global_name"] == word]
        doc = found[-1]["description"] if found else None
    if doc is None:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    return {"status": "ok", "found": True, "data": {"text/plain": doc}, "metadata": {}}


def is_complete_reply(code: str) -> dict[str, Any]:
    status, indent = is_complete(code)
    reply: dict[str, Any] = {"status": status}
    if status == "incomplete":
        reply["indent"] = indent
    return reply
