"""The benchmarks still run (numbers are printed, never asserted: see benches/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

BENCHES = Path(__file__).parent.parent / "benches"


@pytest.mark.parametrize(
    "script", ["exec_overhead.py", "roundtrip.py", "peers.py", "gateway_load.py"]
)
def test_benchmark_runs_and_prints_its_targets(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHES / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "== targets (issue) ==" in done.stdout
