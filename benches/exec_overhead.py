"""In-process exec overhead: the reference's `exec_overhead` benchmark, re-created on our session.

What is measured, and why: the cost of one code-mode exec with no Jupyter and no ZMQ in the way —
`Session.exec(ExecRequest('text("bench");'))` on a real `Engine`, from the call to its outcome —
so the number compares directly with the reference's `CodeModeService::execute`
(codex-rs/code-mode/benches/exec_overhead.rs, PR #15276). Same flags, defaults, workload, checks
(status "completed", exactly one item), tool definitions, report format and percentiles; every
sample runs in a fresh worker process (this script re-executed with `--worker …`).

Scenarios, for each tool count:

* `cold_exec` - the first exec in a fresh process, as the reference defines it. Here that
  includes starting the `Engine` (loading V8, platform init) and preparing the first isolate, so
  the clock (and the RSS baseline) starts before `Engine()`.
* `cold_exec_after_start` - the first exec once the engine has started and its pool of prepared
  isolates is full: what the first cell of an already started kernel costs.
* `warm_exec` - one warm-up exec, then `--warm-iterations` timed execs back to back. As in the
  reference every exec gets a fresh isolate, so this is a throughput figure: each exec also pays
  for (or competes with) preparing the isolate of a later one.
* `warm_exec_paced` - the same execs, each started only once the pool is full again (the wait is
  not timed): the latency of a cell when cells are not back to back, as in a notebook.

Then **tool calls in process**: the same session with a router that answers every
`tools.bench_echo()` at once, so a nested call's cost without Jupyter — the cell posts the call,
the session routes it, the result goes back into the isolate — is set apart from the comm round
trip that `roundtrip.py` measures. Each round times a trivial cell, 20 sequential calls and 100
concurrent ones, paced like `warm_exec_paced`; a call's cost is its cell's time over the trivial
cell's.

Memory is the reference's `max_rss_delta_bytes`: `ru_maxrss` after the timed loop minus the
same after the warm-ups (KiB on Linux).

Run: `.venv/bin/python benches/exec_overhead.py [--quick] [--samples N] [--warm-iterations N]
[--tool-counts 0,32,128]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from common import (
    KIB,
    MIB,
    Target,
    format_bytes,
    format_duration,
    heading,
    machine,
    percentile,
    print_targets,
    ratio,
    spread,
)

from codemode_kernel.output.items import Item
from codemode_kernel.runtime import Engine
from codemode_kernel.session.cell import Cell, ToolRequest
from codemode_kernel.session.session import Session, SessionConfig
from codemode_kernel.source import ExecRequest

BENCH_SOURCE = 'text("bench");'
SCENARIOS = ("cold_exec", "cold_exec_after_start", "warm_exec", "warm_exec_paced")
PACED = ("cold_exec_after_start", "warm_exec_paced")
POOL_READY_TIMEOUT_S = 5.0

# The reference's published table (PR #15276: --samples 30 --warm-iterations 25), in ns / bytes.
REFERENCE: dict[tuple[str, int], tuple[float, float, float, float]] = {
    ("cold_exec", 0): (1.13e6, 1.20e6, 8.05 * MIB, 8.06 * MIB),
    ("warm_exec", 0): (473e3, 512e3, 912 * KIB, 1.33 * MIB),
    ("cold_exec", 32): (1.03e6, 1.15e6, 8.08 * MIB, 8.11 * MIB),
    ("warm_exec", 32): (510e3, 546e3, 960 * KIB, 1.30 * MIB),
    ("cold_exec", 128): (1.14e6, 1.19e6, 8.30 * MIB, 8.34 * MIB),
    ("warm_exec", 128): (575e3, 591e3, 736 * KIB, 864 * KIB),
}
REFERENCE_SAMPLES = 30
ROW = "{:<22} {:>7} {:>7} {:>10} {:>10} {:>14} {:>14} {:>14} {:>14}"


# -- worker: one fresh process, one sample -------------------------------------------------------


class BenchTools:
    """A tool router that only advertises `count` dummy function tools (none is ever called)."""

    def __init__(self, count: int) -> None:
        self._definitions = [
            {"name": f"bench_tool_{i:04}", "description": f"Benchmark tool {i}", "kind": "function"}
            for i in range(count)
        ]

    def definitions(self) -> list[dict[str, Any]]:
        return self._definitions

    def call(self, request: ToolRequest) -> None:
        raise RuntimeError(f"a benchmark cell called a tool: {request}")

    def cancel(self, cell: Cell) -> None:
        pass


class AnsweringTools(BenchTools):
    """A router with one tool, `bench_echo`, that answers each call at once with {ok: true}."""

    def __init__(self) -> None:
        self._definitions = [
            {"name": "bench_echo", "description": "Benchmark tool", "kind": "function"}
        ]

    def call(self, request: ToolRequest) -> None:
        request.cell.resolve_tool(request.js_id, True, {"ok": True})


SEQUENTIAL_CALLS, CONCURRENT_CALLS = 20, 100
TOOL_CELLS = (  # a trivial cell, 20 calls in a row, 100 calls at once
    BENCH_SOURCE,
    f"for (let i = 0; i < {SEQUENTIAL_CALLS}; i++) await tools.bench_echo({{i}});",
    f"await Promise.all(Array.from({{length: {CONCURRENT_CALLS}}}, "
    "(_, i) => tools.bench_echo({i})));",
)


class Items:
    """An observer that keeps the cell's items."""

    def __init__(self) -> None:
        self.items: list[Item] = []

    def on_attach(self, cell_id: str) -> None:
        pass

    def on_item(self, item: Item) -> None:
        self.items.append(item)

    def on_notify(self, text: str) -> None:
        pass


