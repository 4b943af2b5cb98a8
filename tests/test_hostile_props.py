"""Property-based hostile corpus (hypothesis): pragmas and magics, comm payloads, JSON shapes.

Each property is what the kernel promises for *any* input: parsing returns or raises ExecError
(with a message that can be sent), the comm hub never raises and answers every message that is
not a valid answer to a call, the store never raises, and shown content always packs as UTF-8.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jupyter_client.session import Session

from codemode_kernel.errors import ExecError
from codemode_kernel.kernel.comms import ClientProvider, CommHub
from codemode_kernel.kernel.publish import Publisher
from codemode_kernel.output.unicode import lone_surrogate, well_formed
from codemode_kernel.session.router import Toolbox
from codemode_kernel.session.store import Store
from codemode_kernel.source import is_complete, parse_cell

pytestmark = pytest.mark.unit

# 100 examples a property in the unit tier; HYPOTHESIS_PROFILE=deep runs 3 000.
settings.register_profile("deep", max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
FAST = settings(deadline=2000, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included (JavaScript strings and JSON escapes can hold them).
ANY_TEXT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF))
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)
PREFIXES = st.sampled_from(["// @exec:", "// @wait:", "%wait", "%terminate", "%store", "%cells"])
FRAGMENTS = st.sampled_from(
    [
        "[",
        "]",
        "{",
        "}",
        '"',
        ":",
        ",",
        " ",
        "\n",
        "-",
        "--yield-time-ms",
        "--max-tokens",
        "=",
        "--clear",
        "1",
        "9" * 30,
        "1e999",
        "NaN",
        '"cell_id"',
        '"\\ud800"',
        "\\",
        "\ud800",
        "0",
    ]
)


def _cell(prefix: str, parts: list[str], depth: int) -> str:
    return prefix + " " + "[" * depth + "".join(parts)


def _check(text: str) -> None:
    try:
        parse_cell(text)
    except ExecError as exc:
        str(exc).encode("utf-8")  # the reply carrying it can always be packed
    status, _ = is_complete(text)
    assert status in ("complete", "incomplete", "invalid")


@FAST
@given(ANY_TEXT)
def test_parse_cell_on_any_text(text: str) -> None:
    _check(text)


@FAST
@given(PREFIXES, st.lists(FRAGMENTS | ANY_TEXT, max_size=12), st.sampled_from([0, 1, 50, 5000]))
def test_parse_cell_on_pragma_and_magic_shapes(prefix: str, parts: list[str], depth: int) -> None:
    _check(_cell(prefix, parts, depth))


@FAST
@given(st.sampled_from(["// @exec: ", "// @wait: "]), JSON, st.booleans())
def test_parse_cell_on_any_pragma_json(prefix: str, value: Any, with_source: bool) -> None:
    _check(prefix + json.dumps(value) + ("\n1" if with_source else ""))


# -- comm payloads ---------------------------------------------------------------------------


@dataclass
class Socket:
    """Where Publisher.send writes: Session.send serializes for real, then hands over frames."""

    sent: list[list[bytes]] = field(default_factory=list)

    def send_multipart(self, frames: list[bytes], copy: bool = True) -> None:
        self.sent.append(frames)


@dataclass
class FakeComm:
    comm_id: str = "c1"


def _hub() -> tuple[CommHub, ClientProvider, Socket]:
    socket = Socket()
    session = Session(key=b"")

    def publisher_for(parent: dict[str, Any]) -> Publisher:
        return Publisher(session, socket, parent, "kernel.test")

    hub = CommHub(Toolbox(), publisher_for, lambda cell_id: publisher_for({}))
    client = ClientProvider(hub, FakeComm())
    hub.clients["c1"] = client
    return hub, client, socket


MESSAGE_TYPES = st.sampled_from(
    ["register_tools", "tool_result", "tool_error", "describe", "other", None]
)
TOOL = st.fixed_dictionaries(
    {},
    optional={
        "name": ANY_TEXT | JSON,
        "kind": st.sampled_from(["function", "freeform", "x"]) | JSON,
        "description": ANY_TEXT | JSON,
        "input_schema": JSON,
        "namespace": ANY_TEXT | JSON,
    },
)
PAYLOAD = JSON | st.fixed_dictionaries(
    {"type": MESSAGE_TYPES},
    optional={
        "tools": st.lists(TOOL | JSON, max_size=3) | JSON,
        "replace": JSON,
        "call_id": ANY_TEXT | JSON,
        "result": JSON,
        "error": ANY_TEXT | JSON,
    },
)


@FAST
@given(PAYLOAD)
def test_comm_hub_never_raises_and_answers(data: Any) -> None:
    hub, client, socket = _hub()
    msg = {"header": {"msg_id": "m1"}, "content": {"comm_id": "c1", "data": data}}
    hub._on_msg(client, msg)
    kind = data.get("type") if isinstance(data, dict) else None
    replies = [json.loads(frames[-1]) for frames in socket.sent]  # content is the last frame
    if kind in ("tool_result", "tool_error"):
        # Unknown call ids are ignored; a malformed answer gets an error.
        assert len(replies) <= 1
    else:
        assert len(replies) == 1
        assert replies[0]["data"]["type"] in ("tools_registered", "description", "error")


# -- JSON shapes -------------------------------------------------------------------------------


@FAST
@given(st.dictionaries(ANY_TEXT, JSON, max_size=5))
def test_store_commit_never_raises_and_keeps_only_well_formed_values(
    writes: dict[str, Any],
) -> None:
    store = Store(1 << 20)
    refused = store.commit(writes)
    if refused is None:
        assert lone_surrogate(store.values) is None
        json.dumps(store.values, ensure_ascii=False).encode("utf-8")
    else:
        assert store.values == {}


@FAST
@given(JSON)
def test_well_formed_content_always_packs(value: Any) -> None:
    packed = json.dumps(well_formed({"data": value}), ensure_ascii=False, default=str)
    packed.encode("utf-8")
