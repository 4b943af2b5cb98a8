"""Test setup: the kernelspec installed into a private prefix that Jupyter is pointed at, so the
tests never depend on (or change) what is installed on the machine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from codemode_kernel.install import install


def pytest_configure(config: pytest.Config) -> None:
    prefix = Path(tempfile.mkdtemp(prefix="codemode-jupyter-"))
    install(prefix=str(prefix))
    data = prefix / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(data), os.environ.get("JUPYTER_PATH", "")) if p
    )