async def bench_exec(session: Session) -> None:
    """One exec of the workload, checked like the reference checks it."""
    seen = Items()
    outcome = await session.exec(ExecRequest(BENCH_SOURCE, None, None), seen)
    if outcome.status != "completed" or len(seen.items) != 1:
        raise RuntimeError(f"unexpected exec outcome {outcome} with items {seen.items}")


async def tool_call_rounds(rounds: int) -> tuple[list[float], list[float]]:
    """Per round: (sequential cell - trivial) / 20 and (concurrent cell - trivial), in ns."""
    engine = Engine(prepared=2)
    session = Session(engine, SessionConfig(), tools=AnsweringTools())
    per_call: list[float] = []
    concurrent: list[float] = []
    for round_ in range(rounds + 2):  # two rounds warm up
        spans = []
        for source in TOOL_CELLS:
            await wait_for_pool(engine)
            started = time.perf_counter_ns()
            outcome = await session.exec(ExecRequest(source, None, None), Items())
            spans.append(time.perf_counter_ns() - started)
            if outcome.status != "completed":
                raise RuntimeError(f"tool-call cell ended {outcome}")
        if round_ >= 2:
            trivial, sequential, together = spans
            per_call.append((sequential - trivial) / SEQUENTIAL_CALLS)
            concurrent.append(together - trivial)
    await wait_for_pool(engine)
    await session.shutdown()
    return per_call, concurrent


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


async def wait_for_pool(engine: Engine) -> None:
    """Until every prepared isolate is ready (the engine's private state; if that ever changes
    shape, a fixed pause long enough to prepare two isolates)."""
    ready, prepared = getattr(engine, "_ready", None), getattr(engine, "_prepared", None)
    if ready is None or not isinstance(prepared, int):
        await asyncio.sleep(0.2)
        return
    deadline = time.monotonic() + POOL_READY_TIMEOUT_S
    while len(ready) < prepared and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


@dataclass
class WorkerReport:
    scenario: str
    tool_count: int
    iterations: int
    warmups: int
    mean_exec_nanos: int
    min_exec_nanos: int
    max_exec_nanos: int
    total_exec_nanos: int
    max_rss_delta_bytes: int


