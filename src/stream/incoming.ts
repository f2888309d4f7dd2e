/**
 * The receiving end of one stream: a Readable fed by the peer's `data`
 * messages, granting credit as the local reader consumes.
 *
 * Memory bound: the peer may only send up to the granted limit, and the
 * limit is only ever set to `consumed + window`, where `consumed` counts the
 * bytes that have left this Readable (pushed minus still buffered). So the
 * queue here plus the Readable's own buffer never exceed `window` bytes.
 *
 * Consumption is observed on every `read()` (how paused mode, async
 * iteration and flowing mode take buffered data) and after every push (how
 * flowing mode takes data directly), so a reader that empties the buffer
 * always gets fresh credit: `_read` alone is not called again while a
 * previous call is unanswered.
 *
 * Small chunks are copied together into blocks, and an unfinished block is
 * handed to the Readable only when its buffer is empty, so the number of
 * Buffers kept stays proportional to window / SMALL_CHUNK: a peer sending
 * one byte per message cannot multiply memory by per-object overhead.
 */
import { Readable } from "node:stream";
import createDebug from "debug";
import { StreamError, StreamErrorCodes, remoteCode } from "./errors.js";
import { EV, boundedMessage, isByteCount, quoteEvent, toChunk } from "./protocol.js";

const log = createDebug("tidewire:stream:incoming");

/** Chunks shorter than this are copied into a block instead of kept one by one. */
const SMALL_CHUNK = 1024;
const BLOCK_SIZE = 16 * 1024;

/** What an IncomingStream needs from its channel. */
export interface IncomingHost {
  send(event: string, ...args: unknown[]): void;
  release(stream: IncomingStream): void;
}

export class IncomingStream extends Readable {
  /** The stream id, chosen by the sender (unique per socket and direction). */
  readonly id: number;
  /** The event name the sender used in `emit(event, readable, ...args)`. */
  readonly event: string;

  #host: IncomingHost;
  #window: number;
  /** Smallest credit increase worth a message: a quarter window. */
  #threshold: number;
  #queue: Buffer[] = [];
  /** The block collecting small chunks, after everything in #queue. */
  #block: Buffer | null = null;
  #blockUsed = 0;
  #received = 0;
  #granted = 0;
  #pushed = 0;
  #peerEnded = false;
  #endPushed = false;
  /** The Readable takes more data: `_read` was called and no push has refused since. */
  #wanting = false;
  /** No more messages go to the peer for this stream (done, aborted, or peer/connection gone). */
  #settled = false;
  /** Overrides the text of the abort sent to the peer when this side destroys the stream. */
  #abortMessage: string | undefined;

