/**
 * What travels between nodes on the classic Redis channels, in the format of
 * @socket.io/redis-adapter 8.3 and @socket.io/redis-emitter, and the checks
 * every received message passes before it is acted on.
 *
 * Channels of namespace `<nsp>` with key `<k>` (default "socket.io"):
 *   `<k>#<nsp>#`                 broadcasts (pattern-subscribed as `<k>#<nsp>#*`)
 *   `<k>#<nsp>#<room>#`          broadcasts to exactly one room
 *   `<k>-request#<nsp>#`         requests
 *   `<k>-response#<nsp>#`        responses (shared)
 *   `<k>-response#<nsp>#<uid>#`  responses for one node
 * Broadcast payload: parser-encoded `[uid, packet, {rooms, except, flags}]`.
 * Requests and responses: JSON text, except the broadcast-with-ack request
 * and acknowledgements (parser-encoded). Receivers tell them apart by the
 * first byte: `{` (0x7b) is JSON, anything else goes to the parser.
 */

export const RequestType = {
  SOCKETS: 0,
  ALL_ROOMS: 1,
  REMOTE_JOIN: 2,
  REMOTE_LEAVE: 3,
  REMOTE_DISCONNECT: 4,
  REMOTE_FETCH: 5,
  SERVER_SIDE_EMIT: 6,
  BROADCAST: 7,
  BROADCAST_CLIENT_COUNT: 8,
  BROADCAST_ACK: 9,
} as const;

/** The codec of parser-encoded messages (notepack.io's shape). */
export interface Parser {
  encode(value: any): any;
  decode(data: any): any;
}

const OPEN_BRACE = 0x7b;

/** The channel names of one namespace. */
export function channelsOf(key: string, nsp: string, uid: string) {
  const broadcast = `${key}#${nsp}#`;
  const response = `${key}-response#${nsp}#`;
  return {
    broadcast,
    pattern: broadcast + "*",
    request: `${key}-request#${nsp}#`,
    response,
    specificResponse: `${response}${uid}#`,
  };
}

/** Decodes a request or response: JSON when it starts with `{`, else the parser. */
export function decodeMessage(raw: Buffer, parser: Parser): unknown {
  return raw[0] === OPEN_BRACE ? JSON.parse(raw.toString()) : parser.decode(raw);
}

/**
 * Encodes a request or response: JSON as the reference does, unless it
 * carries binary, which then travels as raw bytes through the parser (the
 * reference decodes both forms).
 */
export function encodeMessage(message: object, parser: Parser): string | Buffer {
  return hasBinary(message) ? parser.encode(message) : JSON.stringify(message);
}

/** Whether a value holds a Buffer, typed array or ArrayBuffer anywhere (iterative; each object visited once). */
export function hasBinary(root: unknown): boolean {
  const stack: unknown[] = [root];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const value = stack.pop();
    if (!value || typeof value !== "object" || seen.has(value)) continue;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
    seen.add(value);
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (value instanceof Date) continue;
    for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) stack.push((value as any)[key]);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") stack.push(toJSON.call(value));
  }
  return false;
}
