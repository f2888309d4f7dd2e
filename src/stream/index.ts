/**
 * tidewire/stream: Node.js Readable streams over any Socket.IO socket, with
 * credit-based flow control. Imports nothing from the rest of tidewire, so it
 * runs on a tidewire or socket.io server Socket and on a socket.io-client
 * Socket alike.
 */
export { streams } from "./streams.js";
export { StreamChannel, type StreamListener } from "./channel.js";
export { IncomingStream } from "./incoming.js";
export { StreamError, StreamErrorCodes, type StreamErrorCode } from "./errors.js";
export { DEFAULT_STREAM_OPTIONS, type StreamOptions, type ResolvedStreamOptions } from "./options.js";
export { STREAM_EVENT_PREFIX, isStreamEvent, type SocketLike } from "./protocol.js";
