// Type detection and naming for inspect(): brand checks that trust neither
// Symbol.toStringTag nor the prototype chain, Node's constructor-name and prefix rules,
// and the "base" text of functions, classes and errors.
// Brand checks that do not trust Symbol.toStringTag or the prototype chain.
const brandCheck = (check) => (value) => {
  try {
    check(value);
    return true;
  } catch {
    return false;
  }
};
const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype);
const TypedArrayGetTag = getterOf(TypedArrayPrototype, SymbolToStringTag);
const TypedArrayGetLength = getterOf(TypedArrayPrototype, "length");
const ArrayBufferGetByteLength = getterOf(ArrayBuffer.prototype, "byteLength");
const DataViewGetByteLength = getterOf(DataView.prototype, "byteLength");
const DateGetTime = uncurryThis(Date.prototype.getTime);
const DateToISOString = uncurryThis(Date.prototype.toISOString);
const RegExpGetSource = getterOf(RegExp.prototype, "source");
const RegExpToString = uncurryThis(RegExp.prototype.toString);
const FunctionToString = uncurryThis(Function.prototype.toString);
const ErrorToString = uncurryThis(Error.prototype.toString);
const ErrorIsError = typeof Error.isError === "function" ? Error.isError : null;
const BOXED = [
  ["Number", uncurryThis(Number.prototype.valueOf)],
  ["String", uncurryThis(String.prototype.valueOf)],
  ["Boolean", uncurryThis(Boolean.prototype.valueOf)],
  ["BigInt", uncurryThis(BigInt.prototype.valueOf)],
  ["Symbol", uncurryThis(Symbol.prototype.valueOf)],
];
const isMap = brandCheck(MapPrototypeGetSize);
const isSet = brandCheck(SetPrototypeGetSize);
const isWeakMap = brandCheck(uncurryThis(WeakMap.prototype.has));
const isWeakSet = brandCheck(uncurryThis(WeakSet.prototype.has));
const isWeakRef = brandCheck(uncurryThis(WeakRef.prototype.deref));
const isArrayBuffer = brandCheck(ArrayBufferGetByteLength);
const isDataView = brandCheck(DataViewGetByteLength);
const isDate = brandCheck(DateGetTime);
const hasRegExpBrand = brandCheck(RegExpGetSource);
const isRegExp = (v) => v !== RegExp.prototype && hasRegExpBrand(v);
const WeakRefDeref = uncurryThis(WeakRef.prototype.deref);

function isError(value) {
  if (ErrorIsError !== null) return ErrorIsError(value);
  for (let p = value, i = 0; p !== null && i < 1000; p = ObjectGetPrototypeOf(p), i++) {
    if (p === ErrorCtor.prototype) return true;
  }
  return false;
}

function isPromise(value) {
  for (let p = ObjectGetPrototypeOf(value), i = 0; p !== null && i < 1000; p = ObjectGetPrototypeOf(p), i++) {
    if (p === PromiseCtor.prototype) return true;
  }
  return false;
}

function isInstance(value, ctor) {
  try {
    return value instanceof ctor;
  } catch {
    return false;
  }
}

/** Node's getConstructorName: the name of the first `constructor` found on the prototype
 * chain, or null for a null-prototype object. */
function constructorName(value) {
  let obj = value;
  let first;
  for (let i = 0; obj !== null && i < 1000; i++) {
    const desc = ObjectGetOwnPropertyDescriptor(obj, "constructor");
    if (desc !== undefined && typeof desc.value === "function") {
      const name = desc.value.name;
      if (typeof name === "string" && name !== "" && isInstance(value, desc.value)) return name;
    }
    obj = ObjectGetPrototypeOf(obj);
    if (first === undefined) first = obj;
  }
  return first === null ? null : "Object";
}

function toStringTag(value, ctor) {
  const tag = value[SymbolToStringTag];
  if (typeof tag !== "string" || tag === "" || tag === ctor) return "";
  // An own enumerable tag is printed as a key anyway.
  if (ObjectPrototypePropertyIsEnumerable(value, SymbolToStringTag)) return "";
  return tag;
}

