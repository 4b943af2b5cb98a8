"""Code mode's truncation rules and header: token counts, line counts, the middle cut, the
combined and mixed item rules, and the wall-time rounding, pinned to the expected strings of the
Rust tests of Codex's code mode."""

from __future__ import annotations

import re

import pytest

from codemode_kernel.output.items import ImageItem, Item, TextItem
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
