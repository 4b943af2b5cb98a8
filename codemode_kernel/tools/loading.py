"""Kernel-side tools from configuration ("package.module:attr") and from the entry points of the
`codemode_kernel.tools` group. A configured mistake raises; a broken installed package is skipped.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any

from .tool import Tool, as_tool

ENTRY_POINT_GROUP = "codemode_kernel.tools"
log = logging.getLogger("codemode_kernel")


def _expand(obj: Any) -> list[Tool]:
    """What a configured attribute or an entry point may hold: a tool, a callable, or a
    list/tuple of them."""
    if isinstance(obj, (list, tuple)):
        return [tool for item in obj for tool in _expand_one(item)]
    return _expand_one(obj)


def _expand_one(obj: Any) -> list[Tool]:
    if isinstance(obj, Tool) or callable(obj):
        return [as_tool(obj)]
    raise TypeError(f"got {type(obj).__name__}, not a callable, a Tool or a list of them")


def load_configured(specs: Iterable[str]) -> list[Tool]:
    """Tools named by "package.module:attr" specs (`c.CodeModeKernel.tools`).

    A bad spec is a configuration mistake the user must see, so it raises ValueError naming
    the spec and the reason instead of being skipped.
    """
    tools: list[Tool] = []
    for spec in specs:
        module_name, sep, attr = spec.partition(":")
        if not sep or not module_name or not attr:
            raise ValueError(f"tool spec {spec!r}: expected 'package.module:attribute'")
        try:
            target: Any = importlib.import_module(module_name)
        except Exception as exc:
            gone = exc.name if isinstance(exc, ModuleNotFoundError) else None
            if gone and (module_name + ".").startswith(f"{gone}."):  # not a dependency's
                why = f"module {module_name!r} not found"
            else:
                why = f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
            raise ValueError(f"tool spec {spec!r}: {why}") from exc
        for part in attr.split("."):
            if not hasattr(target, part):
                raise ValueError(f"tool spec {spec!r}: {module_name!r} has no attribute {attr!r}")
            target = getattr(target, part)
        try:
            tools.extend(_expand(target))
        except TypeError as exc:
            raise ValueError(f"tool spec {spec!r}: {attr!r} is not a tool: {exc}") from exc
    return tools


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[Tool]:
    """Tools from installed packages' entry points. One broken package must not take the
    others (or the kernel) down, so a failing entry point is logged as a warning and skipped."""
    # Here, not at the top: importing the tools package (every `codemode_kernel` import) should
    # not pay for importlib.metadata and the email/zipfile modules it pulls in.
    import importlib.metadata

    tools: list[Tool] = []
    for entry_point in importlib.metadata.entry_points(group=group):
        try:
            tools.extend(_expand(entry_point.load()))
        except Exception as exc:
            log.warning(
                "codemode_kernel: skipping tool entry point %r (%s): %s: %s",
                entry_point.name,
                entry_point.value,
                type(exc).__name__,
                exc,
            )
    return tools
