"""``python -m codemode_kernel``: launch the kernel, or ``install`` its kernelspec."""

from __future__ import annotations

import sys
from collections.abc import Sequence

HELP = """\
usage: codemode-kernel [-h] [--version] [COMMAND ...]

A Jupyter kernel whose cells are code-mode cells: JavaScript, each in a fresh V8 isolate.

commands:
  install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name TEXT]
                 register the `codemode` kernelspec with Jupyter (`install --help` for more)
  mcp [--config mcp.json] [--tool module:callable]... [--http HOST:PORT]
                 serve code mode over MCP: the `exec` and `wait` tools (`mcp --help`)
  -f CONNECTION_FILE [--CodeModeKernel.<trait>=<value>]...
                 run the kernel (Jupyter starts it this way from the kernelspec)

kernel options (also settable in codemode_kernel_config.py as c.CodeModeKernel.<trait>):
  --CodeModeKernel.yield_time_ms=MS         how long a cell runs before it yields
  --CodeModeKernel.max_output_tokens=N      output budget per observation
  --CodeModeKernel.tools=module:callable    a Python tool for cells (repeatable)
  --CodeModeKernel.store_path=FILE          keep committed store values in SQLite
  (every limit: see docs/limits.md)

options:
  -h, --help     show this help and exit
  --version      print the version of codemode-kernel and of V8, and exit
"""


def version() -> str:
    """`codemode-kernel {version} (V8 {v8 version})`; loading V8 takes a few tens of ms."""
    from codemode_kernel import __version__
    from codemode_kernel.runtime.isolate import init_v8

    return f"codemode-kernel {__version__} (V8 {init_v8().mr_v8_version().decode()})"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch on the first argument; anything but a command or ``--help``/``--version`` is
    for the kernel app.

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
    if args[:1] in (["-h"], ["--help"]):
        print(HELP, end="")
        return 0
    if args[:1] == ["--version"]:
        print(version())
        return 0

    # Loading V8 takes as long as importing ipykernel: do both at once.
    from codemode_kernel.runtime.isolate import preload_v8

    preload_v8()
    from codemode_kernel.kernel.app import launch

    launch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
