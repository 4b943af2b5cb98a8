// The output helpers: text, image, generatedImage, notify, yield_control, exit
// (Codex's code mode helpers). Argument errors are thrown as plain strings, like the
// reference's `throw_type_error`, so `typeof e === "string"` in a catch block.
const IMAGE_HELPER_EXPECTS =
  "image expects a non-empty image URL string, an object with image_url and optional detail, or a raw MCP image block";
const INVALID_IMAGE_URL = "Tool call failed: invalid image output. Pass a base64 data URI instead";
const REMOTE_IMAGE_URL =
  "Tool call failed: remote image URLs are not supported in tool outputs. Pass a base64 data URI instead";
const DETAIL_NOT_STRING = "image detail must be a string when provided";
const DETAIL_UNKNOWN = "image detail must be one of: auto, low, high, original";
const IMAGE_DETAILS = { __proto__: null, auto: true, low: true, high: true, original: true };
const DEFAULT_IMAGE_DETAIL = "high";

let exitRequested = false;

/** JSON.stringify that turns a thrown error into the reference's error text (a string). */
function stringifyOrThrowText(value) {
  try {
    return JSONStringify(value);
  } catch (e) {
    throw valueToErrorText(e);
  }
}

/** How deeply a value may nest to cross to the host (a result, a store value, a tool input):
 * the host's JSON decoder has a recursion limit, and past it the message would be lost. */
const MAX_JSON_DEPTH = 256;

/** The nesting depth of a JSON text: brackets outside strings. */
function jsonDepth(json) {
  if (json.length <= MAX_JSON_DEPTH * 2) return 0; // cannot be deeper than the limit
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = StringPrototypeCharCodeAt(json, i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 93 || c === 125) depth--;
  }
  return deepest;
}

/** The reference's resource-limit text for a value nested deeper than MAX_JSON_DEPTH, or null. */
function tooDeep(json) {
  const depth = jsonDepth(json);
  if (depth <= MAX_JSON_DEPTH) return null;
  return `resource limit exceeded: code=resource_exhausted resource=json_depth limit=${MAX_JSON_DEPTH} observed=${depth}`;
}

/** `serialize_output_text`: ToString for primitives, JSON for the rest, ToString again if
 * JSON has nothing to say (functions, symbols). */
function outputText(value) {
  const type = typeof value;
  if (type !== "object" && type !== "function" && type !== "symbol") return StringCtor(value);
  if (value === null) return "null";
  const json = stringifyOrThrowText(value);
  if (json !== undefined) return json;
  try {
    return StringCtor(value);
  } catch (e) {
    throw valueToErrorText(e);
  }
}

function text(value) {
  post({ t: "text", text: outputText(value) });
}

function notifyHelper(value) {
  const s = outputText(value);
  if (StringPrototypeTrim(s) === "") throw "notify expects non-empty text";
  post({ t: "notify", text: s });
}

function yield_control() {
  post({ t: "yield" });
}

function exit() {
  exitRequested = true;
  throw EXIT_SENTINEL;
}

function image(value, detail) {
  let override = null;
  if (arguments.length >= 2) {
    if (typeof detail === "string") override = detail;
    else if (detail !== null && detail !== undefined) throw DETAIL_NOT_STRING;
  }
  const item = normalizeImage(value, override);
  post({ t: "image", image_url: item.url, detail: item.detail });
}

function generatedImage(result) {
  if (!isObjectLike(result)) throw "generatedImage expects an image generation result object";
  const hint = result.output_hint;
  if (hint !== undefined && typeof hint !== "string") {
    throw "generatedImage output_hint must be a string when provided";
  }
  const item = normalizeImage(result, null);
  post({ t: "image", image_url: item.url, detail: item.detail });
  if (hint !== undefined) post({ t: "text", text: hint });
}

/** The three accepted forms -> `{url, detail}` with the URL validated and the detail
 * resolved (explicit override, then embedded detail, then "high"). */
function normalizeImage(value, override) {
  let url;
  let embedded = null;
  if (typeof value === "string") {
    url = value;
  } else if (isObjectLike(value) && !ArrayIsArray(value)) {
    const imageUrl = value.image_url;
    if (imageUrl !== undefined) {
      if (typeof imageUrl !== "string") throw IMAGE_HELPER_EXPECTS;
      const detail = value.detail;
      if (typeof detail === "string") embedded = detail;
      else if (detail !== null && detail !== undefined) throw DETAIL_NOT_STRING;
      url = imageUrl;
    } else {
      const block = parseMcpImageBlock(value);
      url = block.url;
      embedded = block.detail;
    }
  } else {
    throw IMAGE_HELPER_EXPECTS;
  }

  if (url === "") throw IMAGE_HELPER_EXPECTS;
  const colon = StringPrototypeIndexOf(url, ":");
  if (colon === -1) throw INVALID_IMAGE_URL;
  const scheme = asciiLower(StringPrototypeSlice(url, 0, colon));
  if (scheme === "http" || scheme === "https") throw REMOTE_IMAGE_URL;
  if (scheme !== "data") throw INVALID_IMAGE_URL;

  const chosen = override !== null ? override : embedded;
  if (chosen === null) return { url, detail: DEFAULT_IMAGE_DETAIL };
  const detail = asciiLower(chosen);
  if (IMAGE_DETAILS[detail] !== true) throw DETAIL_UNKNOWN;
  return { url, detail };
}

/** A raw MCP image block (`{type: "image", data, mimeType, _meta}`), read from its JSON. */
function parseMcpImageBlock(value) {
  const json = stringifyOrThrowText(value);
  if (json === undefined) throw IMAGE_HELPER_EXPECTS;
  const block = JSONParse(json);
  if (!isPlainJsonObject(block) || typeof block.type !== "string") throw IMAGE_HELPER_EXPECTS;
  if (block.type !== "image") throw `image only accepts MCP image blocks, got "${block.type}"`;
  const data = block.data;
  if (typeof data !== "string" || data === "") throw "image expected MCP image data";

  let url = data;
  if (asciiLower(StringPrototypeSlice(data, 0, 5)) !== "data:") {
    // `mimeType` wins over `mime_type` when present, even if it is not a usable string.
    const mime = ObjectPrototypeHasOwnProperty(block, "mimeType") ? block.mimeType : block.mime_type;
    url = `data:${typeof mime === "string" && mime !== "" ? mime : "application/octet-stream"};base64,${data}`;
  }

  let detail = null;
  const meta = block._meta;
  if (isPlainJsonObject(meta) && ObjectPrototypeHasOwnProperty(meta, "codex/imageDetail")) {
    const embedded = meta["codex/imageDetail"];
    if (typeof embedded === "string" && IMAGE_DETAILS[embedded] === true) detail = embedded;
  }
  return { url, detail };
}

/** A JSON object as produced by JSON.parse (not an array, not null). */
function isPlainJsonObject(value) {
  return typeof value === "object" && value !== null && !ArrayIsArray(value);
}
