"""Tool routing: which provider answers `tools.<name>()`, the reference's host-side rules, and the
calls in flight. Session layer: no Jupyter here — a comm client and the kernel's own Python tools
are both just `Provider`s.

Rules (documented in docs/design.md):
* A registration makes tools available to cells started afterwards; the same name registered
  again (by any provider) replaces the earlier one — the later registration wins.
* A call is checked against the tool's kind before it leaves: function tools take a JSON object
  (no input means `{}`), freeform tools a string.
* When a cell ends, its calls still in flight are cancelled; a provider that goes away rejects
  its outstanding calls with ``tool `{name}` provider disconnected``.
* `prompt(message)` is a call of kind "prompt" (not a tool: no definition, always there). The
  `prompter` answers it; without one it is refused at once with `PROMPT_UNAVAILABLE`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..tools import Tool, augmented_description, normalize_identifier
from .cell import Cell, ToolRequest

_log = logging.getLogger(__name__)

#: Why `prompt()` rejects when no front end can answer it (a request without `allow_stdin`).
PROMPT_UNAVAILABLE = "prompt is not available: the client does not allow stdin"


@dataclass
class ToolCall:
    """One `tools.x()` call on its way to a provider."""

    call_id: str  # "{cell_id}/tool-{n}", unique per kernel
    cell: Cell
    js_id: int  # the id the cell's JavaScript knows the call by
    name: str
    kind: str
    input: Any
    provider: Provider = field(repr=False)


@dataclass(frozen=True)
class ToolRow:
    """One tool as `%tools` lists it."""

    js_name: str  # the key of `tools.<js_name>`
    kind: str
    provider: str
    summary: str  # the first line of its description


class Provider(Protocol):
    """Answers tool calls by calling `Toolbox.settle` later (or never, when cancelled).

    `label` says where its tools come from, in `%tools`: `comm client`, `kernel config`,
    `entry point` or `mcp:{server}`.
    """

    label: str

    def start_call(self, call: ToolCall) -> None: ...

    def cancel_call(self, call: ToolCall) -> None: ...


class Toolbox:
    """The registry of tools and the calls in flight; implements the session's ToolRouter."""

    def __init__(self) -> None:
        self._tools: dict[str, tuple[dict[str, Any], Provider]] = {}
        self._calls: dict[str, ToolCall] = {}
        #: Answers `prompt()` calls (the kernel's stdin); None refuses them.
        self.prompter: Provider | None = None

    # -- registration ----------------------------------------------------------------------

    def register(
        self, provider: Provider, definitions: list[dict[str, Any]], replace: bool = False
    ) -> list[str]:
        """Add (or with `replace`, set) a provider's tools; returns the names now registered."""
        if replace:
            self._drop_tools_of(provider)
        for definition in definitions:
            self._tools[definition["name"]] = (definition, provider)
        return [d["name"] for d in definitions]

    def unregister(self, provider: Provider) -> None:
        """A provider went away: forget its tools and reject its outstanding calls."""
        self._drop_tools_of(provider)
        for call in [c for c in self._calls.values() if c.provider is provider]:
            self.settle(call.call_id, False, f"tool `{call.name}` provider disconnected")

    def _drop_tools_of(self, provider: Provider) -> None:
        for name in [n for n, (_, p) in self._tools.items() if p is provider]:
            del self._tools[name]

    def definitions(self) -> list[dict[str, Any]]:
        """What a new cell sees: `tools.<global_name>` and `ALL_TOOLS` entries."""
        return [
            {
                "name": d["name"],
                "global_name": normalize_identifier(d["name"]),
                "description": augmented_description(d),
                "kind": d.get("kind", "function"),
            }
            for d, _ in self._tools.values()
        ]

    def listing(self) -> list[ToolRow]:
        """`%tools`: what a new cell gets, one row per tool, in `ALL_TOOLS` order."""
        return [
            ToolRow(
                normalize_identifier(d["name"]),
                d.get("kind", "function"),
                provider.label,
                (d.get("description") or "").strip().split("\n", 1)[0],
            )
            for d, provider in self._tools.values()
        ]

    def raw_definitions(self) -> list[dict[str, Any]]:
        """The definitions as registered (for descriptions handed to a model)."""
        return [d for d, _ in self._tools.values()]

    # -- calls -----------------------------------------------------------------------------

    def call(self, request: ToolRequest) -> None:
        """A cell called a tool: check it the reference's way, then hand it to its provider."""
        cell, js_id, name = request.cell, request.js_id, request.name
        call_id = f"{cell.cell_id}/tool-{js_id}"  # the reference's tool-N
        if request.kind == "prompt":
            if self.prompter is None:
                cell.resolve_tool(js_id, False, PROMPT_UNAVAILABLE)
                return
            prompt = ToolCall(call_id, cell, js_id, name, "prompt", request.input, self.prompter)
            self._start(prompt)
            return
        entry = self._tools.get(name)
        if entry is None:
            cell.resolve_tool(js_id, False, f"tool `{name}` is not enabled in exec")
            return
        definition, provider = entry
        kind = definition.get("kind", "function")
        value = request.input
        if kind == "freeform":
            if not request.has_input or not isinstance(value, str):
                cell.resolve_tool(js_id, False, f"tool `{name}` expects a string input")
                return
        elif not request.has_input:
            value = {}
        elif not isinstance(value, dict):
            reason = f"tool `{name}` expects a JSON object for arguments"
            cell.resolve_tool(js_id, False, reason)
            return
        self._start(ToolCall(call_id, cell, js_id, name, kind, value, provider))

    def _start(self, call: ToolCall) -> None:
        self._calls[call.call_id] = call
        call.provider.start_call(call)

    def settle(self, call_id: str, ok: bool, value: Any) -> bool:
        """A provider answered. False when the call is unknown or already over (ignored)."""
        call = self._calls.pop(call_id, None)
        if call is None:
            return False
        call.cell.resolve_tool(call.js_id, ok, value if ok else str(value))
        return True

    def cancel(self, cell: Cell) -> None:
        """The cell ended: its outstanding calls are cancelled and later answers ignored."""
        for call in [c for c in self._calls.values() if c.cell is cell]:
            del self._calls[call.call_id]
            call.provider.cancel_call(call)

    def running(self, cell: Cell) -> list[ToolCall]:
        """Calls of `cell` still waiting for an answer (for progress displays)."""
        return [c for c in self._calls.values() if c.cell is cell]


class LocalTools:
    """The kernel's own Python tools (from configuration or entry points) as a provider."""

    def __init__(self, toolbox: Toolbox, tools: list[Tool], label: str) -> None:
        self.label = label  # `kernel config` or `entry point`
        self._toolbox = toolbox
        self._by_name = {t.name: t for t in tools}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        toolbox.register(self, [t.definition() for t in tools])

    def start_call(self, call: ToolCall) -> None:
        task = asyncio.ensure_future(self._run(call))
        self._tasks[call.call_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(call.call_id, None))

    def cancel_call(self, call: ToolCall) -> None:
        task = self._tasks.pop(call.call_id, None)
        if task is not None:
            task.cancel()

    async def _run(self, call: ToolCall) -> None:
        try:
            result = await self._by_name[call.name].invoke(call.input)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The cell sees the error text; the log keeps the traceback for whoever runs it.
            _log.exception("kernel tool %s failed", call.name)
            self._toolbox.settle(call.call_id, False, str(exc))
        else:
            self._toolbox.settle(call.call_id, True, result)
