"""Python tools: what `tools.<name>()` in a cell can reach besides comm clients.

A tool is a `Tool` or any plain callable, sync or async. A callable becomes a tool by reading
its name, docstring and type hints (`tools.schema`), so a Python function is all a user writes;
the hints give the JSON schema the model sees as a TypeScript declaration.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .schema import is_async, signature_schemas, with_coercion
from .typescript import normalize_identifier

ToolKind = Literal["function", "freeform"]


@dataclass(frozen=True)
class Tool:
    """One nested tool. Function tools take a JSON object (passed as keyword arguments);
    freeform tools take one string. `handler` may be sync (run in a worker thread) or async."""

    name: str
    description: str
    handler: Callable[..., Any]
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    kind: ToolKind = "function"
    namespace: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("function", "freeform"):
            raise ValueError(f"tool `{self.name}`: kind must be 'function' or 'freeform'")

    @property
    def global_name(self) -> str:
        """The key under which cells see it: `tools.<global_name>`."""
        return normalize_identifier(self.name)

    def definition(self) -> dict[str, Any]:
        """The `register_tools` wire form (docs/protocol.md); fields that are None are left out."""
        fields = {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "output_schema": self.output_schema,
            "kind": self.kind,
            "namespace": self.namespace,
        }
        return {k: v for k, v in fields.items() if v is not None}

    async def invoke(self, input: Any) -> Any:
        """Run the handler on a call's input and return its JSON result.

        The input rules are code mode's host rules (docs/design.md): no input means `{}` for a
        function tool.
        Sync handlers go to a worker thread so a slow tool never blocks the kernel's loop (cells,
        comms and other calls keep running). Dataclass results are turned into objects.
        """
        if self.kind == "freeform":
            if not isinstance(input, str):
                raise TypeError(f"tool `{self.name}` expects a string input")
            args: tuple[Any, ...] = (input,)
            kwargs: dict[str, Any] = {}
        else:
            if input is None:
                input = {}
            if not isinstance(input, dict):
                raise TypeError(f"tool `{self.name}` expects a JSON object for arguments")
            args, kwargs = (), input
        if is_async(self.handler):
            result = await self.handler(*args, **kwargs)
        else:
            result = await asyncio.to_thread(self.handler, *args, **kwargs)
            if inspect.isawaitable(result):  # e.g. a partial or wrapper around an async function
                result = await result
        return _json_result(self.name, result)


class _NotJSON(Exception):
    pass


def _json_result(name: str, value: Any) -> Any:
    """`value` with dataclasses as dicts, after checking that JSON can carry it to the cell."""
    value = _plain(value)

    def reject(obj: Any) -> Any:
        raise _NotJSON(type(obj).__name__)

    try:
        json.dumps(value, allow_nan=False, default=reject)
    except _NotJSON as exc:
        raise TypeError(f"tool `{name}` returned a value that is not JSON: {exc}") from None
    except (TypeError, ValueError) as exc:  # NaN/Infinity, keys that are not str, cycles
        kind = "float" if "float" in str(exc) else type(value).__name__
        raise TypeError(f"tool `{name}` returned a value that is not JSON: {kind}") from None
    return value


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A `Tool` as is, or a function tool made from a callable's name, docstring and hints."""
    if isinstance(obj, Tool):
        return obj
    if not callable(obj):
        raise TypeError(f"a tool must be a callable or a Tool, not {type(obj).__name__}")
    name = getattr(obj, "__name__", type(obj).__name__)
    input_schema, output_schema = signature_schemas(obj)
    return Tool(
        name=name,
        description=inspect.getdoc(obj) or "",
        handler=with_coercion(obj),
        input_schema=input_schema,
        output_schema=output_schema,
    )


def tools_from(objs: Iterable[Tool | Callable[..., Any]]) -> list[Tool]:
    """`as_tool` over a collection (the `tools=[...]` argument of clients and the kernel)."""
    return [as_tool(obj) for obj in objs]
