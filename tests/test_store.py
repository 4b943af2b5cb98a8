"""The store in-process: memory and SQLite behind one interface, the limit, surrogates, reload."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from codemode_kernel.session.store import SqliteStore, Store, open_store

pytestmark = pytest.mark.unit


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    path = str(tmp_path / "store.sqlite") if request.param == "sqlite" else None
    return open_store(1000, path)


def test_commit_merges_by_key_and_clear_empties(store: Store) -> None:
    assert store.commit({"a": 1, "b": [1, 2]}) is None
    assert store.commit({"a": {"x": "y"}}) is None
    assert store.values == {"a": {"x": "y"}, "b": [1, 2]}
    store.clear()
    assert store.values == {} and store.size == 0


def test_the_limit_refuses_the_whole_commit_with_its_exact_text(store: Store) -> None:
    assert store.commit({"a": "x" * 500}) is None
    refused = store.commit({"b": "y" * 400, "c": "z" * 200})
    assert refused == (
        "resource limit exceeded: code=resource_exhausted resource=committed_state_bytes "
        "limit=1000 observed=1109"
    )
    assert list(store.values) == ["a"]


@pytest.mark.parametrize(
    ("writes", "text"),
    [
        ({"k\ud800": 1}, "store key contains a lone UTF-16 surrogate"),
        ({"ok": 1, "k": ["\udfff"]}, 'store value of "k" contains a lone UTF-16 surrogate'),
        ({"k": {"\ud83d": 1}}, 'store value of "k" contains a lone UTF-16 surrogate'),
    ],
)
def test_a_lone_surrogate_refuses_the_commit(
    store: Store, writes: dict[str, object], text: str
) -> None:
    refused = store.commit(writes)
    assert refused is not None and refused.startswith(text)
    assert store.values == {}
    assert store.commit({"\U0001f600": "\U0001f600"}) is None  # a real pair is fine


def test_a_value_too_deep_to_serialize_is_refused(store: Store) -> None:
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    refused = store.commit({"deep": deep})
    assert refused is not None and "cannot be serialized" in refused
    assert store.values == {}


def test_sqlite_reloads_in_commit_order_and_clear_persists(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.sqlite"
    first = SqliteStore(10_000, path)
    first.commit({"b": 1, "a": 2})
    first.commit({"b": 3, "c": None})
    first.close()
    second = SqliteStore(10_000, path)
    assert list(second.values.items()) == [("b", 3), ("a", 2), ("c", None)]
    assert second.size == first.size
    second.clear()
    second.close()
    assert SqliteStore(10_000, path).values == {}
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_sqlite_failure_is_a_refusal_not_an_exception(tmp_path: Path) -> None:
    store = SqliteStore(10_000, tmp_path / "s.sqlite")
    store.commit({"a": 1})
    store.close()  # any later statement fails
    with pytest.raises(sqlite3.ProgrammingError):
        store.clear()
    store2 = SqliteStore(10_000, tmp_path / "s.sqlite")
    store2._db.execute("PRAGMA query_only = ON")
    refused = store2.commit({"b": 2})
    assert refused is not None and refused.startswith("store commit failed")
    assert store2.values == {"a": 1}


_WRITER = """
import os, sys
from codemode_kernel.session.store import SqliteStore
store = SqliteStore(1 << 30, sys.argv[1])
n = max([v for k, v in store.values.items() if k == "a"] or [0])
while True:
    n += 1
    store.commit({"a": n, "pad": "x" * 50_000, "b": n, f"c{n}": n})
    print(n, flush=True)
"""


def test_killed_writer_never_leaves_half_a_commit(tmp_path: Path) -> None:
    """SIGKILL a process in the middle of commits, five times; every commit is whole."""
    path = str(tmp_path / "store.sqlite")
    acknowledged = 0
    for _ in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, path], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for _ in range(30):  # commits acknowledged by this process before it dies
            acknowledged = max(acknowledged, int(proc.stdout.readline()))
        proc.kill()
        proc.wait()
        values = SqliteStore(1 << 30, path).values
        assert values["a"] == values["b"] >= acknowledged
        assert all(values.get(f"c{n}") == n for n in range(1, values["a"] + 1))
        assert f"c{values['a'] + 1}" not in values
