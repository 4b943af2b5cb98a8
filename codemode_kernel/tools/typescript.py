"""JSON schema → TypeScript, the declaration appended to every nested tool, and identifier
normalization — copied rule for rule from the reference (`openai/codex` at commit
bf1be25414f6d8c7ec937f8fabb56518e8aa6348, `codex-rs/code-mode-protocol/src/description.rs`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_MAX_LOCAL_REF_EXPANSIONS_PER_PATH = 2  # one nested recursive shape, then `unknown`

_MISSING: Any = object()
_RENDERABLE_KEYWORDS = (
    *("const", "enum", "anyOf", "oneOf", "allOf", "type", "properties"),
    *("additionalProperties", "required", "items", "prefixItems"),
)


def normalize_identifier(name: str) -> str:
    """The JS identifier a tool is exposed under (`normalize_code_mode_identifier`): each char
    outside `[A-Za-z0-9_$]` (or a leading digit) becomes `_`; an empty name becomes `_`."""
    out = [
        ch if ch in "_$" or (ch.isascii() and (ch.isalpha() or (i > 0 and ch.isdigit()))) else "_"
        for i, ch in enumerate(name)
    ]
    return "".join(out) or "_"


def _literal(value: Any) -> str:
    """`serde_json::to_string`: compact JSON, non-ASCII kept as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _property_name(name: str) -> str:
    return name if normalize_identifier(name) == name else json.dumps(name, ensure_ascii=False)


def _pointer(root: Any, pointer: str) -> Any:
    """`serde_json::Value::pointer` (RFC 6901 without URI decoding); `_MISSING` when absent."""
    if pointer == "":
        return root
    if not pointer.startswith("/"):
        return _MISSING
    target = root
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict):
            target = target.get(token, _MISSING)
        elif isinstance(target, list):
            ok = token.isascii() and token.isdigit() and (token == "0" or token[0] != "0")
            target = target[int(token)] if ok and int(token) < len(target) else _MISSING
        else:
            return _MISSING
        if target is _MISSING:
            return _MISSING
    return target


def _has_description(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("description"), str)
        and bool(value["description"])
    )


