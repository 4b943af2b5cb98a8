"""The kernel application: ipykernel's, plus our config file on the Jupyter config path.

`IPKernelApp` reads only IPython's profile config and the command line, so a
`codemode_kernel_config.py` (or `.json`) next to the other Jupyter config files — where a
JupyterLab user would put `c.CodeModeKernel.tools = [...]` — would otherwise be ignored.
"""

from __future__ import annotations

from typing import Any

from ipykernel.iostream import OutStream
from ipykernel.kernelapp import IPKernelApp
from jupyter_core.paths import jupyter_config_path
from traitlets import DottedObjectName
from traitlets.config import Application

from .kernel import CodeModeKernel

CONFIG_NAME = "codemode_kernel_config"


class IdleFlushOutStream(OutStream):
    """stdout/stderr whose `flush()` returns at once when nothing was written.

    ipykernel flushes both streams after every shell message, and each flush waits for a round
    trip through the IOPub thread even when empty. Tool results arrive as comm messages, so that
    wait was a third of a tool call's cost; this kernel rarely writes to stdout at all.
    """

    def flush(self) -> None:
        if getattr(self, "_flush_pending", True):
            super().flush()


class CodeModeKernelApp(IPKernelApp):
    """Launches `CodeModeKernel`."""

    outstream_class = DottedObjectName(f"{__name__}.IdleFlushOutStream").tag(config=True)

    def initialize(self, argv: Any = None) -> None:
        super().initialize(argv)
        # traitlets keeps the logger at DEBUG and filters in the handler, so every debug call on
        # ipykernel's hot paths (each message) built a log record for nothing.
        self.log.setLevel(self.log_level)

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:
        super().load_config_file(*args, **kwargs)
        # Later paths have lower priority in traitlets, and the command line still wins.
        Application.load_config_file(self, CONFIG_NAME, path=jupyter_config_path())


def launch(argv: list[str]) -> None:
    CodeModeKernelApp.launch_instance(argv=argv, kernel_class=CodeModeKernel)
