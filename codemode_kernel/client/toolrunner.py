"""Answering the kernel's nested tool calls with Python callables, for any client of the comm.

A cell's `await tools.x(args)` reaches the client that registered `x` as a `tool_call` comm
message; the answer is a `tool_result` or `tool_error` with the same `call_id`
(docs/protocol.md). Each call runs as its own task on the client's loop (sync tools in worker
threads, see `Tool.invoke`), so a slow tool never stalls the reading of other messages, and a
`tool_cancel` — the cell ended — cancels that task. `CodeModeClient` and the nbclient runner
both answer calls through one `ToolRunner`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..tools import Tool, tools_from

__all__ = ["ToolLike", "ToolRunner", "answer_call"]

ToolLike = Tool | Callable[..., Any]
#: Sends one answer payload (`{"type": "tool_result", ...}`) on the comm.
Reply = Callable[[dict[str, Any]], None]


class ToolRunner:
    """The tools one client provides, and the calls of them in flight."""

    def __init__(self, tools: Iterable[ToolLike] = ()) -> None:
        self.tools: dict[str, Tool] = {tool.name: tool for tool in tools_from(tools)}
        self._calls: dict[str, asyncio.Task[None]] = {}

    def definitions(self) -> list[dict[str, Any]]:
        """What `comm_open` and `register_tools` send for these tools."""
        return [tool.definition() for tool in self.tools.values()]

    def add(self, tools: Iterable[Tool], replace: bool = False) -> None:
        """Take tools the kernel accepted; with `replace`, they are the only ones."""
        if replace:
            self.tools.clear()
        self.tools.update({tool.name: tool for tool in tools})

    def handle(self, data: dict[str, Any], reply: Reply) -> bool:
        """Start a `tool_call` or cancel the call a `tool_cancel` names; False for other data."""
        kind, call_id = data.get("type"), str(data.get("call_id"))
        if kind == "tool_call":
            task = asyncio.ensure_future(self._run(data, reply))
            self._calls[call_id] = task
            task.add_done_callback(lambda _: self._calls.pop(call_id, None))
            return True
        if kind == "tool_cancel":
            running = self._calls.pop(call_id, None)
            if running is not None:
                running.cancel()
            return True
        return False

    def cancel_all(self) -> None:
        """The client goes away: nobody will read the answers."""
        for task in list(self._calls.values()):
            task.cancel()

    async def _run(self, call: dict[str, Any], reply: Reply) -> None:
        reply(await answer_call(self.tools, call))


async def answer_call(tools: Mapping[str, Tool], call: dict[str, Any]) -> dict[str, Any]:
    """The `tool_result` (or `tool_error` with `str(exc)`) for a `tool_call` comm message.

    Cancellation propagates: a cancelled call gets no answer, as the kernel no longer wants one.
    """
    call_id, name = str(call.get("call_id")), str(call.get("name"))
    try:
        tool = tools.get(name)
        if tool is None:
            raise LookupError(f"tool `{name}` is not provided by this client")
        result = await tool.invoke(call.get("input"))
    except Exception as exc:
        return {"type": "tool_error", "call_id": call_id, "error": str(exc)}
    return {"type": "tool_result", "call_id": call_id, "result": result}
