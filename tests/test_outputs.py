"""Output shaping: the reference's truncation rules, MIME bundles, and the streaming shaper.

The shaper's property tests feed what it sends through the client's own `OutputCollector` and
compare the items it rebuilds against `truncate_text_items`, itself pinned to the expected
strings of the Rust tests of Codex's code mode, so "exact rebuild" means exact.
"""

from __future__ import annotations

import base64
import random
import re
from typing import Any

import pytest

from codemode_kernel.client.results import ExecResult, OutputCollector, image_item
from codemode_kernel.output.items import ImageItem, Item, Stream, TextItem
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
from codemode_kernel.output.shaper import ObservationShaper, OutputStats
from codemode_kernel.output.truncation import (
    approx_tokens,
    count_lines,
    join_texts,
    middle_cut,
    model_header,
    round_wall_time,
    truncate_items,
    truncate_text_items,
)
from codemode_kernel.protocol import status_display_id

pytestmark = pytest.mark.unit

# --- truncation: the reference's numbers ------------------------------------------------


def test_approx_tokens_counts_utf8_bytes() -> None:
    assert approx_tokens("") == 0
    assert approx_tokens("abcd") == 1
    assert approx_tokens("abcde") == 2
    assert approx_tokens("😀") == 1  # 4 bytes
    assert approx_tokens("é") == 1  # 2 bytes


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", 0),
        ("a", 1),
        ("a\n", 1),
        ("a\nb", 2),
        ("\n", 1),
        ("\n\n", 2),
        ("a\r\nb\r\n", 2),
        ("a\rb", 1),
        ("a\u2028b", 1),
        ("x\n\ny", 3),
    ],
)
def test_count_lines_is_rust_lines(text: str, lines: int) -> None:
    assert count_lines(text) == lines


def test_join_texts_skips_separator_until_non_empty() -> None:
    assert join_texts([]) == ""
    assert join_texts(["", "abc"]) == "abc"
    assert join_texts(["", "", "a", "", "b"]) == "a\n\nb"
    assert join_texts(["a", ""]) == "a\n"


def test_middle_cut_matches_reference_examples() -> None:
    assert middle_cut("example output", 4) == ("ex…3 tokens truncated…ut", 3)
    long = "this is an example of a long output that should be truncated"
    assert middle_cut(long, 20) == ("this is an…10 tokens truncated… truncated", 10)
    emoji = "😀😀😀😀😀😀😀😀😀😀\nsecond line with text\n"
    # 63 bytes, 10/10 split: two whole emoji fit the head, "with text\n" the tail.
    assert middle_cut(emoji, 20) == ("😀😀…11 tokens truncated…with text\n", 11)


def test_middle_cut_edges() -> None:
    assert middle_cut("", 0) == ("", 0)
    assert middle_cut("abcd", 4) == ("abcd", 0)
    assert middle_cut("abcde", 0) == ("…2 tokens truncated…", 2)
    assert middle_cut("abcde", 1) == ("…1 tokens truncated…e", 1)
    # A 4-byte char never splits: with 3 head bytes nothing of it is kept.
    assert middle_cut("😀😀😀", 7) == ("…2 tokens truncated…😀", 2)


def test_truncate_text_items_reference_examples() -> None:
    assert truncate_text_items(["example output"], 1) == [
        "Total output lines: 1\n\nex…3 tokens truncated…ut"
    ]
    assert truncate_text_items(["example output"], 10) == ["example output"]
    two_lines = "this is an example of a long output that should be truncated\nalso some other line"
    assert truncate_text_items([two_lines], 10) == [
        "Total output lines: 2\n\nthis is an example o…11 tokens truncated…also some other line"
    ]
    assert truncate_text_items(["abcdefgh", "ijklmnop"], 2) == [
        "Total output lines: 2\n\nabcd…3 tokens truncated…mnop"
    ]
    assert truncate_text_items(["alpha", "", "beta"], 8) == ["alpha", "", "beta"]
    # Leading empty text adds no separator (reference: preserves_empty_leading_text_behavior).
    assert truncate_text_items(["", "abc"], 0) == ["Total output lines: 1\n\n…1 tokens truncated…"]
    assert truncate_text_items([], 0) == []
    assert truncate_text_items(["", ""], 0) == ["", ""]


