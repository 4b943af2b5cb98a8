"""Round trips through a real kernel process: what a Jupyter user (or an agent over ZMQ) waits for.

What is measured, and why:

* **Kernel start-up** — from `KernelManager.start_kernel()` to the first `kernel_info_reply`,
  for `codemode` and ipykernel's `python3`, several starts each, interleaved (the two kernels
  alternate, and which goes first alternates too) so machine noise hits both alike.
* **Trivial cell** — `execute_request` → `execute_reply`, and → IOPub `status: idle` (all output
  delivered), for `text("bench")` on `codemode` and `print("bench")` on `python3`. Both kernels
  run side by side and requests alternate between them; the ratio is taken pair by pair.
  python3 is the yardstick because it is what a Jupyter user compares us with.
* **Tool calls over the comm** (docs/protocol.md) — the client opens the `codemode` comm,
  registers one tool and answers each `tool_call` on IOPub with a `tool_result` on shell, with raw
  jupyter_client messages. One nested call and 100 concurrent calls are each measured as the
  extra time over a trivial cell (pairs interleaved), with the cell's own `Date.now()` span as a
  cross-check. Each of these cells starts `PAUSE_S` after the last one ended, as cells do when a
  person or a model thinks between them: otherwise a cell would share the two cores with
  preparing the isolate that replaces the previous cell's, and the difference of two cells would
  measure that instead of the call (back-to-back cells are `exec_overhead.py`'s `warm_exec`).
  If the kernel does not answer `register_tools` within 5 s these print
  "n/a — needs the tools protocol".
* **The comm floor** — the same exchanges on the echo kernel (`benches/echo_kernel.py`), which
  sends every `comm_msg` straight back: one shell message in, busy / answer / idle out, as for
  each tool result. Measured in the same rounds, it is what a tool call costs in the protocol
  alone, before any JavaScript runs.

Run: `.venv/bin/python benches/roundtrip.py [--quick]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from common import (
    LiveKernel,
    Message,
    Target,
    format_seconds,
    heading,
    machine,
    print_targets,
    ratio,
    spread,
    use_this_checkout_kernelspec,
)
from peers import write_kernelspecs

CODEMODE_CELL = 'text("bench")'
PYTHON_CELL = 'print("bench")'
REGISTER_TIMEOUT_S = 5.0
NA = "n/a — needs the tools protocol"
TOOL = {
    "name": "bench_echo",
    "description": "Benchmark tool: answers {ok: true}.",
    "kind": "function",
}
ONE_CALL_CELL = "await tools.bench_echo({});"
SEQUENTIAL_CALLS = 20
SEQUENTIAL_CELL = (
    "const t0 = Date.now();\n"
    f"for (let i = 0; i < {SEQUENTIAL_CALLS}; i++) await tools.bench_echo({{i}});\n"
    "text(String(Date.now() - t0));"
)
CONCURRENT_CALLS = 100
PAUSE_S = 0.02  # before each tool-call cell: time to prepare two isolates (~5 ms CPU each)
CONCURRENT_CELL = (
    "const t0 = Date.now();\n"
    f"await Promise.all(Array.from({{length: {CONCURRENT_CALLS}}}, "
    "(_, i) => tools.bench_echo({i})));\n"
    "text(String(Date.now() - t0));"
)


@dataclass(frozen=True)
class Settings:
    starts: int
    warmups: int
    pairs: int
    tool_rounds: int


FULL = Settings(starts=8, warmups=20, pairs=200, tool_rounds=40)
QUICK = Settings(starts=2, warmups=5, pairs=30, tool_rounds=5)


def pairwise(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


# -- start-up --------------------------------------------------------------------------------------


def measure_startup(starts: int) -> dict[str, list[float]]:
    """Start each kernel `starts` times, alternating kernels and which one goes first."""
    times: dict[str, list[float]] = {"codemode": [], "python3": []}
    for i in range(starts):
        order = ("codemode", "python3") if i % 2 == 0 else ("python3", "codemode")
        for name in order:
            kernel = LiveKernel.start(name)
            times[name].append(kernel.startup_s)
            kernel.stop()
    return times


def report_startup(times: dict[str, list[float]]) -> float:
    heading(
        f"kernel start-up: start_kernel() → first kernel_info_reply, {len(times['codemode'])}"
        " starts each, interleaved"
    )
    print(f"{'kernel':<10} {'median (p10-p90)':>32} {'min':>10} {'max':>10}")
    for name, values in times.items():
        print(
            f"{name:<10} {spread(values):>32} {format_seconds(min(values)):>10} "
            f"{format_seconds(max(values)):>10}"
        )
    ratios = pairwise(times["codemode"], times["python3"])
    print(f"codemode / python3, median of pairwise ratios: {ratio(statistics.median(ratios))}")
    return statistics.median(times["codemode"]) / statistics.median(times["python3"])


# -- trivial cells ---------------------------------------------------------------------------------


@dataclass
class Trips:
    reply: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)


def run_trivial(kernel: LiveKernel, code: str, trips: Trips | None = None) -> None:
    exchange = kernel.execute(code)
    if exchange.reply["content"]["status"] != "ok" or "".join(exchange.texts()).strip() != "bench":
        raise RuntimeError(f"{kernel.name}: unexpected result {exchange.reply} {exchange.outputs}")
    if trips is not None:
        trips.reply.append(exchange.reply_s)
        trips.idle.append(exchange.idle_s)


def measure_trivial(
    codemode: LiveKernel, python: LiveKernel, settings: Settings
) -> tuple[Trips, Trips]:
    for _ in range(settings.warmups):
        run_trivial(codemode, CODEMODE_CELL)
        run_trivial(python, PYTHON_CELL)
    ours, theirs = Trips(), Trips()
    for i in range(settings.pairs):
        if i % 2 == 0:
            run_trivial(codemode, CODEMODE_CELL, ours)
            run_trivial(python, PYTHON_CELL, theirs)
        else:
            run_trivial(python, PYTHON_CELL, theirs)
            run_trivial(codemode, CODEMODE_CELL, ours)
    return ours, theirs


def report_trivial(ours: Trips, theirs: Trips, settings: Settings) -> tuple[float, float]:
    heading(
        f"trivial cell round trip, {settings.pairs} interleaved pairs after "
        f"{settings.warmups} warm-ups each: median (p10-p90)"
    )
    print(f"{'kernel':<10} {'cell':<16} {'→ execute_reply':>32} {'→ status idle':>32}")
    print(f"{'codemode':<10} {CODEMODE_CELL:<16} {spread(ours.reply):>32} {spread(ours.idle):>32}")
    print(f"{'python3':<10} {PYTHON_CELL:<16} {spread(theirs.reply):>32} {spread(theirs.idle):>32}")
    reply_ratio = statistics.median(pairwise(ours.reply, theirs.reply))
    idle_ratio = statistics.median(pairwise(ours.idle, theirs.idle))
    print(
        f"{'ratio':<10} {'codemode/python3':<16} {ratio(reply_ratio):>32} {ratio(idle_ratio):>32}"
    )
    print("ratio = median over pairs of (codemode time / python3 time)")
    return reply_ratio, idle_ratio


# -- tool calls over the comm (docs/protocol.md) ---------------------------------------------


class ToolClient:
    """The client end of the `codemode` comm: registers `bench_echo` and answers its calls."""

    def __init__(self, kernel: LiveKernel) -> None:
        self.kernel = kernel
        self.comm_id = uuid.uuid4().hex
        self.registered: list[str] | None = None
        self.closed = False
        self.calls = 0

    def register(self) -> bool:
        """Open the comm and register the tool; False if the kernel does not answer in 5 s."""
        self.kernel.send_shell(
            "comm_open",
            {"comm_id": self.comm_id, "target_name": "codemode", "data": {"tools": [TOOL]}},
        )
        self.send({"type": "register_tools", "tools": [TOOL], "replace": True})
        answered = self.kernel.drain_iopub(
            self.on_iopub, lambda: self.registered is not None or self.closed, REGISTER_TIMEOUT_S
        )
        return answered and not self.closed and TOOL["name"] in (self.registered or [])

    def send(self, data: dict[str, Any]) -> None:
        self.kernel.send_shell("comm_msg", {"comm_id": self.comm_id, "data": data})

    def on_iopub(self, msg: Message) -> None:
        content = msg["content"]
        if content.get("comm_id") != self.comm_id:
            return
        if msg["msg_type"] == "comm_close":
            self.closed = True  # e.g. "No such comm target registered: codemode"
            return
        data = content.get("data") or {}
        if data.get("type") == "tools_registered":
            self.registered = list(data.get("names", []))
        elif data.get("type") == "tool_call":
            self.calls += 1
            self.send({"type": "tool_result", "call_id": data["call_id"], "result": {"ok": True}})

    def run(self, code: str, calls: int) -> tuple[float, str]:
        """Run a cell that makes `calls` tool calls, `PAUSE_S` after the last cell; its seconds
        to idle and its text output."""
        time.sleep(PAUSE_S)
        self.calls = 0
        exchange = self.kernel.execute(code, on_iopub=self.on_iopub)
        status = exchange.codemode.get("status")
        if status != "completed" or self.calls != calls:
            raise RuntimeError(f"tool cell: status {status}, {self.calls}/{calls} calls answered")
        texts = exchange.texts()
        return exchange.idle_s, texts[-1] if texts else ""

    def close(self) -> None:
        if not self.closed:
            self.kernel.send_shell("comm_close", {"comm_id": self.comm_id, "data": {}})


class CommFloor:
    """The echo kernel's end of the same exchange: every `comm_msg` comes straight back."""

    def __init__(self, kernel: LiveKernel) -> None:
        self.kernel = kernel
        self.comm_id = uuid.uuid4().hex
        self.back = 0

    def on_iopub(self, msg: Message) -> None:
        if msg["msg_type"] == "comm_msg" and msg["content"].get("comm_id") == self.comm_id:
            self.back += 1

    def exchange(self, count: int) -> float:
        """Send `count` tool-result-sized comm messages at once; seconds until all are back."""
        self.back = 0
        began = time.perf_counter()
        for call_id in range(count):
            data = {"type": "tool_result", "call_id": call_id, "result": {"ok": True}}
            self.kernel.send_shell("comm_msg", {"comm_id": self.comm_id, "data": data})
        if not self.kernel.drain_iopub(self.on_iopub, lambda: self.back == count, 30):
            raise RuntimeError(f"echo kernel: {self.back}/{count} comm messages came back")
        return time.perf_counter() - began


