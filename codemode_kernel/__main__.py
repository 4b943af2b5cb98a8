"""``python -m codemode_kernel``: launch the kernel, or ``install`` its kernelspec."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch on the first argument; anything but ``install`` is for the kernel app.

    The kernel module is imported only when launching, so installing works even where the
    kernel's own dependencies (V8) are broken or still being set up.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["install"]:
        from codemode_kernel.install import main as install_main

        return install_main(args[1:])
    if args[:1] == ["mcp"]:
        from codemode_kernel.mcpserver.cli import main as mcp_main

        return mcp_main(args[1:])

    # Loading V8 takes as long as importing ipykernel: do both at once.
    from codemode_kernel.runtime.isolate import preload_v8

    preload_v8()
    from codemode_kernel.kernel.app import launch

    launch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
