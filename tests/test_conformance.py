"""kernel-testbed's 27 checks against the real kernel: what an outside scorer would report."""

from __future__ import annotations

import pytest
from testbed import KernelUnderTest, score

pytestmark = pytest.mark.e2e

#: The two checks that run Deno's own display API (`Deno.jupyter.broadcast`), which no other
#: JavaScript kernel has; Deno and python3 are the only kernels scoring 27/27.
DENO_ONLY = {"display_data", "update_display_data"}


def test_kernel_testbed_checks() -> None:
    bed = KernelUnderTest("codemode")
    try:
        results = bed.run()
    finally:
        bed.close()
    report = score(results)
    print(report)
    assert len(results) == 27, report
    failed = {r.name for r in results if not r.verdict.passed}
    assert failed == DENO_ONLY, report  # 25 of 27
