// Primitive formatting for inspect(), following Node's util.inspect: quoting and
// escaping of strings, -0, bigint suffix, property-key rendering.
const MAX_STRING_LENGTH = 10000;
const IDENTIFIER_KEY = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

// Node's escapes for C0 controls; other controls and C1 become \xHH (upper-case hex).
const NAMED_ESCAPES = { __proto__: null, 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" };

function hex(code, width) {
  let s = StringPrototypeToUpperCase(NumberPrototypeToString(code, 16));
  while (s.length < width) s = "0" + s;
  return s;
}

/** Quote a string like Node: single quotes, or double quotes / backticks when that avoids
 * escaping a single quote. Escapes controls, backslash, the quote and lone surrogates. */
function quoteString(str) {
  let quote = 39; // '
  if (StringPrototypeIndexOf(str, "'") !== -1) {
    if (StringPrototypeIndexOf(str, '"') === -1) quote = 34;
    else if (StringPrototypeIndexOf(str, "`") === -1 && StringPrototypeIndexOf(str, "${") === -1) {
      quote = 96;
    }
  }
  let out = "";
  let last = 0;
  for (let i = 0; i < str.length; i++) {
    const c = StringPrototypeCharCodeAt(str, i);
    let escaped;
    if (c === quote || c === 92) escaped = "\\" + StringFromCharCode(c);
    else if (c < 32 || (c > 126 && c < 160)) escaped = NAMED_ESCAPES[c] || "\\x" + hex(c, 2);
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < str.length ? StringPrototypeCharCodeAt(str, i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i += 1;
        continue;
      }
      escaped = "\\u" + NumberPrototypeToString(c, 16);
    } else continue;
    out += StringPrototypeSlice(str, last, i) + escaped;
    last = i + 1;
  }
  out += StringPrototypeSlice(str, last);
  const q = StringFromCharCode(quote);
  return q + out + q;
}

function formatNumber(n) {
  return n === 0 && 1 / n < 0 ? "-0" : StringCtor(n);
}

function formatPrimitive(value) {
  switch (typeof value) {
    case "string": {
      if (value.length <= MAX_STRING_LENGTH) return quoteString(value);
      const remaining = value.length - MAX_STRING_LENGTH;
      const head = quoteString(StringPrototypeSlice(value, 0, MAX_STRING_LENGTH));
      return `${head}... ${remaining} more character${remaining > 1 ? "s" : ""}`;
    }
    case "number":
      return formatNumber(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "symbol":
      return StringCtor(value);
    default:
      return "null";
  }
}

/** A property name as Node prints it: `a`, `'a-b'`, `[Symbol(x)]`. */
function formatKey(key, enumerable) {
  if (typeof key === "symbol") return `[${StringCtor(key)}]`;
  if (key === "__proto__") return "['__proto__']";
  if (!enumerable) return `[${key}]`;
  if (RegExpPrototypeTest(IDENTIFIER_KEY, key)) return key;
  return quoteString(key);
}
