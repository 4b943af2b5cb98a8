"""The kernel in a real JupyterLab, driven by a real browser (Playwright + Debian's chromium).

Starts `jupyter lab` on a free local port with a token, in a temp root that holds a small notebook
and the tour; JupyterLab finds the `codemode` kernel through JUPYTER_PATH (set by conftest.py).
Screenshots go to tests/artifacts/; the tour's screenshot is also written to
docs/screenshots/tour.png when that file is missing or UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
TOUR = REPO / "notebooks" / "tour.ipynb"
ARTIFACTS = REPO / "tests" / "artifacts"
README_SHOT = REPO / "docs" / "screenshots" / "tour.png"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KERNELSPEC = {
    "name": "codemode",
    "display_name": "Code Mode (JavaScript)",
    "language": "javascript",
}
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="120">'
    '<circle cx="60" cy="60" r="50" fill="#e76f51"/></svg>'
)
#: The small notebook the interaction test runs, cell by cell.
CELLS = [
    f'image("data:image/svg+xml," + encodeURIComponent({json.dumps(SVG)}));\n"drawn"',
    'text("spinning until interrupted");\nwhile (true) {}',
    "1 + 1",
]
#: What a person meets first: results, a store display, a failure with a hint, and two empty
#: cells to type into (completion after `Math.`, the tooltip inside `text(`).
RENDER_CELLS = [
    "1 + 1",
    "({ answer: 42, list: [1, 2] })",
    '"line one\\nline two"',
    'store("visits", { count: 3, pages: ["home", "docs"] })',
    "let greeting = 'hi'",
    "greeting.length",
    "",
    "",
]
#: Lab settings: no news/update toasts, every cell attached to the DOM (stable screenshots).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


@dataclass
class Lab:
    base_url: str
    token: str
    root: Path

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except (urllib.error.URLError, OSError):
        return 0


def _write_small_notebook(path: Path, cells: list[str] = CELLS) -> None:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "javascript"}}
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); no browser to drive")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("jupyterlab", reason="jupyterlab is not installed")
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    _write_small_notebook(root / "browser.ipynb")
    _write_small_notebook(root / "render.ipynb", RENDER_CELLS)
    shutil.copy(TOUR, root / "tour.ipynb")
    settings = tmp / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = dict(
        os.environ,  # JUPYTER_PATH from conftest: that is where the codemode kernel is
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
    )
    port, token = _free_port(), os.urandom(16).hex()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = (ARTIFACTS / "jupyter-lab.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",  # CI containers run as root
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    lab = Lab(f"http://127.0.0.1:{port}", token, root)
    try:
        deadline = time.monotonic() + 60
        while _get(lab.url("/api/status")) != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start; see {ARTIFACTS / 'jupyter-lab.log'}")
            time.sleep(0.25)
        yield lab
    finally:
        request = urllib.request.Request(lab.url("/api/shutdown"), method="POST")
        try:
            urllib.request.urlopen(request, timeout=5).close()  # shuts its kernels down too
            proc.wait(timeout=15)
        except (urllib.error.URLError, OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _open_notebook(browser: Any, lab: Lab, name: str, height: int = 900) -> Any:
    """A page with `name` open and its Code Mode kernel idle."""
    page = browser.new_page(viewport={"width": 1280, "height": height})
    page.set_default_timeout(30_000)
    # A workspace of its own, reset: no tabs restored from an earlier page.
    workspace = Path(name).stem
    page.goto(lab.url(f"/lab/workspaces/{workspace}/tree/{name}") + "&reset")
    panel = page.locator(".jp-NotebookPanel").first
    panel.wait_for()
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    kernel = panel.locator(".jp-Toolbar-kernelName")
    kernel.filter(has_text=KERNELSPEC["display_name"]).wait_for()
    _wait_idle(page)
    return page


def _wait_idle(page: Any, timeout: float = 30_000) -> None:
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout)


def _run_cell(page: Any, index: int) -> Any:
    """Put the cursor in cell `index` and press Shift+Enter; the cell's locator."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    return cell


def _saved_with_outputs(path: Path, cells: int, timeout: float = 15) -> Any:
    """The notebook on disk once its first `cells` cells all have outputs (the save landed)."""
    deadline = time.monotonic() + timeout
    while True:
        nb = nbformat.read(path, as_version=4)
        if all(c.get("outputs") for c in nb.cells[:cells]) or time.monotonic() > deadline:
            return nb
        time.sleep(0.2)


@contextmanager
def _shot_on_failure(page: Any, name: str) -> Iterator[None]:
    """Leave a picture of the page behind when a browser check fails."""
    try:
        yield
    except BaseException:
        _shot(page, f"FAILED-{name}.png")
        raise


