/**
 * tidewire's default Socket.IO parser: the same module shape as
 * socket.io-parser (protocol, PacketType, Encoder, Decoder, isPacketValid),
 * so the server's `parser` option takes either this or a third-party codec.
 */
export const protocol = 5;

export { PacketType, RESERVED_EVENTS, isPacketValid, type Packet } from "./packet.js";
export { Encoder, type JsonReplacer } from "./encoder.js";
export { Decoder, type DecoderOptions, type DecoderEvents, type JsonReviver } from "./decoder.js";
export { hasBinary, isBinary, type BinaryValue, type Placeholder } from "./binary.js";
export type { ParserModule, ParserEncoder, ParserDecoder } from "./parser.js";
