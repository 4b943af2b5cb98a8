"""A kernel process whose V8 cannot start still answers: kernel_info says why (status error,
ename `V8Unavailable`), and every cell fails with that error instead of waiting forever."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e

# Loaded by the kernel's interpreter at start-up, before the kernel imports mini-racer.
_BREAK_V8 = """
import py_mini_racer._dll as dll

def init_mini_racer(*args, **kwargs):
    raise OSError("libmini_racer.so: cannot open shared object file")

dll.init_mini_racer = init_mini_racer
"""
ERROR = "V8 could not start: OSError('libmini_racer.so: cannot open shared object file')"


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    site: Path = tmp_path_factory.mktemp("broken-v8")
    (site / "sitecustomize.py").write_text(_BREAK_V8)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    kernel = Kernel.start(env=env)
    yield kernel
    kernel.stop()


def test_kernel_info_reports_the_error(broken: Kernel) -> None:
    msg_id = broken.kc.kernel_info()
    reply = broken.kc.get_shell_msg(timeout=10)
    while reply["parent_header"]["msg_id"] != msg_id:  # start-up's own kernel_info requests
        reply = broken.kc.get_shell_msg(timeout=10)
    content = reply["content"]
    assert content["status"] == "error"
    assert (content["ename"], content["evalue"]) == ("V8Unavailable", ERROR)
    assert content["implementation"] == "codemode"


def test_cells_fail_with_the_error(broken: Kernel) -> None:
    for _ in range(2):
        run = broken.execute("text(1)", timeout=10)
        assert run.status == "error"
        assert run.reply["content"]["ename"] == "V8Unavailable"
        assert run.reply["content"]["evalue"] == ERROR
