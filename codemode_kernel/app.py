"""The kernel application: ipykernel's, plus our config file on the Jupyter config path.

`IPKernelApp` reads only IPython's profile config and the command line, so a
`codemode_kernel_config.py` (or `.json`) next to the other Jupyter config files — where a
JupyterLab user would put `c.CodeModeKernel.tools = [...]` — would otherwise be ignored.
"""

from __future__ import annotations

from typing import Any

from ipykernel.kernelapp import IPKernelApp
from jupyter_core.paths import jupyter_config_path
from traitlets.config import Application

from .kernel import CodeModeKernel

CONFIG_NAME = "codemode_kernel_config"


class CodeModeKernelApp(IPKernelApp):
    """Launches `CodeModeKernel`."""

    def load_config_file(self, *args: Any, **kwargs: Any) -> None:
        super().load_config_file(*args, **kwargs)  # type: ignore[no-untyped-call]
        # Later paths have lower priority in traitlets, and the command line still wins.
        Application.load_config_file(self, CONFIG_NAME, path=jupyter_config_path())


def launch(argv: list[str]) -> None:
    CodeModeKernelApp.launch_instance(argv=argv, kernel_class=CodeModeKernel)
