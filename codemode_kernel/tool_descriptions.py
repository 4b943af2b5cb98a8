"""The model-facing texts of code mode: the `exec` and `wait` tool descriptions, the TypeScript
declaration appended to every nested tool, JSON schema → TypeScript, and identifier normalization.

Models are prompted with these texts, so they are interfaces: every constant and every rendering
rule is copied from the reference, `openai/codex` at commit
bf1be25414f6d8c7ec937f8fabb56518e8aa6348, `codex-rs/code-mode-protocol/src/description.rs`
(the wait tool's first line from `codex-rs/core/src/tools/code_mode/wait_spec.rs`). Do not edit
the wording here; change it only by copying a newer reference.

The functions take plain tool definitions (`Tool.definition()` or what a comm client sent in
`register_tools`), so local and remote tools are described the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_EXEC_YIELD_TIME_MS = 10_000
_MAX_LOCAL_REF_EXPANSIONS_PER_PATH = 2  # one nested recursive shape, then `unknown`

DEFERRED_NESTED_TOOLS_GUIDANCE = """\
Some deferred nested tools may be omitted from this description. They are still available on the global `tools` object and listed in `ALL_TOOLS`.
To find one, filter `ALL_TOOLS` by `name` and `description`."""  # noqa: E501

EXEC_DESCRIPTION_TEMPLATE = """\
Run JavaScript code to orchestrate/compose tool calls
- Evaluates the provided JavaScript code in a fresh V8 isolate as an async module.
- All nested tools are available on the global `tools` object, for example `await tools.exec_command(...)`. Tool names are exposed as normalized JavaScript identifiers, for example `await tools.mcp__ologs__get_profile(...)`.
- Nested tool methods take either a string or an object as their input argument.
- Nested tools return either an object or a string, based on the description.
- Runs raw JavaScript -- no Node, no file system, no network access, no console.
- Accepts raw JavaScript source text, not JSON, quoted strings, or markdown code fences.
- You may optionally start the tool input with a first-line pragma like `// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`.
- `yield_time_ms` asks `exec` to yield early if the script is still running. Defaults to 10000 ms.
- `max_output_tokens` sets the token budget for direct `exec` results. Defaults to 10000 tokens.
- When the JS code is fully evaluated, the isolate's lifetime ends and unawaited promises are silently discarded.

- Global helpers:
- `exit()`: Immediately ends the current script successfully (like an early return from the top level).
- `text(value: string | number | boolean | undefined | null)`: Appends a text item. Non-string values are stringified with `JSON.stringify(...)` when possible.
- `image(imageUrlOrItem: string | { image_url: string; detail?: "auto" | "low" | "high" | "original" | null } | ImageContent, detail?: "auto" | "low" | "high" | "original" | null)`: Appends an image item. `image_url` should be a base64-encoded `data:` URL. To forward an MCP tool image, pass an individual `ImageContent` block from `result.content`, for example `image(result.content[0])`. MCP image blocks may request detail with `_meta: { "codex/imageDetail": "original" }`. When provided, the second `detail` argument overrides any detail embedded in the first argument.
- `generatedImage(result: { image_url: string; output_hint?: string })`: Appends an image-generation result and its optional output hint. HTTP(S) URLs are not supported.
- `store(key: string, value: any)`: stores a serializable value under a string key for later `exec` calls in the same session.
- `load(key: string)`: returns the stored value for a string key, or `undefined` if it is missing.
- `notify(value: string | number | boolean | undefined | null)`: immediately injects an extra `custom_tool_call_output` for the current `exec` call. Values are stringified like `text(...)`.
- `setTimeout(callback: () => void, delayMs?: number)`: schedules a callback to run later and returns a timeout id. Pending timeouts do not keep `exec` alive by themselves; await an explicit promise if you need to wait for one.
- `clearTimeout(timeoutId?: number)`: cancels a timeout created by `setTimeout`.
- `ALL_TOOLS`: metadata for the enabled nested tools as `{ name, description }` entries.
- `yield_control()`: yields the accumulated output to the model immediately while the script keeps running."""  # noqa: E501

WAIT_DESCRIPTION_TEMPLATE = """\
- Use `wait` only after `exec` returns `Script running with cell ID ...`.
- `cell_id` identifies the running `exec` cell to resume.
- `yield_time_ms` controls how long to wait for more output before yielding again. Defaults to 10000 ms.
- `max_tokens` limits how much new output this wait call returns. Defaults to 10000 tokens.
- `terminate: true` stops the running cell; false or omitted waits for output.
- `wait` returns only the new output since the last yield, or the final completion or termination result for that cell.
- If the cell is still running, `wait` may yield again with the same `cell_id`.
- If the cell has already finished, `wait` returns the completed result and closes the cell."""  # noqa: E501

# Based off of https://modelcontextprotocol.io/specification/draft/schema#calltoolresult
MCP_TYPESCRIPT_PREAMBLE = """\
type Role = "user" | "assistant";
type MetaObject = Record<string, unknown>;
type Annotations = {
  audience?: Role[];
  priority?: number;
  lastModified?: string;
};
type Icon = {
  src: string;
  mimeType?: string;
  sizes?: string[];
  theme?: "light" | "dark";
};
type TextResourceContents = {
  uri: string;
  mimeType?: string;
  _meta?: MetaObject;
  text: string;
};
type BlobResourceContents = {
  uri: string;
  mimeType?: string;
  _meta?: MetaObject;
  blob: string;
};
type TextContent = {
  type: "text";
  text: string;
  annotations?: Annotations;
  _meta?: MetaObject;
};
type ImageContent = {
  type: "image";
  data: string;
  mimeType: string;
  annotations?: Annotations;
  _meta?: MetaObject;
};
type AudioContent = {
  type: "audio";
  data: string;
  mimeType: string;
  annotations?: Annotations;
  _meta?: MetaObject;
};
type ResourceLink = {
  icons?: Icon[];
  name: string;
  title?: string;
  uri: string;
  description?: string;
  mimeType?: string;
  annotations?: Annotations;
  size?: number;
  _meta?: MetaObject;
  type: "resource_link";
};
type EmbeddedResource = {
  type: "resource";
  resource: TextResourceContents | BlobResourceContents;
  annotations?: Annotations;
  _meta?: MetaObject;
};
type ContentBlock =
  | TextContent
  | ImageContent
  | AudioContent
  | ResourceLink
  | EmbeddedResource;