@dataclass
class ToolFigures:
    one_call_extra: list[float] = field(default_factory=list)
    sequential_per_call: list[float] = field(default_factory=list)
    concurrent_extra: list[float] = field(default_factory=list)
    concurrent_span: list[float] = field(default_factory=list)
    floor_per_call: list[float] = field(default_factory=list)
    floor_concurrent: list[float] = field(default_factory=list)


def measure_tools(kernel: LiveKernel, echo: LiveKernel, rounds: int) -> ToolFigures | None:
    """Interleave trivial / 1-call / 20-sequential / 100-concurrent cells with the same
    exchanges on the echo kernel, `rounds` times."""
    client, floor = ToolClient(kernel), CommFloor(echo)
    try:
        if not client.register():
            return None
        figures = ToolFigures()
        for round_ in range(rounds + 2):  # the first two rounds warm up
            trivial, _ = client.run(CODEMODE_CELL, 0)
            one, _ = client.run(ONE_CALL_CELL, 1)
            _, sequential_ms = client.run(SEQUENTIAL_CELL, SEQUENTIAL_CALLS)
            concurrent, concurrent_ms = client.run(CONCURRENT_CELL, CONCURRENT_CALLS)
            floor_sequential = sum(floor.exchange(1) for _ in range(SEQUENTIAL_CALLS))
            floor_concurrent = floor.exchange(CONCURRENT_CALLS)
            if round_ >= 2:
                figures.one_call_extra.append(one - trivial)
                figures.sequential_per_call.append(float(sequential_ms) / 1e3 / SEQUENTIAL_CALLS)
                figures.concurrent_extra.append(concurrent - trivial)
                figures.concurrent_span.append(float(concurrent_ms) / 1e3)
                figures.floor_per_call.append(floor_sequential / SEQUENTIAL_CALLS)
                figures.floor_concurrent.append(floor_concurrent)
        return figures
    finally:
        client.close()


