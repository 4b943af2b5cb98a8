"""The tour notebook, executed with nbclient against the real kernel: every teaching claim it makes
is checked against the outputs it produces (and the execute_reply metadata behind them)."""

from __future__ import annotations

import base64
import importlib.util
import re
import struct
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import nbclient
import nbformat
import pytest

from codemode_kernel.output.traceback import strip_ansi

pytestmark = pytest.mark.e2e

TOUR = Path(__file__).resolve().parents[1] / "notebooks" / "tour.ipynb"
SHOW = TOUR.with_name("show.py")
SVG_NS = "{http://www.w3.org/2000/svg}"


class Executed:
    """The executed tour: cells by their nbformat id, and each cell's execute_reply."""

    def __init__(self, nb: Any = None) -> None:
        self.nb = nbformat.read(TOUR, as_version=4) if nb is None else nb
        self.replies: dict[str, dict[str, Any]] = {}
        client = nbclient.NotebookClient(
            self.nb,
            kernel_name="codemode",
            timeout=60,
            on_cell_executed=self._record,
            resources={"metadata": {"path": str(TOUR.parent)}},
        )
        client.execute()
        self.cells = {c.id: c for c in self.nb.cells}

    def _record(self, cell: Any, cell_index: int, execute_reply: dict[str, Any]) -> None:
        self.replies[cell.id] = execute_reply

    def outputs(self, cell_id: str) -> list[dict[str, Any]]:
        return list(self.cells[cell_id].outputs)

    def codemode(self, cell_id: str) -> dict[str, Any]:
        """The reply's `metadata.codemode` (cell_id, status, output counts)."""
        return dict(self.replies[cell_id]["metadata"].get("codemode", {}))

    def texts(self, cell_id: str) -> list[str]:
        """Each output as plain text: stream text, or a bundle's text/plain."""
        out = []
        for o in self.outputs(cell_id):
            if o["output_type"] == "stream":
                out.append(o["text"])
            elif "data" in o:
                out.append(o["data"].get("text/plain", ""))
        return out

    def bundles(self, cell_id: str, mime: str) -> list[Any]:
        return [o["data"][mime] for o in self.outputs(cell_id) if mime in o.get("data", {})]


@pytest.fixture(scope="module")
def tour() -> Executed:
    return Executed()


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, checking each chunk's CRC on the way."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + data) == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, data))
        pos += 12 + length
    return chunks


# --- the stored notebook ------------------------------------------------------------------


def test_stored_notebook_is_clean_and_names_the_kernel() -> None:
    nb = nbformat.read(TOUR, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"] == {
        "name": "codemode",
        "display_name": "Code Mode (JavaScript)",
        "language": "javascript",
    }
    assert nb.metadata["language_info"]["name"] == "javascript"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    tagged = [c.id for c in code if "raises-exception" in c.metadata.get("tags", [])]
    assert tagged == ["error"]


# --- the executed tour --------------------------------------------------------------------


def test_the_kernel_has_nothing_to_change_in_the_stored_metadata(tour: Executed) -> None:
    """A front end writes the kernel's language_info into a notebook it opens; when the stored
    one differs, the notebook shows as modified the moment it opens."""
    for path in sorted(TOUR.parent.glob("*.ipynb")):
        stored = nbformat.read(path, as_version=4).metadata
        if stored["kernelspec"]["name"] != "codemode":
            continue  # agent.ipynb drives the kernel from Python
        assert stored["language_info"] == tour.nb.metadata["language_info"], path.name


def test_only_the_error_cell_fails(tour: Executed) -> None:
    statuses = {cid: r["content"]["status"] for cid, r in tour.replies.items()}
    assert len(statuses) == sum(c.cell_type == "code" for c in tour.nb.cells)
    assert {cid for cid, s in statuses.items() if s != "ok"} == {"error"}


def test_a_cell_id_is_the_prompt_number(tour: Executed) -> None:
    execs = [c for c in tour.nb.cells if c.cell_type == "code" and not c.source.startswith("%")]
    assert len(execs) == 15
    for cell in execs:
        assert tour.codemode(cell.id)["cell_id"] == str(cell.execution_count), cell.id
    assert "cell id" not in "".join(c.source for c in tour.nb.cells if c.cell_type == "code")


