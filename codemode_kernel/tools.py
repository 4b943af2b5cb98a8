"""Python tools: what `tools.<name>()` in a cell can reach besides comm clients (SPEC §6, §8).

A tool is a `Tool` or any plain callable, sync or async. A callable becomes a tool by reading
its name, docstring and type hints, so a Python function is all a user writes; the hints give
the JSON schema the model sees as a TypeScript declaration. Kernel-side tools come from
configuration ("package.module:attr") or from entry points in the `codemode_kernel.tools` group.

Session layer: no Jupyter here. The model-facing texts live in `tool_descriptions` and are
re-exported, so `codemode_kernel.tools` is the one import for everything about tools.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib
import importlib.metadata
import inspect
import json
import logging
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from .tool_descriptions import (
    augmented_description,
    exec_description,
    normalize_identifier,
    tool_declaration,
    typescript_type,
    wait_description,
)

__all__ = [
    "Tool",
    "ToolKind",
    "as_tool",
    "augmented_description",
    "exec_description",
    "load_configured",
    "load_entry_points",
    "normalize_identifier",
    "tool_declaration",
    "tools_from",
    "typescript_type",
    "wait_description",
]

ToolKind = Literal["function", "freeform"]
ENTRY_POINT_GROUP = "codemode_kernel.tools"
log = logging.getLogger("codemode_kernel")


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
        """The `register_tools` wire form (SPEC §6); fields that are None are left out."""
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

        The input rules are the reference host's (§2.11): no input means `{}` for a function tool.
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
        if _is_async(self.handler):
            result = await self.handler(*args, **kwargs)
        else:
            result = await asyncio.to_thread(self.handler, *args, **kwargs)
            if inspect.isawaitable(result):  # e.g. a partial or wrapper around an async function
                result = await result
        return _json_result(self.name, result)


def _is_async(handler: Callable[..., Any]) -> bool:
    call = getattr(handler, "__call__", None)  # noqa: B004 - an object with `async def __call__`
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


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


# --- JSON schema from type hints --------------------------------------------------------------

_PRIMITIVES: dict[Any, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}
_WRAPPERS = {"Required", "NotRequired", "ReadOnly"}  # TypedDict item qualifiers
_SEQUENCES = {list, set, frozenset, Sequence, typing.Sequence, Iterable}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return _PRIMITIVES.get(type(value), "unknown")


def _unwrap(hint: Any) -> tuple[Any, str | None]:
    """Strip `Annotated` (keeping a string annotation as the description) and TypedDict
    qualifiers."""
    description = None
    while True:
        origin = get_origin(hint)
        if origin is typing.Annotated:
            hint, *meta = get_args(hint)
            description = next((m for m in meta if isinstance(m, str)), description)
        elif getattr(origin, "_name", None) in _WRAPPERS:
            hint = get_args(hint)[0]
        else:
            return hint, description


def _schema(hint: Any, seen: frozenset[Any] = frozenset()) -> dict[str, Any]:
    """A JSON schema for a type hint; `{}` (any value) for what JSON schema cannot say."""
    hint, description = _unwrap(hint)
    schema = _bare_schema(hint, seen)
    return {**schema, "description": description} if description else schema


def _bare_schema(hint: Any, seen: frozenset[Any]) -> dict[str, Any]:
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint in _PRIMITIVES:
        return {"type": _PRIMITIVES[hint]}
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        kinds = {_json_type(v) for v in args}
        typed = {"type": kinds.pop()} if len(kinds) == 1 and "unknown" not in kinds else {}
        return {**typed, "enum": list(args)}
    if origin is Union or origin is types.UnionType:
        variants = [_schema(a, seen) for a in args]
        return {} if {} in variants else {"anyOf": variants}
    if hint in _SEQUENCES or origin in _SEQUENCES:
        return {"type": "array", **({"items": _schema(args[0], seen)} if args else {})}
    if hint is tuple or origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": _schema(args[0], seen)}
        items, n = [_schema(a, seen) for a in args if a != ()], len(args)
        fixed = {"prefixItems": items, "minItems": n, "maxItems": n} if items else {}
        return {"type": "array", **fixed}
    if hint in (dict, Mapping) or origin in (dict, Mapping, typing.Mapping):
        extra = {"additionalProperties": _schema(args[1], seen)} if len(args) == 2 else {}
        return {"type": "object", **extra}
    if isinstance(hint, type) and hint not in seen:
        if typing.is_typeddict(hint):
            hints = typing.get_type_hints(hint, include_extras=True)
            return _object(hints, _typeddict_required(hint, hints), False, seen | {hint})
        if dataclasses.is_dataclass(hint):
            hints = typing.get_type_hints(hint, include_extras=True)
            fields = [f for f in dataclasses.fields(hint) if f.init]
            required = [f.name for f in fields if _no_default(f)]
            props = {f.name: hints.get(f.name, Any) for f in fields}
            return _object(props, required, False, seen | {hint})
    return {}


def _typeddict_required(cls: type, hints: Mapping[str, Any]) -> list[str]:
    """Required keys, also when string annotations hid `NotRequired` from `__required_keys__`."""
    required = set(getattr(cls, "__required_keys__", hints))
    for key, hint in hints.items():
        qualifier = getattr(get_origin(hint), "_name", None)
        if qualifier == "NotRequired":
            required.discard(key)
        elif qualifier == "Required":
            required.add(key)
    return [key for key in hints if key in required]


def _no_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _object(
    props: Mapping[str, Any], required: list[str], extra: bool, seen: frozenset[Any]
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    schema["properties"] = {name: _schema(hint, seen) for name, hint in props.items()}
    if required:
        schema["required"] = [name for name in props if name in required]
    schema["additionalProperties"] = extra
    return schema


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations; unresolvable ones (a name missing at runtime) count as absent."""
    target = fn if inspect.isroutine(fn) or isinstance(fn, type) else type(fn).__call__
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        return {}


