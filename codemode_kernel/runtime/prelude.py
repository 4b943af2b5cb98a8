"""The JavaScript prelude that every cell's isolate evaluates before the user's code.

The JS lives in ``runtime/js/*.js``. There is no module loader in mini-racer, so the files
are concatenated, in dependency order, into one function expression that shares a single
closure scope. Evaluating :data:`PRELUDE` as a script yields ``setup(notify)``; calling it
installs the cell globals and returns the out-channel buffer (see ``js/channel.js`` for the
frame layout and ``js/host.js`` for the control object).
"""

from __future__ import annotations

from importlib.resources import files

#: Load order matters only for top-level statements (captured built-ins first, the global
#: installation last); functions are hoisted across the shared scope.
JS_FILES: tuple[str, ...] = (
    "intrinsics.js",
    "channel.js",
    "errors.js",
    "inspect_primitives.js",
    "inspect_types.js",
    "inspect_entries.js",
    "inspect.js",
    "helpers.js",
    "store.js",
    "timers.js",
    "tools.js",
    "console.js",
    "buffers.js",
    "host.js",
)

#: Script name used in stack traces; frames from it are stripped from user-facing errors.
PRELUDE_URL = "codemode-prelude.js"


def _build() -> str:
    js_dir = files("codemode_kernel") / "runtime" / "js"
    parts = [
        f"// ---- {name} ----\n{(js_dir / name).read_text(encoding='utf-8')}" for name in JS_FILES
    ]
    body = "\n".join(parts)
    return (
        '(function (notify) {\n"use strict";\n'
        f"{body}\nreturn buf;\n}})\n//# sourceURL={PRELUDE_URL}\n"
    )


PRELUDE: str = _build()