def test_the_tour_runs_again_in_the_same_kernel() -> None:
    """Run All twice without a restart: the bare `%wait` and `%terminate` find the new cells."""
    nb = nbformat.read(TOUR, as_version=4)
    again = [nbformat.from_dict({**c, "id": f"again-{c.id}"}) for c in nb.cells]
    nb.cells += again
    twice = Executed(nb)
    failed = {cid for cid, r in twice.replies.items() if r["content"]["status"] != "ok"}
    assert failed == {"error", "again-error"}
    runaway = twice.codemode("again-runaway")["cell_id"]
    assert twice.texts("again-terminate") == [f"Script terminated with cell ID {runaway}"]
    assert twice.codemode("again-wait")["cell_id"] == twice.codemode("again-yield")["cell_id"]
    assert twice.texts("again-cells-after-terminate") == ["No live cells."]


def test_text_and_console(tour: Executed) -> None:
    outputs = tour.outputs("text-and-console")
    assert outputs[0]["output_type"] == "display_data"
    assert outputs[0]["data"] == {"text/plain": "Hello from a code-mode cell!"}
    streams = [(o["name"], o["text"]) for o in outputs if o["output_type"] == "stream"]
    assert streams == [
        ("stdout", "console.log goes to stdout: { answer: 42, list: [ 1, 2, 3 ] }\n"),
        ("stderr", "console.error goes to stderr\n"),
    ]


def test_last_expression_is_the_result_and_cells_do_not_share_globals(tour: Executed) -> None:
    (result,) = [o for o in tour.outputs("last-expression") if o["output_type"] == "execute_result"]
    assert result["data"]["application/json"] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    assert result["data"]["text/plain"] == "[ 2, 3, 5, 7, 11, 13, 17, 19, 23, 29 ]"
    assert tour.texts("fresh-isolate") == ["'undefined'"]


def test_max_output_tokens_cuts_the_middle(tour: Executed) -> None:
    text = "".join(tour.texts("truncation"))
    assert text.startswith("line 1 of 40\n") and text.endswith("line 40 of 40\n")
    assert "line 20 of 40" not in text
    marker = re.search(r"…(\d+) tokens truncated…", text)
    assert marker is not None
    assert tour.codemode("truncation")["output"]["truncated_tokens"] == int(marker.group(1)) > 0


def test_svg_image(tour: Executed) -> None:
    (svg,) = tour.bundles("svg", "image/svg+xml")
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg" and root.get("width") == "220"
    assert len(root.findall(f"{SVG_NS}circle")) == 400
    assert tour.bundles("svg", "text/plain") == [
        f"<image image/svg+xml, {len(svg.encode('utf-8'))} bytes>"
    ]


def test_png_image_is_a_valid_png(tour: Executed) -> None:
    (b64,) = tour.bundles("png", "image/png")
    png = base64.b64decode(b64)
    chunks = _png_chunks(png)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert (width, height, depth, colour) == (240, 160, 8, 2)
    pixels = zlib.decompress(chunks[1][1])  # checks the Adler-32 too
    assert len(pixels) == height * (1 + 3 * width)
    assert len(set(pixels)) > 50  # a picture, not a blank
    plain = tour.bundles("png", "text/plain")
    assert plain[0] == f"<image image/png, {len(png)} bytes>"
    assert plain[1] == f"'240\N{MULTIPLICATION SIGN}160 PNG, {len(png)} bytes'"


def test_generated_image_shows_the_image_then_the_hint(tour: Executed) -> None:
    outputs = tour.outputs("generated-image")
    assert [o["metadata"]["codemode"]["type"] for o in outputs] == ["image", "text"]
    badge = ElementTree.fromstring(outputs[0]["data"]["image/svg+xml"])
    assert "".join(badge.itertext()) == "code mode ✓"
    assert outputs[1]["data"]["text/plain"] == (
        "A badge, as an image-generation tool might return it"
    )


def test_store_load_and_the_store_magic(tour: Executed) -> None:
    (stored,) = tour.outputs("store")
    assert stored["data"] == {
        "application/json": {"tour": {"visits": 1, "primes": [2, 3, 5, 7]}, "greeting": "hello"},
        "text/plain": "Stored: tour, greeting",
    }
    assert tour.bundles("load", "application/json") == [
        {"tour": {"visits": 2, "primes": [2, 3, 5, 7]}},
        ["hello", 2, None],
    ]
    (whole,) = tour.bundles("store-magic", "application/json")
    assert whole == {"tour": {"visits": 2, "primes": [2, 3, 5, 7]}, "greeting": "hello"}


