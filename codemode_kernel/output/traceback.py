"""What a person sees of a failure: the error text coloured as ipykernel colours it, and a hint.

Only the Jupyter `traceback` gets colour and hints; `error_text`, `evalue` and the model-facing
text stay exactly the reference's, since agents are prompted with those strings.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

RED = "\x1b[0;31m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

_NOT_DEFINED = re.compile(r"ReferenceError: ([\w$]+) is not defined")
_NOT_A_TOOL = re.compile(r"TypeError: tools\.([\w$]+) is not a function")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def hint(error_text: str, declared: Mapping[str, str], tools: Collection[str]) -> str | None:
    """The one hint line for a failure people commonly misread, or None.

    `declared` maps names declared at the top level of earlier cells to the id of the (latest)
    cell that declared them; `tools` holds the JS names of the tools this cell could call.
    """
    first = error_text.split("\n", 1)[0]
    if (match := _NOT_DEFINED.fullmatch(first)) and match[1] in declared:
        name = match[1]
        return (
            f"Hint: {name} was declared in cell {declared[name]}; each cell runs in a fresh "
            f'isolate, so store("{name}", {name}) there and load("{name}") here.'
        )
    if (match := _NOT_A_TOOL.fullmatch(first)) and match[1] not in tools:
        return (
            f"Hint: no tool {match[1]} is registered; %tools lists the tools this cell could call."
        )
    return None


def traceback_lines(ename: str, error_text: str, hint_line: str | None = None) -> list[str]:
    """The error text line by line, the error name in red and stack frames dimmed."""
    lines = error_text.split("\n")
    first = lines[0]
    if ename and (first == ename or first.startswith(f"{ename}:")):
        lines[0] = f"{RED}{ename}{RESET}{first[len(ename) :]}"
    for i, line in enumerate(lines[1:], 1):
        if line.lstrip().startswith("at "):
            lines[i] = f"{DIM}{line}{RESET}"
    return [*lines, hint_line] if hint_line else lines
