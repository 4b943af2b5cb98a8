"""Soak: thousands of cells, tool calls and yields against one kernel; RSS and threads stay flat.

One real kernel process (jupyter_client over ZMQ) runs rounds of a mixed workload until the time
is up: a trivial cell, a cell making three nested tool calls answered over the `codemode` comm, a
cell that yields and is collected with `%wait`, a cell that fails, a store commit and a bad
pragma. Every `--every` seconds it samples the kernel's RSS (VmRSS), its thread count (every
isolate has its own thread, so a leaked isolate shows here) and the live cells (`%cells`).

What counts as flat: RSS growth over the second half of the run, fitted by least squares (one
noisy sample does not decide it), under 8 MiB; threads at the end no more than at the first
sample plus the prepared-isolate pool's refill (4); no live cell left. Numbers are printed,
never asserted (benches/README.md).

Run: `.venv/bin/python benches/soak.py [--quick]` (quick: about 20 s; full: about 3 minutes —
not on a loaded machine).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    MIB,
    LiveKernel,
    Message,
    Target,
    format_bytes,
    heading,
    machine,
    print_targets,
    use_this_checkout_kernelspec,
)

TOOL_CELL = "let s = 0; for (let i = 0; i < 3; i++) s += (await tools.echo({ n: i })).n; s"
YIELD_CELL = 'yield_control(); await new Promise(r => setTimeout(r, 5)); text("after")'
FAIL_CELL = 'throw new Error("soak")'
STORE_CELL = 'store("soak", { n: (load("soak")?.n ?? 0) + 1 })'
BAD_PRAGMA = "// @exec: " + "[" * 5000 + "\n1"
GROWTH_LIMIT = 8 * MIB
THREAD_SLACK = 4


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    cells: int
    tool_calls: int
    yields: int
    rss: int
    threads: int
    live_cells: int


class Soak:
    """The workload, the comm that answers tool calls, and the counters."""

    def __init__(self, kernel: LiveKernel) -> None:
        self.kernel = kernel
        self.comm_id = uuid.uuid4().hex
        self.cells = self.tool_calls = self.yields = 0
        content = {
            "comm_id": self.comm_id,
            "target_name": "codemode",
            "data": {"tools": [{"name": "echo", "description": "Echo the input."}]},
        }
        kernel.send_shell("comm_open", content)

    def answer(self, msg: Message) -> None:
        data = msg["content"].get("data") if msg["msg_type"] == "comm_msg" else None
        if isinstance(data, dict) and data.get("type") == "tool_call":
            self.tool_calls += 1
            result = {"type": "tool_result", "call_id": data["call_id"], "result": data["input"]}
            self.kernel.send_shell("comm_msg", {"comm_id": self.comm_id, "data": result})

    def run(self, code: str, status: str) -> Any:
        exchange = self.kernel.execute(code, on_iopub=self.answer)
        self.cells += 1
        got = exchange.codemode.get("status")
        if got != status:
            raise RuntimeError(f"cell {code[:40]!r} ended {got}, expected {status}")
        return exchange

    def round(self) -> None:
        self.run('text("soak")', "completed")
        self.run(TOOL_CELL, "completed")
        cell_id = self.run(YIELD_CELL, "running").codemode["cell_id"]
        self.yields += 1
        self.run(f"%wait {cell_id}", "completed")
        self.run(FAIL_CELL, "failed")
        self.run(STORE_CELL, "completed")
        self.run(BAD_PRAGMA, "failed")

    def live_cells(self) -> int:
        exchange = self.kernel.execute("%cells")
        text = exchange.texts()[0]
        return 0 if text == "No live cells." else len(text.splitlines()) - 1

    def sample(self, started: float) -> Sample:
        threads = 0
        for line in Path(f"/proc/{self.kernel.pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                threads = int(line.split()[1])
        return Sample(
            time.monotonic() - started,
            self.cells,
            self.tool_calls,
            self.yields,
            self.kernel.rss_bytes(),
            threads,
            self.live_cells(),
        )


def second_half_growth(samples: list[Sample]) -> float:
    half = [s for s in samples if 2 * s.elapsed_s >= samples[-1].elapsed_s]
    if len(half) < 2:
        return 0.0
    slope, _ = statistics.linear_regression(
        [s.elapsed_s for s in half], [float(s.rss) for s in half]
    )
    return slope * (half[-1].elapsed_s - half[0].elapsed_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 20 s instead of 3 minutes")
    parser.add_argument("--seconds", type=float, help="run this long (overrides --quick)")
    parser.add_argument("--every", type=float, help="seconds between samples")
    args = parser.parse_args()
    seconds = args.seconds or (20.0 if args.quick else 180.0)
    every = args.every or (2.0 if args.quick else 15.0)
    use_this_checkout_kernelspec()
    print(machine())
    kernel = LiveKernel.start("codemode")
    try:
        soak = Soak(kernel)
        for _ in range(3):  # warm-up: allocator, caches, the isolate pool
            soak.round()
        started = time.monotonic()
        samples = [soak.sample(started)]
        next_sample = started + every
        while time.monotonic() - started < seconds:
            soak.round()
            if time.monotonic() >= next_sample:
                samples.append(soak.sample(started))
                next_sample += every
        samples.append(soak.sample(started))
    finally:
        kernel.stop()

    heading(f"soak: {seconds:.0f} s of mixed rounds (7 cells, 3 tool calls, 1 yield each)")
    header = ("time", "cells", "tools", "yields", "RSS", "Δ RSS", "threads", "live")
    print("  ".join(f"{h:>9}" for h in header))
    for s in samples:
        row = (
            f"{s.elapsed_s:.0f}s",
            s.cells,
            s.tool_calls,
            s.yields,
            format_bytes(s.rss),
            format_bytes(s.rss - samples[0].rss),
            s.threads,
            s.live_cells,
        )
        print("  ".join(f"{v:>9}" for v in row))
    last = samples[-1]
    rate = (last.cells - samples[0].cells) / max(last.elapsed_s, 1e-9)
    print(
        f"\n{last.cells} cells, {last.tool_calls} tool calls, {last.yields} yields; "
        f"{rate:.0f} cells/s"
    )

    heading("targets (issue)")
    print_targets(
        [
            Target(
                "RSS growth, second half", second_half_growth(samples), GROWTH_LIMIT, format_bytes
            ),
            Target(
                "threads above the first sample",
                float(last.threads - samples[0].threads),
                THREAD_SLACK,
                lambda v: f"{v:.0f}",
            ),
            Target("live cells at the end", float(last.live_cells), 0, lambda v: f"{v:.0f}"),
        ]
    )


if __name__ == "__main__":
    main()