def test_truncate_text_items_core_regex() -> None:
    pattern = re.compile(r"\ATotal output lines: 1\n\n.*…\d+ tokens truncated….*\Z", re.DOTALL)
    (out,) = truncate_text_items(["x" * 100_000], 10)
    assert pattern.match(out)
    assert len(out.encode()) < 40 + 30 + 40  # header + 40 kept bytes + marker


def test_truncate_items_all_text_uses_combined_rule() -> None:
    items: list[Item] = [TextItem("abcdefgh"), TextItem("ijklmnop", stream="stdout")]
    assert truncate_items(items, 2) == [
        TextItem("Total output lines: 2\n\nabcd…3 tokens truncated…mnop")
    ]
    assert truncate_items(items, 5) == items
    assert truncate_items([], 0) == []


def test_truncate_items_mixed_rule_reference_example() -> None:
    chunk = (
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi "
        "rho sigma tau upsilon phi chi psi omega.\n"
    )
    limit = approx_tokens(chunk) * 3
    image = ImageItem("img:mid")
    items: list[Item] = [
        TextItem(chunk),
        TextItem(chunk),
        image,
        TextItem(chunk * 10),
        TextItem(chunk),
        TextItem(chunk),
    ]
    out = truncate_items(items, limit)
    assert len(out) == 5
    assert out[:3] == [TextItem(chunk), TextItem(chunk), image]
    assert isinstance(out[3], TextItem) and "tokens truncated" in out[3].text
    assert out[4] == TextItem("[omitted 2 text items ...]")


def test_truncate_items_mixed_rule_edges() -> None:
    image = ImageItem("data:image/png;base64,AAAA")
    # Budget 0: every text is omitted, images stay; no "Total output lines" header.
    assert truncate_items([TextItem("a"), image, TextItem("")], 0) == [
        image,
        TextItem("[omitted 2 text items ...]"),
    ]
    # The crossing text is cut to what is left (1 token = 4 bytes), keeping its stream.
    out = truncate_items([TextItem("abcd"), TextItem("0123456789", "stderr"), image], 2)
    assert out == [TextItem("abcd"), TextItem("01…2 tokens truncated…89", "stderr"), image]


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.0, "0.0"),
        (0.04, "0.0"),
        (0.05, "0.1"),
        (0.25, "0.3"),
        (1.25, "1.3"),
        (11.0, "11.0"),
        (10.96, "11.0"),
        (-1.0, "0.0"),
        (float("nan"), "0.0"),
    ],
)
def test_model_header_rounds_like_rust(seconds: float, shown: str) -> None:
    assert model_header("Script completed", seconds) == (
        f"Script completed\nWall time {shown} seconds\nOutput:\n"
    )


def test_round_wall_time_huge_does_not_raise() -> None:
    assert round_wall_time(1e300) > 0


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


# --- the streaming shaper ---------------------------------------------------------------


def _shape(items: list[Item], max_tokens: int) -> tuple[list[list[Output]], list[Output], Any]:
    shaper = ObservationShaper("7", max_tokens)
    fed = [shaper.feed(item) for item in items]
    finished, stats = shaper.finish()
    return fed, finished, stats


def _piece_text(output: Output) -> str:
    msg_type, content = output
    if msg_type == "stream":
        text: str = content["text"]
        if content["metadata"]["codemode"].get("cut") != "head":
            assert text.endswith("\n")
            text = text[:-1]
        return text
    plain: str = content["data"]["text/plain"]
    return plain


def _is_text(output: Output) -> bool:
    return _codemode(output)["type"] in ("text", "console")


