// The out-channel: every message to the host is a JSON text written into `buf`
// (returned by setup) and announced by calling the host's `notify()`, which reads the
// buffer synchronously. Frame layout, in UTF-16 code units:
//   buf[0] = chunk length & 0xffff, buf[1] = chunk length >>> 16,
//   buf[2] = 1 on the last chunk of a message, else 0, buf[3] = 0 (reserved),
//   buf[4 .. 4 + length) = the chunk's code units.
// Long messages are split into several frames; a chunk never ends between the two
// halves of a surrogate pair, so each chunk is well-formed UTF-16 on its own.
const CHANNEL_SIZE = 65536;
const FRAME_HEADER = 4;
const MAX_CHUNK = CHANNEL_SIZE - FRAME_HEADER;
const buf = new Uint16Array(CHANNEL_SIZE);
const hostNotify = notify;

// Set once `done` went out: the cell is over and nothing else may follow it.
let channelClosed = false;

function writeFrames(text) {
  const total = text.length;
  let pos = 0;
  do {
    let end = MathMin(total, pos + MAX_CHUNK);
    const lastUnit = StringPrototypeCharCodeAt(text, end - 1);
    if (end < total && lastUnit >= 0xd800 && lastUnit <= 0xdbff) end -= 1;
    const length = end - pos;
    buf[0] = length & 0xffff;
    buf[1] = length >>> 16;
    buf[2] = end === total ? 1 : 0;
    buf[3] = 0;
    for (let i = 0; i < length; i++) buf[FRAME_HEADER + i] = StringPrototypeCharCodeAt(text, pos + i);
    hostNotify();
    pos = end;
  } while (pos < total);
}

/** Send a pre-serialized JSON message (dropped once the cell is done). */
function postText(json) {
  if (!channelClosed) writeFrames(json);
}

/** Send a flat message object. Its prototype is cut so a patched Object.prototype.toJSON
 * cannot rewrite protocol messages. */
function post(message) {
  if (channelClosed) return;
  ObjectSetPrototypeOf(message, null);
  writeFrames(JSONStringify(message));
}

/** Send the final message of the cell; returns false if one was already sent. */
function postFinal(json) {
  if (channelClosed) return false;
  channelClosed = true;
  writeFrames(json);
  return true;
}
