// store / load (as in Codex's code mode). The cell sees a snapshot of the session store taken
// when it started, overlaid with its own writes. Values are kept as JSON text, so load()
// always returns a fresh copy. The writes go back to the host in the `done` message.
const storedValues = new MapCtor(); // key -> JSON text (snapshot + this cell's writes)
const storedWrites = new MapCtor(); // key -> JSON text, in first-write order

function loadStoreSnapshot(snapshot) {
  if (!isObjectLike(snapshot)) return;
  const keys = ObjectKeys(snapshot);
  for (let i = 0; i < keys.length; i++) {
    const json = JSONStringify(snapshot[keys[i]]);
    if (json !== undefined) MapPrototypeSet(storedValues, keys[i], json);
  }
}

/** ToString of the key (a template literal throws for symbols, as ToString does). */
function storeKey(key, helper) {
  try {
    return `${key}`;
  } catch {
    throw `${helper} key must be a string`;
  }
}

function store(key, value) {
  const k = storeKey(key, "store");
  const json = stringifyOrThrowText(value);
  if (json === undefined || tooDeep(json) !== null) {
    throw `Unable to store ${rustDebugString(k)}. Only plain serializable objects can be stored.`;
  }
  MapPrototypeSet(storedValues, k, json);
  MapPrototypeSet(storedWrites, k, json);
}

function load(key) {
  const json = MapPrototypeGet(storedValues, storeKey(key, "load"));
  return json === undefined ? undefined : JSONParse(json);
}

/** The writes as one JSON object text, keys in write order (even integer-like ones). */
function storedWritesJson() {
  let out = "";
  MapPrototypeForEach(storedWrites, (json, key) => {
    out += (out === "" ? "" : ",") + JSONStringify(key) + ":" + json;
  });
  return "{" + out + "}";
}

/** A string quoted the way Rust's `{:?}` prints it: "..." with \" \\ \n \r \t \0 and
 * \u{..} for other control characters (the reference formats the key with `{key:?}`). */
function rustDebugString(s) {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c === 34) out += '\\"';
    else if (c === 92) out += "\\\\";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c === 0) out += "\\0";
    else if (c < 32 || (c >= 127 && c < 160)) out += `\\u{${NumberPrototypeToString(c, 16)}}`;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? StringPrototypeCharCodeAt(s, i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += StringFromCharCode(c, next);
        i += 1;
      } else {
        out += "\ufffd"; // Rust strings cannot hold a lone surrogate; the reference's is lossy.
      }
    } else out += StringFromCharCode(c);
  }
  return out + '"';
}
