"""The kernel as an MCP server (README, MCP): exactly the reference's two tools, `exec` and `wait`,
so any MCP client gets code mode over a sandboxed JS cell that calls the other tools.

Each MCP session owns one `CodeModeKernel`, driven through `CodeModeClient` with the nested
tools (the configured MCP servers and `--tool` callables; the kernel adds its entry-point tools
itself). The kernel starts on the session's first request — `tools/list` too, because the tool
descriptions are the kernel's own `describe()` text — and is shut down with the session: over
stdio when stdin closes, over Streamable HTTP when the client ends the session or it is closed
idle. Requests without a session (the sessionless 2026-07-28 HTTP protocol) share one kernel.
Results are the reference's model-facing items (`ExecResult.to_model_output()`) as MCP
content, with `isError` exactly when the cell's status is `failed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import mcp_types as types
from mcp.server.lowlevel import Server

from ..client import CodeModeClient, ExecResult
from ..client.mcp import ToolOrServer

log = logging.getLogger("codemode_kernel.mcpserver")

SERVER_NAME = "codemode-kernel"

EXEC_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {
            "type": "string",
            "description": "Raw JavaScript source; may start with a `// @exec:` pragma line.",
        },
        "yield_time_ms": {
            "type": "integer",
            "minimum": 0,
            "description": "Yield early if the script is still running. Defaults to 10000 ms.",
        },
        "max_output_tokens": {
            "type": "integer",
            "minimum": 0,
            "description": "Token budget for this result. Defaults to 10000 tokens.",
        },
    },
    "required": ["code"],
    "additionalProperties": False,
}

# The reference's `wait` parameters (wait_spec.rs), word for word.
WAIT_INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "cell_id": {"type": "string", "description": "Identifier of the running exec cell."},
        "yield_time_ms": {
            "type": "integer",
            "description": "Wait before yielding more output. Defaults to 10000 ms.",
        },
        "max_tokens": {
            "type": "integer",
            "description": "Output token budget for this wait call. Defaults to 10000 tokens.",
        },
        "terminate": {
            "type": "boolean",
            "description": "True stops the running exec cell; false or omitted waits for output.",
        },
    },
    "required": ["cell_id"],
    "additionalProperties": False,
}

ClientFactory = Callable[[Sequence[ToolOrServer]], CodeModeClient]


def model_content(items: list[dict[str, str]]) -> list[types.TextContent | types.ImageContent]:
    """`input_text` → TextContent, `input_image` (a base64 `data:` URL) → ImageContent."""
    out: list[types.TextContent | types.ImageContent] = []
    for item in items:
        if item.get("type") == "input_image":
            url = item.get("image_url", "")
            head, _, data = url.partition(",")
            mime = head.removeprefix("data:").split(";", 1)[0]
            if head.startswith("data:") and head.endswith(";base64") and mime:
                out.append(types.ImageContent(type="image", data=data, mime_type=mime))
                continue
            out.append(types.TextContent(type="text", text=url))
        else:
            out.append(types.TextContent(type="text", text=item.get("text", "")))
    return out


def call_result(result: ExecResult) -> types.CallToolResult:
    content = model_content(result.to_model_output())
    return types.CallToolResult(content=list(content), is_error=result.status == "failed")


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _optional_int(args: dict[str, Any], key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{key}` must be a non-negative integer")
    return value


class KernelSession:
    """One MCP session's kernel: started on first use (once, whoever asks first), closed with
    the session."""

    def __init__(self, tools: Sequence[ToolOrServer], factory: ClientFactory) -> None:
        self.tools = list(tools)
        self.factory = factory
        self.client: CodeModeClient | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> CodeModeClient:
        async with self._lock:
            if self.client is None:
                client = self.factory(self.tools)
                await client.open()
                self.client = client
            return self.client

    async def close(self) -> None:
        async with self._lock:
            client, self.client = self.client, None
        if client is not None:
            await client.close()


class KernelPool:
    """The kernels of one server: one per MCP session, and one shared by the requests that
    come without a session (stdio's single connection, 2026-07-28 sessionless HTTP)."""

    def __init__(self, tools: Sequence[ToolOrServer], factory: ClientFactory) -> None:
        self.tools = list(tools)
        self.factory = factory
        self.shared = KernelSession(tools, factory)
        self.sessions: dict[str, KernelSession] = {}

    def kernel_for(self, ctx: Any) -> KernelSession:
        """The kernel of the request's MCP session, created (not yet started) on its first
        request; the session's end (client DELETE, idle timeout) shuts it down."""
        # The SDK hands lowlevel handlers no public way to the connection yet; without one
        # every request shares one kernel, as sessionless ones do.
        connection = getattr(ctx.session, "_connection", None)
        session_id = getattr(connection, "session_id", None)
        if connection is None or session_id is None:
            return self.shared
        kernel = self.sessions.get(session_id)
        if kernel is None:
            kernel = self.sessions[session_id] = KernelSession(self.tools, self.factory)
            connection.exit_stack.push_async_callback(self._ended, session_id)
        return kernel

    async def _ended(self, session_id: str) -> None:
        kernel = self.sessions.pop(session_id, None)
        if kernel is not None:
            await kernel.close()
            log.info("MCP session %s ended; its kernel is shut down", session_id)

    async def close(self) -> None:
        kernels = [self.shared, *self.sessions.values()]
        self.sessions.clear()
        await asyncio.gather(*(k.close() for k in kernels), return_exceptions=True)


async def list_tools(kernel: KernelSession) -> types.ListToolsResult:
    descriptions = await (await kernel.get()).describe()
    return types.ListToolsResult(
        tools=[
            types.Tool(
                name="exec", description=descriptions["exec"], input_schema=EXEC_INPUT_SCHEMA
            ),
            types.Tool(
                name="wait", description=descriptions["wait"], input_schema=WAIT_INPUT_SCHEMA
            ),
        ]
    )


async def call_tool(kernel: KernelSession, name: str, args: dict[str, Any]) -> types.CallToolResult:
    """`exec` or `wait`; bad arguments give the reference's plain error text."""
    if name == "exec":
        code = args.get("code")
        if not isinstance(code, str):
            return _error("exec expects raw JavaScript source text")
        try:
            yield_ms = _optional_int(args, "yield_time_ms")
            max_tokens = _optional_int(args, "max_output_tokens")
            client = await kernel.get()
            return call_result(await client.exec(code, yield_ms, max_tokens))
        except ValueError as exc:
            return _error(f"exec {exc}")
    if name == "wait":
        cell_id = args.get("cell_id")
        if not isinstance(cell_id, str):
            return _error("wait expects JSON arguments")
        try:
            yield_ms = _optional_int(args, "yield_time_ms")
            max_tokens = _optional_int(args, "max_tokens")
            client = await kernel.get()
            if args.get("terminate") is True:
                return call_result(await client.terminate(cell_id))
            return call_result(await client.wait(cell_id, yield_ms, max_tokens))
        except ValueError as exc:
            return _error(f"wait {exc}")
    return _error(f"unknown tool `{name}`: this server has `exec` and `wait`")


def build_server(kernels: KernelPool) -> Server[Any]:
    """A low-level SDK server whose two tools run on the kernel of the request's session."""

    async def on_list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return await list_tools(kernels.kernel_for(ctx))

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        return await call_tool(kernels.kernel_for(ctx), params.name, arguments)

    return Server(SERVER_NAME, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


async def serve_stdio(tools: Sequence[ToolOrServer], factory: ClientFactory) -> None:
    """Serve one MCP session on stdin/stdout; its kernel is shut down when stdin closes."""
    from mcp.server.stdio import stdio_server

    kernels = KernelPool(tools, factory)
    server = build_server(kernels)
    try:
        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        await kernels.close()


async def serve_http(
    tools: Sequence[ToolOrServer],
    factory: ClientFactory,
    host: str,
    port: int,
    max_sessions: int,
    idle_timeout: float,
) -> None:
    """Serve Streamable HTTP at http://HOST:PORT/mcp until interrupted: at most `max_sessions`
    sessions at once (more are refused with 503), each closed after `idle_timeout` seconds
    without a request, and every kernel shut down on the way out."""
    import uvicorn

    kernels = KernelPool(tools, factory)
    app = build_server(kernels).streamable_http_app(
        streamable_http_path="/mcp",
        max_sessions=max_sessions,
        session_idle_timeout=idle_timeout,
        host=host,
    )
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    try:
        await uvicorn.Server(config).serve()
    finally:
        await kernels.close()
