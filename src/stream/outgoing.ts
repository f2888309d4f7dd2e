/**
 * The sending end of one stream: pulls from the source Readable only while
 * the receiver's credit allows, so at most one source chunk waits here and
 * at most `window` bytes are in flight, whatever the stream's size. Each
 * piece also needs room in the channel's budget shared by all outgoing
 * streams (`reserve`), which the peer's delivery reports give back.
 *
 * The outgoing stream owns its source: on any failure the source is
 * destroyed (closing files, sockets, ...), as `pipeline()` does.
 */
import type { Readable } from "node:stream";
import createDebug from "debug";
import { StreamError, StreamErrorCodes, remoteCode } from "./errors.js";
import { EV, boundedMessage, isByteCount, quoteEvent } from "./protocol.js";

const log = createDebug("tidewire:stream:outgoing");

/** What an OutgoingStream needs from its channel. */
export interface OutgoingHost {
  send(event: string, ...args: unknown[]): void;
  release(stream: OutgoingStream): void;
  /** Takes `bytes` of the shared budget, or queues the stream to be pumped when room frees up. */
  reserve(stream: OutgoingStream, bytes: number): boolean;
}

export class OutgoingStream {
  readonly id: number;
  readonly event: string;
  /** Resolves with the byte count once the receiver has consumed everything. */
  readonly promise: Promise<number>;

  #source: Readable;
  #host: OutgoingHost;
  #chunkSize: number;
  #sent = 0;
  #limit = 0;
  /** The unsent rest of the last chunk read from the source. */
  #pending: Buffer | null = null;
  #sourceEnded: boolean;
  #endSent = false;
  #settled = false;
  /** Runs from emit() until the receiver's first answer. */
  #openTimer: NodeJS.Timeout | undefined;
  #resolve!: (bytes: number) => void;
  #reject!: (err: Error) => void;

