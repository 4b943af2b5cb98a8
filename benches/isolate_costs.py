"""What a fresh isolate costs: the floors under the speed targets that our code cannot lower.

What is measured, and why:

* **CPU per isolate** — this process's user + system time to create an isolate, install the
  prelude, and free it, one isolate at a time. Every cell gets a fresh isolate, so this is CPU
  that every cell costs on top of the protocol's own (compare the echo floor's CPU per cell in
  `peers.py`), and what caps back-to-back cells per second on two cores.
* **Wake-up after idle** — the wall time of the first eval queued on a prepared isolate after it
  has sat idle for 0, 10 and 100 ms, and of a second eval right after. JavaScript runs only on
  the isolate's own thread, so a cell wakes that thread once and it wakes the kernel's thread
  once more: one wake-up more than a kernel that runs everything on its own thread. The
  difference between the idle times is what the sleeping thread costs to wake on this machine.

Numbers are printed, never asserted. Run: `.venv/bin/python benches/isolate_costs.py [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from common import format_duration, heading, machine, spread

from codemode_kernel.runtime.isolate import Isolate, init_v8

IDLE_MS = (0, 10, 100)
WARMUPS = 5


def cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


async def measure(isolates: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """CPU per phase of `isolates` isolates made back to back, then the first and second eval
    on `isolates` more, each after its idle time."""
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(2)

    async def free(fn: Callable[[], None]) -> None:
        await loop.run_in_executor(executor, fn)

    async def prepared() -> Isolate:
        isolate = await Isolate.create(loop, executor)
        await isolate.install_prelude()
        return isolate

    cpu: dict[str, list[float]] = {"create": [], "prelude": [], "free": []}
    for n in range(WARMUPS + isolates):
        c0 = cpu_ns()
        isolate = await Isolate.create(loop, executor)
        c1 = cpu_ns()
        await isolate.install_prelude()
        c2 = cpu_ns()
        await isolate.aclose(free)
        if n >= WARMUPS:
            for phase, span in zip(cpu, (c1 - c0, c2 - c1, cpu_ns() - c2), strict=True):
                cpu[phase].append(span)

    evals: dict[str, list[float]] = {}
    for idle_ms in IDLE_MS:
        for n in range(WARMUPS + isolates):
            isolate = await prepared()
            await asyncio.sleep(idle_ms / 1e3)
            spans = []
            for _ in range(2):
                began = time.perf_counter_ns()
                await isolate.eval("1")
                spans.append(time.perf_counter_ns() - began)
            await isolate.aclose(free)
            if n >= WARMUPS:
                evals.setdefault(f"first eval after {idle_ms} ms idle", []).append(spans[0])
                evals.setdefault(f"second eval, right after it ({idle_ms} ms)", []).append(spans[1])
    executor.shutdown()
    return cpu, evals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 isolates per row instead of 100")
    isolates = 20 if parser.parse_args().quick else 100
    print(machine())
    init_v8()
    cpu, evals = asyncio.run(measure(isolates))
    heading(f"CPU per isolate, {isolates} isolates back to back: median (p10-p90)")
    for phase, values in cpu.items():
        print(f"{phase:<48} {spread(values, format_duration):>34}")
    total = sum(statistics.median(v) for v in cpu.values())
    print(f"{'create + prelude + free (sum of medians)':<48} {format_duration(total):>34}")
    heading("an eval on a prepared isolate, by how long it sat idle: median (p10-p90)")
    for label, values in evals.items():
        print(f"{label:<48} {spread(values, format_duration):>34}")


if __name__ == "__main__":
    main()
