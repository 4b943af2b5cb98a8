"""The streaming shaper: what it sends while a cell runs and at its end, fed through the client's
own `OutputCollector`, against `truncate_text_items` (see test_truncation.py), so "exact rebuild"
means what a client rebuilds is exactly code mode's text."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest

from codemode_kernel.client.results import ExecResult, OutputCollector, image_item
from codemode_kernel.output.items import ImageItem, Item, Stream, TextItem
from codemode_kernel.output.messages import (
    Output,
    image_bundle,
    image_output,
    text_output,
)
from codemode_kernel.output.shaper import ObservationShaper, OutputStats
from codemode_kernel.output.truncation import (
    count_lines,
    join_texts,
    truncate_text_items,
)

pytestmark = pytest.mark.unit


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _codemode(output: Output) -> dict[str, Any]:
    meta: dict[str, Any] = output[1]["metadata"]["codemode"]
    return meta


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