def _collect(outputs: list[Output], stats: OutputStats) -> ExecResult:
    """What the client makes of these outputs: each one as the IOPub message the kernel sends,
    fed to the client's collector, then the execute_reply metadata with the shaper's stats."""
    collector = OutputCollector("7")
    for msg_type, content in outputs:
        collector.feed({"msg_type": msg_type, "content": content})
    meta = {"cell_id": "7", "status": "completed", "wall_time_s": 0.0, "output": stats.as_dict()}
    reply = {"content": {"status": "ok"}, "metadata": {"codemode": meta}}
    return collector.finish(reply, 0.0)


def _shown(item: Item) -> Item:
    """An item as it comes back to a client: images through their MIME bundle."""
    if isinstance(item, ImageItem):
        return image_item(image_bundle(item.image_url), item.detail)
    return item


def _check_shaper(items: list[Item], max_tokens: int) -> None:
    fed, finished, stats = _shape(items, max_tokens)
    outputs = [out for batch in fed for out in batch] + finished
    for out in outputs:
        assert _codemode(out)["cell_id"] == "7"
    texts = [item.text for item in items if isinstance(item, TextItem)]
    images = [item for item in items if isinstance(item, ImageItem)]
    shown_images = [out for out in outputs if _codemode(out)["type"] == "image"]
    assert len(shown_images) == len(images)
    assert [_codemode(o)["detail"] for o in shown_images] == [i.detail for i in images]
    expected = truncate_text_items(texts, max_tokens)
    assert stats.total_lines == count_lines(join_texts(texts))
    markers = [i for i, out in enumerate(outputs) if _codemode(out)["type"] == "truncated"]
    result = _collect(outputs, stats)
    assert result.status == "completed" and result.total_lines == stats.total_lines
    if expected == texts:
        assert not markers and stats.truncated_tokens == 0 and stats.omitted_text_items == 0
        # Every item whole again, head and tail pieces joined, in the order it was produced.
        assert result.model_items is None and result.truncated_tokens == 0
        assert result.items == [_shown(item) for item in items]
        return
    assert len(markers) == 1
    (marker,) = markers
    k = stats.truncated_tokens
    assert _piece_text(outputs[marker]) == f"…{k} tokens truncated…"
    # The client rebuilds the reference's one truncated text item, the images kept around it.
    assert result.model_items is not None and result.truncated_tokens == k
    rebuilt = [i for i in result.model_items if isinstance(i, TextItem) and i.text == expected[0]]
    assert len(rebuilt) == 1
    others = [item for item in result.model_items if item is not rebuilt[0]]
    assert others == [_shown(image) for image in images]
    # The head went out live, the marker and everything after it only at finish().
    assert outputs[marker:] == finished
    assert stats.omitted_text_items == _expected_omitted(texts, max_tokens)


def _expected_omitted(texts: list[str], max_tokens: int) -> int:
    """Texts with no byte in the head or tail window, the separator before them aside."""
    budget = 4 * max_tokens
    head, total = budget // 2, len(join_texts(texts).encode())
    tail_from = total - (budget - head)
    omitted, pos, crossed = 0, 0, False
    for text in texts:
        start = pos + (1 if pos else 0)
        pos = start + len(text.encode())
        if pos <= head and not crossed:
            continue
        if not crossed:
            crossed = True
            if head >= start:
                continue
        omitted += pos < tail_from
    return omitted


STREAMS: tuple[Stream | None, ...] = (None, "stdout")
ALPHABET = ["a", "b", "\n", "\r", " ", "é", "€", "😀", "\u2028"]


def _random_item(rng: random.Random) -> Item:
    if rng.random() < 0.15:
        return ImageItem(
            f"data:image/png;base64,{_b64(bytes([rng.randrange(256)]))}",
            rng.choice(["high", "low"]),
        )
    length = rng.choice([0, 0, 1, 2, 3, 5, 8, 13, 40])
    text = "".join(rng.choice(ALPHABET) for _ in range(length))
    streams: list[Stream | None] = [None, None, "stdout", "stderr"]
    return TextItem(text, rng.choice(streams))


