"""The command line speaks for this kernel, not for IPython (its app is IPython's underneath)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from codemode_kernel import __version__
from codemode_kernel.__main__ import main

pytestmark = pytest.mark.unit


def test_version_names_the_package_and_v8(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"codemode-kernel {re.escape(__version__)} \(V8 \d+\.\d+[\d.]*\)\n", out)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_describes_our_commands(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: codemode-kernel")
    for command in ("install", "mcp", "-f CONNECTION_FILE", "--CodeModeKernel.yield_time_ms"):
        assert command in out
    assert "IPython" not in out and "ipykernel" not in out


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codemode_kernel", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith(f"codemode-kernel {__version__} (V8 ")
