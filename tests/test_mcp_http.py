"""`codemode-kernel mcp --http HOST:PORT` driven by the SDK's real Streamable HTTP client: exec then
wait on one session, a kernel of its own per MCP session (shut down when the session ends or
idles out), the session cap, and sessionless 2026-07-28 requests sharing one kernel."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp_types.version import LATEST_HANDSHAKE_VERSION
from test_mcp_server import HEADER, ROOT, Session, texts
from test_mcp_tools import Loop

pytestmark = pytest.mark.e2e

IDLE_S = 4


class Served:
    def __init__(self, url: str, log: Path) -> None:
        self.url, self.log = url, log

    def log_lines(self, needle: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if needle in line]

    def wait_for_log(self, needle: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.log_lines(needle)) < count:
            assert time.monotonic() < deadline, f"{needle!r} logged fewer than {count} times"
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("mcp-http") / "server.log"
    port = free_port()
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests" / "fixtures")])
    env = {**os.environ, "PYTHONPATH": path}
    argv = [sys.executable, "-m", "codemode_kernel", "mcp", "--http", f"127.0.0.1:{port}"]
    argv += ["--max-sessions", "2", "--idle-timeout", str(IDLE_S), "--log-level", "INFO"]
    with log.open("w") as err:
        proc = subprocess.Popen(argv, env=env, stderr=err, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield Served(f"http://127.0.0.1:{port}/mcp", log)
    proc.terminate()
    proc.wait(20)


@pytest.fixture(scope="module")
def loop() -> Iterator[Loop]:
    runner = Loop()
    yield runner
    runner.close()


def open_session(loop: Loop, served: Served) -> Session:
    """A session with an `mcp-session-id` (the initialize handshake)."""
    return Session(loop, Client(served.url, cache=None, mode="legacy"))


def test_exec_then_wait_over_http(loop: Loop, served: Served) -> None:
    session = open_session(loop, served)
    try:
        code = 'text("first"); yield_control();\nawait new Promise(r => setTimeout(r, 300));'
        first = session.call("exec", {"code": code + ' text("second")'})
        header, *rest = texts(first)
        found = HEADER.match(header)
        assert found and found[2] and rest == ["first"], texts(first)
        done = session.call("wait", {"cell_id": found[2], "yield_time_ms": 10000})
        header, *rest = texts(done)
        assert header.startswith("Script completed\n") and rest == ["second"]
        assert done.is_error is False
    finally:
        session.close()
    # The session ended (the client's DELETE): its kernel is shut down.
    served.wait_for_log("its kernel is shut down", 1, timeout=15)


def test_sessions_have_their_own_kernels_and_are_capped(loop: Loop, served: Served) -> None:
    ended = len(served.log_lines("its kernel is shut down"))
    a, b = open_session(loop, served), open_session(loop, served)
    try:
        assert texts(a.call("exec", {"code": 'store("who", "a"); text("ok")'}))[1:] == ["ok"]
        result = b.call("exec", {"code": 'text(String(load("who")))'})
        assert texts(result)[1:] == ["undefined"]  # b's kernel has a store of its own
        with pytest.raises(Exception):  # noqa: B017 - the SDK raises what the 503 becomes
            open_session(loop, served)
        assert served.log_lines("Refusing to open a new session: 2 sessions are already open")
    finally:
        a.close()
        b.close()
    served.wait_for_log("its kernel is shut down", ended + 2, timeout=15)


def test_a_vanished_client_is_closed_when_idle(served: Served) -> None:
    """A client that started a kernel and went away without ending its session (no DELETE,
    no GET stream left open): the idle timeout closes the session and shuts the kernel down."""
    ended = len(served.log_lines("its kernel is shut down"))
    headers = {"Accept": "application/json, text/event-stream"}
    with httpx.Client(headers=headers, timeout=60) as http:
        hello = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": LATEST_HANDSHAKE_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "vanishing", "version": "0"},
            },
        }
        opened = http.post(served.url, json=hello)
        assert opened.status_code == 200, opened.text
        headers = {
            "mcp-session-id": opened.headers["mcp-session-id"],
            "mcp-protocol-version": LATEST_HANDSHAKE_VERSION,
        }
        http.post(
            served.url,
            json={"jsonrpc": "2.0", "method": "notifications/initialized"},
            headers=headers,
        )
        call = {"name": "exec", "arguments": {"code": 'text("hello")'}}
        answer = http.post(
            served.url,
            json={"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call},
            headers=headers,
        )
        assert "Script completed" in answer.text
    served.wait_for_log("its kernel is shut down", ended + 1, timeout=IDLE_S + 15)


def test_sessionless_requests_share_one_kernel(loop: Loop, served: Served) -> None:
    first = Session(loop, Client(served.url, cache=None))  # 2026-07-28: no session id
    try:
        first.call("exec", {"code": 'store("shared", 7); text("stored")'})
    finally:
        first.close()
    second = Session(loop, Client(served.url, cache=None))
    try:
        assert texts(second.call("exec", {"code": 'text(String(load("shared")))'}))[1:] == ["7"]
    finally:
        second.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--http", "8765"],
            "argument --http: expected HOST:PORT, e.g. 127.0.0.1:8765, not '8765'",
        ),
        (["--http", "h:99999"], "argument --http: expected HOST:PORT, e.g. 127.0.0.1:8765"),
        (["--max-sessions", "0"], "argument --max-sessions: expected a positive number, not '0'"),
        (["--idle-timeout", "x"], "argument --idle-timeout: expected a positive number, not 'x'"),
    ],
)
def test_bad_http_options_exit_with_a_clear_reason(args: list[str], message: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "codemode_kernel", "mcp", *args]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr
