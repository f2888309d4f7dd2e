// Minimal Engine.IO v4 / Socket.IO v5 codec for the load generator.
// Only what the benchmark clients need, written to stay cheap: incoming
// frames are inspected as bytes, without decoding to strings or parsing JSON.

/** Engine.IO packet type digits, as bytes. */
export const EIO = Object.freeze({
  OPEN: 0x30, // '0'
  CLOSE: 0x31, // '1'
  PING: 0x32, // '2'
  PONG: 0x33, // '3'
  MESSAGE: 0x34, // '4'
  UPGRADE: 0x35, // '5'
  NOOP: 0x36, // '6'
});

/** Socket.IO packet type digits, as bytes (second byte of an Engine.IO message). */
export const SIO = Object.freeze({
  CONNECT: 0x30,
  DISCONNECT: 0x31,
  EVENT: 0x32,
  ACK: 0x33,
  CONNECT_ERROR: 0x34,
  BINARY_EVENT: 0x35,
  BINARY_ACK: 0x36,
});

/** The polling payload separator (ASCII record separator). */
export const RECORD_SEPARATOR = "\x1e";

const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads a run of decimal digits starting at `start` in a Buffer or string.
 * Returns the number and the index after the last digit, or value -1 when
 * there is no digit at `start`.
 * @param {Buffer|string} data
 * @param {number} start
 */
export function readInt(data, start) {
  const isString = typeof data === "string";
  let i = start;
  let value = 0;
  while (i < data.length) {
    const c = isString ? data.charCodeAt(i) : data[i];
    if (c < ZERO || c > NINE) break;
    value = value * 10 + (c - ZERO);
    i++;
  }
  return { value: i === start ? -1 : value, end: i };
}

/**
 * Parses a Socket.IO packet header carried in an Engine.IO message that
 * starts at `offset` (the Socket.IO type digit). Handles the default
 * namespace only (the benchmark never uses others).
 * @param {Buffer|string} data
 * @param {number} offset index of the Socket.IO type digit
 * @returns {{ type: number, attachments: number, ackId: number, payloadStart: number }}
 */
export function parseSioHeader(data, offset) {
  const type = typeof data === "string" ? data.charCodeAt(offset) : data[offset];
  let i = offset + 1;
  let attachments = 0;
  if (type === SIO.BINARY_EVENT || type === SIO.BINARY_ACK) {
    const n = readInt(data, i);
    attachments = n.value;
    i = n.end + 1; // skip '-'
  }
  const id = readInt(data, i);
  return { type, attachments, ackId: id.value, payloadStart: id.end };
}

/**
 * Encodes a BINARY_EVENT header with one attachment per element of `buffers`,
 * placed as the trailing arguments after `args`.
 * @param {string} name
 * @param {unknown[]} args
 * @param {number} attachmentCount
 * @param {number} [ackId]
 */
export function encodeBinaryEventHeader(name, args, attachmentCount, ackId) {
  const id = ackId === undefined || ackId < 0 ? "" : String(ackId);
  const placeholders = [];
  for (let n = 0; n < attachmentCount; n++) placeholders.push({ _placeholder: true, num: n });
  return "45" + attachmentCount + "-" + id + JSON.stringify([name, ...args, ...placeholders]);
}

/**
 * Splits a polling payload (`\x1e`-separated packets) into packets.
 * @param {string} body
 */
export function splitPayload(body) {
  return body.length === 0 ? [] : body.split(RECORD_SEPARATOR);
}