def _shot(page: Any, name: str) -> Path:
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def test_image_interrupt_and_the_next_cell_in_jupyterlab(browser: Any, lab: Lab) -> None:
    page = _open_notebook(browser, lab, "browser.ipynb")
    with _shot_on_failure(page, "browser"):
        _interact(page, lab)
    page.close()


def _interact(page: Any, lab: Lab) -> None:
    _shot(page, "browser-1-opened.png")

    drawn = _run_cell(page, 0)
    image = drawn.locator(".jp-OutputArea-output img, .jp-OutputArea-output svg").first
    image.wait_for()
    result = drawn.locator(".jp-OutputArea-executeResult .jp-OutputArea-output")
    result.filter(has_text="drawn").wait_for()
    # A scalar result is text/plain only: the inspect form, not a JSON tree ("root …").
    assert result.inner_text().strip() == "'drawn'"
    # The SVG must really be drawn: an <img> has decoded it, or an inline <svg> has a size.
    size = image.evaluate(
        "el => el.tagName === 'IMG' ? [el.naturalWidth, el.naturalHeight]"
        " : [el.getBoundingClientRect().width, el.getBoundingClientRect().height]"
    )
    assert size == [120, 120]
    _wait_idle(page)

    spinning = _run_cell(page, 1)
    spinning.locator(".jp-OutputArea-output", has_text="spinning until interrupted").wait_for()
    page.locator('.jp-Notebook-ExecutionIndicator[data-status="busy"]').wait_for()
    time.sleep(0.5)  # it really spins: still busy, no reply
    assert spinning.locator(".jp-InputPrompt").inner_text().strip() == "[*]:"
    _shot(page, "browser-2-spinning.png")
    started = time.monotonic()
    page.locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]').click()
    error = spinning.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    )
    error.wait_for(timeout=10_000)
    _wait_idle(page, timeout=10_000)
    interrupted_after = time.monotonic() - started
    error_text = error.inner_text()
    assert "Script terminated" in error_text, error_text
    assert interrupted_after < 5

    answer = _run_cell(page, 2)
    result = answer.locator(".jp-OutputArea-executeResult .jp-OutputArea-output")
    result.filter(has_text="2").wait_for()
    assert result.inner_text().strip() == "2"
    _shot(page, "browser-3-interrupted-then-2.png")

    # What JupyterLab received, exactly: save the notebook and read it back.
    page.keyboard.press("Control+s")
    saved = _saved_with_outputs(lab.root / "browser.ipynb", cells=3)
    drawn_out, spin_out, two_out = (c.outputs for c in saved.cells[:3])
    assert drawn_out[0]["data"]["image/svg+xml"] == SVG
    assert drawn_out[-1]["data"]["text/plain"] == "'drawn'"
    assert spin_out[0]["data"]["text/plain"] == "spinning until interrupted"
    error_output = spin_out[-1]
    assert (error_output["ename"], error_output["evalue"]) == (
        "CellTerminated",
        "Script terminated",
    )
    assert two_out[-1]["data"] == {"text/plain": "2"}


def test_results_store_hints_completion_and_tooltips_render(browser: Any, lab: Lab) -> None:
    page = _open_notebook(browser, lab, "render.ipynb", height=1200)
    with _shot_on_failure(page, "render"):
        _render(page)
    page.close()


def _result_of(cell: Any) -> Any:
    return cell.locator(".jp-OutputArea-executeResult .jp-OutputArea-output")