type CallToolResult<TStructured = { [key: string]: unknown }> = {
  _meta?: MetaObject;
  content: ContentBlock[];
  isError?: boolean;
  structuredContent?: TStructured;
  [key: string]: unknown;
};"""

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


def augmented_description(definition: Mapping[str, Any]) -> str:
    """The description a nested tool has inside code mode (`ALL_TOOLS`, exec sections)."""
    description = definition.get("description") or ""
    return f"{description}\n\nexec tool declaration:\n```ts\n{tool_declaration(definition)}\n```"


def _heading(global_name: str, raw_name: str) -> str:
    if global_name == raw_name:
        return f"### `{global_name}`"
    return f"### `{global_name}` (`{raw_name}`)"


def exec_description(
    definitions: Sequence[Mapping[str, Any]],
    *,
    namespaces: Mapping[str, str] | None = None,
    deferred: Sequence[Mapping[str, Any]] = (),
    yield_time_ms: int = DEFAULT_EXEC_YIELD_TIME_MS,
) -> str:
    """The code-mode-only `exec` tool description (`build_exec_tool_description`), ready to hand
    to a model that sees only `exec` and `wait`.

    `namespaces` maps a definition's `namespace` to its guidance; a `## {namespace}` heading with
    it opens each run of that namespace's tools (none when the guidance is empty, as in the
    reference). `deferred` tools are reachable but not described: they add the reference's
    deferred-tools paragraph. `yield_time_ms` is the kernel's configured exec default, put into
    the "Defaults to 10000 ms." line as later reference builds do.
    """
    template = EXEC_DESCRIPTION_TEMPLATE.replace(
        "Defaults to 10000 ms.", f"Defaults to {yield_time_ms} ms."
    )
    sections = [template]
    if deferred:
        sections.append(DEFERRED_NESTED_TOOLS_GUIDANCE)
    everything = [*definitions, *deferred]
    if any(_mcp_structured_content(d.get("output_schema")) is not _MISSING for d in everything):
        sections.append(f"Shared MCP Types:\n```ts\n{MCP_TYPESCRIPT_PREAMBLE}\n```")
    if definitions:
        guidance = namespaces or {}
        current: str | None = None
        parts: list[str] = []
        for definition in definitions:
            namespace = definition.get("namespace")
            following = namespace if namespace in guidance else None
            if following != current:
                text = guidance[following].strip() if following is not None else ""
                if text:
                    parts.append(f"## {following}\n{text}")
                current = following
            name = definition["name"]
            heading = _heading(normalize_identifier(name), name)
            body = augmented_description(definition).strip()
            parts.append(f"{heading}\n{body}" if body else heading)
        sections.append("\n\n".join(parts))
    return "\n\n".join(sections)


def wait_description() -> str:
    """The `wait` tool description (`create_wait_tool`: first line + the wait template)."""
    return (
        "Waits on a yielded `exec` cell and returns new output or completion.\n"
        + WAIT_DESCRIPTION_TEMPLATE.strip()
    )