def row(label: str, value: str) -> None:
    print(f"{label:<62} {value:>32}")


def report_one_tool_call(figures: ToolFigures | None) -> float | None:
    """One nested tool call round trip: JS → kernel → comm → client → comm → kernel → JS."""
    if figures is None:
        row("one tool call round trip", NA)
        return None
    extra = figures.one_call_extra
    row("one tool call: cell - trivial cell (→ idle)", spread(extra))
    row(
        f"one tool call: {SEQUENTIAL_CALLS} sequential in a cell, per call (JS clock)",
        spread(figures.sequential_per_call),
    )
    row("  floor: one comm message echoed (echo kernel)", spread(figures.floor_per_call))
    return statistics.median(extra)


def report_concurrent_tool_calls(figures: ToolFigures | None) -> float | None:
    """100 concurrent tool calls (`Promise.all`) answered by one client."""
    if figures is None:
        row(f"{CONCURRENT_CALLS} concurrent tool calls", NA)
        return None
    row(
        f"{CONCURRENT_CALLS} concurrent calls: cell - trivial cell (→ idle)",
        spread(figures.concurrent_extra),
    )
    row(
        f"{CONCURRENT_CALLS} concurrent calls: first call → last result (JS clock)",
        spread(figures.concurrent_span),
    )
    row(
        f"  floor: {CONCURRENT_CALLS} comm messages at once, all echoed (echo kernel)",
        spread(figures.floor_concurrent),
    )
    return statistics.median(figures.concurrent_extra)


