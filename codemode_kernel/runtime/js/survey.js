// What a cell's global scope holds, read from the isolate itself (not part of the prelude):
// the global names, and for each global object or function the member names `complete` offers
// after `Name.` — own and inherited for namespaces like Math, own (static) for constructors.
(() => {
  const ident = (k) => typeof k === "string" && /^[A-Za-z_$][\w$]*$/.test(k);
  const members = (value) => {
    const seen = new Set();
    const stop = typeof value === "function" ? Function.prototype : Object.prototype;
    for (let o = value; o !== null && o !== stop; o = Object.getPrototypeOf(o)) {
      for (const k of Object.getOwnPropertyNames(o)) if (ident(k)) seen.add(k);
    }
    for (const k of ["arguments", "caller"]) seen.delete(k);
    return [...seen].sort();
  };
  const out = {};
  // Namespaces (Intl, Temporal, …) are surveyed one level deeper: `Intl.DateTimeFormat.`.
  const visit = (path, value, depth) => {
    const names = members(value);
    if (names.length) out[path] = names;
    if (depth === 0 || typeof value !== "object" || Array.isArray(value)) return;
    for (const name of names) {
      const member = value[name];
      const isClass = typeof member === "function" && /^[A-Z]/.test(name);
      if (isClass || (typeof member === "object" && member !== null)) {
        visit(`${path}.${name}`, member, depth - 1);
      }
    }
  };
  const globals = Object.getOwnPropertyNames(globalThis).filter(ident).sort();
  out[""] = globals;
  for (const name of globals) {
    const value = globalThis[name];
    if (name === "globalThis" || value === null) continue;
    if (typeof value === "object" || typeof value === "function") visit(name, value, 1);
  }
  return JSON.stringify(out);
})()
