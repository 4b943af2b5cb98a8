// The control object the host drives, and the installation of the cell's globals.
//   H.check(body)              compile the cell's body alone; a SyntaxError ends the cell
//   H.main(fn, config)         run the cell; exactly one `done` message follows
//   H.resolve(id, ok, json)    settle tool call `id` with the value in JSON text `json`
//   H.fire(id)                 run timer `id`'s callback
// H lives at globalThis[Symbol.for("codemode.host")], so it is not an own *name* of the
// global object and stays out of the cell's global scope listing.
const HOST_KEY = SymbolFor("codemode.host");
const NO_WRITES = "{}";
let mainStarted = false;

/** The JSON text of the cell's value when it is plain JSON data, else undefined. */
function resultJsonValue(value) {
  const type = typeof value;
  if (value === null || type === "boolean" || type === "string") return JSONStringify(value);
  if (type === "number") return NumberIsFinite(value) ? JSONStringify(value) : undefined;
  if (type !== "object") return undefined;
  try {
    if (!ArrayIsArray(value)) {
      const proto = ObjectGetPrototypeOf(value);
      if (proto !== ObjectPrototype && proto !== null) return undefined;
    }
    const json = JSONStringify(value);
    return typeof json === "string" ? json : undefined;
  } catch {
    return undefined;
  }
}

function resultMessageValue(value) {
  if (value === undefined) return "null";
  const json = resultJsonValue(value);
  const textPart = `"text":${JSONStringify(inspect(value))}`;
  return json === undefined ? `{${textPart}}` : `{${textPart},"json":${json}}`;
}

/** Post the one `done` message. Built by hand so the writes keep their order and the
 * stored / result JSON texts are spliced in as they are. */
function finishCell(error, resultJson, writesJson) {
  if (channelClosed) return;
  let errorJson = "null";
  if (error !== null) {
    ObjectSetPrototypeOf(error, null);
    errorJson = JSONStringify(error);
  }
  postFinal(`{"t":"done","error":${errorJson},"result":${resultJson},"writes":${writesJson}}`);
}

function finishWithValue(value) {
  let resultJson;
  try {
    resultJson = resultMessageValue(value);
  } catch {
    resultJson = '{"text":"<Uninspectable>"}';
  }
  const deep = tooDeep(resultJson);
  if (deep !== null) {
    const error = { name: "ResourceLimitExceeded", message: deep, text: deep };
    finishCell(error, "null", storedWritesJson());
    return;
  }
  finishCell(null, resultJson, storedWritesJson());
}

function finishWithRejection(reason) {
  // Only exit() makes the sentinel a success; a hand-thrown copy of the string is an error.
  if (exitRequested && reason === EXIT_SENTINEL) finishCell(null, "null", storedWritesJson());
  else finishCell(describeError(reason), "null", storedWritesJson());
}

/** What `import()` resolves to inside a cell: nothing can be imported. */
function importStub(specifier) {
  let name;
  try {
    name = `${specifier}`;
  } catch {
    name = StringCtor(specifier);
  }
  return PromiseReject(`Unsupported import in exec: ${name}`);
}

function main(fn, config) {
  if (mainStarted) throw new ErrorCtor("codemode: H.main was already called in this isolate");
  mainStarted = true;
  const settings = typeof config === "string" ? JSONParse(config) : isObjectLike(config) ? config : {};
  loadStoreSnapshot(settings.store);
  const built = buildTools(settings.tools);
  defineGlobal("tools", built.toolsObject);
  defineGlobal("ALL_TOOLS", built.allTools);

  let completion;
  try {
    completion = PromiseResolve(fn(importStub));
  } catch (e) {
    completion = PromiseReject(e);
  }
  PromisePrototypeThen(completion, finishWithValue, finishWithRejection);
}

/** The first statement of the cell's script (see `main_header` in runtime/protocol.py): the
 * body compiled on its own as an async function body, so a body that closes the wrapper
 * early (`}); code; (function(){`) is a SyntaxError before any of it runs at script level. */
function check(body) {
  try {
    new AsyncFunctionCtor("__import", `"use strict";${body}\n`);
  } catch (e) {
    const error = describeError(e);
    error.text = `${error.name}: ${error.message}`; // no position: the wrapper is the problem
    finishCell(error, "null", NO_WRITES);
    throw e; // stop the script here
  }
}

/** `valueJson` is JSON text (not a literal spliced into the script): a `__proto__` key in a
 * tool result must stay a key. A text the cell cannot parse rejects the call instead. */
function resolve(callId, ok, valueJson) {
  let value;
  try {
    value = JSONParse(valueJson);
  } catch (e) {
    settleToolCall(callId, false, `tool result is not JSON the cell can read: ${describeError(e).message}`);
    return;
  }
  settleToolCall(callId, ok, value);
}

/** Run a timer callback. A throw (exit() included) fails the cell and drops its writes,
 * as the reference's timer-callback error path does. */
function fire(timerId) {
  if (channelClosed) return;
  const callback = takeTimer(timerId);
  if (callback === undefined) return;
  try {
    ReflectApply(callback, undefined, []);
  } catch (e) {
    finishCell(describeError(e), "null", NO_WRITES);
  }
}

/** A global as a plain assignment would make it (writable, enumerable, configurable). */
function defineGlobal(name, value) {
  const existing = ObjectGetOwnPropertyDescriptor(globalObject, name);
  if (existing !== undefined && !existing.configurable) {
    // e.g. a `var` global left by an embedder: overwrite the value in place.
    globalObject[name] = value;
    return;
  }
  ObjectDefineProperty(globalObject, name, { value, writable: true, enumerable: true, configurable: true });
}

function installGlobals() {
  const removed = ["console", "Atomics", "SharedArrayBuffer", "WebAssembly"];
  for (let i = 0; i < removed.length; i++) {
    if (!ReflectDeleteProperty(globalObject, removed[i])) {
      throw new ErrorCtor(`codemode: cannot remove global ${removed[i]}`);
    }
  }
  ObjectDefineProperty(notifyHelper, "name", { value: "notify" });
  defineGlobal("text", text);
  defineGlobal("image", image);
  defineGlobal("generatedImage", generatedImage);
  defineGlobal("store", store);
  defineGlobal("load", load);
  defineGlobal("notify", notifyHelper);
  defineGlobal("yield_control", yield_control);
  defineGlobal("exit", exit);
  defineGlobal("setTimeout", setTimeout);
  defineGlobal("clearTimeout", clearTimeout);
  defineGlobal("prompt", prompt);
  defineGlobal("tools", {});
  defineGlobal("ALL_TOOLS", ObjectFreeze([]));
  installBufferAccounting();
  defineGlobal("console", consoleObject);
  ObjectDefineProperty(globalObject, HOST_KEY, {
    value: ObjectFreeze({ check, main, resolve, fire }),
    writable: false,
    enumerable: false,
    configurable: false,
  });
}

installGlobals();
// The first function an isolate compiles from a string makes V8 collect source positions for
// its caller (`check`): pay for that here, while the isolate is prepared, not in the cell.
check("");
