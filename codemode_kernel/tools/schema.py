"""JSON schemas from Python type hints, and dataclass arguments rebuilt from their JSON objects.

What a tool's signature says is what the model is told (as a TypeScript declaration) and what the
handler receives: a parameter typed as a dataclass gets that dataclass, not a dict.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin


def is_async(handler: Callable[..., Any]) -> bool:
    call = getattr(handler, "__call__", None)  # noqa: B004 - an object with `async def __call__`
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call)


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


def signature_schemas(fn: Callable[..., Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(input schema, output schema) of a callable, following the tool rules in docs/protocol.md."""
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


def with_coercion(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` behind a wrapper that builds dataclass arguments from their JSON objects, or `fn`
    itself when no parameter needs that."""
    hints = {k: v for k, v in _hints(fn).items() if k != "return" and _needs_coercion(v)}
    if not hints:
        return fn

    def convert(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: _coerce(v, hints[k]) if k in hints else v for k, v in kwargs.items()}

    if is_async(fn):

        @functools.wraps(fn)
        async def call_async(**kwargs: Any) -> Any:
            return await fn(**convert(kwargs))

        return call_async

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        return fn(**convert(kwargs))

    return call
