"""The model-facing texts of code mode: the `exec` and `wait` tool descriptions, with the
TypeScript declaration (`tools.typescript`) appended to every nested tool.

Models are prompted with these texts, so they are interfaces: every constant and every rendering
rule is copied from the reference, `openai/codex` at commit
bf1be25414f6d8c7ec937f8fabb56518e8aa6348, `codex-rs/code-mode-protocol/src/description.rs`
(the wait tool's first line from `codex-rs/core/src/tools/code_mode/wait_spec.rs`). Do not edit
the wording here; change it only by copying a newer reference.

The functions take plain tool definitions (`Tool.definition()` or what a comm client sent in
`register_tools`), so local and remote tools are described the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..defaults import YIELD_TIME_MS as DEFAULT_EXEC_YIELD_TIME_MS
from .typescript import is_mcp_result_schema, normalize_identifier, tool_declaration

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
    if any(is_mcp_result_schema(d.get("output_schema")) for d in everything):
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
