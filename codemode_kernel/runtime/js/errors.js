// Error text, the reference's `value_to_error_text`, and the `done` error triple.
const EXIT_SENTINEL = "__codex_code_mode_exit__";
const UNKNOWN_EXCEPTION = "unknown code mode exception";
const PRELUDE_URL = "codemode-prelude.js";

// A V8 stack frame line that points into this prelude, e.g.
// "    at text (codemode-prelude.js:120:5)" or "    at codemode-prelude.js:9:1".
const PRELUDE_FRAME = /^\s+at (?:.* \()?codemode-prelude\.js:\d+:\d+\)?$/;
// A built-in frame such as "    at JSON.stringify (<anonymous>)".
const BUILTIN_FRAME = /^\s+at [\w$.]+ \(<anonymous>\)$/;

/** Drop the runtime's own frames from a stack so the user sees only theirs (the
 * reference's helpers are native and leave no frames). A built-in frame called from
 * the prelude (JSON.stringify inside text()) goes too. */
function stripPreludeFrames(stack) {
  if (StringPrototypeIndexOf(stack, PRELUDE_URL) === -1) return stack;
  const kept = [];
  const lines = StringPrototypeSplit(stack, "\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (RegExpPrototypeTest(PRELUDE_FRAME, line)) {
      const previous = kept[kept.length - 1];
      if (previous !== undefined && RegExpPrototypeTest(BUILTIN_FRAME, previous)) kept.length -= 1;
      continue;
    }
    ArrayPrototypePush(kept, line);
  }
  return ArrayPrototypeJoin(kept, "\n");
}

/** The reference's error text: a string `stack` property if there is one, else ToString. */
function valueToErrorText(value) {
  if (isObjectLike(value)) {
    try {
      const stack = value.stack;
      if (typeof stack === "string") return stripPreludeFrames(stack);
    } catch {
      // A throwing `stack` getter falls through to ToString, like a missing stack.
    }
  }
  try {
    return StringCtor(value);
  } catch {
    return UNKNOWN_EXCEPTION;
  }
}

/** `{name, message, text}` for the `done` message (Jupyter's ename / evalue / traceback). */
function describeError(value) {
  const text = valueToErrorText(value);
  let name = "ScriptError";
  let message = text;
  if (isObjectLike(value)) {
    try {
      const n = value.name;
      if (typeof n === "string" && n !== "") name = n;
    } catch {
      // keep ScriptError
    }
    try {
      const m = value.message;
      if (typeof m === "string") message = m;
    } catch {
      // keep the error text
    }
  }
  return { __proto__: null, name, message, text };
}
