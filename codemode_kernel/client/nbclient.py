"""Execute a notebook on the codemode kernel while Python functions answer its tool calls.

nbclient drives the kernel and records outputs; this module adds the other half of the
`codemode` comm (docs/protocol.md) that a front end would do: right after the kernel starts
(before the first cell) it opens the comm with the tools' definitions, and while cells run a
`ToolRunner` answers `tool_call` comm messages by running the tools on nbclient's own event loop
(sync tools in worker threads, so a slow tool never stalls output collection).

nbclient only reads IOPub while a cell executes and keeps only messages parented to that cell's
request. Tool calls are parented to the request observing their cell, so they arrive in time;
but a cell that yielded and calls a tool later, after its request is over, is heard only while
a later cell runs. We look at every message nbclient reads, whatever its parent, so such calls
are answered then instead of being dropped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbformat import NotebookNode

from ..protocol import COMM_TARGET, KERNEL_NAME
from .mcp import ClientMCP, ToolOrServer, split_tools
from .toolrunner import ToolRunner

__all__ = ["CodeModeNotebookClient", "async_run_notebook", "run_notebook", "run_notebook_path"]


class CodeModeNotebookClient(NotebookClient):
    """A `NotebookClient` that provides `tools` to the codemode kernel it runs the notebook on.

    The comm lives in `async_setup_kernel`, which `execute()` / `async_execute()` use; a caller
    driving cells itself must enter that (not the synchronous `setup_kernel`).
    """

    def __init__(
        self,
        nb: NotebookNode,
        km: Any = None,
        *,
        tools: Iterable[ToolOrServer] = (),
        register_timeout: float = 30.0,
        **kw: Any,
    ) -> None:
        super().__init__(nb, km=km, **kw)
        plain, servers = split_tools(tools)
        self._runner = ToolRunner(plain)
        self._mcp = ClientMCP(servers)  # run on nbclient's loop, opened with the kernel
        #: The tools by name (the runner's own table).
        self.codemode_tools = self._runner.tools
        self.register_timeout = register_timeout
        self.comm_id = uuid.uuid4().hex

    @asynccontextmanager
    async def async_setup_kernel(self, **kwargs: Any) -> AsyncGenerator[None, None]:
        """nbclient's setup, plus our comm: opened before the first cell, closed after the last."""
        async with super().async_setup_kernel(**kwargs):
            try:
                self._runner.add(await self._mcp.open())
                await self._open_comm()
                yield
            finally:
                self._close_comm()
                await self._mcp.close()

    async def _open_comm(self) -> None:
        """Register the tools and wait for `tools_registered` (nobody else reads IOPub yet)."""
        definitions = self._runner.definitions()
        self._send("comm_open", {"target_name": COMM_TARGET, "data": {"tools": definitions}})
        deadline = time.monotonic() + self.register_timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ensure_async(self._client().iopub_channel.get_msg(timeout=left))
            except Empty:
                break
            if msg["msg_type"] == "comm_close" and msg["content"].get("comm_id") == self.comm_id:
                raise RuntimeError(
                    f"the kernel has no `{COMM_TARGET}` comm target; is it codemode?"
                )
            answer = self._comm_data(msg) or {}
            if answer.get("type") == "tools_registered":
                return
            if answer.get("type") == "error":
                raise RuntimeError(f"the kernel refused our tools: {answer.get('message')}")
        raise RuntimeError(
            f"no `tools_registered` on the `{COMM_TARGET}` comm within "
            f"{self.register_timeout:g} s; is the notebook running on a codemode kernel?"
        )

    def _close_comm(self) -> None:
        self._runner.cancel_all()
        if self.kc is not None:
            self._send("comm_close", {"data": {}})

    def _client(self) -> Any:
        """The kernel client (nbclient sets it up before any of our code runs)."""
        if self.kc is None:
            raise RuntimeError("the kernel client is not running")
        return self.kc

    def _send(self, msg_type: str, content: dict[str, Any]) -> None:
        """A comm message on shell; nbclient reads shell only for its own replies."""
        kc = self._client()
        kc.shell_channel.send(kc.session.msg(msg_type, {"comm_id": self.comm_id, **content}))

    def _comm_data(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """The payload of a comm_msg on our comm, else None."""
        content = msg.get("content") or {}
        if msg.get("msg_type") != "comm_msg" or content.get("comm_id") != self.comm_id:
            return None
        data = content.get("data")
        return data if isinstance(data, dict) else {}

    async def _async_poll_output_msg(
        self, parent_msg_id: str, cell: NotebookNode, cell_index: int
    ) -> None:
        """nbclient's IOPub loop, but our comm's messages are handled whatever their parent.

        This overrides a private nbclient method (stable since nbclient 0.5); should it ever be
        renamed, `process_message` below still answers the calls parented to the running cell.
        """
        while True:
            msg = await ensure_async(self._client().iopub_channel.get_msg(timeout=None))
            if self._handle_codemode(msg):
                continue
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return

    def process_message(
        self, msg: dict[str, Any], cell: NotebookNode, cell_index: int
    ) -> NotebookNode | None:
        """Answer our comm's messages; everything else is nbclient's."""
        if self._handle_codemode(msg):
            return None
        return super().process_message(msg, cell, cell_index)

    def _handle_codemode(self, msg: dict[str, Any]) -> bool:
        data = self._comm_data(msg)
        if data is None:
            return False
        self._runner.handle(data, self._answer)
        return True

    def _answer(self, reply: dict[str, Any]) -> None:
        if self.kc is not None:
            self._send("comm_msg", {"data": reply})


def run_notebook(
    nb: NotebookNode, tools: Iterable[ToolOrServer] = (), **notebook_client_kwargs: Any
) -> NotebookNode:
    """Execute `nb` (in place) on the codemode kernel, with `tools` answering its calls.

    Keyword arguments go to nbclient's `NotebookClient` (`timeout`, `resources`,
    `extra_arguments`, …); `kernel_name` defaults to "codemode". Returns the notebook.
    """
    notebook_client_kwargs.setdefault("kernel_name", KERNEL_NAME)
    client = CodeModeNotebookClient(nb, tools=tools, **notebook_client_kwargs)
    executed: NotebookNode = client.execute()
    return executed


async def async_run_notebook(
    nb: NotebookNode, tools: Iterable[ToolOrServer] = (), **notebook_client_kwargs: Any
) -> NotebookNode:
    """`run_notebook` for code that already runs an event loop."""
    notebook_client_kwargs.setdefault("kernel_name", KERNEL_NAME)
    client = CodeModeNotebookClient(nb, tools=tools, **notebook_client_kwargs)
    executed: NotebookNode = await client.async_execute()
    return executed


def run_notebook_path(
    path: str | Path,
    tools: Iterable[ToolOrServer] = (),
    output_path: str | Path | None = None,
    **notebook_client_kwargs: Any,
) -> NotebookNode:
    """Read, execute (in the notebook's folder) and optionally save a notebook file."""
    path = Path(path)
    nb: NotebookNode = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    resources = notebook_client_kwargs.setdefault("resources", {})
    resources.setdefault("metadata", {}).setdefault("path", str(path.parent))
    run_notebook(nb, tools, **notebook_client_kwargs)
    if output_path is not None:
        nbformat.write(nb, output_path)  # type: ignore[no-untyped-call]
    return nb
