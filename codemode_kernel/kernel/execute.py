"""The execute path: one execute_request's source in, its IOPub outputs and reply content out.

Parse the cell, run it through the session (an exec or a wait observes a cell; `%cells` and
`%store` answer at once), publish what the observation produced, and build the reply content with
its `metadata.codemode` block (docs/protocol.md). Nothing here knows about ZMQ or ipykernel: the
kernel hands in a `Publisher` for the request and the execution count, and sends the returned dict
as the `execute_reply`. That makes every outcome testable in-process against a real session.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from typing import Any

from ..errors import CodeModeError
from ..output.messages import (
    MISSING,
    cells_output,
    error_output,
    result_output,
    status_output,
    store_output,
    tools_output,
)
from ..output.traceback import hint
from ..output.unicode import well_formed
from ..protocol import METADATA_KEY, status_display_id
from ..session.cell import Observation
from ..session.router import Toolbox
from ..session.session import Session
from ..source import ExecRequest, ListCells, ListTools, ShowStore, WaitRequest, parse_cell
from ..source.javascript import top_level_declarations
from .displays import CellDisplays
from .publish import ProgressLine, Publisher, RequestObserver

#: The ename of a request the kernel failed on (a bug, or input no check foresaw).
KERNEL_ERROR = "KernelError"


class ExecuteHandler:
    """Turns execute requests into session calls, outputs and reply content."""

    def __init__(
        self,
        session: Session,
        toolbox: Toolbox,
        displays: CellDisplays,
        max_output_tokens: int,
        progress_delay: float = 1.0,
    ) -> None:
        self.session = session
        self.toolbox = toolbox
        self.displays = displays
        self.max_output_tokens = max_output_tokens
        self.progress_delay = progress_delay  # when a long observation starts showing a live line
        self._terminating: set[asyncio.Future[None]] = set()
        #: Names declared at the top level of earlier cells, and the latest cell declaring each:
        #: a later cell's `ReferenceError` for one of them gets a hint about fresh isolates.
        self._declared: dict[str, str] = {}

    async def execute(
        self, code: str, publisher: Publisher, execution_count: int, *, silent: bool = False
    ) -> dict[str, Any]:
        """Run one request. `silent` (Jupyter's): the cell runs, its outputs are not broadcast.

        The reply's `execution_count` is the one given: ipykernel counts only non-silent requests.
        That count is the prompt number, and an exec's cell id is that number (`[7]` runs cell 7);
        a silent exec takes the next number above every one used (`Session.last_number`).
        """
        reply = _Reply(execution_count)
        outputs = dataclasses.replace(publisher, muted=True) if silent else publisher
        number = None if silent else execution_count
        request = None
        try:
            request = parse_cell(code)
            if not isinstance(request, ExecRequest) and number is not None:
                self.session.number(number)
            if isinstance(request, (ExecRequest, WaitRequest)):
                return await self._observe(request, publisher, outputs, reply, number)
            if isinstance(request, ListCells):
                rows = [(c.cell_id, c.state, c.age_s, c.buffered) for c in self.session.cells()]
                outputs.send(cells_output(rows))
            elif isinstance(request, ShowStore):
                if request.clear:
                    self.session.store.clear()
                outputs.send(store_output(None, dict(self.session.store.values)))
            elif isinstance(request, ListTools):
                listing = self.toolbox.listing()
                outputs.send(
                    tools_output([(t.js_name, t.kind, t.provider, t.summary) for t in listing])
                )
            # An empty cell or a table: no cell was observed, and nothing failed.
            return reply.ok(_meta(None, "completed"))
        except CodeModeError as exc:
            # A request-level failure: the reference renders it as `Script failed` with the
            # message as the error text, so the reply metadata says the same.
            message = str(exc)
            cid = request.cell_id if isinstance(request, WaitRequest) else None
            meta = {**_meta(cid, "failed"), "error_text": message}
            # Jupyter front ends show only the traceback: let it name the error.
            return reply.error(outputs, cid, meta, exc.ename, message, f"{exc.ename}: {message}")

    def interrupt(self) -> None:
        """A Jupyter interrupt: terminate every cell a request observes now; others live on."""
        for cid in self.displays.observed():
            try:
                cell = self.session.get(cid)
            except CodeModeError:
                continue
            if not cell.terminating:
                self.displays.interrupted(cid)
                task = asyncio.ensure_future(self._terminate_quietly(cid))
                self._terminating.add(task)
                task.add_done_callback(self._terminating.discard)

    async def _terminate_quietly(self, cid: str) -> None:
        with contextlib.suppress(CodeModeError):
            await self.session.terminate(cid)

    async def _observe(
        self,
        request: ExecRequest | WaitRequest,
        publisher: Publisher,
        outputs: Publisher,
        reply: _Reply,
        number: int | None,
    ) -> dict[str, Any]:
        budget = (
            request.max_output_tokens if isinstance(request, ExecRequest) else request.max_tokens
        )
        tokens = self.max_output_tokens if budget is None else budget

        # Comm traffic of the cell (tool calls) goes out even for a silent request.
        def attached(cell_id: str) -> None:
            self.displays.attach(cell_id, publisher)

        observer = RequestObserver(outputs, tokens, attached)
        progress = ProgressLine(outputs, observer, self._running_tools, delay=self.progress_delay)
        ticker = asyncio.ensure_future(progress.run())
        started = time.monotonic()
        try:
            if isinstance(request, ExecRequest):
                outcome = await self.session.exec(request, observer, number)
            else:
                outcome = await self.session.wait(request, observer)
        finally:
            self.displays.detach(publisher)
            ticker.cancel()
        wall = time.monotonic() - started
        if isinstance(request, ExecRequest):
            for name in top_level_declarations(request.code):
                self._declared[name] = outcome.cell_id
        state = "still running" if outcome.status == "running" else outcome.status
        progress.finish(f"Cell {outcome.cell_id} {state} after {wall:.1f} s")
        return self._conclude(outcome, observer, outputs, wall, reply)

    def _running_tools(self, cell_id: str) -> list[str]:
        try:
            cell = self.session.get(cell_id)
        except CodeModeError:
            return []
        return [call.name for call in self.toolbox.running(cell)]

    def _conclude(
        self,
        outcome: Observation,
        observer: RequestObserver,
        outputs: Publisher,
        wall: float,
        reply: _Reply,
    ) -> dict[str, Any]:
        cid = outcome.cell_id
        stats = observer.finish()
        meta = _meta(cid, outcome.status, wall, stats.as_dict())
        if outcome.stored:
            outputs.send(store_output(cid, outcome.stored))
        if outcome.status == "running":
            self.displays.yielded(cid, outputs)
            return reply.ok(meta)
        self.displays.collected(cid, outcome.status, outputs)
        if outcome.result is not None:
            res = outcome.result
            value = res.json if res.has_json else MISSING
            outputs.send(result_output(cid, res.text, value, reply.execution_count))
        if outcome.status == "terminated" and self.displays.take_interrupted(cid):
            text = "Script terminated"
            error_text = f"CellTerminated: {text}"
            return reply.error(outputs, cid, meta, "CellTerminated", text, error_text)
        if outcome.status == "terminated":
            text = f"Script terminated with cell ID {cid}"
            outputs.send(status_output(cid, text, status_display_id(cid)))
        if outcome.error is not None:
            err = outcome.error
            meta["error_text"] = err.text
            tools = {row.js_name for row in self.toolbox.listing()}
            hint_line = hint(err.text, self._declared, tools)
            return reply.error(outputs, cid, meta, err.name, err.message, err.text, hint_line)
        return reply.ok(meta)


def kernel_failure(exc: Exception) -> str:
    """The evalue of any request the kernel failed on."""
    return f"the kernel failed on this request: {type(exc).__name__}: {exc}"


def kernel_failed(exc: Exception, publisher: Publisher, execution_count: int) -> dict[str, Any]:
    """The reply (and `error` output) of an execute request the kernel itself failed on.

    Every request ends with a reply, even one whose handling raised: a client would otherwise
    wait forever. The error names the exception, so a bug report can quote it.
    """
    evalue = kernel_failure(exc)
    meta = {**_meta(None, "failed"), "error_text": evalue}
    return _Reply(execution_count).error(
        publisher, None, meta, KERNEL_ERROR, evalue, f"{KERNEL_ERROR}: {evalue}"
    )


@dataclasses.dataclass(frozen=True)
class _Reply:
    """Builds execute_reply content for one request."""

    execution_count: int

    def ok(self, meta: dict[str, Any]) -> dict[str, Any]:
        return self._content("ok", meta)

    def error(
        self,
        outputs: Publisher,
        cid: str | None,
        meta: dict[str, Any],
        ename: str,
        evalue: str,
        error_text: str,
        hint_line: str | None = None,
    ) -> dict[str, Any]:
        """Publish an `error` output and build the matching error reply."""
        msg_type, content = error_output(cid, ename, evalue, error_text, hint_line)
        outputs.send((msg_type, content))
        error = {"ename": ename, "evalue": evalue, "traceback": content["traceback"]}
        # An error text may quote a cell's string, lone surrogates included: they must pack.
        content = self._content("error", meta, **error)
        cleaned: dict[str, Any] = well_formed(content)
        return cleaned

    def _content(self, status: str, meta: dict[str, Any], **error: Any) -> dict[str, Any]:
        return {
            "status": status,
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
            "metadata": {METADATA_KEY: meta},
            **error,
        }


def _meta(
    cell_id: str | None,
    status: str,
    wall_time_s: float = 0.0,
    output: dict[str, int] | None = None,
) -> dict[str, Any]:
    """`execute_reply.metadata.codemode` (docs/protocol.md), present on every reply."""
    return {
        "cell_id": cell_id,
        "status": status,
        "wall_time_s": round(wall_time_s, 3),
        "output": output or {"total_lines": 0, "truncated_tokens": 0, "omitted_text_items": 0},
    }