function prefixOf(ctor, tag, fallback, size = "") {
  if (ctor === null) {
    if (tag !== "" && fallback !== tag) return `[${fallback}${size}: null prototype] [${tag}] `;
    return `[${fallback}${size}: null prototype] `;
  }
  if (tag !== "" && ctor !== tag) return `${ctor}${size} [${tag}] `;
  return `${ctor}${size} `;
}

/** Own enumerable string keys, then own enumerable symbols (Node's default filter). */
function ownKeys(value, skipIndices) {
  const keys = [];
  const names = ObjectKeys(value);
  for (let i = 0; i < names.length; i++) {
    if (skipIndices && isIndexKey(names[i])) continue;
    ArrayPrototypePush(keys, names[i]);
  }
  const symbols = ObjectGetOwnPropertySymbols(value);
  for (let i = 0; i < symbols.length; i++) {
    if (ObjectPrototypePropertyIsEnumerable(value, symbols[i])) ArrayPrototypePush(keys, symbols[i]);
  }
  return keys;
}

function isIndexKey(key) {
  if (key === "" || key.length > 10) return false;
  for (let i = 0; i < key.length; i++) {
    const c = StringPrototypeCharCodeAt(key, i);
    if (c < 48 || c > 57 || (i === 0 && c === 48 && key.length > 1)) return false;
  }
  return +key < 4294967295;
}

function isHiddenOwn(value, key) {
  return ObjectPrototypeHasOwnProperty(value, key) && !ObjectPrototypePropertyIsEnumerable(value, key);
}

function boxedKind(value) {
  for (let i = 0; i < BOXED.length; i++) {
    try {
      BOXED[i][1](value);
      return BOXED[i];
    } catch {
      // not this kind
    }
  }
  return null;
}

function functionBase(fn, ctor, tag) {
  let source = "";
  try {
    source = FunctionToString(fn);
  } catch {
    // some exotic callables cannot be stringified
  }
  let name = "";
  try {
    const n = fn.name;
    if (typeof n === "string") name = n;
  } catch {
    // anonymous
  }
  if (isClassSource(source)) {
    let base = `class ${ObjectPrototypeHasOwnProperty(fn, "name") && name !== "" ? name : "(anonymous)"}`;
    if (ctor !== "Function" && ctor !== null) base += ` [${ctor}]`;
    if (tag !== "" && ctor !== tag) base += ` [${tag}]`;
    const parent = ctor === null ? null : ObjectGetPrototypeOf(fn);
    const parentName = parent === null ? "" : parent.name;
    if (typeof parentName === "string" && parentName !== "") base += ` extends ${parentName}`;
    return `[${base}]`;
  }
  const type =
    ctor === "AsyncFunction" || ctor === "GeneratorFunction" || ctor === "AsyncGeneratorFunction"
      ? ctor
      : "Function";
  let base = `[${type}`;
  if (ctor === null) base += " (null prototype)";
  base += name === "" ? " (anonymous)]" : `: ${name}]`;
  if (ctor !== type && ctor !== null) base += ` ${ctor}`;
  if (tag !== "" && ctor !== tag) base += ` [${tag}]`;
  return base;
}

// `class A {}` or `class{}`, but not the source of a method named `classify() {}`.
function isClassSource(source) {
  if (StringPrototypeSlice(source, 0, 5) !== "class" || StringPrototypeSlice(source, -1) !== "}") return false;
  const next = StringPrototypeSlice(source, 5, 6);
  return next === "{" || next === "/" || RegExpPrototypeTest(/\s/, next);
}

function errorBase(err) {
  let stack;
  try {
    stack = err.stack;
  } catch {
    // use toString below
  }
  if (typeof stack !== "string" || stack === "") {
    try {
      stack = ErrorToString(err);
    } catch {
      stack = "Error";
    }
  }
  stack = stripPreludeFrames(stack);
  // Like Node, an error without stack frames is shown in brackets: [Error: boom].
  return StringPrototypeIndexOf(stack, "\n    at ") === -1 ? `[${stack}]` : stack;
}
