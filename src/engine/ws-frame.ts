/**
 * Server-to-client WebSocket frames (RFC 6455 §5.2), built by hand so that
 * all pending frames of a connection leave in one socket write and a
 * broadcast's frame is built once for every recipient.
 *
 * A server frame is never masked: byte 0 = FIN (0x80) | opcode, byte 1 = the
 * payload length if < 126, else 126 + uint16 or 127 + uint64 (big endian).
 */
export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PONG = 0xa;

export function frameHeaderSize(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

/** Writes the header at `offset`, returns the offset of the payload. */
export function writeFrameHeader(buf: Buffer, offset: number, opcode: number, payloadLength: number): number {
  buf[offset] = 0x80 | opcode;
  if (payloadLength < 126) {
    buf[offset + 1] = payloadLength;
    return offset + 2;
  }
  if (payloadLength < 65536) {
    buf[offset + 1] = 126;
    buf.writeUInt16BE(payloadLength, offset + 2);
    return offset + 4;
  }
  buf[offset + 1] = 127;
  // Payloads are bounded far below 2^53, so the high word is what division gives.
  buf.writeUInt32BE(Math.floor(payloadLength / 0x100000000), offset + 2);
  buf.writeUInt32BE(payloadLength >>> 0, offset + 6);
  return offset + 10;
}

/** A complete text frame whose payload is `prefix` (one ASCII char, or "") followed by `text`. */
export function textFrame(prefix: string, text: string): Buffer {
  const length = prefix.length + Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(frameHeaderSize(length) + length);
  let offset = writeFrameHeader(frame, 0, OPCODE_TEXT, length);
  if (prefix.length === 1) frame[offset++] = prefix.charCodeAt(0);
  frame.write(text, offset, "utf8");
  return frame;
}

/** The header of a binary frame carrying `payloadLength` bytes. */
export function binaryFrameHeader(payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(frameHeaderSize(payloadLength));
  writeFrameHeader(header, 0, OPCODE_BINARY, payloadLength);
  return header;
}

/** A complete binary frame, optionally with one leading byte (EIO3's type byte). */
export function binaryFrame(data: Buffer, leadingByte = -1): Buffer {
  const length = data.length + (leadingByte >= 0 ? 1 : 0);
  const frame = Buffer.allocUnsafe(frameHeaderSize(length) + length);
  let offset = writeFrameHeader(frame, 0, OPCODE_BINARY, length);
  if (leadingByte >= 0) frame[offset++] = leadingByte;
  data.copy(frame, offset);
  return frame;
}

/** A control frame (close, pong): its payload is at most 125 bytes (§5.5). */
export function controlFrame(opcode: number, payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(2 + payload.length);
  frame[0] = 0x80 | opcode;
  frame[1] = payload.length;
  payload.copy(frame, 2);
  return frame;
}
