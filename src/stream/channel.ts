/**
 * The streams of one socket: starts outgoing streams, accepts incoming ones,
 * routes the control events of both directions and tears everything down on
 * disconnect. Obtain it with `streams(socket)`.
 */
import type { Readable } from "node:stream";
import createDebug from "debug";
import { StreamError, StreamErrorCodes } from "./errors.js";
import { IncomingStream, destroyQuietly, type IncomingHost } from "./incoming.js";
import type { ResolvedStreamOptions } from "./options.js";
import { OutgoingStream, type OutgoingHost } from "./outgoing.js";
import { EV, isByteCount, isStreamId, quoteEvent, type SocketLike } from "./protocol.js";

const log = createDebug("tidewire:stream:channel");

/** Receives an incoming stream and the arguments the sender passed after it. */
export type StreamListener = (stream: IncomingStream, ...args: any[]) => unknown;

interface Registration {
  listener: StreamListener;
  once: boolean;
}

export class StreamChannel {
  /** The socket this channel runs on. */
  readonly socket: SocketLike;
  /** The options in effect (defaults filled in). */
  readonly options: ResolvedStreamOptions;

  #outgoing = new Map<number, OutgoingStream>();
  #incoming = new Map<number, IncomingStream>();
  #listeners = new Map<string, Registration[]>();
  #nextId = 1;
  /** Highest incoming id opened on the current connection; ids must increase. */
  #lastIncomingId = 0;
  #closed = false;
  /** Data bytes sent on this connection, all streams together. */
  #sentTotal = 0;
  /** The peer's last delivery report: data bytes it received on this connection. */
  #peerReceived = 0;
  /** Data bytes received on this connection, and the part already reported. */
  #receivedTotal = 0;
  #receivedReported = 0;
  #reportScheduled: NodeJS.Immediate | undefined;
  /** Outgoing streams waiting for budget, served in insertion order. */
  #waiting = new Set<OutgoingStream>();
  /** The stream being pumped by #wake, allowed to jump the queue. */
  #waking: OutgoingStream | null = null;
  #onClosed: () => void;
  #socketListeners: Array<[string, (...args: any[]) => void]>;

  #outgoingHost: OutgoingHost = {
    send: (event, ...args) => this.#send(event, args),
    release: (stream) => {
      if (this.#outgoing.get(stream.id) === stream) this.#outgoing.delete(stream.id);
      this.#waiting.delete(stream);
    },
    reserve: (stream, bytes) => {
      // Progress is guaranteed: with nothing in flight any piece may go.
      const inFlight = this.bytesInFlight;
      const fits = inFlight === 0 || inFlight + bytes <= this.options.maxBytesInFlight;
      const turn = this.#waiting.size === 0 || this.#waking === stream || firstOf(this.#waiting) === stream;
      if (fits && turn) {
        this.#waiting.delete(stream);
        this.#sentTotal += bytes;
        return true;
      }
      this.#waiting.add(stream);
      return false;
    },
  };

  #incomingHost: IncomingHost = {
    send: (event, ...args) => this.#send(event, args),
    release: (stream) => {
      if (this.#incoming.get(stream.id) === stream) this.#incoming.delete(stream.id);
    },
  };