async def run_worker(scenario: str, tool_count: int, iterations: int, warmups: int) -> WorkerReport:
    """One sample, in this fresh process: the reference's worker loop, timing each exec alone.

    `cold_exec` times `Engine()` plus the first exec; the other scenarios time `iterations`
    execs after `warmups` untimed ones, the paced ones waiting (untimed) for a full pool first.
    """
    tools = BenchTools(tool_count)
    times: list[int] = []
    baseline = max_rss_bytes()
    started = time.perf_counter_ns()
    engine = Engine(prepared=2)
    session = Session(engine, SessionConfig(), tools=tools)
    if scenario == "cold_exec":
        await bench_exec(session)
        times.append(time.perf_counter_ns() - started)
    for i in range(0 if scenario == "cold_exec" else warmups + iterations):
        if scenario in PACED:
            await wait_for_pool(engine)
        if i == warmups:
            baseline = max_rss_bytes()
        started = time.perf_counter_ns()
        await bench_exec(session)
        if i >= warmups:
            times.append(time.perf_counter_ns() - started)
    delta = max(0, max_rss_bytes() - baseline)
    await wait_for_pool(engine)  # let the refill finish so shutdown frees every isolate
    await session.shutdown()
    return WorkerReport(
        scenario,
        tool_count,
        iterations,
        warmups,
        sum(times) // len(times),
        min(times),
        max(times),
        sum(times),
        delta,
    )


# -- parent: spawn workers, summarize, compare -----------------------------------------------------


@dataclass
class Row:
    scenario: str
    tools: int
    samples: int
    warmups: int
    iterations: int
    mean_ns: float
    p95_ns: float
    rss_p50: float
    rss_max: float


def run_sample(scenario: str, tool_count: int, iterations: int, warmups: int) -> WorkerReport:
    argv = [sys.executable, __file__, "--worker", "--scenario", scenario]
    argv += ["--tool-count", str(tool_count), "--iterations", str(iterations)]
    argv += ["--warmups", str(warmups)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"benchmark worker failed for scenario {scenario} / tools {tool_count}: "
            f"{done.stderr.strip()}"
        )
    return WorkerReport(**json.loads(done.stdout.strip().splitlines()[-1]))


def summarize(reports: list[WorkerReport]) -> Row:
    means = sorted(r.mean_exec_nanos for r in reports)
    rss = sorted(r.max_rss_delta_bytes for r in reports)
    first = reports[0]
    return Row(
        first.scenario,
        first.tool_count,
        len(reports),
        first.warmups,
        first.iterations,
        sum(means) / len(means),
        percentile(means, 95),
        percentile(rss, 50),
        rss[-1],
    )


def print_table(rows: list[Row]) -> None:
    print(ROW.format(*["scenario", "tools", "samples", "warmups", "iters"], *_METRICS))
    for r in rows:
        print(
            ROW.format(
                r.scenario,
                r.tools,
                r.samples,
                r.warmups,
                r.iterations,
                format_duration(r.mean_ns),
                format_duration(r.p95_ns),
                format_bytes(r.rss_p50),
                format_bytes(r.rss_max),
            )
        )


_METRICS = ("mean/exec", "p95/exec", "rssΔ p50", "rssΔ max")


def reference_row(scenario: str, tools: int, warm_iterations: int) -> Row | None:
    """The published row this scenario compares with (ours after-start vs their cold)."""
    base = "cold_exec" if scenario.startswith("cold") else "warm_exec"
    values = REFERENCE.get((base, tools))
    if values is None:
        return None
    warmups, iterations = (0, 1) if base == "cold_exec" else (1, warm_iterations)
    return Row(base, tools, REFERENCE_SAMPLES, warmups, iterations, *values)


