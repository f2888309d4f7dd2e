/**
 * Options of `streams(socket, options)`, their defaults and validation.
 */

export interface StreamOptions {
  /**
   * Receive window of each incoming stream, in bytes: how far the sender may
   * run ahead of what the local reader has consumed. It bounds the memory an
   * incoming stream can occupy on this side and the bytes in flight; larger
   * windows help on high-latency links. Must be at least 1 and at most 1 GiB.
   * @default 1048576 (1 MiB)
   */
  window?: number;
  /**
   * Largest data chunk this side sends, in bytes. Each chunk is one Socket.IO
   * packet, so it must stay below the receiving server's `maxHttpBufferSize`
   * (1e6 by default), otherwise that server closes the connection. Must be at
   * least 1 and at most 16 MiB.
   * @default 65536 (64 KiB)
   */
  chunkSize?: number;
  /**
   * Largest number of streams the peer may have open towards this side at
   * once. Opening more fails the extra stream with `ERR_STREAM_LIMIT` on the
   * sender. Together with `window` this bounds the receive memory of one
   * socket (`maxIncomingStreams × window`).
   * @default 32
   */
  maxIncomingStreams?: number;
  /**
   * Milliseconds an emitted stream waits for the peer to accept or refuse it.
   * A peer running `streams(socket)` answers at once, whether or not it has
   * a listener, so no answer means it does not use tidewire/stream (or the
   * link is stalled); `emit()` then rejects with `ERR_STREAM_OPEN_TIMEOUT`.
   * 0 waits forever. At most 1 hour.
   * @default 30000
   */
  openTimeout?: number;
  /**
   * Largest number of data bytes this side keeps in flight over the socket,
   * all outgoing streams together: sent, and not yet reported as received by
   * the peer (reports come once per event-loop turn, whether or not anyone
   * reads the streams, so an unread stream does not hold this budget).
   * Streams waiting for it are served in turn. It bounds what concurrent
   * streams can pile into the socket's send queue: keep it below the
   * server's `maxBufferedBytes` (tidewire: 4 MiB by default), which
   * disconnects a client whose queue grows past it. One chunk may always go
   * out when nothing is in flight. At least 1, at most 1 GiB.
   * @default 2097152 (2 MiB)
   */
  maxBytesInFlight?: number;
}

export type ResolvedStreamOptions = Readonly<Required<StreamOptions>>;

export const DEFAULT_STREAM_OPTIONS: ResolvedStreamOptions = Object.freeze({
  window: 1024 * 1024,
  chunkSize: 64 * 1024,
  maxIncomingStreams: 32,
  openTimeout: 30_000,
  maxBytesInFlight: 2 * 1024 * 1024,
});

const LIMITS: Record<keyof StreamOptions, [min: number, max: number]> = {
  window: [1, 1024 * 1024 * 1024],
  chunkSize: [1, 16 * 1024 * 1024],
  maxIncomingStreams: [1, 65536],
  openTimeout: [0, 3_600_000],
  maxBytesInFlight: [1, 1024 * 1024 * 1024],
};

/** Merges over the defaults; throws a TypeError naming the bad option. */
export function resolveStreamOptions(options: StreamOptions | undefined): ResolvedStreamOptions {
  if (options === undefined) return DEFAULT_STREAM_OPTIONS;
  if (options === null || typeof options !== "object") {
    throw new TypeError(`streams(socket, options): options must be an object, got ${describe(options)}.`);
  }
  const resolved = { ...DEFAULT_STREAM_OPTIONS };
  for (const key of Object.keys(LIMITS) as Array<keyof StreamOptions>) {
    const value = options[key];
    if (value === undefined) continue;
    const [min, max] = LIMITS[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw new TypeError(
        `streams(socket, options): option "${key}" must be an integer from ${min} to ${max}, got ${describe(value)}.`,
      );
    }
    resolved[key] = value;
  }
  for (const key of Object.keys(options)) {
    if (!(key in LIMITS)) {
      throw new TypeError(
        `streams(socket, options): unknown option "${key}" (known: ${Object.keys(LIMITS).join(", ")}).`,
      );
    }
  }
  return Object.freeze(resolved);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  return String(value);
}
