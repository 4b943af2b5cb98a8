"""What `complete` offers and `inspect` explains: the helpers a cell sees, and the magics.

The helper wording follows the reference's exec tool description, so that what a person reads in
the notebook is what a model is told.
"""

from __future__ import annotations

HELPERS: dict[str, str] = {
    "text": "text(value): append a text item to the cell's output. Strings as-is, other values "
    "as JSON (or String(value) when JSON has no form for them).",
    "image": "image(imageUrlOrItem, detail?): append an image. Takes a base64 data: URL, an "
    "object {image_url, detail?} or a raw MCP image block; detail is one of auto, low, high, "
    "original (default high). Remote http(s) URLs are rejected.",
    "generatedImage": "generatedImage(result): append an image generation result: the image, "
    "then its output_hint as text when present.",
    "store": "store(key, value): keep a JSON-serializable value for later cells. Visible to "
    "load() in this cell at once; committed for other cells when this cell completes (also if "
    "it fails), discarded if it is terminated.",
    "load": "load(key): a fresh copy of a stored value, or undefined. A cell sees the store as "
    "it was when the cell started, plus its own writes.",
    "notify": "notify(value): send a notification to the caller immediately, even while the "
    "cell keeps running. Not part of the cell's output.",
    "yield_control": "yield_control(): end the current observation now; the script keeps "
    "running and later output goes to the next `%wait`.",
    "exit": "exit(): stop the script successfully, keeping the output produced so far.",
    "setTimeout": "setTimeout(callback, delayMs?): run callback after delayMs. Timers never keep "
    "a cell alive: await a Promise to wait for one. Returns a numeric id.",
    "clearTimeout": "clearTimeout(id): cancel a pending timer; unknown ids are ignored.",
    "prompt": "await prompt(message?): ask the person at the front end and get the answer as a "
    "string. Rejects at once when the client does not allow stdin (nbclient, most agents).",
    "tools": "tools: one async function per registered tool, e.g. `await tools.search({q})`. "
    "Function tools take an object, freeform tools a string.",
    "ALL_TOOLS": "ALL_TOOLS: every registered tool as {name, description}.",
    "console": "console.log/info/debug write to stdout, console.warn/error to stderr.",
}

MAGICS: dict[str, str] = {
    "%wait": "%wait [ID] [--yield-time-ms N] [--max-tokens N]: observe a running cell again "
    "(without an ID, the newest one still running).",
    "%terminate": "%terminate [ID]: stop a running cell (without an ID, the newest one still "
    "running); its store writes are discarded.",
    "%cells": "%cells: the live cells, their state, age and buffered output.",
    "%store": "%store: everything in the session store. %store --clear empties it first.",
}

#: Keywords are the language, not the runtime: `builtins.json` has what V8 provides.
JS_KEYWORDS: tuple[str, ...] = (
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "default",
    "delete",
    "do",
    "else",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "in",
    "instanceof",
    "let",
    "new",
    "null",
    "of",
    "return",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "yield",
)
