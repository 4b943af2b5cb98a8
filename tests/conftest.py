"""Test setup: the kernelspec installed into a private prefix that Jupyter is pointed at, so the
tests never depend on (or change) what is installed on the machine."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from clientkit import Loop, open_client
from prelude_harness import Isolate, fresh_isolate

from codemode_kernel.client import CodeModeClient
from codemode_kernel.install import install


def pytest_configure(config: pytest.Config) -> None:
    prefix = Path(tempfile.mkdtemp(prefix="codemode-jupyter-"))
    install(prefix=str(prefix))
    data = prefix / "share" / "jupyter"
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(data), os.environ.get("JUPYTER_PATH", "")) if p
    )


@pytest.fixture(scope="session")
def loop() -> Iterator[Loop]:
    """The client tests' event loop, on its own thread."""
    runner = Loop()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def client(loop: Loop) -> Iterator[CodeModeClient]:
    """One client on one kernel for every client test (see `clientkit`)."""
    opened = open_client(loop)
    yield opened
    loop.run(opened.close())


@pytest.fixture
def iso() -> Iterator[Isolate]:
    """A fresh prelude isolate for the prelude tests (`prelude_harness`)."""
    yield from fresh_isolate()
