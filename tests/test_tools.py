"""Python tools: schema inference, invocation, loading, and the reference's model-facing texts.

Expected texts marked "reference test" are ported from the unit tests of `openai/codex`
`codex-rs/code-mode-protocol/src/description.rs` (commit bf1be25414f6d8c7ec937f8fabb56518e8aa6348);
the key lines are Codex's (openai/codex, codex-rs/code-mode-protocol/src/description.rs).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import sys
import textwrap
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypedDict, Union

import pytest

from codemode_kernel import tools as tools_module
from codemode_kernel.tools import (
    Tool,
    as_tool,
    augmented_description,
    exec_description,
    load_configured,
    load_entry_points,
    normalize_identifier,
    tool_declaration,
    tools_from,
    typescript_type,
    wait_description,
)

pytestmark = pytest.mark.unit

# --- helpers used as tools ------------------------------------------------------------------------


@dataclass
class Point:
    x: float
    y: float = 0.0
    tags: list[str] = field(default_factory=list)


class Filters(TypedDict, total=False):
    lang: str
    max_age: int


class Query(TypedDict):
    text: str
    page: int


def obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> Any:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = extra
    return schema


def mcp_result_schema(structured: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "content": {"type": "array", "items": {"type": "object"}},
            "structuredContent": structured,
            "isError": {"type": "boolean"},
            "_meta": {"type": "object"},
        },
        "required": ["content"],
        "additionalProperties": False,
    }


# --- schema inference -----------------------------------------------------------------------------


def test_plain_function_schema_name_and_description() -> None:
    def add(a: int, b: float = 1.5) -> float:
        """Add two numbers.

        Returns the sum."""
        return a + b

    tool = as_tool(add)
    assert tool.name == "add" and tool.global_name == "add"
    assert tool.description == "Add two numbers.\n\nReturns the sum."
    assert tool.input_schema == obj(
        {"a": {"type": "integer"}, "b": {"type": "number", "default": 1.5}}, ["a"]
    )
    assert tool.output_schema == {"type": "number"}
    assert tool.kind == "function" and tool.namespace is None


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (Any, {}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (list, {"type": "array"}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (
            tuple[str, int],
            {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (dict[str, bool], {"type": "object", "additionalProperties": {"type": "boolean"}}),
        (dict, {"type": "object"}),
        (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (int | str, {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
        (Union[int, Any], {}),  # noqa: UP007
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, "x"], {"enum": [1, "x"]}),
        (Annotated[str, "the city"], {"type": "string", "description": "the city"}),
        (
            Point,
            obj(
                {
                    "x": {"type": "number"},
                    "y": {"type": "number"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                ["x"],
            ),
        ),
        (Filters, obj({"lang": {"type": "string"}, "max_age": {"type": "integer"}})),
        (Query, obj({"text": {"type": "string"}, "page": {"type": "integer"}}, ["text", "page"])),
        (threading.Lock, {}),  # nothing JSON schema can say: any value
    ],
)
def test_parameter_schemas(hint: Any, schema: dict[str, Any]) -> None:
    def f(value: Any) -> None:
        pass

    f.__annotations__ = {"value": hint}
    assert as_tool(f).input_schema == obj({"value": schema}, ["value"])


def test_defaults_optional_and_unannotated() -> None:
    def f(q, where: Point | None = None, mode: Literal["x", "y"] = "x", lock=threading.Lock()):  # type: ignore[no-untyped-def]  # noqa: B008
        pass

    schema = as_tool(f).input_schema
    assert schema is not None
    assert schema["required"] == ["q"]
    assert schema["properties"]["q"] == {}
    assert schema["properties"]["where"]["default"] is None
    assert schema["properties"]["mode"] == {"type": "string", "enum": ["x", "y"], "default": "x"}
    assert schema["properties"]["lock"] == {}  # a default that is not JSON is not advertised
    assert as_tool(f).output_schema is None


def test_kwargs_allow_extra_properties_and_args_are_ignored() -> None:
    def f(a: str, *rest: int, **more: int) -> None:
        pass

    assert as_tool(f).input_schema == obj({"a": {"type": "string"}}, ["a"], extra=True)


def test_no_parameters() -> None:
    def ping() -> str:
        return "pong"

    tool = as_tool(ping)
    assert tool.input_schema == {"type": "object", "properties": {}, "additionalProperties": False}
    assert tool_declaration(tool.definition()) == (
        "declare const tools: { ping(args: {}): Promise<string>; };"
    )


def test_positional_only_parameters_are_rejected() -> None:
    def f(a: int, /, b: int) -> int:
        return a + b

    with pytest.raises(TypeError, match=r"tool `f`: parameter `a` is positional-only"):
        as_tool(f)


def test_output_schema_absent_for_any_none_or_missing() -> None:
    def a() -> Any: ...
    def b() -> None: ...
    def c(): ...  # type: ignore[no-untyped-def]

    assert [as_tool(f).output_schema for f in (a, b, c)] == [None, None, None]


def test_callable_object_and_existing_tool() -> None:
    class Greeter:
        """Say hello."""

        def __call__(self, name: str) -> str:
            return f"hello {name}"

    tool = as_tool(Greeter())
    assert (tool.name, tool.description) == ("Greeter", "Say hello.")
    assert tool.input_schema == obj({"name": {"type": "string"}}, ["name"])
    same = Tool("t", "d", print)
    assert as_tool(same) is same
    assert [t.name for t in tools_from([same, Greeter()])] == ["t", "Greeter"]
    with pytest.raises(TypeError, match="a tool must be a callable or a Tool, not int"):
        as_tool(3)  # type: ignore[arg-type]


def test_definition_omits_none_fields() -> None:
    tool = Tool("apply-patch", "Patch.", print, kind="freeform", namespace="files")
    assert tool.definition() == {
        "name": "apply-patch",
        "description": "Patch.",
        "kind": "freeform",
        "namespace": "files",
    }
    assert tool.global_name == "apply_patch"
    with pytest.raises(ValueError, match="kind must be"):
        Tool("x", "", print, kind="other")  # type: ignore[arg-type]


# --- invoke ---------------------------------------------------------------------------------------


def test_sync_handler_runs_in_a_worker_thread() -> None:
    seen: list[str] = []

    def where(tag: str) -> str:
        seen.append(threading.current_thread().name)
        return tag * 2

    result = asyncio.run(as_tool(where).invoke({"tag": "ab"}))
    assert result == "abab"
    assert seen and seen[0] != threading.main_thread().name


def test_async_handler_and_no_input_means_empty_object() -> None:
    async def hello(name: str = "world") -> dict[str, str]:
        await asyncio.sleep(0)
        return {"greeting": f"hello {name}"}

    tool = as_tool(hello)
    assert asyncio.run(tool.invoke(None)) == {"greeting": "hello world"}
    assert asyncio.run(tool.invoke({"name": "x"})) == {"greeting": "hello x"}
    with pytest.raises(TypeError, match=r"^tool `hello` expects a JSON object for arguments$"):
        asyncio.run(tool.invoke(["x"]))


def test_slow_sync_tools_run_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)

    def meet() -> bool:
        barrier.wait()  # deadlocks unless both calls run at the same time
        return True

    async def main() -> list[Any]:
        tool = as_tool(meet)
        return list(await asyncio.gather(tool.invoke({}), tool.invoke({})))

    assert asyncio.run(main()) == [True, True]


def test_freeform_tool_gets_the_string() -> None:
    tool = Tool("apply_patch", "Patch files.", lambda text: f"got {len(text)}", kind="freeform")
    assert asyncio.run(tool.invoke("*** Begin Patch")) == "got 15"
    with pytest.raises(TypeError, match=r"^tool `apply_patch` expects a string input$"):
        asyncio.run(tool.invoke({"patch": "x"}))


def test_dataclass_arguments_are_built_and_results_flattened() -> None:
    def shift(p: Point, by: list[Point] | None = None) -> Point:
        for q in by or []:
            p = Point(p.x + q.x, p.y + q.y, p.tags + q.tags)
        return p

    tool = as_tool(shift)
    result = asyncio.run(tool.invoke({"p": {"x": 1, "tags": ["a"]}, "by": [{"x": 2, "y": 3}]}))
    assert result == {"x": 3, "y": 3.0, "tags": ["a"]}
    assert tool.handler is not shift and tool.handler.__name__ == "shift"
    assert as_tool(Point.__init__).handler is Point.__init__  # nothing to convert, no wrapper


def test_non_json_result_is_a_type_error() -> None:
    tool = as_tool(lambda: {1, 2})
    with pytest.raises(
        TypeError, match=r"^tool `<lambda>` returned a value that is not JSON: set$"
    ):
        asyncio.run(tool.invoke({}))
    nested = Tool("nested", "", lambda: {"a": [object()]})
    with pytest.raises(TypeError, match=r"not JSON: object$"):
        asyncio.run(nested.invoke(None))
    nan = Tool("nan", "", lambda: [float("nan")])
    with pytest.raises(TypeError, match=r"^tool `nan` returned a value that is not JSON: float$"):
        asyncio.run(nan.invoke(None))


def test_handler_errors_propagate() -> None:
    def boom() -> None:
        raise RuntimeError("first failed")

    with pytest.raises(RuntimeError, match="first failed"):
        asyncio.run(as_tool(boom).invoke({}))


# --- identifiers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("hidden-dynamic-tool", "hidden_dynamic_tool"),
        ("mcp__rmcp__echo-tool", "mcp__rmcp__echo_tool"),
        ("mcp__ologs__get_profile", "mcp__ologs__get_profile"),
        ("mcp__rmcp__echo", "mcp__rmcp__echo"),
        ("9lives", "_lives"),
        ("a9", "a9"),
        ("", "_"),
        ("$x", "$x"),
        ("héllo wörld", "h_llo_w_rld"),
        ("日本", "__"),
        ("a.b/c", "a_b_c"),
        ("😀x", "_x"),
    ],
)
def test_normalize_identifier(name: str, identifier: str) -> None:
    assert normalize_identifier(name) == identifier


# --- JSON schema → TypeScript ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "ts"),
    [
        (None, "unknown"),
        ({}, "unknown"),
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": "null"}, "null"),
        ({"type": "frob"}, "unknown"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"anyOf": [{"type": "number"}, {"type": "null"}]}, "number | null"),
        ({"oneOf": [{"const": 1}, {"const": "a"}]}, '1 | "a"'),
        (
            {"allOf": [{"type": "string"}, {"required": ["a"]}]},
            "string & { [key: string]: unknown; }",
        ),
        ({"enum": ["a", "b", None]}, '"a" | "b" | null'),
        ({"const": {"k": [1, 2]}}, '{"k":[1,2]}'),
        ({"type": "array", "items": {"type": "string"}}, "Array<string>"),
        ({"type": "array"}, "unknown[]"),
        ({"prefixItems": [{"type": "string"}, {"type": "boolean"}]}, "[string, boolean]"),
        ({"type": "object"}, "{ [key: string]: unknown; }"),
        ({"type": "object", "properties": {}, "additionalProperties": False}, "{}"),
        (
            obj({"b": {"type": "number"}, "a": {"type": "string"}}, ["b"]),
            "{ a?: string; b: number; }",
        ),
        (
            {"type": "object", "properties": {"n": {}}, "additionalProperties": {"type": "string"}},
            "{ n?: unknown; [key: string]: string; }",
        ),
        (
            obj({"my-key": {"type": "string"}, "ok": {"type": "boolean"}}, ["my-key"], True),
            '{ "my-key": string; ok?: boolean; [key: string]: unknown; }',
        ),
        (
            obj({"outer": obj({"inner": {"type": "array", "items": obj({"v": {}})}})}),
            "{ outer?: { inner?: Array<{ v?: unknown; }>; }; }",
        ),
        (
            obj({"city": {"type": "string", "description": "Which city.\n\n  Any.  "}}),
            "{\n  // Which city.\n  // Any.\n  city?: string;\n}",
        ),
    ],
)
def test_typescript_type(schema: dict[str, Any] | None, ts: str) -> None:
    assert typescript_type(schema) == ts


def test_typescript_local_refs_reference_test() -> None:
    """Reference test `renders_local_refs_with_a_cycle_safe_boolean_prefix`."""
    clause_ref = {"$ref": "#/$defs/Boolean~1Clause~0v1"}
    schema = {
        "type": "object",
        "properties": {"clauses": {"type": "array", "items": clause_ref}},
        "required": ["clauses"],
        "additionalProperties": False,
        "$defs": {
            "Boolean/Clause~v1": obj(
                {
                    "occur": {"type": "string", "enum": ["must", "should"]},
                    "query": {
                        "$ref": "#/$defs/Query",
                        "description": "Use a nested group for parenthesized expressions.",
                    },
                },
                ["occur", "query"],
            ),
            "Query": {
                "oneOf": [
                    {"$ref": "#/$defs/Leaf"},
                    obj({"clauses": {"type": "array", "items": clause_ref}}, ["clauses"]),
                ]
            },
            "Leaf": obj(
                {"field": {"type": "string", "enum": ["A", "B", "C"]}, "value": {"type": "string"}},
                ["field", "value"],
            ),
        },
    }
    assert typescript_type(schema) == textwrap.dedent("""\
        { clauses: Array<{
          occur: "must" | "should";
          // Use a nested group for parenthesized expressions.
          query: { field: "A" | "B" | "C"; value: string; } | { clauses: Array<{
          occur: "must" | "should";
          // Use a nested group for parenthesized expressions.
          query: { field: "A" | "B" | "C"; value: string; } | { clauses: Array<unknown>; };
        }>; };
        }>; }""")


def test_typescript_ref_siblings_and_bad_refs() -> None:
    """Reference test `local_ref_sibling_constraints_are_intersected`, plus refs that miss."""
    defs = {"$defs": {"Label": {"type": "string"}}}
    assert typescript_type({"$ref": "#/$defs/Label", "enum": ["A"], **defs}) == '(string) & ("A")'
    assert typescript_type({"$ref": "#/$defs/Nope", "type": "number", **defs}) == "number"
    assert typescript_type({"$ref": "http://x/y.json"}) == "unknown"
    assert typescript_type({"$ref": "#", "description": "self"}) == "unknown"
    listed = {"x": [{"type": "string"}]}
    assert typescript_type({"$ref": "#/x/0", **listed}) == "string"
    assert typescript_type({"$ref": "#/x/1", **listed}) == "unknown"
    assert typescript_type({"$ref": "#/x/00", **listed}) == "unknown"


# --- augmented descriptions and declarations ------------------------------------------------------


def test_augmented_description_function_tool_exact() -> None:
    def get_weather(city: str, days: int = 1) -> dict[str, str]:
        """Look up the weather."""
        return {}

    assert augmented_description(as_tool(get_weather).definition()) == (
        "Look up the weather.\n"
        "\n"
        "exec tool declaration:\n"
        "```ts\n"
        "declare const tools: { get_weather(args: { city: string; days?: number; }): "
        "Promise<{ [key: string]: string; }>; };\n"
        "```"
    )


def test_augmented_description_freeform_tool_exact() -> None:
    definition = {"name": "apply-patch", "description": "Apply a patch.", "kind": "freeform"}
    assert augmented_description(definition) == (
        "Apply a patch.\n\nexec tool declaration:\n```ts\n"
        "declare const tools: { apply_patch(input: string): Promise<unknown>; };\n```"
    )


def test_declaration_reference_tests() -> None:
    """Reference tests `augment_tool_definition_appends_typed_declaration`,
    `..._includes_property_descriptions_as_comments`, `code_mode_types_structured_content_...`."""
    hidden = {
        "name": "hidden_dynamic_tool",
        "description": "Test tool",
        "kind": "function",
        "input_schema": obj({"city": {"type": "string"}}, ["city"]),
        "output_schema": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
        },
    }
    assert "hidden_dynamic_tool(args: { city: string; }): Promise<{ ok: boolean; }>;" in (
        augmented_description(hidden)
    )
    weather = {
        "name": "weather_tool",
        "description": "Weather tool",
        "input_schema": {
            "type": "object",
            "properties": {
                "weather": {
                    "type": "array",
                    "description": "look up weather for a given list of locations",
                    "items": {
                        "type": "object",
                        "properties": {"location": {"type": "string"}},
                        "required": ["location"],
                    },
                }
            },
            "required": ["weather"],
        },
        "output_schema": {
            "type": "object",
            "properties": {
                "forecast": {"type": "string", "description": "human readable weather forecast"}
            },
            "required": ["forecast"],
        },
    }
    assert (
        "weather_tool(args: {\n  // look up weather for a given list of locations\n"
        "  weather: Array<{ location: string; }>;\n}): Promise<{\n"
        "  // human readable weather forecast\n  forecast: string;\n}>;"
    ) in augmented_description(weather)
    item = obj({"id": {"type": "string"}, "score": {"type": "number"}}, ["id", "score"])
    structured = obj(
        {"results": {"type": "array", "items": {"$ref": "#/definitions/Result~1item~0v1"}}},
        ["results"],
    ) | {"definitions": {"Result/item~v1": item}}
    search = {
        "name": "mcp__sample__search",
        "description": "Search",
        "input_schema": obj({}),
        "output_schema": mcp_result_schema(structured),
    }
    assert (
        "mcp__sample__search(args: {}): Promise<CallToolResult<{ results: "
        "Array<{ id: string; score: number; }>; }>>;"
    ) in augmented_description(search)


def test_mcp_output_without_structured_content_is_plain_call_tool_result() -> None:
    schema = mcp_result_schema(True)
    del schema["properties"]["structuredContent"]
    definition = {"name": "mcp__s__t", "description": "", "output_schema": schema}
    assert tool_declaration(definition) == (
        "declare const tools: { mcp__s__t(args: unknown): Promise<CallToolResult>; };"
    )
    not_mcp = mcp_result_schema(True)
    del not_mcp["properties"]["_meta"]  # not MCP-shaped: rendered as an ordinary object
    assert "Promise<{ content: Array<{ [key: string]: unknown; }>;" in tool_declaration(
        {"name": "x", "output_schema": not_mcp}
    )


# --- exec / wait descriptions ---------------------------------------------------------------------

EXEC_KEY_LINES = [  # Codex's exec description, quoted
    "Run JavaScript code to orchestrate/compose tool calls",
    "Evaluates the provided JavaScript code in a fresh V8 isolate as an async module.",
    "All nested tools are available on the global `tools` object, for example "
    "`await tools.exec_command(...)`. Tool names are exposed as normalized JavaScript "
    "identifiers, for example `await tools.mcp__ologs__get_profile(...)`.",
    "Nested tool methods take either a string or an object as their input argument.",
    "Nested tools return either an object or a string, based on the description.",
    "Runs raw JavaScript -- no Node, no file system, no network access, no console.",
    "Accepts raw JavaScript source text, not JSON, quoted strings, or markdown code fences.",
    "You may optionally start the tool input with a first-line pragma like "
    '`// @exec: {"yield_time_ms": 10000, "max_output_tokens": 1000}`.',
    "`yield_time_ms` asks `exec` to yield early if the script is still running. "
    "Defaults to 10000 ms.",
    "`max_output_tokens` sets the token budget for direct `exec` results. "
    "Defaults to 10000 tokens.",
    "When the JS code is fully evaluated, the isolate's lifetime ends and unawaited promises "
    "are silently discarded.",
]
HELPERS = ["exit()", "text(", "image(", "generatedImage(", "store(", "load(", "notify("]
HELPERS += ["setTimeout(", "clearTimeout(", "ALL_TOOLS", "yield_control()"]


def test_exec_description_key_lines_and_helpers() -> None:
    text = exec_description([])
    assert text.startswith("Run JavaScript code to orchestrate/compose tool calls\n- Evaluates")
    for line in EXEC_KEY_LINES:
        assert line in text
    helper_lines = text.split("- Global helpers:\n")[1].splitlines()
    for line, helper in zip(helper_lines, HELPERS, strict=True):
        assert line.startswith(f"- `{helper}")
    assert "Shared MCP Types" not in text and "###" not in text
    assert "do not attempt to use any other tools directly" not in text  # older builds only


def test_exec_description_tool_sections() -> None:
    """Reference test `code_mode_only_description_includes_nested_tools` and headings."""
    text = exec_description(
        [
            {"name": "foo", "description": "bar", "kind": "function"},
            {"name": "hidden-dynamic-tool", "description": "  ", "kind": "freeform"},
        ]
    )
    assert text.endswith(
        "yield_control()`: yields the accumulated output to the model immediately while the "
        "script keeps running.\n\n"
        "### `foo`\nbar\n\nexec tool declaration:\n```ts\n"
        "declare const tools: { foo(args: unknown): Promise<unknown>; };\n```\n\n"
        "### `hidden_dynamic_tool` (`hidden-dynamic-tool`)\nexec tool declaration:\n```ts\n"
        "declare const tools: { hidden_dynamic_tool(input: string): Promise<unknown>; };\n```"
    )


def test_exec_description_namespaces_and_shared_mcp_types() -> None:
    """Reference tests `..._groups_namespace_instructions_once`, `..._omits_empty_namespace_...`
    and `..._renders_shared_mcp_types_once`."""

    def mcp_tool(name: str) -> dict[str, Any]:
        return {
            "name": f"mcp__sample__{name}",
            "description": f"{name} tool",
            "kind": "function",
            "namespace": "mcp__sample",
            "input_schema": obj({}),
            "output_schema": mcp_result_schema(obj({})),
        }

    tools = [mcp_tool("alpha"), mcp_tool("beta"), {"name": "plain", "description": "p"}]
    text = exec_description(tools, namespaces={"mcp__sample": "Shared namespace guidance."})
    assert text.count("## mcp__sample") == 1
    assert "\n\n## mcp__sample\nShared namespace guidance.\n\n### `mcp__sample__alpha`\n" in text
    for name in ("alpha", "beta"):
        assert (
            f"declare const tools: {{ mcp__sample__{name}(args: {{}}): "
            "Promise<CallToolResult<{}>>; };"
        ) in text
    assert text.count('Shared MCP Types:\n```ts\ntype Role = "user" | "assistant";') == 1
    assert text.count("type CallToolResult<TStructured = { [key: string]: unknown }>") == 1
    assert text.index("Shared MCP Types:") < text.index("## mcp__sample")
    empty = exec_description(tools, namespaces={"mcp__sample": "  "})
    assert "## mcp__sample" not in empty and "### `mcp__sample__alpha`" in empty
    assert "## mcp__sample" not in exec_description(tools)


def test_exec_description_deferred_tools_and_yield_default() -> None:
    deferred = [{"name": "late", "description": "", "output_schema": mcp_result_schema(True)}]
    text = exec_description([], deferred=deferred, yield_time_ms=30000)
    assert (
        "yields the accumulated output to the model immediately while the script keeps running."
        "\n\nSome deferred nested tools may be omitted from this description. They are still "
        "available on the global `tools` object and listed in `ALL_TOOLS`.\nTo find one, filter "
        "`ALL_TOOLS` by `name` and `description`.\n\nShared MCP Types:\n```ts\n"
    ) in text
    assert "### `late`" not in text
    assert "still running. Defaults to 30000 ms." in text


def test_wait_description_exact() -> None:
    assert wait_description() == (
        "Waits on a yielded `exec` cell and returns new output or completion.\n"
        "- Use `wait` only after `exec` returns `Script running with cell ID ...`.\n"
        "- `cell_id` identifies the running `exec` cell to resume.\n"
        "- `yield_time_ms` controls how long to wait for more output before yielding again. "
        "Defaults to 10000 ms.\n"
        "- `max_tokens` limits how much new output this wait call returns. "
        "Defaults to 10000 tokens.\n"
        "- `terminate: true` stops the running cell; false or omitted waits for output.\n"
        "- `wait` returns only the new output since the last yield, or the final completion or "
        "termination result for that cell.\n"
        "- If the cell is still running, `wait` may yield again with the same `cell_id`.\n"
        "- If the cell has already finished, `wait` returns the completed result and closes the "
        "cell."
    )


# --- loading --------------------------------------------------------------------------------------

HELPER_MODULE = '''
from codemode_kernel.tools import Tool

def add(a: int, b: int) -> int:
    """Add."""
    return a + b

def mul(a: int, b: int) -> int:
    return a * b

patch = Tool("apply_patch", "Patch.", lambda s: s, kind="freeform")
bundle = [add, patch]
pair = (mul,)
not_a_tool = 42
mixed = [add, "nope"]

class Box:
    tool = staticmethod(mul)
'''


@pytest.fixture
def helper_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "cmk_helpers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "good.py").write_text(HELPER_MODULE)
    (package / "broken.py").write_text("1 / 0\n")
    (package / "needs_dep.py").write_text("import cmk_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("cmk_helpers")]:
        monkeypatch.delitem(sys.modules, name)
    return tmp_path


@pytest.mark.usefixtures("helper_modules")
def test_load_configured_good_specs() -> None:
    loaded = load_configured(
        [
            "cmk_helpers.good:add",
            "cmk_helpers.good:patch",
            "cmk_helpers.good:bundle",
            "cmk_helpers.good:pair",
            "cmk_helpers.good:Box.tool",
        ]
    )
    assert [t.name for t in loaded] == ["add", "apply_patch", "add", "apply_patch", "mul", "mul"]
    assert loaded[1].kind == "freeform"
    assert asyncio.run(loaded[0].invoke({"a": 2, "b": 3})) == 5


@pytest.mark.usefixtures("helper_modules")
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("cmk_helpers.good", "'cmk_helpers.good': expected 'package.module:attribute'"),
        (":add", "expected 'package.module:attribute'"),
        ("cmk_helpers.nope:add", "module 'cmk_helpers.nope' not found"),
        ("cmk_nothing_here:add", "module 'cmk_nothing_here' not found"),
        (
            "cmk_helpers.needs_dep:x",
            "importing 'cmk_helpers.needs_dep' failed: ModuleNotFoundError: "
            "No module named 'cmk_missing_dependency'",
        ),
        (
            "cmk_helpers.broken:x",
            "importing 'cmk_helpers.broken' failed: ZeroDivisionError: division by zero",
        ),
        ("cmk_helpers.good:missing", "'cmk_helpers.good' has no attribute 'missing'"),
        ("cmk_helpers.good:Box.nope", "'cmk_helpers.good' has no attribute 'Box.nope'"),
        (
            "cmk_helpers.good:not_a_tool",
            "'not_a_tool' is not a tool: got int, not a callable, a Tool or a list of them",
        ),
        ("cmk_helpers.good:mixed", "'mixed' is not a tool: got str"),
    ],
)
def test_load_configured_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match="tool spec") as info:
        load_configured([spec])
    assert str(info.value).startswith(f"tool spec {spec!r}: ")
    assert message in str(info.value)


def test_load_entry_points_skips_broken_ones(
    helper_modules: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    group = "codemode_kernel.tools"
    points = [
        importlib.metadata.EntryPoint("one", "cmk_helpers.good:add", group),
        importlib.metadata.EntryPoint("broken", "cmk_helpers.broken:add", group),
        importlib.metadata.EntryPoint("many", "cmk_helpers.good:bundle", group),
        importlib.metadata.EntryPoint("number", "cmk_helpers.good:not_a_tool", group),
    ]
    calls: list[str] = []

    def fake_entry_points(*, group: str) -> list[importlib.metadata.EntryPoint]:
        calls.append(group)
        return points

    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    with caplog.at_level(logging.WARNING, logger="codemode_kernel"):
        loaded = load_entry_points()
    assert calls == [group]
    assert [t.name for t in loaded] == ["add", "add", "apply_patch"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "codemode_kernel"]
    assert len(warnings) == 2
    assert "'broken' (cmk_helpers.broken:add): ZeroDivisionError" in warnings[0]
    assert "'number' (cmk_helpers.good:not_a_tool): TypeError" in warnings[1]


def test_load_entry_points_from_an_installed_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cmk_plugin.py").write_text(
        "def shout(text: str) -> str:\n    return text.upper()\n"
    )
    dist = tmp_path / "cmk_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: cmk-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[cmk.test.tools]\nshout = cmk_plugin:shout\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cmk_plugin", raising=False)
    loaded = load_entry_points("cmk.test.tools")
    assert [t.name for t in loaded] == ["shout"]
    assert asyncio.run(loaded[0].invoke({"text": "hi"})) == "HI"
    assert load_entry_points("cmk.test.nothing") == []


def test_module_exports() -> None:
    assert set(tools_module.__all__) >= {"Tool", "as_tool", "exec_description", "wait_description"}
