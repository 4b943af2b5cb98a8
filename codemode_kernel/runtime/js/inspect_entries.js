// The entry lists inspect() puts between braces: array elements (with holes and the
// 100-item cap), typed arrays, Set / Map entries and ArrayBuffer bytes.
function formatArrayEntries(ctx, value, level) {
  const output = [];
  const length = value.length;
  let i = 0;
  for (; i < length && output.length < MAX_ARRAY_LENGTH; i++) {
    if (!ObjectPrototypeHasOwnProperty(value, i)) return formatSparseEntries(ctx, value, level, output, i);
    ArrayPrototypePush(output, formatElement(ctx, value, i, level));
  }
  if (i < length) ArrayPrototypePush(output, `... ${plural(length - i, "more item")}`);
  return output;
}

/** Arrays with holes: walk the existing indices instead of every slot. */
function formatSparseEntries(ctx, value, level, output, next) {
  const length = value.length;
  const keys = ObjectKeys(value);
  for (let k = 0; k < keys.length && output.length < MAX_ARRAY_LENGTH; k++) {
    if (!isIndexKey(keys[k])) break;
    const index = +keys[k];
    if (index < next) continue;
    if (index > next) {
      ArrayPrototypePush(output, `<${plural(index - next, "empty item")}>`);
      next = index;
      if (output.length >= MAX_ARRAY_LENGTH) break;
    }
    ArrayPrototypePush(output, formatElement(ctx, value, index, level));
    next = index + 1;
  }
  if (next < length && output.length < MAX_ARRAY_LENGTH) {
    ArrayPrototypePush(output, `<${plural(length - next, "empty item")}>`);
    next = length;
  }
  if (next < length) ArrayPrototypePush(output, `... ${plural(length - next, "more item")}`);
  return output;
}

function formatElement(ctx, value, index, level) {
  const desc = ObjectGetOwnPropertyDescriptor(value, index);
  if (desc === undefined || "value" in desc) return formatValue(ctx, value[index], level);
  if (desc.get !== undefined) return desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
  return "[Setter]";
}

function formatTypedArrayEntries(ctx, value, level) {
  const output = [];
  const length = TypedArrayGetLength(value);
  const shown = MathMin(length, MAX_ARRAY_LENGTH);
  for (let i = 0; i < shown; i++) ArrayPrototypePush(output, formatPrimitive(value[i]));
  if (length > shown) ArrayPrototypePush(output, `... ${plural(length - shown, "more item")}`);
  return output;
}

function formatSetEntries(ctx, value, level) {
  const output = [];
  let extra = 0;
  SetPrototypeForEach(value, (item) => {
    if (output.length < MAX_ARRAY_LENGTH) ArrayPrototypePush(output, formatValue(ctx, item, level));
    else extra += 1;
  });
  if (extra > 0) ArrayPrototypePush(output, `... ${plural(extra, "more item")}`);
  return output;
}

function formatMapEntries(ctx, value, level) {
  const output = [];
  let extra = 0;
  MapPrototypeForEach(value, (item, key) => {
    if (output.length < MAX_ARRAY_LENGTH) {
      ArrayPrototypePush(output, `${formatValue(ctx, key, level)} => ${formatValue(ctx, item, level)}`);
    } else extra += 1;
  });
  if (extra > 0) ArrayPrototypePush(output, `... ${plural(extra, "more item")}`);
  return output;
}

function formatArrayBufferEntries(ctx, value) {
  const length = ArrayBufferGetByteLength(value);
  const bytes = new Uint8Array(value, 0, MathMin(length, MAX_BUFFER_BYTES));
  let hexBytes = "";
  for (let i = 0; i < bytes.length; i++) hexBytes += (i === 0 ? "" : " ") + StringPrototypeSlice(NumberPrototypeToString(bytes[i] + 256, 16), 1);
  if (length > MAX_BUFFER_BYTES) hexBytes += ` ... ${plural(length - MAX_BUFFER_BYTES, "more byte")}`;
  return [`[Uint8Contents]: <${hexBytes}>`, `byteLength: ${formatNumber(length)}`];
}
