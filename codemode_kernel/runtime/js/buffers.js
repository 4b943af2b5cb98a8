// Buffer accounting. ArrayBuffers and typed arrays keep their bytes outside V8's heap, so the
// heap limit never sees a cell that fills memory with them. Their constructors are wrapped to
// count the bytes this cell allocates; every 16 MiB the running total goes to the host, whose
// process-memory guard fails the cell that allocated the most when the kernel runs short.
// Growth in place counts too (`resize` of a resizable buffer, and `transfer(n)` /
// `transferToFixedLength(n)`, which hand back a new buffer of n bytes), and so does each Intl
// object, by an estimate of its ICU data. The count is cumulative (freed buffers are not
// subtracted): it names the culprit, it is not a limit by itself.
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

/** `C` with every object it makes counted, `new` or not (some Intl constructors allow a
 * plain call); `bytesOf(args, made)` says how many fresh bytes the new object holds. */
function countingConstructor(C, bytesOf) {
  const wrapped = new ProxyCtor(C, {
    construct(target, args, newTarget) {
      const made = ReflectConstruct(target, args, newTarget === wrapped ? target : newTarget);
      countBuffer(bytesOf(args, made));
      return made;
    },
    apply(target, thisArg, args) {
      const made = ReflectApply(target, thisArg, args);
      countBuffer(bytesOf(args, made));
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
function freshTypedArrayBytes(args, made) {
  const first = args[0];
  const shares = first !== null && typeof first === "object" && ArrayBufferIsView(first) === false
    && ObjectPrototypeToString(first) === "[object ArrayBuffer]";
  return shares ? 0 : made.byteLength;
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

/** Intl objects keep their ICU data outside the heap too; bytes each, measured on V8 14.4. */
const INTL_BYTES = {
  __proto__: null,
  DateTimeFormat: 28 * 1024, RelativeTimeFormat: 8 * 1024, Segmenter: 4608, PluralRules: 2560,
  Collator: 1536, DisplayNames: 1536, NumberFormat: 1024, ListFormat: 512, Locale: 512,
  DurationFormat: 1024,
};

/** Swap the constructors in place (built-in globals keep their non-enumerable descriptors). */
function installBufferAccounting() {
  const intl = globalObject.Intl;
  for (const name in INTL_BYTES) {
    const bytes = INTL_BYTES[name];
    if (typeof intl[name] === "function") intl[name] = countingConstructor(intl[name], () => bytes);
  }
  const bufferProto = globalObject.ArrayBuffer.prototype;
  countGrowth(bufferProto, "resize");
  countGrowth(bufferProto, "transfer");
  countGrowth(bufferProto, "transferToFixedLength");
  const bufferBytesOf = (_, made) => made.byteLength;
  globalObject.ArrayBuffer = countingConstructor(globalObject.ArrayBuffer, bufferBytesOf);
  for (let i = 0; i < TYPED_ARRAY_NAMES.length; i++) {
    const name = TYPED_ARRAY_NAMES[i];
    const C = globalObject[name];
    if (typeof C === "function") globalObject[name] = countingConstructor(C, freshTypedArrayBytes);
  }
}
