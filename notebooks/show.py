"""Print an executed notebook as text, the way a terminal reader would want to see it.

    python notebooks/show.py notebooks/tour.executed.ipynb

Each code cell's source, then its outputs: the `text/plain` of displays and results, streams as
written (stderr lines marked), errors with their traceback, and `<image/png 1234 bytes>` in
place of an image; then a short summary of the run and where to go next.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import re
import sys
import textwrap
from typing import Any

import nbformat

#: Colour codes in tracebacks, kept only when writing to a terminal.
ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Image types stored base64-encoded in a notebook; SVG is stored as text.
BASE64_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def image_size(mime: str, payload: Any) -> int:
    """The image's size in bytes (decoded, for base64 types)."""
    text = "".join(payload) if isinstance(payload, list) else str(payload)
    if mime in BASE64_IMAGES:
        try:
            return len(base64.b64decode(text))
        except (binascii.Error, ValueError):
            return len(text)
    return len(text.encode("utf-8"))


def render_bundle(data: dict[str, Any]) -> list[str]:
    """A MIME bundle as lines: its images as placeholders, else its text/plain."""
    images = [m for m in data if m.startswith("image/")]
    if images:
        return [f"<{m} {image_size(m, data[m])} bytes>" for m in images]
    plain = data.get("text/plain")
    if plain is not None:
        return str("".join(plain) if isinstance(plain, list) else plain).splitlines() or [""]
    return [f"<{', '.join(sorted(data))}>"]


def render_output(output: dict[str, Any], count: int | None) -> list[str]:
    kind = output.get("output_type")
    if kind == "stream":
        lines = str(output.get("text", "")).splitlines()
        return [f"[stderr] {line}" for line in lines] if output["name"] == "stderr" else lines
    if kind == "execute_result":
        lines = render_bundle(output.get("data", {}))
        return [f"Out[{count}]: {lines[0]}", *lines[1:]]
    if kind == "display_data":
        return render_bundle(output.get("data", {}))
    if kind == "error":
        return list(output.get("traceback") or [f"{output['ename']}: {output['evalue']}"])
    return [f"<{kind}>"]


def render(nb: Any) -> str:
    out: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        count = cell.get("execution_count")
        out.append(f"In [{count if count is not None else ' '}]:")
        out.append(textwrap.indent(cell.source, "    "))
        for output in cell.get("outputs", []):
            out.extend(render_output(output, count))
        out.append("")
    return "\n".join(out)


def summary(nb: Any, path: str) -> str:
    """What the run showed, and where to go next: the last thing `make demo` prints."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    outputs = [o for c in code for o in c.get("outputs", [])]
    images = sum(any(m.startswith("image/") for m in o.get("data", {})) for o in outputs)
    failed = [c for c in code if any(o["output_type"] == "error" for o in c.get("outputs", []))]
    expected = [c for c in failed if "raises-exception" in c.metadata.get("tags", [])]
    errors = ", ".join(f"[{c.get('execution_count')}]" for c in failed) or "none"
    if failed and len(expected) == len(failed):
        errors += " (on purpose: tagged raises-exception)"
    return "\n".join(
        [
            "Summary:",
            f"  {len(code)} code cells ran, {len(outputs)} outputs, {images} images",
            f"  cells that failed: {errors}",
            "Next:",
            f"  open it in JupyterLab:  .venv/bin/jupyter lab {path}",
            "  drive the kernel from Python or an MCP client: README.md",
            "  every helper, magic and error: docs/cells.md",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="an executed .ipynb file")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    source = args.notebook.replace(".executed.ipynb", ".ipynb")
    text = f"{render(nb)}\n{summary(nb, source)}"
    sys.stdout.write((text if sys.stdout.isatty() else ANSI.sub("", text)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
