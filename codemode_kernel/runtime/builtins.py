"""Survey a cell's global scope in a real isolate: the table `complete` offers from.

The table is generated, never typed by hand, and committed as `kernel/builtins.json` so a
completion request costs no isolate. `tests/test_introspection.py` re-runs the survey and fails
when V8 or the prelude changed what a cell sees; regenerate with
`python -m codemode_kernel.runtime.builtins`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from importlib.resources import files
from pathlib import Path

from .isolate import Isolate

TABLE = Path(__file__).resolve().parent.parent / "kernel" / "builtins.json"


async def _survey() -> dict[str, list[str]]:
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        isolate = await Isolate.create(loop, executor)
        try:
            await isolate.install_prelude()
            source = (files("codemode_kernel") / "runtime" / "js" / "survey.js").read_text("utf-8")
            table: dict[str, list[str]] = json.loads(await isolate.eval(source))
        finally:

            async def free(close: object) -> None:
                await loop.run_in_executor(executor, close)  # type: ignore[arg-type]

            await isolate.aclose(free)
    return table


def survey() -> dict[str, list[str]]:
    """{"": global names, "Math": members of Math, …} as a fresh cell sees them."""
    return asyncio.run(_survey())


def render(table: dict[str, list[str]]) -> str:
    return json.dumps(table, indent=0, sort_keys=True) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render(survey()), encoding="utf-8")
    print(f"wrote {TABLE}")
