/**
 * Errors of tidewire/stream. Every failure a caller can observe (a rejected
 * `emit()` promise, an `error` event on a received stream) is a `StreamError`
 * with a stable `code`, except one: when the source Readable handed to
 * `emit()` fails, the promise rejects with that source's own error.
 */
export const StreamErrorCodes = {
  /** The peer destroyed or errored its end of the stream. */
  REMOTE_ABORT: "ERR_STREAM_REMOTE_ABORT",
  /** The socket disconnected before the stream finished. */
  DISCONNECTED: "ERR_STREAM_DISCONNECTED",
  /** A message broke the stream protocol (flow control, ids, chunk types, byte counts). */
  PROTOCOL: "ERR_STREAM_PROTOCOL",
  /** The receiving side has no listener for the stream's event. */
  NO_LISTENER: "ERR_STREAM_NO_LISTENER",
  /** The receiving side already has `maxIncomingStreams` streams open. */
  LIMIT: "ERR_STREAM_LIMIT",
  /** The source produced a chunk that is neither a Buffer, a Uint8Array nor a string. */
  INVALID_CHUNK: "ERR_STREAM_INVALID_CHUNK",
  /** The source was destroyed before it ended. */
  PREMATURE_CLOSE: "ERR_STREAM_PREMATURE_CLOSE",
  /** The peer did not answer the stream's opening within `openTimeout`: it runs no `streams(socket)`, or the link is stalled. */
  OPEN_TIMEOUT: "ERR_STREAM_OPEN_TIMEOUT",
  /** `close()` was called on the stream channel. */
  CLOSED: "ERR_STREAM_CLOSED",
} as const;

export type StreamErrorCode = (typeof StreamErrorCodes)[keyof typeof StreamErrorCodes];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(StreamErrorCodes));

export class StreamError extends Error {
  readonly code: StreamErrorCode;
  /** True when the peer reported the failure; false when it was detected locally. */
  readonly remote: boolean;
  constructor(code: StreamErrorCode, message: string, options?: { remote?: boolean; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StreamError";
    this.code = code;
    this.remote = options?.remote ?? false;
  }
}

/** Accepts a code sent by the (untrusted) peer only if it is one of ours. */
export function remoteCode(value: unknown): StreamErrorCode {
  return typeof value === "string" && KNOWN_CODES.has(value)
    ? (value as StreamErrorCode)
    : StreamErrorCodes.REMOTE_ABORT;
}
