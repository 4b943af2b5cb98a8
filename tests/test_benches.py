"""The benchmarks still run (numbers are printed, never asserted: see benches/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

BENCHES = Path(__file__).parent.parent / "benches"


#: Each benchmark and a heading its quick run must print: the issue's targets where it has
#: some; isolate_costs.py measures the floors under them instead.
HEADINGS = {
    "exec_overhead.py": "== targets (issue) ==",
    "roundtrip.py": "== targets (issue) ==",
    "peers.py": "== targets (issue) ==",
    "gateway_load.py": "== targets (issue) ==",
    "isolate_costs.py": "== CPU per isolate",
}


@pytest.mark.parametrize("script", sorted(HEADINGS))
def test_benchmark_runs_and_prints_its_targets(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHES / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert HEADINGS[script] in done.stdout
