"""Replies to complete, inspect and is_complete requests: what a person gets on Tab and Shift-Tab.

Pure functions of the source text and the tools a new cell would get (`Toolbox.definitions()`),
so they need no kernel to test. Built-in names come from `builtins.json`, a survey of a real
isolate with the prelude installed, so completion offers exactly what a cell has (regenerate it
with `python -m codemode_kernel.runtime.builtins`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

from ..source import is_complete
from ..source.javascript import call_target, completion_target, declared_names
from .helpdocs import HELPERS, JS_KEYWORDS, MAGICS

ToolDefinitions = Sequence[Mapping[str, Any]]
MDN = "https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/"


@functools.cache
def builtins() -> dict[str, list[str]]:
    """{"": global names, "Math": its members, "Intl.DateTimeFormat": …} (read once)."""
    table = (files("codemode_kernel") / "kernel" / "builtins.json").read_text("utf-8")
    loaded: dict[str, list[str]] = json.loads(table)
    return loaded


def complete_reply(code: str, cursor_pos: int, tools: ToolDefinitions) -> dict[str, Any]:
    """Members after `Name.` and `tools.`, magics after `%`, else globals, keywords and the
    names this cell declares."""
    obj, prefix, start = completion_target(code, cursor_pos)
    if obj == "tools":
        names = [str(t["global_name"]) for t in tools]
    elif obj is not None:
        names = builtins().get(obj, [])
    elif prefix.startswith("%"):
        names = list(MAGICS)
    else:
        names = [*builtins()[""], *JS_KEYWORDS, *declared_names(code)]
    return {
        "status": "ok",
        "matches": sorted({n for n in names if n.startswith(prefix)}),
        "cursor_start": start,
        "cursor_end": cursor_pos,
        "metadata": {},
    }


def _word_at(code: str, cursor_pos: int) -> tuple[str | None, str]:
    obj, prefix, start = completion_target(code, cursor_pos)
    end = start + len(prefix)
    while end < len(code) and (code[end].isalnum() or code[end] in "_$"):
        end += 1
    return obj, code[start:end]


def _document(obj: str | None, word: str, tools: ToolDefinitions) -> str | None:
    if obj is None and word.startswith("%"):
        return MAGICS.get(word)
    if obj is None and word in HELPERS:
        return HELPERS[word]
    if obj == "tools":
        found = [t for t in tools if t["global_name"] == word]
        return str(found[-1]["description"]) if found else None
    path = word if obj is None else f"{obj}.{word}"
    table = builtins()
    if word not in (table[""] if obj is None else table.get(obj, [])):
        return None
    lines = [f"{path}: built-in"]
    if path in table:
        lines.append("Members: " + ", ".join(table[path]))
    if path.split(".", 1)[0] != "console":
        lines.append(MDN + path.replace(".", "/"))
    return "\n".join(lines)


def inspect_reply(code: str, cursor_pos: int, tools: ToolDefinitions) -> dict[str, Any]:
    """The helper's signature, the tool's TypeScript declaration or a built-in's members —
    of the word at the cursor, or else of the call whose parentheses hold the cursor."""
    obj, word = _word_at(code, cursor_pos)
    doc = _document(obj, word, tools) if word else None
    if doc is None and (call := call_target(code, cursor_pos)) is not None:
        doc = _document(*call, tools)
    if doc is None:
        return {"status": "ok", "found": False, "data": {}, "metadata": {}}
    return {"status": "ok", "found": True, "data": {"text/plain": doc}, "metadata": {}}


def is_complete_reply(code: str) -> dict[str, Any]:
    status, indent = is_complete(code)
    reply: dict[str, Any] = {"status": status}
    if status == "incomplete":
        reply["indent"] = indent
    return reply
