"""Cell outputs as Jupyter contents: MIME bundles for images (forgiving with input, never
raising), the `metadata.codemode` every output carries, and the exact message shapes."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest

from codemode_kernel.output.items import ImageItem, TextItem
from codemode_kernel.output.messages import (
    INVALID_IMAGE_TEXT,
    MISSING,
    Output,
    error_output,
    image_bundle,
    image_output,
    item_output,
    notify_output,
    parse_data_url,
    result_output,
    status_output,
    status_update,
    store_output,
    text_output,
    truncated_output,
)
from codemode_kernel.protocol import status_display_id

pytestmark = pytest.mark.unit

# --- bundles and metadata ------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n fake"
SVG = '<svg xmlns="http://www.w3.org/2000/svg"><text>é</text></svg>'


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "image/gif", "image/webp"])
def test_base64_image_types(mime: str) -> None:
    bundle = image_bundle(f"data:{mime};base64,{_b64(PNG)}")
    assert bundle == {mime: _b64(PNG), "text/plain": f"<image {mime}, {len(PNG)} bytes>"}


def test_base64_is_forgiving_and_normalised() -> None:
    raw = _b64(PNG).rstrip("=")
    spaced = " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    bundle = image_bundle(f"DATA:Image/PNG;BASE64,{spaced}")
    assert bundle["image/png"] == _b64(PNG)


def test_svg_base64_and_percent_encoded() -> None:
    size = len(SVG.encode())
    b64 = image_bundle(f"data:image/svg+xml;base64,{_b64(SVG.encode())}")
    assert b64 == {"image/svg+xml": SVG, "text/plain": f"<image image/svg+xml, {size} bytes>"}
    quoted = (
        "%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22%3E%3Ctext%3E%C3%A9%3C/text%3E%3C/svg%3E"
    )
    assert image_bundle(f"data:image/svg+xml;charset=utf-8,{quoted}") == b64


def test_unknown_mime_gets_only_text() -> None:
    assert image_bundle(f"data:application/octet-stream;base64,{_b64(b'abc')}") == {
        "text/plain": "<image application/octet-stream, 3 bytes>"
    }
    # An unvalidated reference-style URL still describes itself.
    assert image_bundle("data:image/png;base64,AAA") == {
        "image/png": "AAA=",
        "text/plain": "<image image/png, 2 bytes>",
    }
    # Percent-encoded (non-base64) bytes of a raster type are re-encoded for Jupyter.
    assert image_bundle("data:image/png,ab%63") == {
        "image/png": "YWJj",
        "text/plain": "<image image/png, 3 bytes>",
    }
    assert image_bundle("data:,hi") == {"text/plain": "<image text/plain, 2 bytes>"}


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://example.com/a.png",
        "data:image/png;base64",
        "data:image/png;base64,@@@@",
        "data:image/png;base64,A",
        "data:image/png;base64,%ZZ",
        "nodata:,x",
        "data:image/png;base64,A=A=",
    ],
)
def test_bad_urls_never_raise(url: str) -> None:
    assert parse_data_url(url) is None
    assert image_bundle(url) == {"text/plain": INVALID_IMAGE_TEXT}


def test_random_urls_never_raise() -> None:
    rng = random.Random(7)
    alphabet = "data:image/png;base64,svg+xml%=AZaz09 \n\udc80😀,;"
    for _ in range(2000):
        url = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        assert "text/plain" in image_bundle(url)


def _codemode(output: Output) -> dict[str, Any]:
    meta: dict[str, Any] = output[1]["metadata"]["codemode"]
    return meta


def test_every_output_carries_codemode_metadata() -> None:
    outputs: dict[str, Output] = {
        "text": text_output("3", TextItem("hi")),
        "console": text_output("3", TextItem("hi", stream="stderr")),
        "image": image_output("3", ImageItem(f"data:image/png;base64,{_b64(PNG)}", "low")),
        "notify": notify_output("3", "note"),
        "status": status_output("3", "Script running with cell ID 3", status_display_id("3")),
        "store": store_output("3", {"a": 1}),
        "result": result_output("3", "42", 42, 5),
        "error": error_output("3", "TypeError", "bad", "TypeError: bad\n    at cell.js:1:1"),
        "truncated": truncated_output("3", 7),
    }
    for kind, output in outputs.items():
        assert _codemode(output)["cell_id"] == "3"
        assert _codemode(output)["type"] == kind
    assert _codemode(outputs["image"])["detail"] == "low"
    assert _codemode(status_update("3", "done", "codemode-cell-3"))["type"] == "status"


def test_message_shapes() -> None:
    assert text_output("1", TextItem("hi")) == (
        "display_data",
        {
            "data": {"text/plain": "hi"},
            "metadata": {"codemode": {"cell_id": "1", "type": "text"}},
            "transient": {},
        },
    )
    msg_type, content = text_output("1", TextItem("line", stream="stdout"))
    assert (msg_type, content["name"], content["text"]) == ("stream", "stdout", "line\n")
    msg_type, content = status_output("4", "Script running with cell ID 4", "codemode-cell-4")
    assert msg_type == "display_data" and content["transient"] == {"display_id": "codemode-cell-4"}
    msg_type, content = status_update("4", "finished", "codemode-cell-4")
    assert msg_type == "update_display_data"
    assert content["transient"] == {"display_id": "codemode-cell-4"}
    assert store_output("2", {"b": 1, "a": [2]})[1]["data"] == {
        "application/json": {"b": 1, "a": [2]},
        "text/plain": "Stored: b, a",
    }
    assert store_output(None, {})[1]["data"]["text/plain"] == "Stored: (nothing)"
    assert result_output("2", "undefined-ish", MISSING, 3) == (
        "execute_result",
        {
            "execution_count": 3,
            "data": {"text/plain": "undefined-ish"},
            "metadata": {"codemode": {"cell_id": "2", "type": "result"}},
        },
    )
    # Only a structure is application/json (a JSON tree in JupyterLab); a scalar's value, null
    # included, rides in the metadata so `1 + 1` renders as `2`.
    structure = result_output("2", "[ 1, 2 ]", [1, 2], 3)[1]
    assert structure["data"] == {"text/plain": "[ 1, 2 ]", "application/json": [1, 2]}
    assert "value" not in structure["metadata"]["codemode"]
    for scalar in (None, 2, "two\nlines", True):
        content = result_output("2", "shown", scalar, 3)[1]
        assert content["data"] == {"text/plain": "shown"}
        meta = content["metadata"]["codemode"]
        assert meta == {"cell_id": "2", "type": "result", "value": scalar}
    msg_type, content = error_output("2", "ScriptError", "boom", "boom\n  at cell.js:2")
    assert msg_type == "error"
    assert (content["ename"], content["evalue"]) == ("ScriptError", "boom")
    assert content["traceback"] == ["boom", "\x1b[2m  at cell.js:2\x1b[0m"]
    assert truncated_output("2", 9)[1]["data"] == {"text/plain": "…9 tokens truncated…"}
    assert item_output("2", ImageItem("data:,x"))[1]["metadata"]["codemode"]["type"] == "image"