def _render(page: Any) -> None:
    two = _run_cell(page, 0)
    _result_of(two).filter(has_text="2").wait_for()
    assert _result_of(two).inner_text().strip() == "2"  # text, not a JSON tree
    assert two.locator(".jp-RenderedJSON").count() == 0
    _wait_idle(page)

    obj = _run_cell(page, 1)
    obj.locator(".jp-OutputArea-executeResult").wait_for()
    _wait_idle(page)
    rendered = _result_of(obj).inner_text()
    assert "answer" in rendered and "42" in rendered, rendered

    text = _run_cell(page, 2)
    _result_of(text).filter(has_text="line one").wait_for()
    assert _result_of(text).inner_text().strip() == "'line one\\nline two'"
    _wait_idle(page)

    stored = _run_cell(page, 3)
    tree = stored.locator(".jp-RenderedJSON")
    tree.filter(has_text="visits").wait_for()
    _wait_idle(page)
    shown = tree.inner_text()  # opened all the way down: the nested values are readable
    assert "count" in shown and "home" in shown and "docs" in shown, shown

    _run_cell(page, 4)
    _wait_idle(page)
    failed = _run_cell(page, 5)
    error = failed.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    error.wait_for()
    _wait_idle(page)
    lines = error.inner_text().splitlines()
    assert lines[0] == "ReferenceError: greeting is not defined", lines
    count = page.locator(".jp-Notebook .jp-Cell").nth(4).locator(".jp-InputPrompt").inner_text()
    assert lines[-1] == (
        f"Hint: greeting was declared in cell {count.strip()[1:-2]}; each cell runs in a fresh "
        'isolate, so store("greeting", greeting) there and load("greeting") here.'
    ), lines
    red = error.locator(".ansi-red-fg")  # the error name, coloured as ipykernel colours it
    assert red.first.inner_text() == "ReferenceError"
    _shot(page, "render-1-results.png")

    # Completion of a built-in namespace's members, from V8's own table.
    completing = page.locator(".jp-Notebook .jp-Cell").nth(6)
    completing.locator(".cm-content").click()
    page.keyboard.type("Math.fl")
    page.keyboard.press("Tab")
    completer = page.locator(".jp-Completer")
    try:
        completer.wait_for(timeout=5_000)
        items = completer.locator(".jp-Completer-item").all_inner_texts()
        assert any("floor" in item for item in items), items
    except Exception:
        # A single match is inserted without a popup.
        assert "Math.floor" in completing.locator(".cm-content").inner_text()
    _shot(page, "render-2-completer.png")
    page.keyboard.press("Escape")

    # The tooltip inside a helper's parentheses.
    hinting = page.locator(".jp-Notebook .jp-Cell").nth(7)
    hinting.locator(".cm-content").click()
    page.keyboard.type("text(")
    page.keyboard.press("Shift+Tab")
    tooltip = page.locator(".jp-Tooltip")
    tooltip.wait_for(timeout=10_000)
    assert "text(value)" in tooltip.inner_text()
    _shot(page, "render-3-tooltip.png")
    page.keyboard.press("Escape")


def test_tour_runs_in_jupyterlab_and_is_photographed(browser: Any, lab: Lab) -> None:
    page = _open_notebook(browser, lab, "tour.ipynb", height=1100)
    with _shot_on_failure(page, "tour"):
        # Opening it changed nothing: the stored metadata is what the kernel reports.
        assert page.locator(".lm-TabBar-tab.jp-mod-dirty").count() == 0
        _run_tour(page)
    page.close()


def _run_tour(page: Any) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    cells = page.locator(".jp-Notebook .jp-Cell")
    last_code = page.locator(".jp-Notebook .jp-CodeCell").last
    last_code.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
        has_text="mean() of an empty list",
    ).wait_for(timeout=60_000)
    _wait_idle(page)
    assert cells.count() == len(nbformat.read(TOUR, as_version=4).cells)

    images = page.locator(".jp-OutputArea-output img")
    assert images.count() >= 3  # sunflower, Mandelbrot, badge
    for i in range(images.count()):
        assert images.nth(i).evaluate("el => el.complete && el.naturalWidth > 0")
    page.locator(".jp-OutputArea-output", has_text="finished after about a second").wait_for()
    # Status lines of yielded cells are updated in place, across cells, once the cell ends;
    # each names the cell by its prompt number.
    lines = page.locator(".jp-OutputArea-output", has_text="Script").all_inner_texts()
    yielded = cells.filter(has_text="finished after about a second").first
    runaway = cells.filter(has_text="spinning forever").first
    number = re.compile(r"\[(\d+)\]")
    yid = number.search(yielded.locator(".jp-InputPrompt").inner_text())
    rid = number.search(runaway.locator(".jp-InputPrompt").inner_text())
    assert yid and rid
    assert lines == [
        f"Script completed with cell ID {yid[1]}",
        f"Script terminated with cell ID {rid[1]}",
        f"Script terminated with cell ID {rid[1]}",
    ]

    store_magic = page.locator(".jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=re.compile(r"^%store$"))
    )
    store_tree = store_magic.locator(".jp-RenderedJSON")
    tree = store_tree.inner_text()  # a collapsible JSON tree
    assert "tour" in tree and 'greeting"hello"' in tree, tree

    # The README picture: sidebar closed, the PNG encoder's source collapsed, the images on top.
    page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click()
    png_cell = cells.filter(has_text="const W = 240, H = 160")
    png_cell.locator(".jp-InputCollapser").click()
    heading = cells.filter(has=page.locator("h2", has_text="Images drawn in JavaScript"))
    heading.evaluate("el => el.scrollIntoView({block: 'start'})")
    heading.click()  # select a quiet cell, not the PNG one
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    shot = _shot(page, "tour.png")
    if not README_SHOT.exists() or os.environ.get("UPDATE_SCREENSHOTS") == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, README_SHOT)
