"""The `codemode` comm (docs/protocol.md): clients register tools, answer calls, hear about cells.

Jupyter layer. A client opens the comm (optionally with `{"tools": [...]}`) and becomes a
`Provider` for the tools it registers. Every kernel → client message is a `comm_msg` built by a
`Publisher`, so it is parented to the request it belongs to: replies to the client's own message,
tool calls and cell news to the request observing the cell (or the last one that did).

Malformed client messages are answered with `{"type": "error", "message": ...}` on the same comm;
answers for calls that are unknown or already over are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..output.unicode import lone_surrogate
from ..protocol import COMM_TARGET
from ..session.cell import Cell
from ..session.router import Toolbox, ToolCall
from ..tools import exec_description, wait_description
from .publish import Publisher

_KINDS = ("function", "freeform")
_EXPECTED: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}

_NON_FINITE = "`result` must be JSON: NaN and Infinity are not JSON values"

PublisherFor = Callable[[dict[str, Any]], Publisher]


class ClientProvider:
    """One open `codemode` comm: the provider of the tools its client registered."""

    label = "comm client"

    def __init__(self, hub: CommHub, comm: Any) -> None:
        self.hub = hub
        self.comm = comm

    def send(self, publisher: Publisher, data: dict[str, Any]) -> None:
        publisher.send(("comm_msg", {"comm_id": self.comm.comm_id, "data": data}))

    def start_call(self, call: ToolCall) -> None:
        data = {
            "type": "tool_call",
            "call_id": call.call_id,
            "cell_id": call.cell.cell_id,
            "name": call.name,
            "kind": call.kind,
            "input": call.input,
        }
        self.send(self.hub.cell_publisher(call.cell.cell_id), data)

    def cancel_call(self, call: ToolCall) -> None:
        data = {"type": "tool_cancel", "call_id": call.call_id}
        self.send(self.hub.cell_publisher(call.cell.cell_id), data)


class CommHub:
    """Handles the `codemode` comm target for one kernel."""

    def __init__(
        self,
        toolbox: Toolbox,
        publisher_for: PublisherFor,
        cell_publisher: Callable[[str], Publisher],
    ) -> None:
        self.toolbox = toolbox
        self.publisher_for = publisher_for
        self.cell_publisher = cell_publisher
        self.clients: dict[str, ClientProvider] = {}

    def register_with(self, comm_manager: Any) -> None:
        comm_manager.register_target(COMM_TARGET, self._on_open)

    def broadcast(self, cell_id: str, data: dict[str, Any]) -> None:
        """Cell news for every open comm (cell events, notifications)."""
        if not self.clients:
            return
        publisher = self.cell_publisher(cell_id)
        for client in list(self.clients.values()):
            client.send(publisher, data)

    # -- SessionListener: news of every cell, background ones included -----------------------

    def cell_event(self, cell: Cell, event: str) -> None:
        cid = cell.cell_id
        self.broadcast(cid, {"type": "cell_event", "cell_id": cid, "event": event})

    def notify(self, cell: Cell, text: str) -> None:
        cid = cell.cell_id
        self.broadcast(cid, {"type": "notify", "cell_id": cid, "text": text})

    # -- client → kernel -------------------------------------------------------------------

    def _on_open(self, comm: Any, open_msg: dict[str, Any]) -> None:
        client = ClientProvider(self, comm)
        self.clients[comm.comm_id] = client
        comm.on_msg(lambda msg: self._on_msg(client, msg))
        comm.on_close(lambda msg: self._on_close(client))
        data = open_msg.get("content", {}).get("data") or {}
        if "tools" in data:
            self._handle(client, open_msg, {"type": "register_tools", **data})

    def _on_close(self, client: ClientProvider) -> None:
        self.clients.pop(client.comm.comm_id, None)
        self.toolbox.unregister(client)

    def _on_msg(self, client: ClientProvider, msg: dict[str, Any]) -> None:
        self._handle(client, msg, msg.get("content", {}).get("data"))

    def _handle(self, client: ClientProvider, msg: dict[str, Any], data: Any) -> None:
        publisher = self.publisher_for(msg)
        try:
            reply = self._dispatch(client, data)
        except ValueError as exc:
            reply = {"type": "error", "message": str(exc)}
        if reply is not None:
            client.send(publisher, reply)

    def _dispatch(self, client: ClientProvider, data: Any) -> dict[str, Any] | None:
        if not isinstance(data, dict):
            raise ValueError("codemode comm messages must be JSON objects with a `type`")
        kind = data.get("type")
        if kind == "register_tools":
            definitions = [_definition(t) for t in _field(data, "tools", list)]
            replace = data.get("replace", False)
            if not isinstance(replace, bool):
                raise ValueError("register_tools: `replace` must be a boolean")
            names = self.toolbox.register(client, definitions, replace)
            return {"type": "tools_registered", "names": names}
        if kind == "tool_result":
            if "result" not in data:
                raise ValueError("tool_result needs a `result`")
            call_id = _field(data, "call_id", str)
            if _non_finite(data["result"]):
                # The call still settles, as a failure, so the cell awaiting it goes on.
                self.toolbox.settle(call_id, False, _NON_FINITE)
                raise ValueError(f"tool_result: {_NON_FINITE}")
            self.toolbox.settle(call_id, True, data["result"])
            return None
        if kind == "tool_error":
            error = _field(data, "error", str)
            self.toolbox.settle(_field(data, "call_id", str), False, error)
            return None
        if kind == "describe":
            definitions = self.toolbox.raw_definitions()
            return {
                "type": "description",
                "exec": exec_description(definitions),
                "wait": wait_description(),
            }
        raise ValueError(
            f"unknown codemode message type {kind!r}; expected register_tools, tool_result, "
            "tool_error or describe"
        )


def _non_finite(value: Any) -> bool:
    """True when a decoded JSON value holds NaN or ±Infinity (Python's json accepts them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        expected = _EXPECTED[kind]
        raise ValueError(f"{data.get('type')}: `{name}` must be {expected}")
    return value


def _definition(raw: Any) -> dict[str, Any]:
    """Validate one tool definition from `register_tools`."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ValueError("register_tools: every tool needs a non-empty string `name`")
    if lone_surrogate(raw) is not None:
        raise ValueError(
            "register_tools: a tool definition contains a lone UTF-16 surrogate; names, "
            "descriptions and schemas must be well-formed Unicode text"
        )
    name = raw["name"]
    kind = raw.get("kind", "function")
    if kind not in _KINDS:
        raise ValueError(
            f"register_tools: tool `{name}` has kind {kind!r}; use function or freeform"
        )
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"register_tools: tool `{name}` needs a string `description`")
    definition: dict[str, Any] = {"name": name, "description": description, "kind": kind}
    for key in ("input_schema", "output_schema"):
        schema = raw.get(key)
        if schema is not None and not isinstance(schema, dict):
            raise ValueError(f"register_tools: tool `{name}`: `{key}` must be a JSON schema object")
        if schema is not None:
            definition[key] = schema
    namespace = raw.get("namespace")
    if namespace is not None:
        if not isinstance(namespace, str):
            raise ValueError(f"register_tools: tool `{name}`: `namespace` must be a string")
        definition["namespace"] = namespace
    return definition
