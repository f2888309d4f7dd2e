/**
 * The contract between the Socket.IO layer and a packet codec ("parser").
 * The server's `parser` option takes any module of this shape: tidewire's
 * own (the default), socket.io-parser, or socket.io-msgpack-parser (whose
 * Decoder mixes in component-emitter rather than extending EventEmitter,
 * and whose Encoder returns one Buffer per packet).
 *
 * Rules the Socket.IO layer relies on:
 * - One Encoder instance is shared by every connection of a server, so
 *   `encode` must not keep per-connection state. It returns the Engine.IO
 *   messages of one packet, in order (strings and/or binary); a broadcast is
 *   encoded once and the same parts are written to every recipient. It may
 *   throw; the error is reported to the emitting socket.
 * - One Decoder per connection receives every Engine.IO message in order
 *   (`string` for text, `Buffer` for binary). It emits `decoded`
 *   synchronously, once per complete packet, with `nsp` a string, `id` an
 *   integer or undefined, and `data` valid for the type (see isPacketValid);
 *   binary packets may be delivered as EVENT / ACK (types 2 / 3) or as
 *   BINARY_EVENT / BINARY_ACK. Any invalid input makes `add` throw, and the
 *   caller closes the connection.
 * - `destroy()` is called when the connection closes; it drops partial state.
 */
import type { Packet } from "./packet.js";

export interface ParserEncoder {
  encode(packet: Packet): any[];
}

export interface ParserDecoder {
  add(chunk: any): void;
  destroy(): void;
  on(event: "decoded", listener: (packet: Packet) => void): unknown;
}

export interface ParserModule {
  Encoder: new () => ParserEncoder;
  Decoder: new () => ParserDecoder;
}
