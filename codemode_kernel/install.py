"""Register the ``codemode`` kernelspec with Jupyter.

The repository's ``kernelspec/`` folder is the one source of truth for kernel.json and the logos.
A wheel ships it as shared data (``share/jupyter/kernels/codemode``), so ``pip install`` alone
registers a kernel that runs with whatever ``python`` Jupyter finds. This command exists for the
cases that is not enough: an editable checkout (no shared data), a second name or display name,
or pinning the kernel to *this* interpreter so it works from a Jupyter installed elsewhere.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import site
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.paths import jupyter_data_dir

from .protocol import KERNEL_NAME

# jupyter_client's own rule for kernel names; checked up front so a bad --name fails before any
# file is touched, with an argparse error rather than a traceback.
_KERNEL_NAME_RE = re.compile(r"^[a-z0-9._-]+$", re.IGNORECASE)


class KernelspecNotFoundError(FileNotFoundError):
    """Neither a source checkout nor a wheel install left a kernelspec folder to copy."""


class NotWritableError(OSError):
    """The target kernels directory cannot be written; carries it so the CLI can name it."""

    def __init__(self, destination: Path, cause: OSError) -> None:
        reason = cause.strerror or str(cause)
        super().__init__(f"cannot install kernelspec into {destination}: {reason}")
        self.destination = destination
        self.cause = cause


def valid_kernel_name(name: str) -> str:
    """Return ``name`` if Jupyter accepts it as a kernel name, else raise ``ValueError``."""
    if not _KERNEL_NAME_RE.match(name):
        raise ValueError(
            f"invalid kernel name {name!r}: use only letters, digits, '.', '_' and '-'"
        )
    return name


def _candidate_sources() -> list[Path]:
    """Where the kernelspec folder can be, most specific first.

    A source or editable checkout has it next to the package; a wheel puts its shared data
    under the prefix it was installed into (``sys.prefix``, or the user base for ``pip --user``).
    """
    shared = Path("share", "jupyter", "kernels", KERNEL_NAME)
    return [
        Path(__file__).resolve().parent.parent / "kernelspec",
        Path(sys.prefix) / shared,
        Path(site.getuserbase()) / shared,
    ]


def kernelspec_source(candidates: Iterable[Path] | None = None) -> Path:
    """Return the first folder holding the kernelspec to copy."""
    searched = list(_candidate_sources() if candidates is None else candidates)
    for folder in searched:
        if (folder / "kernel.json").is_file():
            return folder
    raise KernelspecNotFoundError(
        "codemode kernelspec not found (looked in "
        + ", ".join(str(folder) for folder in searched)
        + "); reinstall codemode-kernel"
    )


def in_environment() -> bool:
    """True inside a virtualenv/venv or a conda env, where the kernel belongs to that env.

    conda envs are not venvs (``sys.prefix == sys.base_prefix`` there), so look for the
    ``conda-meta`` folder every conda prefix has.
    """
    return sys.prefix != sys.base_prefix or (Path(sys.prefix) / "conda-meta").is_dir()


def destination_dir(name: str, user: bool, prefix: str | None) -> Path:
    """The directory jupyter_client will copy the kernelspec into (it lower-cases the name)."""
    if user:
        return Path(jupyter_data_dir()) / "kernels" / name.lower()
    if prefix is None:
        raise ValueError("either user or prefix is needed")
    return Path(prefix).absolute() / "share" / "jupyter" / "kernels" / name.lower()


def resolve_location(user: bool, prefix: str | None, sys_prefix: bool) -> tuple[bool, str | None]:
    """Turn the three location options into jupyter_client's ``(user, prefix)``.

    No option means the env's prefix inside a virtualenv or conda env (a kernel there should
    not leak into every other env of the user) and the user's data dir otherwise.
    """
    if sum((user, prefix is not None, sys_prefix)) > 1:
        raise ValueError("user, prefix and sys_prefix are mutually exclusive")
    if sys_prefix:
        return False, sys.prefix
    if user or prefix is not None:
        return user, prefix
    return (False, sys.prefix) if in_environment() else (True, None)


def _stage(source: Path, target: Path, display_name: str | None) -> None:
    """Copy the kernelspec to ``target`` and pin it to this interpreter.

    ``python`` in argv would resolve to whatever is first on PATH when Jupyter launches the
    kernel, which is often an interpreter without this package.
    """
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    kernel_json = target / "kernel.json"
    spec = json.loads(kernel_json.read_text(encoding="utf-8"))
    spec["argv"][0] = sys.executable
    if display_name is not None:
        spec["display_name"] = display_name
    kernel_json.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")


def install(
    user: bool = False,
    prefix: str | None = None,
    sys_prefix: bool = False,
    name: str = KERNEL_NAME,
    display_name: str | None = None,
) -> str:
    """Install the kernelspec and return the directory it was installed in.

    With no location given, install where a user expects: into the active virtualenv or conda
    env (like ``--sys-prefix``) when there is one, else into the user's Jupyter data dir.
    Raises ``NotWritableError`` (an ``OSError``) when the target cannot be written.
    """
    valid_kernel_name(name)
    user, prefix = resolve_location(user, prefix, sys_prefix)
    source = kernelspec_source()
    destination = destination_dir(name, user, prefix)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / name
        _stage(source, staged, display_name)
        try:
            installed = KernelSpecManager().install_kernel_spec(
                str(staged), kernel_name=name, user=user, prefix=prefix
            )
        except OSError as exc:
            raise NotWritableError(destination, exc) from exc
    return str(installed)


def _prog() -> str:
    """Name the command the way the user typed it, for usage and error lines."""
    if Path(sys.argv[0]).name == "__main__.py":
        return "python -m codemode_kernel install"
    return f"{Path(sys.argv[0]).name} install"


def _name_argument(name: str) -> str:
    """``valid_kernel_name`` for argparse, which shows only an ``ArgumentTypeError``'s text."""
    try:
        return valid_kernel_name(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    """The ``install`` sub-command's options (bash_kernel's flags, plus a name)."""
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description=(
            "Install the Code Mode (JavaScript) kernelspec for Jupyter, pinned to this Python "
            f"({sys.executable}). Without a location flag it goes into the active virtualenv "
            "or conda env (as --sys-prefix) if there is one, else into your user "
            "directory (as --user)."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for the current user only")
    where.add_argument(
        "--sys-prefix",
        action="store_true",
        help=f"install into this Python's prefix ({sys.prefix}), e.g. a virtualenv",
    )
    where.add_argument("--prefix", metavar="DIR", help="install into DIR/share/jupyter/kernels")
    parser.add_argument(
        "--name",
        default=KERNEL_NAME,
        type=_name_argument,
        help=f"kernelspec name (default: {KERNEL_NAME})",
    )
    parser.add_argument(
        "--display-name",
        metavar="D",
        help="name shown in the Jupyter launcher (default: Code Mode (JavaScript))",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``install``; return the exit status (1 for a failure the user can fix)."""
    args = build_parser().parse_args(argv)
    try:
        installed = install(
            user=args.user,
            prefix=args.prefix,
            sys_prefix=args.sys_prefix,
            name=args.name,
            display_name=args.display_name,
        )
    except NotWritableError as exc:
        user, prefix = resolve_location(args.user, args.prefix, args.sys_prefix)
        if user:
            hint = "--sys-prefix or --prefix DIR"
        elif prefix == sys.prefix:
            hint = "--user or --prefix DIR"
        else:
            hint = "--user or --sys-prefix"
        print(f"{_prog()}: {exc}; try {hint}", file=sys.stderr)
        return 1
    except KernelspecNotFoundError as exc:
        print(f"{_prog()}: {exc}", file=sys.stderr)
        return 1
    print(f"Installed kernelspec {Path(installed).name} in {installed}")
    return 0
