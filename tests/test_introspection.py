"""Tab and Shift-Tab: completion and inspection offer what a cell really has."""

from __future__ import annotations

from typing import Any

import pytest

from codemode_kernel.kernel.introspect import builtins, complete_reply, inspect_reply
from codemode_kernel.runtime.builtins import TABLE, render, survey

pytestmark = pytest.mark.unit

TOOLS = [
    {
        "name": "web.search",
        "global_name": "web_search",
        "description": "Search the web.\n\nexec tool declaration:\n```ts\ndeclare const tools: …",
        "kind": "function",
    }
]


def matches(code: str, cursor: int | None = None, tools: Any = ()) -> list[str]:
    reply = complete_reply(code, len(code) if cursor is None else cursor, tools)
    return list(reply["matches"])


def doc(code: str, cursor: int | None = None) -> str | None:
    reply = inspect_reply(code, len(code) if cursor is None else cursor, TOOLS)
    return reply["data"]["text/plain"] if reply["found"] else None


def test_the_committed_table_is_what_a_fresh_cell_sees_in_v8() -> None:
    """Fails when V8 or the prelude changed: `python -m codemode_kernel.runtime.builtins`."""
    assert TABLE.read_text(encoding="utf-8") == render(survey())


def test_members_of_built_in_namespaces_come_from_v8() -> None:
    math = matches("Math.")
    assert len(math) >= 40 and {"max", "PI", "floor", "random"} <= set(math)
    assert matches("Math.fl") == ["floor"]
    assert {"parse", "stringify"} <= set(matches("JSON."))
    assert matches("console.") == ["debug", "error", "info", "log", "warn"]
    assert {"from", "isArray", "of"} <= set(matches("Array."))
    assert "supportedLocalesOf" in matches("Intl.DateTimeFormat.")


def test_globals_are_the_cells_own_removed_ones_absent() -> None:
    names = set(matches(""))
    assert {"text", "store", "load", "tools", "Math", "Promise", "setTimeout", "await"} <= names
    assert not names & {"WebAssembly", "SharedArrayBuffer", "Atomics", "require", "process"}


def test_names_the_cell_declares_complete_too() -> None:
    code = "const alphabet = 'abc';\nfunction alpha(alpine) { return alp"
    assert matches(code) == ["alpha", "alphabet", "alpine"]


def test_tools_and_magics() -> None:
    assert matches("tools.web", tools=TOOLS) == ["web_search"]
    assert matches("%wa") == ["%wait"]
    assert matches("x = unknownThing.") == []


def test_inspect_explains_helpers_tools_and_built_ins() -> None:
    assert (doc("text") or "").startswith("text(value):")
    assert (doc("tools.web_search") or "").startswith("Search the web.")
    math_max = doc("Math.max") or ""
    assert math_max.startswith("Math.max: built-in")
    assert math_max.endswith("Global_Objects/Math/max")
    assert "Members: " in (doc("Math") or "") and "floor" in (doc("Math") or "")
    assert doc("notAThing") is None


def test_inspect_inside_call_parentheses_explains_the_call() -> None:
    assert (doc("text(") or "").startswith("text(value):")
    assert (doc('store("k", ') or "").startswith("store(key, value):")
    assert (doc("await tools.web_search({q: ") or "").startswith("Search the web.")
    assert (doc("Math.max(1, Math.min(2, 3), ") or "").startswith("Math.max: built-in")
    assert doc("(1 + ") is None


def test_the_table_is_loaded_once() -> None:
    assert builtins() is builtins()
