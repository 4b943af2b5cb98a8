"""The output helpers (`js/helpers.js`): text, image, generatedImage, notify, yield_control
and exit."""

from __future__ import annotations

import pytest
from prelude_harness import (
    Isolate,
    done,
    ok_done,
    texts,
    thrown,
)

pytestmark = pytest.mark.unit


IMAGE_EXPECTS = (
    "image expects a non-empty image URL string, an object with image_url and optional detail, "
    "or a raw MCP image block"
)
INVALID_URL = "Tool call failed: invalid image output. Pass a base64 data URI instead"
REMOTE_URL = (
    "Tool call failed: remote image URLs are not supported in tool outputs. "
    "Pass a base64 data URI instead"
)
DETAIL_NOT_STRING = "image detail must be a string when provided"
DETAIL_UNKNOWN = "image detail must be one of: auto, low, high, original"
PNG = "data:image/png;base64,AAA"


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("", "undefined"),
        ("undefined", "undefined"),
        ("null", "null"),
        ("true", "true"),
        ("1.5", "1.5"),
        ("NaN", "NaN"),
        ("123n", "123"),
        ('"plain"', "plain"),
        ('""', ""),
        ("{json: true}", '{"json":true}'),
        ('[1, "a", null]', '[1,"a",null]'),
        ("new Date(0)", '"1970-01-01T00:00:00.000Z"'),
        ("new Map([[1, 2]])", "{}"),
        ('Symbol("s")', "Symbol(s)"),
        ("function f() { return 1; }", "function f() { return 1; }"),
    ],
)
def test_text_conversions(iso: Isolate, expr: str, expected: str) -> None:
    msgs = iso.run(f"const r = text({expr}); text(String(r));")
    assert msgs[0] == {"t": "text", "text": expected}
    assert texts(msgs)[1] == "undefined"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            "(() => { const o = {}; o.o = o; return o; })()",
            "TypeError: Converting circular structure to JSON",
        ),
        ("{n: 1n}", "TypeError: Do not know how to serialize a BigInt"),
        ("{toJSON() { throw 'from toJSON'; }}", "from toJSON"),
    ],
)
def test_text_of_an_unserializable_value_throws_the_error_text(
    iso: Isolate, value: str, error: str
) -> None:
    result = thrown(iso, f"text({value})")
    assert result.startswith(f"string:{error}")
    assert "codemode-prelude.js" not in result
    assert "JSON.stringify" not in result


def test_uncaught_helper_error_is_the_bare_message(iso: Isolate) -> None:
    d = done(iso.run('image("https://x/y.png");'))
    assert d["error"] == {"name": "ScriptError", "message": REMOTE_URL, "text": REMOTE_URL}


# --- image / generatedImage ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "url", "detail"),
    [
        (f'image("{PNG}")', PNG, "high"),
        (f'image("{PNG}", "low")', PNG, "low"),
        (f'image("{PNG}", "ORIGINAL")', PNG, "original"),
        (f'image("{PNG}", null)', PNG, "high"),
        (f'image("{PNG}", undefined)', PNG, "high"),
        ('image("DATA:image/png;base64,AAA")', "DATA:image/png;base64,AAA", "high"),
        (f'image({{image_url: "{PNG}"}})', PNG, "high"),
        (f'image({{image_url: "{PNG}", detail: "Auto"}})', PNG, "auto"),
        (f'image({{image_url: "{PNG}", detail: null}})', PNG, "high"),
        (f'image({{image_url: "{PNG}", detail: "low"}}, "high")', PNG, "high"),
        ('image({type: "image", data: "AAA", mimeType: "image/png"})', PNG, "high"),
        ('image({type: "image", data: "AAA", mime_type: "image/png"})', PNG, "high"),
        (
            'image({type: "image", data: "AAA"})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: ""})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: 5, mime_type: "image/gif"})',
            "data:application/octet-stream;base64,AAA",
            "high",
        ),
        (f'image({{type: "image", data: "{PNG}", mimeType: "x/y"}})', PNG, "high"),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "low"}})',
            PNG,
            "low",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "LOW"}})',
            PNG,
            "high",
        ),
        (
            'image({type: "image", data: "AAA", mimeType: "image/png", '
            '_meta: {"codex/imageDetail": "low"}}, "original")',
            PNG,
            "original",
        ),
    ],
)
def test_image_forms(iso: Isolate, call: str, url: str, detail: str) -> None:
    msgs = iso.run(f"text(String({call}));")
    assert msgs[0] == {"t": "image", "image_url": url, "detail": detail}
    assert msgs[1] == {"t": "text", "text": "undefined"}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("image()", IMAGE_EXPECTS),
        ("image(undefined)", IMAGE_EXPECTS),
        ("image(null)", IMAGE_EXPECTS),
        ("image(42)", IMAGE_EXPECTS),
        (f'image(["{PNG}"])', IMAGE_EXPECTS),
        ('image("")', IMAGE_EXPECTS),
        ('image({image_url: ""})', IMAGE_EXPECTS),
        ("image({image_url: 5})", IMAGE_EXPECTS),
        ("image({})", IMAGE_EXPECTS),
        ('image({type: 5, data: "AAA"})', IMAGE_EXPECTS),
        ('image({content: [{type: "image", data: "AAA"}], isError: false})', IMAGE_EXPECTS),
        ("image(function () {})", IMAGE_EXPECTS),
        ('image({type: "text", text: "hi"})', 'image only accepts MCP image blocks, got "text"'),
        ('image({type: "image"})', "image expected MCP image data"),
        ('image({type: "image", data: ""})', "image expected MCP image data"),
        ('image({type: "image", data: 5})', "image expected MCP image data"),
        ('image("no-colon")', INVALID_URL),
        ('image("ftp://host/x.png")', INVALID_URL),
        ('image("https://example.com/a.png")', REMOTE_URL),
        ('image("HTTP://example.com/a.png")', REMOTE_URL),
        ('image({image_url: "https://example.com/a.png"})', REMOTE_URL),
        (f'image({{image_url: "{PNG}", detail: 5}})', DETAIL_NOT_STRING),
        (f'image("{PNG}", 5)', DETAIL_NOT_STRING),
        ("image(42, {})", DETAIL_NOT_STRING),  # the override is checked before the image
        (f'image("{PNG}", "medium")', DETAIL_UNKNOWN),
        (f'image("{PNG}", "")', DETAIL_UNKNOWN),
        (f'image({{image_url: "{PNG}", detail: "medium"}})', DETAIL_UNKNOWN),
        ('image("https://x/a.png", "medium")', REMOTE_URL),  # URL before detail value
    ],
)
def test_image_errors(iso: Isolate, call: str, error: str) -> None:
    assert thrown(iso, call) == f"string:{error}"
    assert not [m for m in iso.messages() if m["t"] == "image"]


