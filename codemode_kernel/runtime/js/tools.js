// Nested tool calls (as in Codex's code mode): `tools.<normalized name>(input?)` posts a `call`
// message and returns a promise that the host settles through H.resolve(id, ok, value).
let nextCallId = 1;
const pendingCalls = new MapCtor(); // id -> {resolve, reject}

/** `normalize_code_mode_identifier`: one `_` per character outside [A-Za-z0-9_$] (no
 * digit first); an empty name becomes `_`. */
function normalizeToolName(name) {
  let out = "";
  for (let i = 0; i < name.length; ) {
    const cp = StringPrototypeCodePointAt(name, i);
    i += cp > 0xffff ? 2 : 1;
    const valid =
      cp === 95 || cp === 36 || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) ||
      (out !== "" && cp >= 48 && cp <= 57);
    out += valid ? StringFromCharCode(cp) : "_";
  }
  return out === "" ? "_" : out;
}

function makeToolFunction(rawName, kind, globalName) {
  const nameJson = JSONStringify(rawName);
  const kindJson = JSONStringify(kind);
  const tool = function (...args) {
    // No argument means "no input" (the key is left out), and so does JSON.stringify giving
    // undefined; an explicit null is a JSON null. A stringify error is thrown synchronously, as
    // the reference does.
    let input = "";
    if (args.length > 0) {
      const json = stringifyOrThrowText(args[0]);
      const deep = json === undefined ? null : tooDeep(json);
      if (deep !== null) throw deep;
      if (json !== undefined) input = `,"input":${json}`;
    }
    return startCall(nameJson, kindJson, input);
  };
  ObjectDefineProperty(tool, "name", { value: globalName });
  return tool;
}

/** Post a `call` message (`input` is `,"input":<json>` or empty); the promise it returns is
 * settled by H.resolve. */
function startCall(nameJson, kindJson, input) {
  const id = nextCallId++;
  let settle;
  const promise = new PromiseCtor((resolve, reject) => {
    settle = { __proto__: null, resolve, reject };
  });
  MapPrototypeSet(pendingCalls, id, settle);
  postText(`{"t":"call","id":${id},"name":${nameJson},"kind":${kindJson}${input}}`);
  return promise;
}

/** `await prompt(message?)`: ask the person at the front end. It travels as a call of kind
 * "prompt", which the host answers over Jupyter's stdin channel (or refuses at once). */
function prompt(message) {
  const text = message === undefined ? "" : StringCtor(message);
  return startCall('"prompt"', '"prompt"', `,"input":${JSONStringify(text)}`);
}

/** Build `tools` and `ALL_TOOLS` from the host's tool list (later duplicates win on tools). */
function buildTools(definitions) {
  const toolsObject = {};
  const allTools = [];
  const list = ArrayIsArray(definitions) ? definitions : [];
  for (let i = 0; i < list.length; i++) {
    const definition = list[i];
    const rawName = StringCtor(definition.name);
    const kind = definition.kind === "freeform" ? "freeform" : "function";
    const description = definition.description === undefined ? "" : StringCtor(definition.description);
    const globalName = normalizeToolName(rawName);
    // defineProperty, not assignment: a tool may well be called `__proto__`.
    ObjectDefineProperty(toolsObject, globalName, {
      value: makeToolFunction(rawName, kind, globalName),
      writable: true,
      enumerable: true,
      configurable: true,
    });
    ArrayPrototypePush(allTools, ObjectFreeze({ name: globalName, description }));
  }
  return { toolsObject, allTools: ObjectFreeze(allTools) };
}

/** H.resolve: settle call `id`; unknown or already settled ids are ignored. */
function settleToolCall(id, ok, value) {
  const settle = MapPrototypeGet(pendingCalls, id);
  if (settle === undefined) return;
  MapPrototypeDelete(pendingCalls, id);
  if (ok) settle.resolve(value);
  else settle.reject(value);
}