  /** @internal */
  constructor(id: number, event: string, host: IncomingHost, window: number) {
    const quarter = Math.max(1, Math.floor(window / 4));
    super({ highWaterMark: quarter });
    this.id = id;
    this.event = event;
    this.#host = host;
    this.#window = window;
    this.#threshold = quarter;
    this.once("end", () => {
      // The reader has consumed every byte: that completes the sender's emit().
      if (this.#settled) return;
      this.#settled = true;
      this.#host.send(EV.DONE, this.id);
      this.#host.release(this);
    });
  }

  /** Bytes received from the peer so far (consumed or not). */
  get bytesReceived(): number {
    return this.#received;
  }

  /** @internal Grants the first window. */
  start(): void {
    this.#granted = this.#window;
    this.#host.send(EV.CREDIT, this.id, 0, this.#window);
  }

  /** @internal */
  receiveData(raw: unknown): void {
    if (this.#settled) return;
    const chunk = toChunk(raw);
    if (chunk === null) return this.#violation(`a data chunk is not binary (got ${typeof raw})`);
    if (chunk.length === 0) return this.#violation("a data chunk is empty");
    if (this.#peerEnded) return this.#violation("data arrived after the end of the stream");
    const remaining = this.#granted - this.#received;
    if (chunk.length > remaining) {
      return this.#violation(`a chunk of ${chunk.length} bytes exceeds the remaining credit of ${remaining} bytes`);
    }
    this.#received += chunk.length;
    this.#enqueue(chunk);
    if (this.#wanting) this.#drain();
  }

  /** @internal */
  receiveEnd(total: unknown): void {
    if (this.#settled) return;
    if (this.#peerEnded) return this.#violation("the stream ended twice");
    if (!isByteCount(total) || total !== this.#received) {
      const shown = typeof total === "number" ? String(total) : `${typeof total} ${JSON.stringify(String(total)).slice(0, 40)}`;
      return this.#violation(`the end announces ${shown} bytes but ${this.#received} arrived`);
    }
    this.#peerEnded = true;
    this.#closeBlock();
    if (this.#wanting) this.#drain();
  }

  /** @internal The sender aborted its end. */
  receiveError(message: unknown, code: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    const text = boundedMessage(message, "no reason given");
    destroyQuietly(
      this,
      new StreamError(remoteCode(code), `The sender aborted stream ${quoteEvent(this.event)}: ${text}`, { remote: true }),
    );
  }

  /** @internal The socket disconnected: nothing can be sent any more. */
  disconnect(reason: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    destroyQuietly(
      this,
      new StreamError(
        StreamErrorCodes.DISCONNECTED,
        `The socket disconnected (${boundedMessage(reason, "unknown reason")}) while stream ${quoteEvent(this.event)} was being received, after ${this.#received} bytes.`,
      ),
    );
  }

  /** @internal The local stream listener threw or rejected: the peer gets a generic reason. */
  failFromListener(err: unknown): void {
    this.#abortMessage = "the receiver's stream listener failed";
    destroyQuietly(this, err instanceof Error ? err : new Error(String(err)));
  }

  override _read(): void {
    this.#wanting = true;
    this.#drain();
  }

  override read(size?: number): any {
    const chunk = super.read(size);
    if (chunk !== null) {
      // An unfinished block may go out now that the buffer may be empty.
      if (this.#wanting && this.#block !== null) this.#drain();
      else this.#grant();
    }
    return chunk;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#settled) {
      // Destroyed on this side before the reader saw the end: tell the sender.
      this.#settled = true;
      const message = this.#abortMessage ?? boundedMessage(err?.message, "the receiver destroyed the stream");
      const code = err instanceof StreamError ? err.code : StreamErrorCodes.REMOTE_ABORT;
      this.#host.send(EV.ABORT, this.id, message, code);
    }
    this.#queue = [];
    this.#block = null;
    this.#host.release(this);
    callback(err);
  }

  #enqueue(chunk: Buffer): void {
    if (chunk.length >= SMALL_CHUNK) {
      this.#closeBlock();
      this.#queue.push(chunk);
      return;
    }
    if (this.#block !== null && this.#blockUsed + chunk.length > this.#block.length) this.#closeBlock();
    if (this.#block === null) {
      this.#block = Buffer.allocUnsafe(BLOCK_SIZE);
      this.#blockUsed = 0;
    }
    chunk.copy(this.#block, this.#blockUsed);
    this.#blockUsed += chunk.length;
  }

  /** Moves the block to the queue; a mostly empty one as an exact copy, not pinning the whole block. */
  #closeBlock(): void {
    const block = this.#block;
    if (block === null) return;
    this.#block = null;
    const used = block.subarray(0, this.#blockUsed);
    this.#queue.push(this.#blockUsed * 2 < block.length ? Buffer.from(used) : used);
  }

  #drain(): void {
    while (this.#wanting && !this.destroyed) {
      if (this.#queue.length === 0) {
        // An unfinished block only goes to an empty buffer: a reader that
        // does not read then holds one small piece, not one per message.
        if (this.#block === null || this.readableLength > 0) break;
        this.#closeBlock();
      }
      const chunk = this.#queue.shift()!;
      this.#pushed += chunk.length;
      this.#wanting = this.push(chunk);
    }
    if (this.destroyed) return;
    if (this.#queue.length === 0 && this.#block === null && this.#peerEnded) {
      if (!this.#endPushed) {
        this.#endPushed = true;
        this.push(null);
      }
      return;
    }
    this.#grant();
  }

  /** Raises the sender's limit to `consumed + window` once it grew by a quarter window. */
  #grant(): void {
    if (this.#settled || this.#peerEnded) return;
    const consumed = this.#pushed - this.readableLength;
    if (consumed + this.#window - this.#granted >= this.#threshold) {
      this.#granted = consumed + this.#window;
      this.#host.send(EV.CREDIT, this.id, consumed, this.#window);
    }
  }

  #violation(what: string): void {
    if (log.enabled) log("stream %d: protocol violation: %s", this.id, what);
    destroyQuietly(
      this,
      new StreamError(
        StreamErrorCodes.PROTOCOL,
        `Stream ${quoteEvent(this.event)} broke the stream protocol: ${what}.`,
      ),
    );
  }
}

const ignore = (): void => {};

/**
 * Destroys with an error that the peer or the network caused. A Readable
 * nobody listens to for "error" would turn it into an uncaught exception;
 * the peer must not be able to crash the process, so the error is then only
 * recorded (`readable.errored`) and announced by "close".
 */
export function destroyQuietly(stream: Readable, err: Error): void {
  if (stream.destroyed) return;
  if (stream.listenerCount("error") === 0) stream.once("error", ignore);
  stream.destroy(err);
}
