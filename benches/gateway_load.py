"""Many agents through one gateway: N concurrent clients, each with its own kernel behind one
Jupyter Server, each running cells that call a Python tool of its own.

What is measured: the wall time of every cell (p50 / p95), cells per second over the whole run,
the kernels' resident memory (so how many kernels fit in a GiB), and that nothing was lost —
every cell's result is checked against what its agent asked for.

Run: `.venv/bin/python benches/gateway_load.py [--quick] [--agents N] [--cells N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import (
    Target,
    format_bytes,
    format_seconds,
    heading,
    machine,
    percentile,
    print_targets,
    use_this_checkout_kernelspec,
)

from codemode_kernel.client import CodeModeClient

TOKEN = secrets.token_hex(16)


def start_server(log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A Jupyter Server on a free port of 127.0.0.1, once its REST API answers; its log (and
    its kernels' stderr) goes to `log`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tempfile.mkdtemp(prefix="codemode-load-")
    argv = [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={port}", "--no-browser"]
    argv += ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"]
    argv += [f"--ServerApp.root_dir={root}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=out)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(
                f"{url}/api/status", headers={"Authorization": f"token {TOKEN}"}
            )
            urllib.request.urlopen(request, timeout=2).close()
            return url, process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("jupyter server did not start")


def kernel_rss(server: subprocess.Popen[bytes]) -> list[int]:
    """Resident bytes of each kernel process the server started."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    sizes = []
    for pid in children.read_text().split():
        try:
            statm = Path(f"/proc/{pid}/statm").read_text().split()
        except OSError:
            continue
        sizes.append(int(statm[1]) * os.sysconf("SC_PAGE_SIZE"))
    return sizes


async def agent(url: str, index: int, cells: int, latencies: list[float]) -> int:
    """One agent: its own kernel, `cells` cells each calling its tool; returns results lost."""

    def scale(x: int) -> int:
        """Multiply by this agent's factor."""
        return x * (index + 2)

    lost = 0
    async with CodeModeClient.connect_gateway(url, token=TOKEN, tools=[scale]) as client:
        for n in range(cells):
            began = time.perf_counter()
            r = await client.exec(f'text("agent {index}"); await tools.scale({{x: {n}}})')
            latencies.append(time.perf_counter() - began)
            lost += r.status != "completed" or r.result != n * (index + 2)
    return lost


async def run(url: str, agents: int, cells: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    began = time.perf_counter()
    lost = await asyncio.gather(*(agent(url, i, cells, latencies) for i in range(agents)))
    return latencies, sum(lost), time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 agents, 10 cells each")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--cells", type=int, default=None)
    args = parser.parse_args()
    agents = args.agents or (4 if args.quick else 16)
    cells = args.cells or (10 if args.quick else 50)
    use_this_checkout_kernelspec()
    log = Path(tempfile.mkdtemp(prefix="codemode-load-log-")) / "server.log"
    url, server = start_server(log)
    try:
        latencies, lost, wall = asyncio.run(run(url, agents, cells))
        # The kernels have ended with their clients; measure a fleet of the same size at rest.
        rss = asyncio.run(fleet_rss(url, server, agents))
    except Exception:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        print(f"the server's log ({log}) ends:", *tail, sep="\n", file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(30)
    heading(f"gateway load: {agents} agents x {cells} cells, one Jupyter Server ({machine()})")
    total = agents * cells
    print(f"| cells | {total} ({lost} lost) |")
    print(f"| throughput | {total / wall:.1f} cells/s over {wall:.1f} s |")
    print(
        f"| cell with one tool call, p50 / p95 | {format_seconds(percentile(latencies, 50))}"
        f" / {format_seconds(percentile(latencies, 95))} |"
    )
    if rss:
        per = sum(rss) / len(rss)
        print(f"| RSS per idle kernel | {format_bytes(per)} ({2**30 / per:.0f} kernels per GiB) |")
    heading("targets (issue)")
    print_targets([Target("cells lost", lost, 0, lambda n: f"{n:.0f}")])


async def fleet_rss(url: str, server: subprocess.Popen[bytes], agents: int) -> list[int]:
    clients = [CodeModeClient.connect_gateway(url, token=TOKEN) for _ in range(agents)]
    opened = await asyncio.gather(*(c.open() for c in clients))
    try:
        await asyncio.gather(*(c.exec("1") for c in opened))
        return kernel_rss(server)
    finally:
        await asyncio.gather(*(c.close() for c in opened))


if __name__ == "__main__":
    main()
