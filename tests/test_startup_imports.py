"""Start-up imports only what answering the first kernel_info needs.

The kernel's start-up (process start to the first kernel_info_reply) is mostly imports, so a
module that is needed only for an option (SQLite for `store_path`, the MCP SDK and its config
reader for MCP servers), for one kind of request (completion and inspection) or for one use of the
package (entry-point discovery) is imported where it is used. These tests catch a top-level import
that would bring one of them back, each in a fresh interpreter so nothing is already loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import codemode_kernel
import codemode_kernel.tools

pytestmark = pytest.mark.unit

#: Loaded by configuration or by a request, never by starting the kernel.
KERNEL_LAZY = (
    "sqlite3",  # a durable store (`store_path`)
    "codemode_kernel.tools.mcp_config",  # MCP servers configured
    "codemode_kernel.session.mcp_servers",
    "codemode_kernel.tools.mcp_session",
    "mcp",
    "mcp_types",
    "anyio",
    "httpx2",
    "codemode_kernel.kernel.introspect",  # complete, inspect, is_complete
    "codemode_kernel.kernel.helpdocs",
)

#: Loaded by the kernel app (ipykernel needs importlib.metadata) but not by the package itself,
#: which clients import for `Tool` and `MCPServer`.
PACKAGE_LAZY = (
    "importlib.metadata",  # entry-point tools, discovered when a kernel loads them
    "codemode_kernel.tools.mcp_config",
    "codemode_kernel.tools.loading",
    "sqlite3",
    "ipykernel",
)


def modules_after(statement: str) -> set[str]:
    """`sys.modules` of a fresh interpreter after running `statement`."""
    script = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_kernel_app_imports_no_optional_module() -> None:
    loaded = modules_after("import codemode_kernel.kernel.app")
    assert "codemode_kernel.kernel.kernel" in loaded  # the import did reach the kernel
    assert sorted(loaded.intersection(KERNEL_LAZY)) == []


def test_the_package_and_a_tool_import_neither_entry_points_nor_the_kernel() -> None:
    loaded = modules_after(
        "from codemode_kernel import Tool, as_tool\ndef add(a: int, b: int) -> int: return a + b\n"
        "assert isinstance(as_tool(add), Tool)"
    )
    assert "codemode_kernel.tools.tool" in loaded
    assert sorted(loaded.intersection(PACKAGE_LAZY)) == []


def test_lazy_names_are_the_submodules_objects() -> None:
    from codemode_kernel.tools import mcp_config, tool, typescript

    assert codemode_kernel.Tool is tool.Tool
    assert codemode_kernel.MCPServer is mcp_config.MCPServer
    assert codemode_kernel.tools.normalize_identifier is typescript.normalize_identifier
    for name in codemode_kernel.tools.__all__:
        assert getattr(codemode_kernel.tools, name) is not None
    for name in codemode_kernel.__all__:
        assert getattr(codemode_kernel, name) is not None


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Tools'"):
        _ = codemode_kernel.Tools  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'load'"):
        _ = codemode_kernel.tools.load  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        exec("from codemode_kernel.tools import nothing_here", {})


def test_kernel_info_is_ipykernels_without_the_debugger_and_without_importing_it() -> None:
    """The reply is the base class's minus "debugger", built without loading debugpy."""
    check = """
import signal, sys
from ipykernel.kernelbase import Kernel
from codemode_kernel.kernel.kernel import CodeModeKernel
handler = signal.getsignal(signal.SIGTERM)
kernel = CodeModeKernel()
try:
    ours = kernel.kernel_info
    assert "debugpy" not in sys.modules and "ipykernel.debugger" not in sys.modules
    base = Kernel.kernel_info.fget(kernel)
    assert "ipykernel.debugger" in sys.modules
finally:
    kernel.engine.shutdown()
    signal.signal(signal.SIGTERM, handler)
base["supported_features"] = [f for f in base["supported_features"] if f != "debugger"]
assert ours == base, (ours, base)
"""
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
