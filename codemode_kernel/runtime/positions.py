"""Map positions in `cell.js` (what V8 ran) back to the cell as the user typed it.

The cell runs as `<header><cell body>\\n}...`: the header shares the cell's first line, and
`source.prepare` inserted a few words (`return (`, `__import`). Line numbers are already right;
columns on the first line and after an insertion are not, and the frame of the wrapper itself
means nothing to the user. This rewrites error texts, which are plain strings by then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_POSITION = re.compile(r"cell\.js:(\d+):(\d+)")
_PARSE_ERROR = re.compile(r"\A<anonymous>:(\d+): ")
_NO_POSITION = "undefined:0: "
_PARSE_ERROR_NAMES = ("SyntaxError", "RangeError")


@dataclass(frozen=True)
class SourceMap:
    """How `cell.js` differs from the cell: the wrapper header and the inserted text."""

    header: int
    #: (line, column in the cell, characters inserted there), 1-based, in source order.
    insertions: tuple[tuple[int, int, int], ...] = ()
    #: The cell's lines as it runs (the wrapper's closing comes after the last of them).
    body_lines: tuple[str, ...] = ()

    def column(self, line: int, column: int) -> int | None:
        """The cell's column for `cell.js` line:column; None inside the wrapper."""
        if line == 1:
            if column <= self.header:
                return None
            column -= self.header
        for at_line, at_column, length in self.insertions:
            if at_line == line and column >= at_column + length:
                column -= length
        return column

    def stack(self, text: str) -> str:
        """Rewrite every `cell.js:L:C` in an error text; drop frames of the wrapper."""
        lines = []
        for line in text.split("\n"):
            positions = list(_POSITION.finditer(line))
            if positions and all(self.column(*_ints(m)) is None for m in positions):
                continue
            lines.append(_POSITION.sub(self._replace, line))
        return "\n".join(lines)

    def _replace(self, match: re.Match[str]) -> str:
        line, column = _ints(match)
        mapped = self.column(line, column)
        return match.group(0) if mapped is None else f"cell.js:{line}:{mapped}"

    def parse_error(self, text: str) -> tuple[str, str, str]:
        """A V8 compile error (`<anonymous>:L: SyntaxError: …` + source line + caret) as
        (name, message, error text), naming `cell.js` and showing the cell's own line.

        The parser running out of stack has no position (`undefined:0: RangeError: …`): its
        text is the error line alone, and its name is `RangeError`, not `SyntaxError`."""
        lines = text.strip().split("\n")
        if lines[0].startswith(_NO_POSITION):
            lines = lines[-1:]
        match = _PARSE_ERROR.match(lines[0])
        if match is not None and self.body_lines and int(match.group(1)) > len(self.body_lines):
            return self._unfinished()
        if match is not None:
            lines[0] = f"cell.js:{match.group(1)}: " + lines[0][match.end() :]
            if match.group(1) == "1" and len(lines) > 2:
                lines[1] = lines[1][self.header :]
                lines[2] = lines[2][self.header :]
        first, last = lines[0], lines[-1]
        name = next((n for n in _PARSE_ERROR_NAMES if n in first), "ScriptError")
        message = last.split(": ", 1)[1] if last.startswith(f"{name}: ") else last
        if match is not None and len(lines) > 3:
            lines = lines[:3]  # V8 repeats the message after the caret: say it once
        return name, message, "\n".join(lines)

    def _unfinished(self) -> tuple[str, str, str]:
        """V8 stumbled on the wrapper's closing: the cell ended inside an unclosed construct.
        Say so at the end of the cell's last non-blank line (the wrapper is not the user's)."""
        number = max((i for i, line in enumerate(self.body_lines, 1) if line.strip()), default=1)
        line = self.body_lines[number - 1].rstrip()
        message = "Unexpected end of input"
        caret = " " * len(line) + "^"
        return "SyntaxError", message, f"cell.js:{number}: SyntaxError: {message}\n{line}\n{caret}"


def _ints(match: re.Match[str]) -> tuple[int, int]:
    return int(match.group(1)), int(match.group(2))