def test_notify_is_shown_while_the_cell_is_watched(tour: Executed) -> None:
    outputs = tour.outputs("notify")
    assert [(o["metadata"]["codemode"]["type"], o["data"]["text/plain"]) for o in outputs] == [
        ("notify", "Step 1 of 2 done"),
        ("text", "the cell goes on after notify()"),
    ]


def test_timers_and_exit(tour: Executed) -> None:
    assert tour.texts("timers") == ["slept at least 250 ms"]
    assert tour.codemode("timers")["wall_time_s"] >= 0.25
    assert tour.texts("exit") == ["before exit()"]
    assert tour.codemode("exit")["status"] == "completed"


def test_yield_then_cells_then_wait(tour: Executed) -> None:
    started, status = tour.texts("yield")
    assert started == "started"
    cid = tour.codemode("yield")["cell_id"]
    # The `%wait` that collected the cell updated its status line in place.
    assert status == f"Script completed with cell ID {cid}", status
    assert tour.codemode("yield")["status"] == "running"
    (table,) = tour.bundles("cells-magic", "text/plain")
    assert re.search(rf"^{cid}\s+(running|completed)\b", table, re.MULTILINE), table
    assert "<table" in tour.bundles("cells-magic", "text/html")[0]
    assert tour.texts("wait") == ["finished after about a second", "'done'"]
    assert tour.codemode("wait") | {"wall_time_s": None} == tour.codemode("wait") | {
        "cell_id": cid,
        "status": "completed",
        "wall_time_s": None,
    }


def test_terminate_stops_the_runaway_cell(tour: Executed) -> None:
    cid = tour.codemode("runaway")["cell_id"]
    # The runaway cell's status display is updated in place once the cell is terminated.
    assert tour.texts("runaway") == ["spinning forever…", f"Script terminated with cell ID {cid}"]
    assert tour.codemode("runaway")["status"] == "running"
    assert tour.texts("terminate") == [f"Script terminated with cell ID {cid}"]
    assert tour.replies["terminate"]["content"]["status"] == "ok"
    assert (tour.codemode("terminate")["cell_id"], tour.codemode("terminate")["status"]) == (
        cid,
        "terminated",
    )
    assert tour.texts("cells-after-terminate") == ["No live cells."]


def test_error_keeps_earlier_output_and_has_a_traceback_with_cell_lines(tour: Executed) -> None:
    outputs = tour.outputs("error")
    assert outputs[0]["data"]["text/plain"] == "mean([1, 2, 3]) = 2"
    error = outputs[-1]
    assert error["output_type"] == "error"
    assert (error["ename"], error["evalue"]) == ("RangeError", "mean() of an empty list")
    traceback = [strip_ansi(line) for line in error["traceback"]]
    assert traceback[0] == "RangeError: mean() of an empty list"
    assert "at mean (cell.js:3:" in traceback[1]  # the `throw`
    assert "cell.js:8:" in traceback[2]  # the call `mean([])`
    assert tour.codemode("error")["status"] == "failed"


def test_traceback_frames_point_only_at_the_users_code(tour: Executed) -> None:
    frames = [strip_ansi(line) for line in tour.outputs("error")[-1]["traceback"][1:]]
    assert frames == ["    at mean (cell.js:3:11)", "    at cell.js:8:1"]


def test_show_prints_an_executed_notebook_as_text(
    tour: Executed, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = importlib.util.spec_from_file_location("show", SHOW)
    assert spec is not None and spec.loader is not None
    show = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(show)
    path = tmp_path / "tour.executed.ipynb"
    nbformat.write(tour.nb, path)
    assert show.main([str(path)]) == 0
    text = capsys.readouterr().out
    assert "Hello from a code-mode cell!" in text
    assert "[stderr] console.error goes to stderr" in text
    assert re.search(r"^<image/png \d+ bytes>$", text, re.MULTILINE)
    assert re.search(r"^<image/svg\+xml \d+ bytes>$", text, re.MULTILINE)
    assert "Out[2]: [ 2, 3, 5, 7, 11, 13, 17, 19, 23, 29 ]" in text
    assert "RangeError: mean() of an empty list" in text
    assert "iVBORw0KGgo" not in text  # no base64 dumps
    failed = f"[{tour.cells['error'].execution_count}] (on purpose: tagged raises-exception)"
    summary = text[text.index("Summary:") :].splitlines()
    assert summary[2] == f"  cells that failed: {failed}"
    assert summary[-1] == "  every helper, magic and error: docs/cells.md"
    assert "Script running" not in text  # the `%wait` updated the yielded cell's line
