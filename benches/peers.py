"""codemode beside its peers, in one run: the protocol floor, python3 and Deno's kernel.

Kernels (each skipped with a line saying why when it cannot run here):

* **codemode** — this checkout, from a private kernelspec (`common.use_this_checkout_kernelspec`).
* **echo** — `benches/echo_kernel.py`, an ipykernel kernel that only publishes one stream line
  and replies: the floor every ipykernel-based kernel pays, so `codemode / echo` is what our own
  cell path costs above the protocol.
* **python3** — ipykernel's own kernel, what a Jupyter user compares us with.
* **deno** — `deno jupyter`, installed on demand with `npm install deno` into
  `~/.cache/codemode-kernel/deno` (override with `CODEMODE_DENO`, a path to a `deno` binary).

What is measured, interleaved so machine noise hits every kernel alike (each round visits the
kernels in a rotated order):

* **start-up** — `start_kernel()` → the first `kernel_info_reply`, a fresh process per sample;
* **trivial cell** — `execute_request` → `status: idle` (all output delivered) for each kernel's
  one-line print, and the kernel process's CPU (user + system from `/proc/<pid>/stat`) per cell;
* **CPU loop** — summing 1..1e7 in the kernel's language (not for echo).

Ratios are pairwise: for each round, `codemode time / peer time`, then the median over rounds.
Numbers are printed, never asserted; targets get MET / NOT MET.

Run: `.venv/bin/python benches/peers.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common import (
    LiveKernel,
    Target,
    format_seconds,
    heading,
    machine,
    print_targets,
    ratio,
    spread,
    use_this_checkout_kernelspec,
)

HERE = Path(__file__).resolve().parent
DENO_CACHE = Path.home() / ".cache" / "codemode-kernel" / "deno"
LOOP = 10_000_000
CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Peer:
    """A kernel to compare: its kernelspec name, a trivial cell and a CPU-loop cell."""

    name: str
    trivial: str
    loop: str | None


PEERS = (
    Peer(
        "codemode",
        'text("bench")',
        f"let s = 0; for (let i = 1; i <= {LOOP}; i++) s += i; text(String(s))",
    ),
    Peer("codemode-echo", "bench", None),
    Peer(
        "python3", 'print("bench")', f"s = 0\nfor i in range(1, {LOOP} + 1):\n    s += i\nprint(s)"
    ),
    Peer(
        "codemode-deno",
        'console.log("bench")',
        f"let s = 0; for (let i = 1; i <= {LOOP}; i++) s += i; console.log(s)",
    ),
)
LABELS = {"codemode-echo": "echo floor", "codemode-deno": "deno"}


@dataclass(frozen=True)
class Settings:
    starts: int
    warmups: int
    rounds: int
    loops: int


FULL = Settings(starts=6, warmups=20, rounds=200, loops=5)
QUICK = Settings(starts=2, warmups=5, rounds=30, loops=1)


@dataclass
class Samples:
    startup: list[float] = field(default_factory=list)
    idle: list[float] = field(default_factory=list)
    cpu_per_cell: float | None = None
    loop: list[float] = field(default_factory=list)


# -- kernelspecs -------------------------------------------------------------------------------


def deno_binary() -> tuple[str | None, str]:
    """Deno's binary, installing it with npm when needed; or None and why not."""
    given = os.environ.get("CODEMODE_DENO")
    if given:
        return (given, "CODEMODE_DENO") if Path(given).is_file() else (None, f"{given} not found")
    binary = DENO_CACHE / "node_modules" / "deno" / "deno"
    if binary.is_file():
        return str(binary), str(binary)
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not installed"
    DENO_CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(DENO_CACHE), "--no-audit", "--no-fund", "deno"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0 or not binary.is_file():
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return None, f"`npm install deno` failed: {last[0]}"
    return str(binary), f"installed into {DENO_CACHE}"


def write_kernelspecs(deno: str | None) -> None:
    """The echo and Deno kernelspecs, in a throwaway Jupyter data dir put first on the path."""
    data = Path(tempfile.mkdtemp(prefix="codemode-peers-"))
    specs = {
        "codemode-echo": {
            "argv": [sys.executable, str(HERE / "echo_kernel.py"), "-f", "{connection_file}"],
            "display_name": "echo floor",
            "language": "text",
        }
    }
    if deno is not None:
        specs["codemode-deno"] = {
            "argv": [deno, "jupyter", "--kernel", "--conn", "{connection_file}"],
            "display_name": "Deno",
            "language": "typescript",
        }
    for name, spec in specs.items():
        folder = data / "kernels" / name
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(json.dumps(spec))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(data), os.environ.get("JUPYTER_PATH", "")) if p
    )


# -- measuring ---------------------------------------------------------------------------------


def rotated(peers: list[Peer], i: int) -> list[Peer]:
    k = i % len(peers)
    return peers[k:] + peers[:k]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S