def test_generated_image_with_and_without_hint(iso: Isolate) -> None:
    msgs = iso.run(
        f"""generatedImage({{image_url: "{PNG}", output_hint: "a cat"}});
        generatedImage({{image_url: "{PNG}", detail: "low"}});
        generatedImage({{type: "image", data: "AAA", mimeType: "image/png"}});"""
    )
    assert msgs[:4] == [
        {"t": "image", "image_url": PNG, "detail": "high"},
        {"t": "text", "text": "a cat"},
        {"t": "image", "image_url": PNG, "detail": "low"},
        {"t": "image", "image_url": PNG, "detail": "high"},
    ]
    ok_done(msgs)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("generatedImage()", "generatedImage expects an image generation result object"),
        ("generatedImage(null)", "generatedImage expects an image generation result object"),
        (f'generatedImage("{PNG}")', "generatedImage expects an image generation result object"),
        (
            f'generatedImage({{image_url: "{PNG}", output_hint: 5}})',
            "generatedImage output_hint must be a string when provided",
        ),
        (
            'generatedImage({image_url: "https://x/a.png", output_hint: 5})',
            "generatedImage output_hint must be a string when provided",
        ),
        ('generatedImage({image_url: "https://x/a.png"})', REMOTE_URL),
        ('generatedImage({image_url: "http://x/a.png", output_hint: "h"})', REMOTE_URL),
        ("generatedImage([])", IMAGE_EXPECTS),
    ],
)
def test_generated_image_errors(iso: Isolate, call: str, error: str) -> None:
    assert thrown(iso, call) == f"string:{error}"
    assert not [m for m in iso.messages() if m["t"] == "image"]


# --- notify / yield_control -----------------------------------------------------------------


def test_notify(iso: Isolate) -> None:
    msgs = iso.run('notify("halfway"); notify({a: 1}); notify(); text(String(notify(" x ")));')
    assert msgs[:4] == [
        {"t": "notify", "text": "halfway"},
        {"t": "notify", "text": '{"a":1}'},
        {"t": "notify", "text": "undefined"},
        {"t": "notify", "text": " x "},
    ]
    assert texts(msgs) == ["undefined"]


@pytest.mark.parametrize("arg", ['""', '"   "', '"\\n\\t"'])
def test_notify_rejects_blank_text(iso: Isolate, arg: str) -> None:
    assert thrown(iso, f"notify({arg})") == "string:notify expects non-empty text"
    assert not [m for m in iso.messages() if m["t"] == "notify"]


def test_yield_control(iso: Isolate) -> None:
    msgs = iso.run('text("a"); const r = yield_control(); text(String(r));')
    assert msgs[:3] == [
        {"t": "text", "text": "a"},
        {"t": "yield"},
        {"t": "text", "text": "undefined"},
    ]


# --- exit -----------------------------------------------------------------------------------


def test_exit_completes_successfully_and_stops(iso: Isolate) -> None:
    msgs = iso.run('store("k", 1); text("before"); exit(); text("after");')
    assert texts(msgs) == ["before"]
    d = ok_done(msgs)
    assert d["result"] is None
    assert d["writes"] == {"k": 1}


def test_exit_after_await(iso: Isolate) -> None:
    msgs = iso.run('await null; text("before"); exit(); text("after");')
    assert texts(msgs) == ["before"]
    ok_done(msgs)


def test_exit_can_be_caught(iso: Isolate) -> None:
    msgs = iso.run(
        """try { exit(); } catch (e) { text(typeof e + ":" + e); }
        text("after"); return 1;"""
    )
    assert texts(msgs) == ["string:__codex_code_mode_exit__", "after"]
    assert ok_done(msgs)["result"] == {"text": "1", "json": 1}


def test_thrown_sentinel_without_exit_is_a_failure(iso: Isolate) -> None:
    d = done(iso.run('throw "__codex_code_mode_exit__";'))
    assert d["error"] == {
        "name": "ScriptError",
        "message": "__codex_code_mode_exit__",
        "text": "__codex_code_mode_exit__",
    }


def test_exit_inside_a_timer_fails_the_cell(iso: Isolate) -> None:
    msgs = iso.run('store("k", 1); setTimeout(() => exit(), 5); await new Promise(() => {});')
    assert msgs == [{"t": "timer", "id": 1, "delay": 5}]
    d = done(iso.fire(1))
    assert d["error"] == {
        "name": "ScriptError",
        "message": "__codex_code_mode_exit__",
        "text": "__codex_code_mode_exit__",
    }
    assert d["writes"] == {}