# -- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer starts, pairs and rounds")
    settings = QUICK if parser.parse_args().quick else FULL
    use_this_checkout_kernelspec()
    write_kernelspecs(deno=None)
    print(machine())

    startup = measure_startup(settings.starts)
    startup_ratio = report_startup(startup)

    codemode, python = LiveKernel.start("codemode"), LiveKernel.start("python3")
    echo = LiveKernel.start("codemode-echo")
    try:
        ours, theirs = measure_trivial(codemode, python, settings)
        reply_ratio, idle_ratio = report_trivial(ours, theirs, settings)
        heading(
            f"tool calls over the `codemode` comm, {settings.tool_rounds} rounds: median (p10-p90)"
        )
        figures = measure_tools(codemode, echo, settings.tool_rounds)
        one_call = report_one_tool_call(figures)
        concurrent = report_concurrent_tool_calls(figures)
    finally:
        for kernel in (codemode, python, echo):
            kernel.stop()

    heading("targets (issue)")
    print_targets(
        [
            Target("trivial cell round trip, codemode/python3 (→ reply)", reply_ratio, 1.0, ratio),
            Target("trivial cell round trip, codemode/python3 (→ idle)", idle_ratio, 1.0, ratio),
            Target("one tool call round trip (median)", one_call, 1.0e-3, format_seconds),
            Target(
                f"{CONCURRENT_CALLS} concurrent tool calls (median)",
                concurrent,
                30e-3,
                format_seconds,
            ),
            Target("kernel start-up, codemode/python3 (medians)", startup_ratio, 0.6, ratio),
        ]
    )


if __name__ == "__main__":
    main()
