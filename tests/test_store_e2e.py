"""The durable store through a real kernel: reload at start, %store --clear, and SIGKILL in the
middle of commits that never loses a committed value nor leaves half a commit."""

from __future__ import annotations

import os
import queue
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from driver import Kernel

pytestmark = pytest.mark.e2e


def _kernel(path: Path) -> Kernel:
    return Kernel.start(extra_arguments=[f"--CodeModeKernel.store_path={path}"])


def _store(k: Kernel) -> dict[str, Any]:
    run = k.execute("%store")
    assert run.status == "ok"
    return dict(run.of_type("display_data")[-1]["content"]["data"]["application/json"])


def test_store_survives_a_restart_and_clear_empties_it(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    k = _kernel(path)
    try:
        assert k.execute('store("a", {"x": [1, "é"]}); store("b", 2)').status == "ok"
    finally:
        k.stop()
    k = _kernel(path)
    try:
        assert _store(k) == {"a": {"x": [1, "é"]}, "b": 2}
        assert k.execute('load("a").x[1]').texts[-1] == "'é'"
        run = k.execute("%store --clear")
        assert run.status == "ok" and run.texts == ["Stored: (nothing)"]
        assert k.execute("%store --all").error["evalue"] == (
            "%store: unknown option; supported: %store --clear"
        )
    finally:
        k.stop()
    k = _kernel(path)
    try:
        assert _store(k) == {}
    finally:
        k.stop()


def test_memory_store_is_cleared_too() -> None:
    k = Kernel.start()
    try:
        k.execute('store("a", 1)')
        assert k.execute("%store --clear").texts == ["Stored: (nothing)"]
        assert _store(k) == {}
    finally:
        k.stop()


_CELL = (
    'store("a", {n}); store("pad", "x".repeat(200000)); '
    'await new Promise(r => setTimeout(r, 1)); store("b", {n}); store("c{n}", {n})'
)


KILL_DELAYS_S = (0.004, 0.013, 0.027, 0.041)


def _replies(k: Kernel, msg_ids: dict[str, int], done: set[int], want: int, timeout: float) -> None:
    """Collect ok replies (a reply comes after its cell's commit) until `want` or timeout."""
    deadline = time.monotonic() + timeout
    while len(done) < want and time.monotonic() < deadline:
        try:
            msg = k.kc.get_shell_msg(timeout=0.01)
        except queue.Empty:
            continue
        n = msg_ids.get(msg["parent_header"].get("msg_id"))
        if n is not None and msg["content"]["status"] == "ok":
            done.add(n)


def test_sigkill_during_commits_keeps_every_committed_value_whole(tmp_path: Path) -> None:
    """Cells commit back to back; the kernel is killed after a few replies, while the next
    cells are still running and committing, four times over."""
    path = tmp_path / "store.sqlite"
    acknowledged: set[int] = set()
    n = 0
    started = time.monotonic()
    for round_ in range(4):
        if time.monotonic() - started > 120:
            break
        k = _kernel(path)
        try:
            before = _store(k)
            assert before.get("a") == before.get("b"), f"half a commit in round {round_}"
            assert all(before.get(f"c{i}") == i for i in acknowledged), "a commit was lost"
            msg_ids = {}
            for _ in range(200):
                n += 1
                msg_ids[k.kc.execute(_CELL.format(n=n))] = n
            done: set[int] = set()
            _replies(k, msg_ids, done, 3 + 5 * round_, timeout=30)
            time.sleep(KILL_DELAYS_S[round_])  # land anywhere in the next cells, commits included
            os.kill(k.km.provisioner.pid, signal.SIGKILL)  # type: ignore[union-attr]
            _replies(k, msg_ids, done, len(msg_ids), timeout=0.2)  # replies already sent
            assert len(done) < len(msg_ids), "every cell finished before the kill"
            acknowledged |= done
        finally:
            k.kc.stop_channels()
            k.km.cleanup_resources()
    k = _kernel(path)
    try:
        values = _store(k)
    finally:
        k.stop()
    assert acknowledged, "no cell committed before the kills"
    assert values["a"] == values["b"]
    assert all(values.get(f"c{i}") == i for i in acknowledged)
    # Every cell that committed is whole: c{i} present means a and b reached i or later.
    assert all(values["a"] >= i for i in range(1, n + 1) if f"c{i}" in values)


def test_sigterm_ends_the_kernel_gracefully_within_a_second(tmp_path: Path) -> None:
    """A process manager's SIGTERM: running cells end, the store is closed, exit status 0."""
    path = tmp_path / "store.sqlite"
    k = _kernel(path)
    try:
        assert k.execute('store("kept", 1)').status == "ok"
        spinning = k.execute('// @exec: {"yield_time_ms": 50}\nwhile (true) {}')
        assert spinning.codemode["status"] == "running"
        process = k.km.provisioner.process  # type: ignore[union-attr]
        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=10) == 0  # not -15: the kernel handled it
        assert time.monotonic() - started < 3  # within the shutdown second, plus exit
    finally:
        k.kc.stop_channels()
        k.km.cleanup_resources()
    k = _kernel(path)
    try:
        assert _store(k) == {"kept": 1}
    finally:
        k.stop()
