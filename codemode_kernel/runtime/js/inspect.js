// inspect(value): a compact, single-line version of Node's util.inspect, used for
// console arguments and the cell's result. It never throws: getters are shown as
// [Getter] rather than run, and anything that throws while being looked at (a Proxy
// trap, a revoked Proxy) is replaced by a placeholder.
const INSPECT_DEPTH = 2;
const MAX_ARRAY_LENGTH = 100;
const MAX_BUFFER_BYTES = 50;

function plural(n, word) {
  return `${n} ${word}${n > 1 ? "s" : ""}`;
}

function inspect(value, depth = INSPECT_DEPTH) {
  const ctx = { __proto__: null, depth, seen: [], circular: new MapCtor() };
  try {
    return formatValue(ctx, value, 0);
  } catch (e) {
    return uninspectable(e);
  }
}

function uninspectable(error) {
  try {
    const message = isObjectLike(error) ? error.message : error;
    if (typeof message === "string" && StringPrototypeIndexOf(message, "revoked") !== -1) {
      return "<Revoked Proxy>";
    }
  } catch {
    // fall through
  }
  return "<Uninspectable>";
}

function formatValue(ctx, value, level) {
  if (!isObjectLike(value)) return formatPrimitive(value);
  const seen = ctx.seen;
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] === value) {
      let index = MapPrototypeGet(ctx.circular, value);
      if (index === undefined) {
        index = MapPrototypeGetSize(ctx.circular) + 1;
        MapPrototypeSet(ctx.circular, value, index);
      }
      return `[Circular *${index}]`;
    }
  }
  let out;
  try {
    out = formatObject(ctx, value, level);
  } catch (e) {
    return uninspectable(e);
  }
  const index = MapPrototypeGet(ctx.circular, value);
  return index === undefined ? out : `<ref *${index}> ${out}`;
}