def expect_ok(kernel: LiveKernel, code: str) -> float:
    exchange = kernel.execute(code)
    status = exchange.reply["content"]["status"]
    if status != "ok":
        raise RuntimeError(f"{kernel.name}: {code!r} ended {status}: {exchange.reply['content']}")
    return exchange.idle_s


def measure(peers: list[Peer], settings: Settings) -> dict[str, Samples]:
    samples = {p.name: Samples() for p in peers}
    for i in range(settings.starts):
        for peer in rotated(peers, i):
            kernel = LiveKernel.start(peer.name)
            samples[peer.name].startup.append(kernel.startup_s)
            kernel.stop()
    kernels = {p.name: LiveKernel.start(p.name) for p in peers}
    try:
        for peer in peers:
            for _ in range(settings.warmups):
                expect_ok(kernels[peer.name], peer.trivial)
        cpu_before = {name: cpu_seconds(k.pid) for name, k in kernels.items()}
        for i in range(settings.rounds):
            for peer in rotated(peers, i):
                samples[peer.name].idle.append(expect_ok(kernels[peer.name], peer.trivial))
        for name, kernel in kernels.items():
            used = cpu_seconds(kernel.pid) - cpu_before[name]
            samples[name].cpu_per_cell = used / settings.rounds
        looping = [p for p in peers if p.loop is not None]
        for i in range(settings.loops):
            for peer in rotated(looping, i):
                assert peer.loop is not None
                samples[peer.name].loop.append(expect_ok(kernels[peer.name], peer.loop))
    finally:
        for kernel in kernels.values():
            kernel.stop()
    return samples


# -- reporting ---------------------------------------------------------------------------------


def pairwise(ours: list[float], theirs: list[float]) -> float | None:
    if not ours or not theirs:
        return None
    return statistics.median(a / b for a, b in zip(ours, theirs, strict=False))


def label(name: str) -> str:
    return LABELS.get(name, name)


def report(samples: dict[str, Samples]) -> None:
    ours = samples["codemode"]
    columns: list[tuple[str, Callable[[Samples], list[float]]]] = [
        ("start-up → kernel_info_reply", lambda s: s.startup),
        ("trivial cell → idle", lambda s: s.idle),
        (f"CPU loop 1..{LOOP:.0e}", lambda s: s.loop),
    ]
    for title, pick in columns:
        heading(title)
        print(f"{'kernel':<12} {'median (p10-p90)':>30} {'peer / codemode':>16}")
        for name, s in samples.items():
            values = pick(s)
            if not values:
                continue
            versus = pairwise(values, pick(ours))
            print(f"{label(name):<12} {spread(values):>30} {ratio(versus or 0):>16}")
    heading("CPU per trivial cell (kernel process, user + system)")
    for name, s in samples.items():
        if s.cpu_per_cell is not None:
            print(f"{label(name):<12} {format_seconds(s.cpu_per_cell):>12}")
    print("\npeer / codemode = median over rounds of (peer time / codemode time); < 1 is faster")


def targets(samples: dict[str, Samples]) -> list[Target]:
    ours, echo, py = samples["codemode"], samples["codemode-echo"], samples["python3"]
    cpu_ratio = None
    if ours.cpu_per_cell and echo.cpu_per_cell:
        cpu_ratio = ours.cpu_per_cell / echo.cpu_per_cell
    found = [
        Target(
            "trivial cell → idle, codemode/echo floor", pairwise(ours.idle, echo.idle), 1.0, ratio
        ),
        Target("CPU per trivial cell, codemode/echo floor", cpu_ratio, 1.5, ratio),
        Target("start-up, codemode/python3", pairwise(ours.startup, py.startup), 0.6, ratio),
    ]
    deno = samples.get("codemode-deno")
    if deno is not None:
        found += [
            Target(
                "trivial cell → idle, codemode/deno (moonshot)",
                pairwise(ours.idle, deno.idle),
                1.0,
                ratio,
            ),
            Target("start-up, codemode/deno", pairwise(ours.startup, deno.startup), 1.0, ratio),
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    parser.add_argument("--no-deno", action="store_true", help="leave Deno's kernel out")
    settings = QUICK if parser.parse_args().quick else FULL
    print(machine())
    use_this_checkout_kernelspec()
    deno, why = (None, "--no-deno") if parser.parse_args().no_deno else deno_binary()
    write_kernelspecs(deno)
    peers = [p for p in PEERS if p.name != "codemode-deno" or deno is not None]
    print(f"deno: {'skipped — ' + why if deno is None else why}")
    print(
        f"{settings.starts} starts, {settings.warmups} warm-up cells, {settings.rounds} rounds,"
        f" {settings.loops} loops per kernel, interleaved"
    )
    samples = measure(peers, settings)
    report(samples)
    heading("targets (issue)")
    print_targets(targets(samples))


if __name__ == "__main__":
    main()