def _signature_schemas(fn: Callable[..., Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(input schema, output schema) of a callable, following SPEC §8's rules."""
    name = getattr(fn, "__name__", type(fn).__name__)
    hints = _hints(fn)
    props: dict[str, Any] = {}
    required: list[str] = []
    defaults: dict[str, Any] = {}
    extra = False
    for param in inspect.signature(fn).parameters.values():
        if param.kind is param.POSITIONAL_ONLY:
            raise TypeError(
                f"tool `{name}`: parameter `{param.name}` is positional-only, but tools are "
                "called with keyword arguments (the fields of a JSON object)"
            )
        if param.kind is param.VAR_KEYWORD:
            extra = True
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        props[param.name] = hints.get(param.name, Any)
        if param.default is param.empty:
            required.append(param.name)
        elif _is_json(param.default):  # advertised to the model, so only what JSON can say
            defaults[param.name] = param.default
    schema = _object(props, required, extra, frozenset())
    for name, default in defaults.items():
        schema["properties"][name]["default"] = default
    returns = hints.get("return", Any)
    nothing = returns is Any or returns is None or returns is type(None)
    output = None if nothing else (_schema(returns) or None)
    return schema, output


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


# --- dataclass arguments: a JSON object in, the dataclass the handler asked for out ------------


def _needs_coercion(hint: Any) -> bool:
    hint = _unwrap(hint)[0]
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return True
    return any(_needs_coercion(a) for a in get_args(hint) if a is not Ellipsis)


def _coerce(value: Any, hint: Any) -> Any:
    hint = _unwrap(hint)[0]
    origin, args = get_origin(hint), get_args(hint)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        field_hints = typing.get_type_hints(hint)
        return hint(**{k: _coerce(v, field_hints.get(k, Any)) for k, v in value.items()})
    if origin is Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        return value if value is None or len(options) != 1 else _coerce(value, options[0])
    if origin in _SEQUENCES and isinstance(value, list) and args:
        return [_coerce(v, args[0]) for v in value]
    if origin in (dict, Mapping, typing.Mapping) and isinstance(value, dict) and len(args) == 2:
        return {k: _coerce(v, args[1]) for k, v in value.items()}
    return value


def _with_coercion(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` behind a wrapper that builds dataclass arguments from their JSON objects, or `fn`
    itself when no parameter needs that."""
    hints = {k: v for k, v in _hints(fn).items() if k != "return" and _needs_coercion(v)}
    if not hints:
        return fn

    def convert(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: _coerce(v, hints[k]) if k in hints else v for k, v in kwargs.items()}

    if _is_async(fn):

        @functools.wraps(fn)
        async def call_async(**kwargs: Any) -> Any:
            return await fn(**convert(kwargs))

        return call_async

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        return fn(**convert(kwargs))

    return call


# --- building and loading tools ----------------------------------------------------------------


def as_tool(obj: Tool | Callable[..., Any]) -> Tool:
    """A `Tool` as is, or a function tool made from a callable's name, docstring and hints."""
    if isinstance(obj, Tool):
        return obj
    if not callable(obj):
        raise TypeError(f"a tool must be a callable or a Tool, not {type(obj).__name__}")
    name = getattr(obj, "__name__", type(obj).__name__)
    input_schema, output_schema = _signature_schemas(obj)
    return Tool(
        name=name,
        description=inspect.getdoc(obj) or "",
        handler=_with_coercion(obj),
        input_schema=input_schema,
        output_schema=output_schema,
    )


def tools_from(objs: Iterable[Tool | Callable[..., Any]]) -> list[Tool]:
    """`as_tool` over a collection (the `tools=[...]` argument of clients and the kernel)."""
    return [as_tool(obj) for obj in objs]


def _expand(obj: Any) -> list[Tool]:
    """What a configured attribute or an entry point may hold: a tool, a callable, or a
    list/tuple of them."""
    if isinstance(obj, (list, tuple)):
        return [tool for item in obj for tool in _expand_one(item)]
    return _expand_one(obj)


def _expand_one(obj: Any) -> list[Tool]:
    if isinstance(obj, Tool) or callable(obj):
        return [as_tool(obj)]
    raise TypeError(f"got {type(obj).__name__}, not a callable, a Tool or a list of them")


def load_configured(specs: Iterable[str]) -> list[Tool]:
    """Tools named by "package.module:attr" specs (`c.CodeModeKernel.tools`).

    A bad spec is a configuration mistake the user must see, so it raises ValueError naming
    the spec and the reason instead of being skipped.
    """
    tools: list[Tool] = []
    for spec in specs:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"tool spec {spec!r}: expected 'package.module:attribute'")
        try:
            target: Any = importlib.import_module(module_name)
        except Exception as exc:
            gone = exc.name if isinstance(exc, ModuleNotFoundError) else None
            if gone and (module_name + ".").startswith(f"{gone}."):  # not a dependency's
                why = f"module {module_name!r} not found"
            else:
                why = f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
            raise ValueError(f"tool spec {spec!r}: {why}") from exc
        for part in attr.split("."):
            if not hasattr(target, part):
                raise ValueError(f"tool spec {spec!r}: {module_name!r} has no attribute {attr!r}")
            target = getattr(target, part)
        try:
            tools.extend(_expand(target))
        except TypeError as exc:
            raise ValueError(f"tool spec {spec!r}: {attr!r} is not a tool: {exc}") from exc
    return tools


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[Tool]:
    """Tools from installed packages' entry points. One broken package must not take the
    others (or the kernel) down, so a failing entry point is logged as a warning and skipped."""
    tools: list[Tool] = []
    for entry_point in importlib.metadata.entry_points(group=group):
        try:
            tools.extend(_expand(entry_point.load()))
        except Exception as exc:
            log.warning(
                "codemode_kernel: skipping tool entry point %r (%s): %s: %s",
                entry_point.name,
                entry_point.value,
                type(exc).__name__,
                exc,
            )
    return tools