class _Renderer:
    """`JsonSchemaTypeRenderer`: renders one schema, following local `$ref`s with a cycle guard."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.active: dict[str, int] = {}

    def render(self, schema: Any) -> str:
        if schema is True:
            return "unknown"
        if schema is False:
            return "never"
        return self.render_map(schema) if isinstance(schema, dict) else "unknown"

    def render_map(self, m: dict[str, Any]) -> str:
        if "$ref" in m:
            return self.render_ref(m)
        if "const" in m:
            return _literal(m["const"])
        if isinstance(m.get("enum"), list) and m["enum"]:
            return " | ".join(_literal(v) for v in m["enum"])
        for key in ("anyOf", "oneOf"):
            if isinstance(m.get(key), list) and m[key]:
                return " | ".join(self.render(v) for v in m[key])
        if isinstance(m.get("allOf"), list) and m["allOf"]:
            return " & ".join(self.render(v) for v in m["allOf"])
        if "type" in m:
            kind = m["type"]
            if isinstance(kind, list):
                rendered = [self.render_type(m, t) for t in kind if isinstance(t, str)]
                if rendered:
                    return " | ".join(rendered)
            if isinstance(kind, str):
                return self.render_type(m, kind)
        if "properties" in m or "additionalProperties" in m or "required" in m:
            return self.render_object(m)
        if "items" in m or "prefixItems" in m:
            return self.render_array(m)
        return "unknown"

    def render_ref(self, m: dict[str, Any]) -> str:
        referenced = "unknown"
        ref = m["$ref"]
        if isinstance(ref, str) and ref.startswith("#"):
            pointer = ref[1:]
            if pointer == "" or pointer.startswith("/"):
                depth = self.active.get(pointer, 0)
                if depth < _MAX_LOCAL_REF_EXPANSIONS_PER_PATH:
                    self.active[pointer] = depth + 1
                    target = _pointer(self.root, pointer)
                    referenced = "unknown" if target is _MISSING else self.render(target)
                    if depth == 0:
                        del self.active[pointer]
                    else:
                        self.active[pointer] = depth
        siblings = {k: v for k, v in m.items() if k not in ("$ref", "$defs", "definitions")}
        if not any(k in siblings for k in _RENDERABLE_KEYWORDS):
            return referenced
        sibling = self.render_map(siblings)
        if referenced == "unknown":
            return sibling
        return referenced if sibling == "unknown" else f"({referenced}) & ({sibling})"

    def render_type(self, m: dict[str, Any], kind: str) -> str:
        simple = {"string": "string", "number": "number", "integer": "number"}
        simple.update({"boolean": "boolean", "null": "null"})
        if kind in simple:
            return simple[kind]
        if kind == "array":
            return self.render_array(m)
        return self.render_object(m) if kind == "object" else "unknown"

    def render_array(self, m: dict[str, Any]) -> str:
        if "items" in m:
            return f"Array<{self.render(m['items'])}>"
        prefix = m.get("prefixItems")
        if isinstance(prefix, list) and prefix:
            return "[" + ", ".join(self.render(item) for item in prefix) + "]"
        return "unknown[]"

    def render_object(self, m: dict[str, Any]) -> str:
        required = m.get("required")
        required = [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
        props = m.get("properties")
        props = props if isinstance(props, dict) else {}
        multiline = any(_has_description(v) for v in props.values())
        indent = "  " if multiline else ""
        lines = ["{"] if multiline else []
        for name, value in sorted(props.items()):
            if multiline and isinstance(value, dict) and isinstance(value.get("description"), str):
                for line in value["description"].split("\n"):
                    line = line.strip()
                    if line:
                        lines.append(f"  // {line}")
            optional = "" if name in required else "?"
            lines.append(f"{indent}{_property_name(name)}{optional}: {self.render(value)};")
        if "additionalProperties" in m:
            extra = m["additionalProperties"]
            if extra is not False:
                value_type = "unknown" if extra is True else self.render(extra)
                lines.append(f"{indent}[key: string]: {value_type};")
        elif not props:
            lines.append(f"{indent}[key: string]: unknown;")
        if multiline:
            return "\n".join([*lines, "}"])
        return "{ " + " ".join(lines) + " }" if lines else "{}"


def typescript_type(schema: dict[str, Any] | None) -> str:
    """`render_json_schema_to_typescript`; a missing schema is `unknown`."""
    return "unknown" if schema is None else _Renderer(schema).render(schema)


def _mcp_structured_content(output_schema: Any) -> Any:
    """The `structuredContent` schema of an MCP `CallToolResult`-shaped output schema (`true`
    when absent), or `_MISSING` when the schema is not MCP-shaped."""
    props = output_schema.get("properties") if isinstance(output_schema, dict) else None
    if not isinstance(props, dict):
        return _MISSING

    def typed(schema: Any, kind: str) -> bool:
        return isinstance(schema, dict) and schema.get("type") == kind

    content: Any = props.get("content")
    if not typed(content, "array") or not typed(content.get("items"), "object"):
        return _MISSING
    if not typed(props.get("isError"), "boolean") or not typed(props.get("_meta"), "object"):
        return _MISSING
    return props.get("structuredContent", True)


def _output_type(definition: Mapping[str, Any]) -> str:
    output_schema = definition.get("output_schema")
    structured = _mcp_structured_content(output_schema)
    if structured is _MISSING:
        return typescript_type(output_schema)
    rendered = _Renderer(structured).render(structured)
    return "CallToolResult" if rendered == "unknown" else f"CallToolResult<{rendered}>"


def tool_declaration(definition: Mapping[str, Any]) -> str:
    """`declare const tools: { name(args: In): Promise<Out>; };` — how a model learns a nested
    tool's call shape. Freeform tools take `input: string`."""
    if definition.get("kind") == "freeform":
        input_name, input_type = "input", "string"
    else:
        input_name, input_type = "args", typescript_type(definition.get("input_schema"))
    name = normalize_identifier(definition["name"])
    signature = f"{name}({input_name}: {input_type}): Promise<{_output_type(definition)}>;"
    return f"declare const tools: {{ {signature} }};"


def is_mcp_result_schema(output_schema: Any) -> bool:
    """Whether an output schema is the `CallToolResult` wrapper (needs the shared MCP types)."""
    return _mcp_structured_content(output_schema) is not _MISSING
