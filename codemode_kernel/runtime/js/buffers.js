// Buffer accounting. ArrayBuffers and typed arrays keep their bytes outside V8's heap, so the
// heap limit never sees a cell that fills memory with them. Their constructors are wrapped to
// count the bytes this cell allocates; every 16 MiB the running total goes to the host, whose
// process-memory guard fails the cell that allocated the most when the kernel runs short.
// Growth in place counts too: `resize` of a resizable buffer and `transfer(n)` /
// `transferToFixedLength(n)`, which hand back a new buffer of n bytes. The count is cumulative
// (freed buffers are not subtracted): it names the culprit, it is not a limit by itself.
const BUFFER_REPORT_STEP = 16 * 1024 * 1024;
let bufferBytes = 0;
let bufferReported = 0;

function countBuffer(bytes) {
  bufferBytes += bytes;
  if (bufferBytes - bufferReported >= BUFFER_REPORT_STEP) {
    bufferReported = bufferBytes;
    post({ t: "buffers", bytes: bufferBytes });
  }
}

/** `C` with construction counted; `owns(args)` says whether the new object got fresh bytes. */
function countingConstructor(C, owns) {
  const wrapped = new ProxyCtor(C, {
    construct(target, args, newTarget) {
      const made = ReflectConstruct(target, args, newTarget === wrapped ? target : newTarget);
      if (owns(args)) countBuffer(made.byteLength);
      return made;
    },
  });
  // Species lookups (`slice`, `map`, `subarray`…) go through `constructor`: count those too.
  ObjectDefineProperty(C.prototype, "constructor", {
    value: wrapped, writable: true, enumerable: false, configurable: true,
  });
  return wrapped;
}

const TYPED_ARRAY_NAMES = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
];

/** A typed array built over an existing buffer shares its bytes; anything else allocates. */
function ownsFreshBytes(args) {
  const first = args[0];
  return !(first !== null && typeof first === "object" && ArrayBufferIsView(first) === false
    && ObjectPrototypeToString(first) === "[object ArrayBuffer]");
}

/** `ArrayBuffer.prototype[name]` with the bytes it adds counted. */
function countGrowth(proto, name) {
  const original = proto[name];
  if (typeof original !== "function") return;
  ObjectDefineProperty(proto, name, {
    value: {
      [name](...args) {
        const before = name === "resize" ? this.byteLength : 0;
        const result = ReflectApply(original, this, args);
        const after = name === "resize" ? this.byteLength : result.byteLength;
        if (after > before) countBuffer(after - before);
        return result;
      },
    }[name],
    writable: true, enumerable: false, configurable: true,
  });
}

/** Swap the constructors in place (built-in globals keep their non-enumerable descriptors). */
function installBufferAccounting() {
  const bufferProto = globalObject.ArrayBuffer.prototype;
  countGrowth(bufferProto, "resize");
  countGrowth(bufferProto, "transfer");
  countGrowth(bufferProto, "transferToFixedLength");
  globalObject.ArrayBuffer = countingConstructor(globalObject.ArrayBuffer, () => true);
  for (let i = 0; i < TYPED_ARRAY_NAMES.length; i++) {
    const name = TYPED_ARRAY_NAMES[i];
    const C = globalObject[name];
    if (typeof C === "function") globalObject[name] = countingConstructor(C, ownsFreshBytes);
  }
}
