// setTimeout / clearTimeout (as in Codex's code mode). The host owns the clock: a `timer`
// message asks it to call H.fire(id) after `delay` ms. Timers never keep a cell alive.
let nextTimerId = 1;
const pendingTimers = new MapCtor(); // id -> callback

/** ToNumber, truncated; NaN, infinities and values <= 0 mean 0. */
function normalizeDelay(delayMs) {
  const n = +delayMs; // ToNumber: throws for symbols and bigints, like V8's number_value
  if (!NumberIsFinite(n) || n <= 0) return 0;
  return MathMin(MathTrunc(n), MAX_SAFE_INTEGER);
}

function setTimeout(callback, delayMs) {
  if (typeof callback !== "function") throw "setTimeout expects a function callback";
  const delay = normalizeDelay(delayMs);
  const id = nextTimerId++;
  MapPrototypeSet(pendingTimers, id, callback);
  post({ t: "timer", id, delay });
  return id;
}

function clearTimeout(timeoutId) {
  if (timeoutId === undefined || timeoutId === null) return undefined;
  let n;
  try {
    n = +timeoutId;
  } catch {
    throw "clearTimeout expects a numeric timeout id";
  }
  if (!NumberIsFinite(n) || n <= 0) return undefined;
  const id = MathTrunc(n);
  if (MapPrototypeDelete(pendingTimers, id)) post({ t: "clear_timer", id });
  return undefined;
}

/** Take a pending timer's callback out of the table (undefined if cleared or fired). */
function takeTimer(id) {
  const callback = MapPrototypeGet(pendingTimers, id);
  if (callback !== undefined) MapPrototypeDelete(pendingTimers, id);
  return callback;
}
