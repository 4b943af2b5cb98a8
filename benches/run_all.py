"""Run every benchmark and print every table, one benchmark at a time.

They are exec overhead, isolate costs, round trips, memory, peers and gateway load.
Each benchmark runs as its own process (they start kernels and V8, and `exec_overhead` spawns
fresh workers itself), one after another so they never compete for the two cores. `--quick` is
passed through. Exits non-zero if any benchmark failed to run; an unmet target is a printed
verdict, never a failure.

Run: `.venv/bin/python benches/run_all.py [--quick]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "exec_overhead.py",
    "isolate_costs.py",
    "roundtrip.py",
    "memory.py",
    "peers.py",
    "gateway_load.py",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    quick = ["--quick"] if parser.parse_args().quick else []
    failed = []
    for script in BENCHMARKS:
        print(f"\n######## {script} {' '.join(quick)}".rstrip(), flush=True)
        began = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), *quick])
        print(f"######## {script}: {time.perf_counter() - began:.1f}s", flush=True)
        if code != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
