"""`history_request`: the inputs of this kernel process, for a console's up-arrow and `%history`.

Kept in memory, like the cells themselves: a restart starts a new history. Entries are
`(session, line, input)` with line = the execution count (= the cell id), as IPython answers.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

SESSION = 1  # one session per kernel process
Entry = tuple[int, int, Any]


@dataclass
class History:
    """Inputs in execution order, answering the protocol's three access types."""

    limit: int = 10_000
    _lines: list[tuple[int, str]] = field(default_factory=list)

    def append(self, line: int, source: str) -> None:
        self._lines.append((line, source))
        del self._lines[: -self.limit]

    def reply(
        self,
        hist_access_type: str,
        output: bool = False,
        n: int | None = None,
        start: int | None = None,
        stop: int | None = None,
        pattern: str | None = None,
        unique: bool = False,
        session: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """The `history_reply` content; an access type it does not know answers nothing."""
        if session not in (None, 0, SESSION):
            chosen: list[tuple[int, str]] = []
        elif hist_access_type == "tail":
            chosen = self._lines[-n:] if n else list(self._lines)
        elif hist_access_type == "range":
            first, last = start or 1, stop
            chosen = [(i, s) for i, s in self._lines if i >= first and (last is None or i < last)]
        elif hist_access_type == "search":
            chosen = self._search(pattern or "*", unique)
            chosen = chosen[-n:] if n else chosen
        else:
            chosen = []
        return {
            "status": "ok",
            "history": [(SESSION, i, (s, None) if output else s) for i, s in chosen],
        }

    def _search(self, pattern: str, unique: bool) -> list[tuple[int, str]]:
        found = [(i, s) for i, s in self._lines if fnmatch.fnmatchcase(s, pattern)]
        if not unique:
            return found
        latest = {s: i for i, s in found}
        return [(i, s) for i, s in found if latest[s] == i]
