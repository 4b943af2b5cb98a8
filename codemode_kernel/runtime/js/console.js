// Our `console` (docs/cells.md): log/info/debug -> stdout, warn/error -> stderr, one `console`
// message per call. Arguments are formatted like Node's util.format: a leading string
// may hold printf-style directives (%s %d %i %f %j %o %O %c %%); the remaining
// arguments follow, strings raw and everything else through inspect().

// Constructors whose toString counts as built-in for %s (Node's `builtInObjects`).
const BUILTIN_CONSTRUCTORS = (() => {
  const names = { __proto__: null };
  const own = ObjectGetOwnPropertyNames(globalObject);
  for (let i = 0; i < own.length; i++) {
    const c = StringPrototypeCharCodeAt(own[i], 0);
    if (c >= 65 && c <= 90) names[own[i]] = true;
  }
  return names;
})();

/** Node's hasBuiltInToString: true unless the object brings its own toString (then %s
 * uses String(value) instead of inspect). */
function hasBuiltInToString(value) {
  if (typeof value.toString !== "function") return true;
  if (ObjectPrototypeHasOwnProperty(value, "toString")) return false;
  let pointer = value;
  for (let i = 0; i < 1000; i++) {
    pointer = ObjectGetPrototypeOf(pointer);
    if (pointer === null) return true;
    if (ObjectPrototypeHasOwnProperty(pointer, "toString")) break;
  }
  const desc = ObjectGetOwnPropertyDescriptor(pointer, "constructor");
  return desc !== undefined && typeof desc.value === "function" && BUILTIN_CONSTRUCTORS[desc.value.name] === true;
}

function formatDirective(code, arg) {
  switch (code) {
    case 115: // %s
      if (typeof arg === "number") return formatNumber(arg);
      if (typeof arg === "bigint") return `${arg}n`;
      if (typeof arg !== "object" || arg === null || !hasBuiltInToString(arg)) return StringCtor(arg);
      return inspect(arg, 0);
    case 106: // %j
      try {
        return `${JSONStringify(arg)}`;
      } catch (e) {
        const message = isObjectLike(e) ? e.message : "";
        if (typeof message === "string" && StringPrototypeIndexOf(message, "circular") !== -1) return "[Circular]";
        throw e;
      }
    case 100: // %d
      if (typeof arg === "bigint") return `${arg}n`;
      return typeof arg === "symbol" ? "NaN" : formatNumber(+arg);
    case 105: // %i
      if (typeof arg === "bigint") return `${arg}n`;
      return typeof arg === "symbol" ? "NaN" : formatNumber(NumberParseInt(arg));
    case 102: // %f
      return typeof arg === "symbol" ? "NaN" : formatNumber(NumberParseFloat(arg));
    case 79: // %O
      return inspect(arg);
    case 111: // %o
      return inspect(arg, 4);
    default: // %c: CSS, consumed and dropped
      return "";
  }
}

const DIRECTIVES = { __proto__: null, 115: true, 106: true, 100: true, 105: true, 102: true, 79: true, 111: true, 99: true };

/** util.format, single line. A port of Node's formatWithOptionsInternal. */
function formatLogArgs(args) {
  const first = args[0];
  let a = 0;
  let out = "";
  let join = "";
  if (typeof first === "string") {
    if (args.length === 1) return first;
    let lastPos = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (StringPrototypeCharCodeAt(first, i) !== 37) continue; // '%'
      const next = StringPrototypeCharCodeAt(first, ++i);
      if (a + 1 !== args.length) {
        if (next === 37) {
          out += StringPrototypeSlice(first, lastPos, i);
          lastPos = i + 1;
          continue;
        }
        if (DIRECTIVES[next] !== true) continue;
        const piece = formatDirective(next, args[++a]);
        if (lastPos !== i - 1) out += StringPrototypeSlice(first, lastPos, i - 1);
        out += piece;
        lastPos = i + 1;
      } else if (next === 37) {
        out += StringPrototypeSlice(first, lastPos, i);
        lastPos = i + 1;
      }
    }
    if (lastPos !== 0) {
      a += 1;
      join = " ";
      if (lastPos < first.length) out += StringPrototypeSlice(first, lastPos);
    }
  }
  for (; a < args.length; a++) {
    const value = args[a];
    out += join + (typeof value === "string" ? value : inspect(value));
    join = " ";
  }
  return out;
}

function makeConsoleMethod(name, stream) {
  const method = function (...args) {
    let line;
    try {
      line = formatLogArgs(args);
    } catch (e) {
      // A %d on an object whose valueOf throws, say: print what we can instead of failing.
      line = `<console formatting failed: ${valueToErrorText(e)}>`;
    }
    post({ t: "console", stream, text: line });
  };
  ObjectDefineProperty(method, "name", { value: name });
  return method;
}

const consoleObject = {
  log: makeConsoleMethod("log", "stdout"),
  info: makeConsoleMethod("info", "stdout"),
  debug: makeConsoleMethod("debug", "stdout"),
  warn: makeConsoleMethod("warn", "stderr"),
  error: makeConsoleMethod("error", "stderr"),
};
