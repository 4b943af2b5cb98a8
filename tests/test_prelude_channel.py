"""The out-channel (`js/channel.js`), the captured built-ins it relies on (`js/intrinsics.js`)
and buffer accounting (`js/buffers.js`)."""

from __future__ import annotations

import json

import pytest
from prelude_harness import (
    Isolate,
    ok_done,
    texts,
)

pytestmark = pytest.mark.unit


# --- the out-channel ------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "a"])
def test_long_messages_are_chunked(iso: Isolate, prefix: str) -> None:
    # 200k code units, mostly surrogate pairs; with the "a" prefix the pairs straddle the
    # 65532-unit chunk boundary, which must then move back by one unit.
    payload = prefix + "\U0001f600" * 50_000 + "x" * 100_000
    msgs = iso.run(
        f'text({json.dumps(prefix)} + "\\u{{1F600}}".repeat(50000) + "x".repeat(100000));'
    )
    assert msgs[0] == {"t": "text", "text": payload}
    frames = iso.frames()[0]
    assert len(frames) == 4
    assert all(f["length"] <= 65532 for f in frames)
    assert [f["last"] for f in frames] == [0, 0, 0, 1]
    assert all(f["reserved"] == 0 for f in frames)
    assert not any(0xD800 <= f["tail"] <= 0xDBFF for f in frames)
    raw = iso.raw_messages()[0]
    assert sum(f["length"] for f in frames) == len(raw.encode("utf-16-le")) // 2
    if prefix:
        assert frames[0]["length"] == 65531
    else:
        assert frames[0]["length"] == 65532


def test_small_messages_are_one_frame(iso: Isolate) -> None:
    iso.run('text("hi");')
    assert [len(f) for f in iso.frames()] == [1, 1]
    assert iso.frames()[0][0]["last"] == 1


def test_patched_builtins_do_not_break_the_protocol(iso: Isolate) -> None:
    msgs = iso.run(
        """JSON.stringify = () => "hacked"; JSON.parse = () => 0;
        Object.prototype.toJSON = function () { return "hijacked"; };
        Map.prototype.set = Map.prototype.get = () => { throw new Error("no maps"); };
        Array.prototype.push = () => { throw new Error("no push"); };
        String.prototype.charCodeAt = () => 0;
        Promise.prototype.then = () => { throw new Error("no then"); };
        text("still works"); store("k", 1); console.log([1, {a: 2}]);
        return [1];"""
    )
    assert msgs[0] == {"t": "text", "text": "still works"}
    assert msgs[1] == {"t": "console", "stream": "stdout", "text": "[ 1, { a: 2 } ]"}
    d = ok_done(msgs)
    assert d["writes"] == {"k": 1}
    assert d["result"] == {"text": "[ 1 ]", "json": "hijacked"}  # toJSON is the user's business


def test_buffer_allocations_are_counted_for_the_memory_guard(iso: Isolate) -> None:
    msgs = iso.run(
        """const big = new Uint8Array(10 * 1024 * 1024);
        const shared = new Uint8Array(big.buffer);       // a view: no new bytes
        const copy = big.slice();                        // species: counted
        const raw = new ArrayBuffer(8 * 1024 * 1024);
        text([big instanceof Uint8Array, copy instanceof Uint8Array,
              shared.buffer === big.buffer, Uint8Array.name,
              Object.getOwnPropertyDescriptor(globalThis, "Uint8Array").enumerable]);"""
    )
    # Reported every 16 MiB: 10 (big) + 10 (its copy) = 20 MiB; +8 MiB is not yet a step.
    assert [m["bytes"] for m in msgs if m["t"] == "buffers"] == [20 * 1024 * 1024]
    assert texts(msgs) == ['[true,true,true,"Uint8Array",false]']


def test_buffers_grown_in_place_are_counted_too(iso: Isolate) -> None:
    mib = 1024 * 1024
    msgs = iso.run(
        f"""const growing = new ArrayBuffer(1, {{ maxByteLength: {64 * mib} }});
        growing.resize({20 * mib});                       // +20 MiB - 1 byte
        growing.resize(10);                               // shrinking adds nothing
        const moved = new ArrayBuffer(1).transfer({16 * mib});  // 1 + 16 MiB
        const fixed = moved.transferToFixedLength({16 * mib});  // another 16 MiB
        text([growing.byteLength, moved.detached, fixed.byteLength, growing.resize.name]);"""
    )
    assert [m["bytes"] for m in msgs if m["t"] == "buffers"] == [
        20 * mib,  # the constructor's byte and the resize's 20 MiB - 1
        20 * mib + 1 + 16 * mib,
        20 * mib + 1 + 32 * mib,
    ]
    assert texts(msgs) == [f'[10,true,{16 * mib},"resize"]']


def test_intl_objects_count_their_memory_outside_the_heap(iso: Isolate) -> None:
    """80 000 DateTimeFormats hold ~2 GB of ICU data the heap limit never sees."""
    msgs = iso.run(
        """const kept = [];
        for (let i = 0; i < 600; i++) {
          kept.push(new Intl.DateTimeFormat("en"), Intl.DateTimeFormat());  // `new` optional
        }
        text([kept[0] instanceof Intl.DateTimeFormat, Intl.DateTimeFormat.name,
              new Intl.NumberFormat("en").format(1234.5)]);"""
    )
    assert [m["bytes"] for m in msgs if m["t"] == "buffers"] == [586 * 28 * 1024, 1172 * 28 * 1024]
    assert texts(msgs) == ['[true,"DateTimeFormat","1,234.5"]']
