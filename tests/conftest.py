"""Test setup: the kernelspec installed into a private prefix that Jupyter is pointed at, so the
tests never depend on (or change) what is installed on the machine."""

from __future__ import annotations

import os
import re
import tempfile
from collections import defaultdict
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


MODULE_MARKS = re.compile(r"^pytestmark = \[?(pytest\.mark\.\w+.*)$", re.M)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave a test module unimported when `-m` deselects its tier: the e2e and browser modules
    import nbclient, nbformat and the MCP SDK, which cost the unit tier seconds of collection."""
    expr = config.option.markexpr
    if not expr or not collection_path.name.startswith("test_") or collection_path.suffix != ".py":
        return None
    found = MODULE_MARKS.search(collection_path.read_text(encoding="utf-8"))
    if found is None:
        return None
    marks = defaultdict(bool, {name: True for name in re.findall(r"mark\.(\w+)", found[1])})
    try:
        selected = eval(expr, {"__builtins__": {}}, marks)  # names, and/or/not: a Python expression
    except Exception:
        return None  # an expression only pytest understands: let pytest collect and decide
    return None if selected else True


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
