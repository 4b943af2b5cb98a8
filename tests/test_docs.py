"""The user-facing docs against the code they describe, so neither drifts from the other.

docs/limits.md must name every configurable traitlet with its default and every resource a
limit breach can report; docs/protocol.md every comm message type, cell event, output type and
status; docs/cells.md every request error with its exact text. Links between the pages must land
on a heading, and no page may point outside the repository.
"""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

import pytest

from codemode_kernel import errors, protocol
from codemode_kernel.kernel.settings import KernelSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = {path.name: path.read_text(encoding="utf-8") for path in DOCS.glob("*.md")}
MIB = 1024 * 1024


def _row(page: str, name: str) -> str:
    """The table row of docs/`page` whose first cell is `name`."""
    rows = [line for line in PAGES[page].splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"{page} has {len(rows)} rows for `{name}`"
    return rows[0]


def test_limits_page_names_every_setting_with_its_default() -> None:
    traits = KernelSettings.class_own_traits(config=True)  # ipykernel's own are its docs
    public = {name: trait for name, trait in traits.items() if not name.startswith("_")}
    assert {"heap_bytes", "max_cells", "store_path", "tools"} <= set(public)
    for name, trait in public.items():
        row = _row("limits.md", name)
        default = trait.default_value
        if isinstance(default, int) and default:
            shown = (
                [str(default), f"{default // MIB} MiB"] if default % MIB == 0 else [str(default)]
            )
            assert any(text in row for text in shown), (name, default, row)


def test_limits_page_names_every_resource_a_breach_reports() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "codemode_kernel").rglob("*.py"))
    resources = set(re.findall(r'(?:_fail_limit|limit_error)\W{1,4}"(\w+)"', source))
    assert {"heap_bytes", "output_bytes", "active_cells", "committed_state_bytes"} <= resources
    for resource in resources:
        assert f"| `{resource}` |" in PAGES["limits.md"], resource
    assert (
        "resource limit exceeded: code=resource_exhausted resource={resource} limit={limit} "
        "observed={observed}" in PAGES["limits.md"]
    )


@pytest.mark.parametrize(
    "names",
    [
        protocol.ClientMessage,
        protocol.KernelMessage,
        protocol.CellEvent,
        protocol.OutputType,
        protocol.CellStatus,
    ],
)
def test_protocol_page_names_every_wire_value(names: typing.Any) -> None:
    for value in typing.get_args(names):
        assert f"`{value}`" in PAGES["protocol.md"], value


def test_protocol_page_shows_the_wire_texts() -> None:
    page = PAGES["protocol.md"]
    assert f"Target name **`{protocol.COMM_TARGET}`**" in page
    assert f"`metadata.{protocol.METADATA_KEY}" in page
    assert f"`{protocol.status_display_id('{cell_id}')}`" in page
    assert f"`{protocol.progress_display_id('{msg_id}')}`" in page
    assert f"`{protocol.running_line('{cell_id}')}`" in page
    assert f"`{protocol.finished_line('{status}', '{cell_id}', collected=False)}`" in page
    assert protocol.truncated_header(0).split(":")[0] in page
    assert f"`{protocol.truncation_marker(7).replace('7', '{K}')}`" in page


def test_cells_page_has_every_request_error_and_its_text() -> None:
    page = PAGES["cells.md"]
    assert protocol.EXEC_PRAGMA in page and protocol.WAIT_PRAGMA in page
    texts = {
        errors.CellNotFound: errors.CellNotFound("{id}"),
        errors.CellBusy: errors.CellBusy("{id}"),
        errors.CellTerminating: errors.CellTerminating("{id}"),
        errors.SessionShuttingDown: errors.SessionShuttingDown(),
    }
    for kind in errors.CodeModeError.__subclasses__():
        assert f"| `{kind.ename}` |" in page, kind.ename
        if kind in texts:
            assert f"| `{kind.ename}` | `{texts[kind]}` |" in page, kind.ename


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_links_between_pages_land_on_headings() -> None:
    pages = {**PAGES, "../README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    checked = 0
    for name, text in pages.items():
        base = ROOT if name == "../README.md" else DOCS
        for target, anchor in re.findall(r"\]\(([\w./]+\.md)(?:#([\w-]+))?\)", text):
            path = (base / target).resolve()
            assert path.is_file(), f"{name} links to a missing {target}"
            if anchor:
                assert anchor in _anchors(path.read_text(encoding="utf-8")), (name, anchor)
            checked += 1
    assert checked >= 10


def test_the_docs_stand_alone() -> None:
    """Nothing points at notes that live outside the repository."""
    for name, text in {**PAGES, "README.md": (ROOT / "README.md").read_text()}.items():
        assert "SPEC" not in text and "§" not in text, name
        assert "reference/" not in text, name


def test_files_the_docs_name_exist() -> None:
    pages = {**PAGES, "README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    named = {m for text in pages.values() for m in re.findall(r"`([\w/]+\.py)`", text)}
    named.discard("codemode_kernel_config.py")  # the user's own config file
    assert len(named) >= 20
    files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    for name in named:
        assert any(f == name or f.endswith("/" + name) for f in files), name


def test_the_deploy_recipe_names_what_exists() -> None:
    """The Enterprise Gateway kernelspec parses, and the image starts a class that exists."""
    import importlib

    spec = json.loads((ROOT / "deploy/kernelspecs/codemode_kubernetes/kernel.json").read_text())
    proxy = spec["metadata"]["process_proxy"]
    assert proxy["class_name"].endswith("KubernetesProcessProxy") and proxy["config"]["image_name"]
    placeholders = {"{kernel_id}", "{response_address}", "{public_key}", "{port_range}"}
    assert placeholders <= set(spec["argv"])
    boot = (ROOT / "deploy/bootstrap-kernel.sh").read_text()
    dotted = re.search(r"--kernel-class-name (\S+)", boot)
    assert dotted is not None
    module, _, name = dotted[1].rpartition(".")
    assert hasattr(importlib.import_module(module), name)