  /** @internal Use `streams(socket, options)`. */
  constructor(socket: SocketLike, options: ResolvedStreamOptions, onClosed: () => void) {
    this.socket = socket;
    this.options = options;
    this.#onClosed = onClosed;
    this.#socketListeners = [
      [EV.OPEN, this.#onOpen],
      [EV.DATA, this.#onData],
      [EV.END, (id: unknown, total: unknown) => this.#toIncoming(id, (s) => s.receiveEnd(total))],
      [EV.ERROR, (id: unknown, message: unknown, code: unknown) => {
        // An error for a stream that is gone needs no answer.
        if (isStreamId(id)) this.#incoming.get(id)?.receiveError(message, code);
      }],
      [EV.CREDIT, (id: unknown, consumed: unknown, window: unknown) => this.#toOutgoing(id)?.onCredit(consumed, window)],
      [EV.DONE, (id: unknown) => this.#toOutgoing(id)?.onDone()],
      [EV.ABORT, (id: unknown, message: unknown, code: unknown) => this.#toOutgoing(id)?.onAbort(message, code)],
      [EV.RECEIVED, this.#onReceived],
      ["disconnect", this.#onDisconnect],
    ];
    for (const [event, fn] of this.#socketListeners) socket.on(event, fn);
  }

  /** Streams being sent, waiting for credit or for the receiver to finish. */
  get outgoingCount(): number {
    return this.#outgoing.size;
  }

  /** Data bytes sent on this connection that the peer has not yet reported as received. */
  get bytesInFlight(): number {
    return this.#sentTotal - this.#peerReceived;
  }

  /** Streams being received. */
  get incomingCount(): number {
    return this.#incoming.size;
  }

  /**
   * Sends `source` to the peer, whose `on(event)` listener receives it as a
   * Readable together with `args` (anything the socket can serialize).
   * Resolves with the byte count once the peer's reader has consumed the
   * whole stream. Rejects with a `StreamError` if the peer aborts, the socket
   * disconnects or the peer breaks the protocol, or with the source's own
   * error if the source fails. The channel takes ownership of `source`: it is
   * destroyed on any failure.
   */
  emit(event: string, source: Readable, ...args: unknown[]): Promise<number> {
    if (typeof event !== "string") {
      throw new TypeError(`streams(socket).emit(event, readable): event must be a string, got ${typeof event}.`);
    }
    if (!isReadable(source)) {
      throw new TypeError(
        `streams(socket).emit(${quoteEvent(event)}, readable): the second argument must be a Node.js Readable (wrap iterables with Readable.from()).`,
      );
    }
    if (typeof args[args.length - 1] === "function") {
      throw new TypeError(
        `streams(socket).emit(${quoteEvent(event)}, ...): stream emits take no acknowledgement callback; await the promise emit() returns instead.`,
      );
    }
    const refuse = (code: StreamError["code"], message: string): Promise<number> => {
      if (!source.destroyed) source.destroy();
      return Promise.reject(new StreamError(code, message));
    };
    if (this.#closed) {
      return refuse(StreamErrorCodes.CLOSED, `Cannot emit stream ${quoteEvent(event)}: this stream channel was closed.`);
    }
    // A client socket that is (re)connecting buffers emits, like socket.io does;
    // a disconnected server socket (or a client given up) would drop them silently.
    if (this.socket.connected === false && this.socket.active !== true) {
      return refuse(StreamErrorCodes.DISCONNECTED, `Cannot emit stream ${quoteEvent(event)}: the socket is disconnected.`);
    }
    if (source.destroyed && !source.readableEnded) {
      return refuse(StreamErrorCodes.PREMATURE_CLOSE, `Cannot emit stream ${quoteEvent(event)}: the source was already destroyed.`);
    }
    const id = this.#nextId++;
    const stream = new OutgoingStream(id, event, source, this.#outgoingHost, this.options.chunkSize, this.options.openTimeout);
    this.#outgoing.set(id, stream);
    // A socket that cannot encode the arguments throws (socket.io) or reports
    // an "error" event synchronously (tidewire); either way, fail now.
    let refused: unknown;
    const onSocketError = (err: unknown): void => {
      refused ??= err;
    };
    const remove = this.#remover();
    if (remove !== undefined) this.socket.on("error", onSocketError);
    try {
      this.socket.emit(EV.OPEN, id, event, args);
    } catch (err) {
      refused ??= err;
    } finally {
      remove?.("error", onSocketError);
    }
    if (refused !== undefined) stream.failToOpen(refused);
    return stream.promise;
  }

  /** Calls `listener(stream, ...args)` for every stream the peer emits under `event`. */
  on(event: string, listener: StreamListener): this {
    return this.#add(event, listener, false);
  }

  /** Like `on`, for the next stream under `event` only. */
  once(event: string, listener: StreamListener): this {
    return this.#add(event, listener, true);
  }

  /** Removes `listener` from `event`, or every listener of `event` when none is given. */
  off(event: string, listener?: StreamListener): this {
    const list = this.#listeners.get(event);
    if (list === undefined) return this;
    if (listener === undefined) {
      this.#listeners.delete(event);
      return this;
    }
    const index = list.findIndex((r) => r.listener === listener);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(event);
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount(event: string): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /**
   * Stops using the socket for streams: every stream in progress fails with
   * `ERR_STREAM_CLOSED` (the peer is told), the control-event listeners are
   * removed from the socket and a later `streams(socket)` starts afresh.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of [...this.#outgoing.values()]) stream.close();
    for (const stream of [...this.#incoming.values()]) {
      destroyQuietly(
        stream,
        new StreamError(StreamErrorCodes.CLOSED, `The stream channel was closed while stream ${quoteEvent(stream.event)} was being received.`),
      );
    }
    if (this.#reportScheduled !== undefined) clearImmediate(this.#reportScheduled);
    this.#reportScheduled = undefined;
    const remove = this.#remover();
    if (remove !== undefined) for (const [event, fn] of this.#socketListeners) remove(event, fn);
    this.#listeners.clear();
    this.#onClosed();
  }

  #remover(): ((event: string, fn: (...args: any[]) => void) => unknown) | undefined {
    return (this.socket.off ?? this.socket.removeListener)?.bind(this.socket);
  }

  #add(event: string, listener: StreamListener, once: boolean): this {
    if (typeof event !== "string") {
      throw new TypeError(`streams(socket).on(event, listener): event must be a string, got ${typeof event}.`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`streams(socket).on(${quoteEvent(event)}, listener): listener must be a function.`);
    }
    let list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, (list = []));
    list.push({ listener, once });
    return this;
  }

  /**
   * Lets waiting streams use freed budget, in turn: a stream that still finds
   * no room goes back to the end of the line and the round stops there.
   */
  #wake(): void {
    if (this.#waking !== null) return;
    while (this.#waiting.size > 0) {
      const next = firstOf(this.#waiting)!;
      this.#waiting.delete(next);
      this.#waking = next;
      try {
        next.pump();
      } finally {
        this.#waking = null;
      }
      if (this.#waiting.has(next)) break;
    }
  }

  #send(event: string, args: unknown[]): void {
    try {
      this.socket.emit(event, ...args);
    } catch (err) {
      // The socket refused the packet; the stream then ends by disconnect or abort.
      if (log.enabled) log("emit %s failed: %O", event, err);
    }
  }

  #onOpen = (id: unknown, event: unknown, args: unknown): void => {
    if (this.#closed || !isStreamId(id)) return;
    const refuse = (code: StreamError["code"], message: string): void => this.#send(EV.ABORT, [id, message, code]);
    if (id <= this.#lastIncomingId) {
      // A reused id: the stream that has it (if still open) is compromised too.
      this.#incoming.get(id)?.receiveError("the sender reused the stream id", StreamErrorCodes.PROTOCOL);
      return refuse(StreamErrorCodes.PROTOCOL, `stream id ${id} is not greater than the previous one (${this.#lastIncomingId})`);
    }
    this.#lastIncomingId = id;
    if (typeof event !== "string" || !Array.isArray(args)) {
      return refuse(StreamErrorCodes.PROTOCOL, "malformed open message");
    }
    const registrations = this.#listeners.get(event);
    if (registrations === undefined || registrations.length === 0) {
      return refuse(StreamErrorCodes.NO_LISTENER, `no stream listener for ${quoteEvent(event)} on the receiving side`);
    }
    if (this.#incoming.size >= this.options.maxIncomingStreams) {
      return refuse(StreamErrorCodes.LIMIT, `too many concurrent streams (the receiver's limit is ${this.options.maxIncomingStreams})`);
    }
    const stream = new IncomingStream(id, event, this.#incomingHost, this.options.window);
    this.#incoming.set(id, stream);
    stream.start();
    const current = registrations.slice();
    const remaining = registrations.filter((r) => !r.once);
    if (remaining.length === 0) this.#listeners.delete(event);
    else if (remaining.length !== registrations.length) this.#listeners.set(event, remaining);
    for (const { listener } of current) {
      try {
        const result = listener(stream, ...args);
        if (isPromiseLike(result)) result.then(undefined, (err) => this.#listenerFailed(stream, err));
      } catch (err) {
        this.#listenerFailed(stream, err);
      }
    }
  };

  #onData = (id: unknown, chunk: unknown): void => {
    if (this.#closed) return;
    // Count every binary chunk the sender could have counted, whichever stream it was for.
    if (Buffer.isBuffer(chunk) || chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) {
      this.#receivedTotal += chunk.byteLength;
      this.#reportScheduled ??= setImmediate(this.#reportReceived);
    }
    this.#toIncoming(id, (s) => s.receiveData(chunk));
  };

  /** One delivery report per event-loop turn, however many chunks arrived in it. */
  #reportReceived = (): void => {
    this.#reportScheduled = undefined;
    if (this.#closed || this.#receivedTotal === this.#receivedReported) return;
    this.#receivedReported = this.#receivedTotal;
    this.#send(EV.RECEIVED, [this.#receivedTotal]);
  };

  #onReceived = (total: unknown): void => {
    // Reports beyond what was sent, or going backwards, are ignored: the
    // budget then simply stays taken, which only slows this peer's streams.
    if (this.#closed || !isByteCount(total) || total <= this.#peerReceived || total > this.#sentTotal) return;
    this.#peerReceived = total;
    this.#wake();
  };

  #listenerFailed(stream: IncomingStream, err: unknown): void {
    if (log.enabled) log("listener for stream %d (%s) failed: %O", stream.id, stream.event, err);
    stream.failFromListener(err);
  }

  /** data/end for a stream of ours, or the answer to an id that never existed. */
  #toIncoming(id: unknown, deliver: (stream: IncomingStream) => void): void {
    if (this.#closed || !isStreamId(id)) return;
    const stream = this.#incoming.get(id);
    if (stream !== undefined) return deliver(stream);
    // ids ≤ the last opened belong to finished streams: late messages, ignored.
    if (id > this.#lastIncomingId) {
      this.#send(EV.ABORT, [id, `unknown stream id ${id}`, StreamErrorCodes.PROTOCOL]);
    }
  }

  #toOutgoing(id: unknown): OutgoingStream | undefined {
    if (this.#closed || !isStreamId(id)) return undefined;
    return this.#outgoing.get(id);
  }

  #onDisconnect = (reason: unknown): void => {
    for (const stream of [...this.#outgoing.values()]) stream.disconnect(reason);
    for (const stream of [...this.#incoming.values()]) stream.disconnect(reason);
    // After a reconnection the peer is a new server-side socket: ids and byte counts restart.
    this.#lastIncomingId = 0;
    this.#sentTotal = this.#peerReceived = this.#receivedTotal = this.#receivedReported = 0;
    if (this.#reportScheduled !== undefined) clearImmediate(this.#reportScheduled);
    this.#reportScheduled = undefined;
  };
}

function isReadable(value: unknown): value is Readable {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as Readable).read === "function" &&
    typeof (value as Readable).on === "function" &&
    typeof (value as Readable).destroy === "function"
  );
}

function firstOf<T>(set: Set<T>): T | undefined {
  for (const value of set) return value;
  return undefined;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}
