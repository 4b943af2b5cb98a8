"""The kernelspec and its install command, driven the way a user runs them (a subprocess).

Every install goes into a temporary prefix or data dir, so the tests never touch the venv's or
the user's real Jupyter directories.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from codemode_kernel import install as install_mod

pytestmark = pytest.mark.e2e

REPO_KERNELSPEC = Path(__file__).resolve().parent.parent / "kernelspec"
LOGOS = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def run_install(
    *args: str, env: dict[str, str] | None = None, command: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m codemode_kernel install ARGS`` (or ``command``) and capture its output."""
    cmd = command if command is not None else [sys.executable, "-m", "codemode_kernel", "install"]
    return subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def kernels_dir(prefix: Path) -> Path:
    return prefix / "share" / "jupyter" / "kernels"


def read_spec(spec_dir: Path) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))
    return spec


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# -- the kernelspec folder itself ---------------------------------------------------------------


def test_repo_kernelspec_is_the_spec() -> None:
    assert read_spec(REPO_KERNELSPEC) == {
        "argv": ["python", "-m", "codemode_kernel", "-f", "{connection_file}"],
        "display_name": "Code Mode (JavaScript)",
        "language": "javascript",
        "interrupt_mode": "message",
        "kernel_protocol_version": "5.3",
        "metadata": {"debugger": False},
    }


def test_logos_are_real_images_of_the_right_size() -> None:
    assert png_size(REPO_KERNELSPEC / "logo-32x32.png") == (32, 32)
    assert png_size(REPO_KERNELSPEC / "logo-64x64.png") == (64, 64)
    svg = ET.parse(REPO_KERNELSPEC / "logo-svg.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"


# -- installing -----------------------------------------------------------------------------------


def test_install_into_prefix(tmp_path: Path) -> None:
    result = run_install("--prefix", str(tmp_path))
    assert result.returncode == 0, result.stderr
    target = kernels_dir(tmp_path) / "codemode"
    assert result.stdout.strip() == f"Installed kernelspec codemode in {target}"

    spec = read_spec(target)
    assert spec["argv"] == [sys.executable, "-m", "codemode_kernel", "-f", "{connection_file}"]
    assert spec["display_name"] == "Code Mode (JavaScript)"
    assert spec["language"] == "javascript"
    assert spec["interrupt_mode"] == "message"
    assert spec["metadata"] == {"debugger": False}
    assert "env" not in spec
    for logo in LOGOS:
        assert (target / logo).read_bytes() == (REPO_KERNELSPEC / logo).read_bytes()


def test_name_and_display_name(tmp_path: Path) -> None:
    result = run_install(
        "--prefix", str(tmp_path), "--name", "codemode-dev", "--display-name", "Code Mode (dev)"
    )
    assert result.returncode == 0, result.stderr
    target = kernels_dir(tmp_path) / "codemode-dev"
    assert result.stdout.strip() == f"Installed kernelspec codemode-dev in {target}"
    assert read_spec(target)["display_name"] == "Code Mode (dev)"
    assert not (kernels_dir(tmp_path) / "codemode").exists()


def test_reinstall_replaces_the_previous_one(tmp_path: Path) -> None:
    first = install_mod.install(prefix=str(tmp_path), display_name="Old")
    (Path(first) / "stale.txt").write_text("left over")
    second = install_mod.install(prefix=str(tmp_path))
    assert first == second
    assert read_spec(Path(second))["display_name"] == "Code Mode (JavaScript)"
    assert not (Path(second) / "stale.txt").exists()


def test_jupyter_finds_the_installed_kernel(tmp_path: Path) -> None:
    assert run_install("--prefix", str(tmp_path)).returncode == 0

    manager = KernelSpecManager(kernel_dirs=[str(kernels_dir(tmp_path))])
    spec = manager.get_kernel_spec("codemode")
    assert spec.argv[0] == sys.executable
    assert spec.language == "javascript"
    assert spec.interrupt_mode == "message"
    assert spec.display_name == "Code Mode (JavaScript)"

    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "JUPYTER_PATH": str(tmp_path / "share" / "jupyter")},
        check=True,
    )
    found = json.loads(listed.stdout)["kernelspecs"]["codemode"]
    assert Path(found["resource_dir"]) == kernels_dir(tmp_path) / "codemode"
    assert found["spec"]["language"] == "javascript"


