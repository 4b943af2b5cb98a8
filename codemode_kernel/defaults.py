"""The one source of every default: the kernel's traitlets, the session, the runtime's limits and
the model-facing descriptions all read these (docs/limits.md lists them for users)."""

from __future__ import annotations

from typing import Final

MIB: Final = 1024 * 1024

YIELD_TIME_MS: Final = 10_000
MAX_OUTPUT_TOKENS: Final = 10_000

HEAP_BYTES: Final = 256 * MIB
#: All live cells' V8 heaps together: every isolate of a process allocates in one 4 GiB
#: pointer-compression cage, and filling it aborts the process, whatever each isolate's limit.
HEAP_BUDGET_BYTES: Final = 3 * 1024 * MIB
MAX_CELLS: Final = 128
PENDING_TIMERS: Final = 1024
OUTPUT_BYTES: Final = 8 * MIB
STORE_BYTES: Final = 16 * MIB
TOOL_RESULT_BYTES: Final = 8 * MIB

PREPARED_ISOLATES: Final = 2