  constructor(id: number, event: string, source: Readable, host: OutgoingHost, chunkSize: number, openTimeout: number) {
    this.id = id;
    this.event = event;
    this.#source = source;
    this.#host = host;
    this.#chunkSize = chunkSize;
    this.promise = new Promise<number>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A source consumed before emit() has nothing left; "end" will not come again.
    this.#sourceEnded = source.readableEnded === true;
    source.on("readable", this.#onReadable);
    source.on("end", this.#onEnd);
    source.on("error", this.#onError);
    source.on("close", this.#onClose);
    if (openTimeout > 0) {
      this.#openTimer = setTimeout(() => {
        this.#fail(
          new StreamError(
            StreamErrorCodes.OPEN_TIMEOUT,
            `Stream ${quoteEvent(event)} was not accepted within ${openTimeout} ms: does the other side call streams(socket)?`,
          ),
          true,
        );
      }, openTimeout);
      this.#openTimer.unref?.();
    }
  }

  /** Bytes sent so far. */
  get bytesSent(): number {
    return this.#sent;
  }

  /** The receiver's reader consumed `consumed` bytes; we may send up to `consumed + window`. */
  onCredit(consumed: unknown, window: unknown): void {
    if (this.#settled) return;
    if (!isByteCount(consumed) || !isByteCount(window) || !Number.isSafeInteger(consumed + window)) {
      return this.#violation(`a credit is not a pair of byte counts (${describe(consumed)}, ${describe(window)})`);
    }
    if (consumed > this.#sent) {
      return this.#violation(`the receiver claims ${consumed} bytes consumed of ${this.#sent} sent`);
    }
    this.#clearOpenTimer();
    const limit = consumed + window;
    if (limit > this.#limit) this.#limit = limit;
    this.pump();
  }

  /** The receiver consumed everything. */
  onDone(): void {
    if (this.#settled) return;
    if (!this.#endSent) return this.#violation("the receiver reported completion before the stream ended");
    this.#settled = true;
    this.#detach();
    this.#resolve(this.#sent);
  }

  /** The receiver destroyed its end. */
  onAbort(message: unknown, code: unknown): void {
    if (this.#settled) return;
    const text = boundedMessage(message, "no reason given");
    this.#settle(
      new StreamError(remoteCode(code), `The receiver aborted stream ${quoteEvent(this.event)}: ${text}`, { remote: true }),
    );
  }

  disconnect(reason: unknown): void {
    if (this.#settled) return;
    this.#settle(
      new StreamError(
        StreamErrorCodes.DISCONNECTED,
        `The socket disconnected (${boundedMessage(reason, "unknown reason")}) while stream ${quoteEvent(this.event)} was being sent, after ${this.#sent} bytes.`,
      ),
    );
  }

  /** The socket refused the open message (e.g. arguments it cannot serialize): fail at once. */
  failToOpen(err: unknown): void {
    this.#fail(err instanceof Error ? err : new Error(String(err)), false);
  }

  /** The channel is closing: tell the receiver, then fail. */
  close(): void {
    this.#fail(new StreamError(StreamErrorCodes.CLOSED, `The stream channel was closed while stream ${quoteEvent(this.event)} was being sent.`), true);
  }

  #onReadable = (): void => this.pump();

  #onEnd = (): void => {
    this.#sourceEnded = true;
    this.pump();
  };

  #onError = (err: unknown): void => {
    this.#fail(err instanceof Error ? err : new Error(String(err)), true);
  };

  #onClose = (): void => {
    if (this.#sourceEnded) return;
    this.#fail(new StreamError(StreamErrorCodes.PREMATURE_CLOSE, `The source of stream ${quoteEvent(this.event)} was destroyed before it ended.`), true);
  };

  /** Sends what credit, budget and the source allow. @internal */
  pump(): void {
    if (this.#settled || this.#endSent) return;
    while (this.#sent < this.#limit) {
      let chunk = this.#pending;
      if (chunk === null) {
        if (this.#sourceEnded) break;
        const read: unknown = this.#source.read();
        if (read === null) break;
        chunk = toBuffer(read, this.#source.readableEncoding);
        if (chunk === null) {
          const got = read === undefined ? "undefined" : typeof read === "object" ? "an object" : typeof read;
          this.#fail(
            new StreamError(StreamErrorCodes.INVALID_CHUNK, `The source of stream ${quoteEvent(this.event)} produced ${got}; stream chunks must be Buffers, Uint8Arrays or strings.`),
            true,
          );
          return;
        }
        if (chunk.length === 0) continue;
      }
      const n = Math.min(chunk.length, this.#chunkSize, this.#limit - this.#sent);
      if (!this.#host.reserve(this, n)) {
        this.#pending = chunk;
        return;
      }
      const piece = n === chunk.length ? chunk : chunk.subarray(0, n);
      this.#pending = n === chunk.length ? null : chunk.subarray(n);
      this.#sent += n;
      this.#host.send(EV.DATA, this.id, piece);
      if (this.#settled) return;
    }
    if (this.#pending === null && this.#sourceEnded) {
      this.#endSent = true;
      this.#host.send(EV.END, this.id, this.#sent);
    }
  }

  #violation(what: string): void {
    if (log.enabled) log("stream %d: protocol violation: %s", this.id, what);
    this.#fail(new StreamError(StreamErrorCodes.PROTOCOL, `Stream ${quoteEvent(this.event)}: the receiver broke the stream protocol: ${what}.`), true);
  }

  /** Fails locally; with `notify`, tells the receiver first. */
  #fail(err: Error, notify: boolean): void {
    if (this.#settled) return;
    if (notify) {
      const code = err instanceof StreamError ? err.code : StreamErrorCodes.REMOTE_ABORT;
      this.#host.send(EV.ERROR, this.id, boundedMessage(err.message, "the sender failed"), code);
    }
    this.#settle(err);
  }

  #settle(err: Error): void {
    this.#settled = true;
    this.#detach();
    if (!this.#source.destroyed) this.#source.destroy();
    this.#reject(err);
  }

  #clearOpenTimer(): void {
    if (this.#openTimer === undefined) return;
    clearTimeout(this.#openTimer);
    this.#openTimer = undefined;
  }

  #detach(): void {
    this.#clearOpenTimer();
    this.#pending = null;
    const source = this.#source;
    source.off("readable", this.#onReadable);
    source.off("end", this.#onEnd);
    source.off("close", this.#onClose);
    // Keep a listener for "error": a source destroyed below may still report one.
    source.off("error", this.#onError);
    source.on("error", ignore);
    this.#host.release(this);
  }
}

const ignore = (): void => {};

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : String(value);
}

function toBuffer(value: unknown, encoding: BufferEncoding | null): Buffer | null {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "string") return Buffer.from(value, encoding ?? "utf8");
  return null;
}
