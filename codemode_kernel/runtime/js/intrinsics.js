// Built-ins captured at setup, before any user code runs. A cell may monkey-patch
// JSON, Map, Promise or String.prototype; the runtime must keep talking to the host
// anyway, so everything on the protocol path goes through these copies.
// `uncurryThis(f)(self, ...args)` is `f.call(self, ...args)` without looking up `call`.
const uncurryThis = (fn) => Function.prototype.call.bind(fn);
const getterOf = (proto, name) => uncurryThis(Object.getOwnPropertyDescriptor(proto, name).get);

const globalObject = globalThis;
const StringCtor = String;
const ErrorCtor = Error;
const MapCtor = Map;
const PromiseCtor = Promise;
const SymbolFor = Symbol.for;
const SymbolToStringTag = Symbol.toStringTag;

const JSONStringify = JSON.stringify;
const JSONParse = JSON.parse;

const ObjectPrototype = Object.prototype;
const ObjectDefineProperty = Object.defineProperty;
const ObjectFreeze = Object.freeze;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
const ObjectGetOwnPropertySymbols = Object.getOwnPropertySymbols;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ObjectKeys = Object.keys;
const ObjectPrototypeHasOwnProperty = uncurryThis(Object.prototype.hasOwnProperty);
const ObjectPrototypePropertyIsEnumerable = uncurryThis(Object.prototype.propertyIsEnumerable);
const ObjectPrototypeToString = uncurryThis(Object.prototype.toString);

const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ProxyCtor = Proxy;
const ArrayBufferIsView = ArrayBuffer.isView;
const ReflectDeleteProperty = Reflect.deleteProperty;
const ArrayIsArray = Array.isArray;
const ArrayPrototypePush = uncurryThis(Array.prototype.push);
const ArrayPrototypeJoin = uncurryThis(Array.prototype.join);

const NumberIsFinite = Number.isFinite;
const NumberIsNaN = Number.isNaN;
const NumberParseInt = Number.parseInt;
const NumberParseFloat = Number.parseFloat;
const NumberPrototypeToString = uncurryThis(Number.prototype.toString);
const MathTrunc = Math.trunc;
const MathMin = Math.min;
const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

const StringFromCharCode = String.fromCharCode;
const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
const StringPrototypeCodePointAt = uncurryThis(String.prototype.codePointAt);
const StringPrototypeSlice = uncurryThis(String.prototype.slice);
const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
const StringPrototypeSplit = uncurryThis(String.prototype.split);
const StringPrototypeTrim = uncurryThis(String.prototype.trim);
const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
const RegExpPrototypeTest = uncurryThis(RegExp.prototype.test);

const MapPrototypeGet = uncurryThis(Map.prototype.get);
const MapPrototypeSet = uncurryThis(Map.prototype.set);
const MapPrototypeDelete = uncurryThis(Map.prototype.delete);
const MapPrototypeForEach = uncurryThis(Map.prototype.forEach);
const MapPrototypeGetSize = getterOf(Map.prototype, "size");
const SetPrototypeForEach = uncurryThis(Set.prototype.forEach);
const SetPrototypeGetSize = getterOf(Set.prototype, "size");

const PromisePrototypeThen = uncurryThis(Promise.prototype.then);
const PromiseResolveFn = Promise.resolve;
const PromiseRejectFn = Promise.reject;
const PromiseResolve = (value) => ReflectApply(PromiseResolveFn, PromiseCtor, [value]);
const PromiseReject = (reason) => ReflectApply(PromiseRejectFn, PromiseCtor, [reason]);
const AsyncFunctionCtor = ObjectGetPrototypeOf(async function () {}).constructor;

/** True for anything that can carry properties (objects, arrays, functions). */
function isObjectLike(value) {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

/** ASCII-only lower-casing, as Rust's `to_ascii_lowercase` does. */
function asciiLower(s) {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    out += c >= 65 && c <= 90 ? StringFromCharCode(c + 32) : StringFromCharCode(c);
  }
  return out;
}