/** Decide how `value` looks (base text, braces, entry formatter, extra keys), then render. */
function formatObject(ctx, value, level) {
  const ctor = constructorName(value);
  const tag = toStringTag(value, ctor);
  let keys;
  let base = "";
  let open = "{";
  let close = "}";
  let entries = null; // (ctx, value, level) => string[]

  if (ArrayIsArray(value)) {
    keys = ownKeys(value, true);
    const prefix = ctor !== "Array" || tag !== "" ? prefixOf(ctor, tag, "Array", `(${value.length})`) : "";
    open = `${prefix}[`;
    close = "]";
    if (value.length === 0 && keys.length === 0) return `${open}]`;
    entries = formatArrayEntries;
  } else if (isSet(value)) {
    const size = SetPrototypeGetSize(value);
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, "Set", `(${size})`)}{`;
    if (size === 0 && keys.length === 0) return `${open}}`;
    entries = formatSetEntries;
  } else if (isMap(value)) {
    const size = MapPrototypeGetSize(value);
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, "Map", `(${size})`)}{`;
    if (size === 0 && keys.length === 0) return `${open}}`;
    entries = formatMapEntries;
  } else if (TypedArrayGetTag(value) !== undefined) {
    const size = TypedArrayGetLength(value);
    keys = ownKeys(value, true);
    const kind = TypedArrayGetTag(value);
    open = `${prefixOf(ctor, tag, kind, `(${size})`)}[`;
    close = "]";
    if (size === 0 && keys.length === 0) return `${open}]`;
    entries = formatTypedArrayEntries;
  } else if (typeof value === "function") {
    keys = ownKeys(value, false);
    base = functionBase(value, ctor, tag);
    if (keys.length === 0) return base;
  } else if (isError(value)) {
    keys = ownKeys(value, false);
    // Node also shows the non-enumerable `cause` / `errors` (AggregateError) of an error.
    if (isHiddenOwn(value, "cause")) ArrayPrototypePush(keys, "cause");
    if (isHiddenOwn(value, "errors")) ArrayPrototypePush(keys, "errors");
    base = errorBase(value);
    if (keys.length === 0) return base;
  } else if (isDate(value)) {
    keys = ownKeys(value, false);
    const time = DateGetTime(value);
    base = NumberIsNaN(time) ? "Invalid Date" : DateToISOString(value);
    const prefix = prefixOf(ctor, tag, "Date");
    if (prefix !== "Date ") base = prefix + base;
    if (keys.length === 0) return base;
  } else if (isRegExp(value)) {
    keys = ownKeys(value, false);
    base = RegExpToString(value);
    const prefix = prefixOf(ctor, tag, "RegExp");
    if (prefix !== "RegExp ") base = prefix + base;
    if (keys.length === 0) return base;
  } else if (isArrayBuffer(value)) {
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, "ArrayBuffer")}{`;
    entries = formatArrayBufferEntries;
  } else if (isDataView(value)) {
    keys = ["byteLength", "byteOffset", "buffer"];
    const more = ownKeys(value, false);
    for (let i = 0; i < more.length; i++) ArrayPrototypePush(keys, more[i]);
    open = `${prefixOf(ctor, tag, "DataView")}{`;
  } else if (isPromise(value)) {
    // The state of a promise is not observable synchronously from JavaScript.
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, "Promise")}{`;
    if (keys.length === 0) return `${open}}`;
  } else if (isWeakMap(value) || isWeakSet(value)) {
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, isWeakMap(value) ? "WeakMap" : "WeakSet")}{`;
    entries = () => ["<items unknown>"];
  } else if (isWeakRef(value)) {
    keys = ownKeys(value, false);
    open = `${prefixOf(ctor, tag, "WeakRef")}{`;
    entries = (c, v, l) => [formatValue(c, WeakRefDeref(v), l)];
  } else if (boxedKind(value) !== null) {
    const boxed = boxedKind(value);
    const kind = boxed[0];
    const valueOf = boxed[1];
    keys = ownKeys(value, kind === "String");
    base = `[${kind}${kind === ctor ? "" : ctor === null ? " (null prototype)" : ` (${ctor})`}: ${formatPrimitive(valueOf(value))}]`;
    if (tag !== "" && tag !== ctor) base += ` [${tag}]`;
    if (keys.length === 0) return base;
  } else if (ctor === "Object" && ObjectPrototypeToString(value) === "[object Arguments]") {
    keys = ownKeys(value, true);
    open = "[Arguments] [";
    close = "]";
    if (value.length === 0 && keys.length === 0) return `${open}]`;
    entries = formatArrayEntries;
  } else {
    keys = ownKeys(value, false);
    if (ctor !== "Object" || tag !== "") open = `${prefixOf(ctor, tag, "Object")}{`;
    if (keys.length === 0) return `${open}}`;
  }

  if (level > ctx.depth) {
    const name = StringPrototypeSlice(prefixOf(ctor, tag, "Object"), 0, -1);
    return ctor === null ? name : `[${name}]`;
  }

  ArrayPrototypePush(ctx.seen, value);
  let output;
  try {
    output = entries === null ? [] : entries(ctx, value, level + 1);
    for (let i = 0; i < keys.length; i++) {
      ArrayPrototypePush(output, formatProperty(ctx, value, keys[i], level + 1));
    }
  } finally {
    ctx.seen.length -= 1;
  }
  const body = output.length === 0 ? `${open}${close}` : `${open} ${ArrayPrototypeJoin(output, ", ")} ${close}`;
  return base === "" ? body : `${base} ${body}`;
}

function formatProperty(ctx, value, key, level) {
  const desc = ObjectGetOwnPropertyDescriptor(value, key);
  let str;
  if (desc === undefined) str = formatValue(ctx, value[key], level); // e.g. byteLength getters
  else if ("value" in desc) str = formatValue(ctx, desc.value, level);
  else if (desc.get !== undefined) str = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
  else str = desc.set !== undefined ? "[Setter]" : "undefined";
  const enumerable = desc === undefined || desc.enumerable;
  return `${formatKey(key, enumerable)}: ${str}`;
}
