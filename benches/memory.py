"""Kernel memory: what a live yielded cell costs, and whether many short cells leak.

What is measured, and why (the kernel process's VmRSS from /proc/<pid>/status, through a real
kernel and jupyter_client):

* **Per live idle cell** — a cell that yields and then waits forever
  (`yield_control(); await new Promise(() => {})`) keeps its isolate and thread alive. A user can
  have up to `max_cells` (128) of them, so their RSS bounds the kernel's footprint. We start a
  fresh kernel, run a few warm-up cells, then open 100 such cells and divide the RSS growth by
  100. (The cells are left running; the kernel is killed afterwards.)
* **Growth over 2 000 sequential cells** - `text("bench")` cells one after another on a fresh
  kernel, sampling RSS every 200 cells. Every cell creates and frees an isolate, so a leak there
  shows as a steady climb. The early windows also hold allocator and cache warm-up, so the growth
  that counts is over the second half of the run (a leak grows there as fast as anywhere),
  estimated by a least-squares line through the samples of that half so that one noisy sample
  does not decide it. "No growth beyond noise" is taken as ≤ 1 MiB over those 1 000 cells
  (about 1 KiB per cell). ipykernel's `python3` kernel runs `print("bench")` alongside, request
  for request, as a yardstick for what any ipykernel kernel grows by (part of that is
  jupyter_client's replay-protection set of message signatures, ~190 B per request, capped at
  65 536 entries).

Run: `.venv/bin/python benches/memory.py [--quick]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

from common import (
    MIB,
    LiveKernel,
    Target,
    format_bytes,
    heading,
    machine,
    print_targets,
    use_this_checkout_kernelspec,
)

IDLE_CELL = "yield_control(); await new Promise(() => {})"
TRIVIAL_CELL = 'text("bench")'
PYTHON_CELL = 'print("bench")'
WARMUP_CELLS = 20
SETTLE_S = 1.0
GROWTH_NOISE_BYTES = 1 * MIB


@dataclass(frozen=True)
class Settings:
    live_cells: int
    sequential_cells: int
    sample_every: int


FULL = Settings(live_cells=100, sequential_cells=2000, sample_every=200)
QUICK = Settings(live_cells=20, sequential_cells=400, sample_every=100)


def warm_up(kernel: LiveKernel) -> None:
    for _ in range(WARMUP_CELLS):
        run(kernel, TRIVIAL_CELL, "completed")
    time.sleep(SETTLE_S)


def run(kernel: LiveKernel, code: str, status: str) -> None:
    got = kernel.execute(code).codemode.get("status")
    if got != status:
        raise RuntimeError(f"cell {code!r} ended {got}, expected {status}")


def measure_live_cells(count: int) -> tuple[int, int]:
    """RSS before and after opening `count` yielded, idle cells."""
    kernel = LiveKernel.start("codemode")
    try:
        warm_up(kernel)
        before = kernel.rss_bytes()
        for _ in range(count):
            run(kernel, IDLE_CELL, "running")
        time.sleep(SETTLE_S)  # the pool refills after the last cell; let it finish
        return before, kernel.rss_bytes()
    finally:
        kernel.stop()


def measure_sequential(total: int, every: int) -> dict[str, list[tuple[int, int]]]:
    """(cells run, RSS) per kernel, after the warm-up and then every `every` cells."""
    codemode, python = LiveKernel.start("codemode"), LiveKernel.start("python3")
    try:
        warm_up(codemode)
        for _ in range(WARMUP_CELLS):
            python.execute(PYTHON_CELL)
        samples = {"codemode": [(0, codemode.rss_bytes())], "python3": [(0, python.rss_bytes())]}
        for done in range(1, total + 1):
            run(codemode, TRIVIAL_CELL, "completed")
            python.execute(PYTHON_CELL)
            if done % every == 0:
                samples["codemode"].append((done, codemode.rss_bytes()))
                samples["python3"].append((done, python.rss_bytes()))
        return samples
    finally:
        codemode.stop()
        python.stop()


def second_half_growth(samples: list[tuple[int, int]]) -> tuple[int, int, float]:
    """First and last cell of the run's second half, and the fitted RSS growth across it."""
    last = samples[-1][0]
    half = [(c, r) for c, r in samples if 2 * c >= last]
    slope, _ = statistics.linear_regression([c for c, _ in half], [r for _, r in half])
    return half[0][0], last, slope * (last - half[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer live and sequential cells")
    settings = QUICK if parser.parse_args().quick else FULL
    use_this_checkout_kernelspec()
    print(machine())

    heading(f"RSS per live idle cell ({settings.live_cells} cells: {IDLE_CELL})")
    before, after = measure_live_cells(settings.live_cells)
    per_cell = (after - before) / settings.live_cells
    print(
        f"kernel RSS before {format_bytes(before)}, with {settings.live_cells} live cells "
        f"{format_bytes(after)}: {format_bytes(per_cell)} per cell"
    )

    heading(
        f"RSS over {settings.sequential_cells} sequential cells (codemode {TRIVIAL_CELL}, "
        f"python3 {PYTHON_CELL}, alternating), after {WARMUP_CELLS} warm-up cells"
    )
    samples = measure_sequential(settings.sequential_cells, settings.sample_every)
    print(f"{'cells':>6} {'codemode RSS':>14} {'Δ from start':>14} {'python3 RSS':>14} {'Δ':>12}")
    ours, theirs = samples["codemode"], samples["python3"]
    for (cells, rss), (_, py_rss) in zip(ours, theirs, strict=True):
        print(
            f"{cells:>6} {format_bytes(rss):>14} {format_bytes(rss - ours[0][1]):>14} "
            f"{format_bytes(py_rss):>14} {format_bytes(py_rss - theirs[0][1]):>12}"
        )
    half_from, last_cells, growth = second_half_growth(ours)
    py_growth = second_half_growth(theirs)[2]
    span = last_cells - half_from
    print(
        f"fitted growth over the second half (cells {half_from}-{last_cells}): codemode "
        f"{format_bytes(growth)} ({format_bytes(growth / span)} per cell), python3 "
        f"{format_bytes(py_growth)} ({format_bytes(py_growth / span)} per cell)"
    )

    heading("targets (issue)")
    print_targets(
        [
            Target("RSS per live idle cell", per_cell, 2 * MIB, format_bytes),
            Target(
                f"RSS growth over cells {half_from}-{last_cells} (fitted)",
                growth,
                GROWTH_NOISE_BYTES,
                format_bytes,
            ),
        ]
    )


if __name__ == "__main__":
    main()