def test_user_install(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_install(
        "--user", env={"HOME": str(tmp_path / "home"), "JUPYTER_DATA_DIR": str(data_dir)}
    )
    assert result.returncode == 0, result.stderr
    target = data_dir / "kernels" / "codemode"
    assert result.stdout.strip() == f"Installed kernelspec codemode in {target}"
    assert read_spec(target)["argv"][0] == sys.executable


def test_console_script(tmp_path: Path) -> None:
    script = shutil.which("codemode-kernel", path=str(Path(sys.executable).parent))
    assert script is not None, "codemode-kernel console script is not installed"
    result = run_install("install", "--prefix", str(tmp_path), command=[script])
    assert result.returncode == 0, result.stderr
    spec = read_spec(kernels_dir(tmp_path) / "codemode")
    # The script's interpreter may be spelled differently (python vs python3), but it is the same.
    assert Path(spec["argv"][0]).resolve() == Path(sys.executable).resolve()
    assert spec["argv"][1:] == ["-m", "codemode_kernel", "-f", "{connection_file}"]


# -- mistakes a user can make ---------------------------------------------------------------------


def test_user_and_prefix_are_exclusive(tmp_path: Path) -> None:
    result = run_install("--user", "--prefix", str(tmp_path))
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr
    assert not kernels_dir(tmp_path).exists()


def test_invalid_name_is_a_usage_error(tmp_path: Path) -> None:
    result = run_install("--prefix", str(tmp_path), "--name", "bad name")
    assert result.returncode == 2
    assert "invalid kernel name 'bad name'" in result.stderr


def _assert_clear_not_writable(result: subprocess.CompletedProcess[str], prefix: Path) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert "\n" not in message
    assert str(kernels_dir(prefix) / "codemode") in message
    assert "--user" in message
    assert "--sys-prefix" in message


def test_prefix_under_a_file_is_not_writable(tmp_path: Path) -> None:
    """Works as root too, where permission bits do not stop a write."""
    (tmp_path / "afile").write_text("not a directory")
    prefix = tmp_path / "afile" / "sub"
    _assert_clear_not_writable(run_install("--prefix", str(prefix)), prefix)


def test_permission_denied_is_a_one_line_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The PermissionError path a non-root user meets, also checked when the tests run as root."""

    def deny(self: KernelSpecManager, source_dir: str, **kwargs: Any) -> str:
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(KernelSpecManager, "install_kernel_spec", deny)
    assert install_mod.main(["--prefix", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert f"{kernels_dir(tmp_path) / 'codemode'}: Permission denied" in err
    assert err.endswith("try --user or --sys-prefix")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permission bits"
)
def test_read_only_prefix_is_not_writable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        prefix = locked / "sub"
        _assert_clear_not_writable(run_install("--prefix", str(prefix)), prefix)
    finally:
        locked.chmod(0o700)


# -- where the install goes by default, and where it comes from -----------------------------------


def test_default_location_is_the_env_inside_a_virtualenv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "base"))
    assert install_mod.resolve_location(False, None, False) == (False, str(tmp_path / "venv"))


def test_default_location_is_the_env_inside_conda(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "conda-meta").mkdir()
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path))
    assert install_mod.resolve_location(False, None, False) == (False, str(tmp_path))


def test_default_location_is_the_user_outside_an_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path))
    assert install_mod.resolve_location(False, None, False) == (True, None)


def test_explicit_locations_win(tmp_path: Path) -> None:
    assert install_mod.resolve_location(True, None, False) == (True, None)
    assert install_mod.resolve_location(False, str(tmp_path), False) == (False, str(tmp_path))
    assert install_mod.resolve_location(False, None, True) == (False, sys.prefix)
    with pytest.raises(ValueError, match="mutually exclusive"):
        install_mod.resolve_location(True, None, True)


def test_help_documents_the_default() -> None:
    result = run_install("--help")
    assert result.returncode == 0
    assert "virtualenv" in result.stdout
    assert "--sys-prefix" in result.stdout


def test_source_checkout_kernelspec_is_preferred() -> None:
    assert install_mod.kernelspec_source() == REPO_KERNELSPEC


def test_missing_kernelspec_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(install_mod.KernelspecNotFoundError, match=str(tmp_path)):
        install_mod.kernelspec_source([tmp_path])
