"""Two kernel-side tools for `notebooks/tools.ipynb`: plain functions the kernel loads itself.

Point the kernel at them with `c.CodeModeKernel.tools = ["notebook_tools:lookup",
"notebook_tools:convert"]` (this folder on the kernel's PYTHONPATH); cells then call
`await tools.lookup({term: "isolate"})`. Name, description and input schema come from each
function's name, docstring and type hints, so this file is all a tool author writes.
"""

from __future__ import annotations

from typing import Literal

Unit = Literal["m", "km", "mi", "ft"]

GLOSSARY = {
    "isolate": "A V8 heap with its own globals; every code-mode cell gets a fresh one.",
    "yield": "Handing control back to the caller while the cell keeps running.",
    "store": "A key/value map that survives across cells; a cell's writes commit on completion.",
    "comm": "A Jupyter message channel between kernel and client; tools travel over `codemode`.",
}

_METRES = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048}


def lookup(term: str) -> dict[str, str]:
    """Look a code-mode term up in a small glossary. Fails for unknown terms."""
    key = term.strip().lower()
    if key not in GLOSSARY:
        known = ", ".join(sorted(GLOSSARY))
        raise LookupError(f"no glossary entry for {term!r}; known terms: {known}")
    return {"term": key, "definition": GLOSSARY[key]}


def convert(value: float, from_unit: Unit, to_unit: Unit) -> float:
    """Convert a length between metres, kilometres, miles and feet (rounded to 4 places)."""
    return round(value * _METRES[from_unit] / _METRES[to_unit], 4)
