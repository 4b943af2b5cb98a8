"""The session store: committed values by key, in memory or durable in SQLite.

One interface for both kinds: `values` (what a new cell's snapshot starts from), `commit` (one
cell's writes, all or nothing), `clear` (`%store --clear`) and `close`. The memory store is the
default and a restart loses it. `SqliteStore` (opt-in, `c.CodeModeKernel.store_path`) writes each
commit as one SQLite transaction in WAL mode before it is visible in memory, so a crash — even
`kill -9` — keeps every committed value and never leaves half a commit; the next kernel started
with the same path reloads it.

A value must round-trip through JSON text and every Jupyter message, so a key or value holding a
lone UTF-16 surrogate (which no UTF-8 message can carry) is refused with the whole commit.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..output.unicode import lone_surrogate
from ..runtime import limit_error

log = logging.getLogger("codemode_kernel.store")

_SCHEMA = "CREATE TABLE IF NOT EXISTS store (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


def _surrogate_error(key: str, in_key: bool) -> str:
    where = "key" if in_key else f"value of {json.dumps(key)}"
    return (
        f"store {where} contains a lone UTF-16 surrogate; only well-formed Unicode text can be "
        "stored (nothing from this cell was committed)"
    )


def _encoded(value: Any) -> str:
    """The JSON text a value is sized and saved as (ASCII, so any text survives)."""
    return json.dumps(value)


class Store:
    """Committed values by key in memory, with their serialized size for the limit."""

    def __init__(self, limit_bytes: int) -> None:
        self.values: dict[str, Any] = {}
        self._sizes: dict[str, int] = {}
        self._limit = limit_bytes

    @property
    def size(self) -> int:
        return sum(self._sizes.values())

    def commit(self, writes: dict[str, Any]) -> str | None:
        """Merge `writes` by key, or refuse them all with an error text (the limit's, exactly)."""
        for key, value in writes.items():
            if lone_surrogate(key) is not None:
                return _surrogate_error(key, in_key=True)
            if lone_surrogate(value) is not None:
                return _surrogate_error(key, in_key=False)
        try:
            texts = {key: _encoded(value) for key, value in writes.items()}
        except (RecursionError, TypeError, ValueError) as exc:
            return f"store value cannot be serialized ({type(exc).__name__}); nothing committed"
        sizes = {key: len(key) + len(text) for key, text in texts.items()}
        observed = self.size - sum(self._sizes.get(k, 0) for k in writes) + sum(sizes.values())
        if observed > self._limit:
            return limit_error("committed_state_bytes", self._limit, observed)
        refused = self._persist(texts)
        if refused is not None:
            return refused
        self.values.update(writes)
        self._sizes.update(sizes)
        return None

    def clear(self) -> None:
        """Forget every committed value (`%store --clear`)."""
        self._erase()
        self.values.clear()
        self._sizes.clear()

    def close(self) -> None:
        """Release what the store holds open (nothing, in memory)."""

    # -- what a durable store overrides ----------------------------------------------------

    def _persist(self, texts: dict[str, str]) -> str | None:
        return None

    def _erase(self) -> None:
        pass

    def _loaded(self, rows: list[tuple[str, str]]) -> None:
        for key, text in rows:
            self.values[key] = json.loads(text)
            self._sizes[key] = len(key) + len(text)


class SqliteStore(Store):
    """A store whose commits are SQLite transactions (WAL), reloaded when it is opened."""

    def __init__(self, limit_bytes: int, path: str | Path) -> None:
        import sqlite3  # here, not at the top: only a kernel with a store_path loads SQLite

        super().__init__(limit_bytes)
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit, one per commit.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(_SCHEMA)
        rows = self._db.execute("SELECT key, value FROM store ORDER BY rowid").fetchall()
        self._loaded(rows)
        if self.size > limit_bytes:
            log.warning(
                "store %s holds %d bytes, above the %d-byte limit: new commits are refused "
                "until keys are overwritten or the store is cleared",
                self.path,
                self.size,
                limit_bytes,
            )

    def _persist(self, texts: dict[str, str]) -> str | None:
        import sqlite3  # already loaded by __init__; see there

        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO store (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    list(texts.items()),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("store %s: commit failed: %s", self.path, exc)
            return f"store commit failed ({exc}); nothing from this cell was committed"
        return None

    def _erase(self) -> None:
        self._db.execute("DELETE FROM store")

    def close(self) -> None:
        self._db.close()


def open_store(limit_bytes: int, path: str | None) -> Store:
    """The store a session uses: durable at `path` when one is given, else in memory."""
    return SqliteStore(limit_bytes, path) if path else Store(limit_bytes)