def print_comparison(rows: list[Row], warm_iterations: int) -> None:
    heading("reference (codex exec_overhead, PR #15276, published)")
    published = [
        ref
        for tools in sorted({t for _, t in REFERENCE})
        for base in ("cold_exec", "warm_exec")
        if (ref := reference_row(base, tools, 25)) is not None
    ]
    print_table(published)
    heading("ratio ours / reference (our extra scenarios are set against cold_exec / warm_exec)")
    print(ROW.format("scenario", "tools", "", "", "", *_METRICS))
    for r in rows:
        ref = reference_row(r.scenario, r.tools, warm_iterations)
        if ref is None:
            print(ROW.format(r.scenario, r.tools, "", "", "", *["n/a"] * 4))
            continue
        ours = (r.mean_ns, r.p95_ns, r.rss_p50, r.rss_max)
        theirs = (ref.mean_ns, ref.p95_ns, ref.rss_p50, ref.rss_max)
        cells = [ratio(a / b) if b else "n/a" for a, b in zip(ours, theirs, strict=True)]
        print(ROW.format(r.scenario, r.tools, "", "", "", *cells))


def targets(rows: list[Row]) -> list[Target]:
    """The issue's targets: the reference's 0-tool latencies, and 400 back-to-back cells/s."""
    by_key = {(r.scenario, r.tools): r for r in rows}

    def mean(scenario: str) -> float | None:
        row = by_key.get((scenario, 0))
        return row.mean_ns if row else None

    return [
        Target(
            "in-process warm exec, pool ready (warm_exec_paced mean)",
            mean("warm_exec_paced"),
            0.47e6,
            format_duration,
        ),
        Target(
            "cold exec after start (cold_exec_after_start mean)",
            mean("cold_exec_after_start"),
            1.13e6,
            format_duration,
        ),
        Target(
            "back-to-back execs, ≥ 400 cells/s (warm_exec mean)",
            mean("warm_exec"),
            1e9 / 400,
            format_duration,
        ),
    ]


def run_parent(samples: int, warm_iterations: int, tool_counts: list[int]) -> None:
    print(machine())
    rows = []
    for tools in tool_counts:
        for scenario in SCENARIOS:
            warm = scenario.startswith("warm")
            iterations, warmups = (warm_iterations, 1) if warm else (1, 0)
            reports = [run_sample(scenario, tools, iterations, warmups) for _ in range(samples)]
            rows.append(summarize(reports))
    print(
        f"exec_overhead: samples={samples}, warm_iterations={warm_iterations}, "
        f"tool_counts={tool_counts}"
    )
    print_table(rows)
    print("memory uses a fresh-process max RSS delta for each scenario")
    print(
        "cold_exec includes Engine() start (V8 load + init, first isolate + prelude); "
        "cold_exec_after_start is the first exec once the prepared-isolate pool is full;\n"
        "warm_exec runs execs back to back (throughput); warm_exec_paced waits, untimed, for "
        "the pool to refill before each exec (latency)"
    )
    print_comparison(rows, warm_iterations)
    heading(f"tool calls in process, answered at once ({warm_iterations} rounds): median (p10-p90)")
    per_call, concurrent = asyncio.run(tool_call_rounds(warm_iterations))
    for label, values in (
        (f"one call, of {SEQUENTIAL_CALLS} in a row", per_call),
        (f"{CONCURRENT_CALLS} concurrent calls", concurrent),
    ):
        print(f"{label:<40} {spread(values, format_duration):>34}")
    heading("targets (issue)")
    print_targets(targets(rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 samples, 10 warm iterations")
    parser.add_argument("--samples", type=int)
    parser.add_argument("--warm-iterations", type=int)
    parser.add_argument("--tool-counts", default="0,32,128")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--tool-count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--iterations", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warmups", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.samples is None:
        args.samples = 2 if args.quick else 8
    if args.warm_iterations is None:
        args.warm_iterations = 10 if args.quick else 25
    if args.samples <= 0 or args.warm_iterations <= 0:
        parser.error("--samples and --warm-iterations must be greater than 0")
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        report = asyncio.run(
            run_worker(args.scenario, args.tool_count, args.iterations, args.warmups)
        )
        print(json.dumps(asdict(report)))
        return
    counts = [int(c) for c in args.tool_counts.split(",") if c.strip()]
    run_parent(args.samples, args.warm_iterations, counts)


if __name__ == "__main__":
    main()