@pytest.mark.parametrize("seed", range(40))
def test_shaper_rebuilds_reference_text(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        items = [_random_item(rng) for _ in range(rng.randrange(12))]
        _check_shaper(items, rng.randrange(51))


def test_shaper_exhaustive_small_cases() -> None:
    """Every cut position around separators and multibyte chars, for tiny budgets."""
    pieces = ["", "a", "ab", "😀", "a\n", "é€"]
    for max_tokens in range(5):
        for first in pieces:
            for second in pieces:
                for third in pieces:
                    for stream in STREAMS:
                        items: list[Item] = [
                            TextItem(first),
                            TextItem(second, stream),
                            ImageItem("data:,x"),
                            TextItem(third * 3),
                        ]
                        _check_shaper(items, max_tokens)


def test_shaper_streams_head_and_holds_the_rest() -> None:
    shaper = ObservationShaper("1", 2)  # B = 8 bytes, head 4, tail 4
    assert shaper.feed(TextItem("ab")) == [text_output("1", TextItem("ab"))]
    image = ImageItem("data:image/png;base64,AAAA")
    assert shaper.feed(image) == [image_output("1", image)]
    # "ab\n" + "xyz…": the head ends after "x".
    ((msg_type, content),) = shaper.feed(TextItem("xyz", stream="stdout"))
    assert (msg_type, content["text"]) == ("stream", "x")
    assert content["metadata"]["codemode"] == {"cell_id": "1", "type": "console", "cut": "head"}
    assert shaper.feed(image) == []
    assert shaper.feed(TextItem("0123456789")) == []
    outputs, stats = shaper.finish()
    assert [_piece_text(out) for out in outputs] == [
        "…3 tokens truncated…",
        "<image image/png, 3 bytes>",
        "6789",
    ]
    assert _codemode(outputs[2])["cut"] == "tail"
    assert stats.as_dict() == {"total_lines": 3, "truncated_tokens": 3, "omitted_text_items": 0}
    assert truncate_text_items(["ab", "xyz", "0123456789"], 2) == [
        "Total output lines: 3\n\nab\nx…3 tokens truncated…6789"
    ]


def test_shaper_flushes_when_it_fits() -> None:
    shaper = ObservationShaper("1", 3)  # B = 12, head 6
    first = shaper.feed(TextItem("hello", "stdout"))
    assert first[0][1]["text"] == "hello\n"
    (head,) = shaper.feed(TextItem("world", "stdout"))
    assert head[1]["text"] == ""  # the head ends right after the separator
    outputs, stats = shaper.finish()
    assert [out[1]["text"] for out in outputs] == ["world\n"]
    assert _codemode(outputs[0])["cut"] == "tail"
    assert stats.truncated_tokens == 0 and stats.total_lines == 2


def test_shaper_counts_omitted_items() -> None:
    shaper = ObservationShaper("1", 1)  # B = 4: head 2, tail 2
    for text in ["abc", "middle", "gone", "xy"]:
        shaper.feed(TextItem(text))
    outputs, stats = shaper.finish()
    assert stats.omitted_text_items == 2  # "middle" and "gone"; "abc" has a head piece
    assert [_piece_text(out) for out in outputs] == ["…4 tokens truncated…", "xy"]
    with pytest.raises(RuntimeError):
        shaper.feed(TextItem("late"))
    with pytest.raises(RuntimeError):
        shaper.finish()


def test_shaper_tail_starting_on_a_separator_sends_empty_piece() -> None:
    shaper = ObservationShaper("1", 1)  # B = 4: tail is the last 2 bytes "\nz"
    for text in ["abcdef", "z"]:
        shaper.feed(TextItem(text))
    outputs, _ = shaper.finish()
    assert [_piece_text(out) for out in outputs] == ["…1 tokens truncated…", "", "z"]
    assert _codemode(outputs[1])["cut"] == "tail"
    assert truncate_text_items(["abcdef", "z"], 1) == [
        "Total output lines: 2\n\nab…1 tokens truncated…\nz"
    ]
