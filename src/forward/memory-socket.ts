/**
 * An in-memory connection: two Duplex ends, what one writes the other reads,
 * with backpressure (a write completes when the peer's reader has room).
 * The owner of a forwarded session serves it on one end, through a private
 * http server, as if the client had connected; the other end carries the
 * bytes to and from the node that received the request.
 *
 * The ends look enough like net.Socket for node:http (timeouts, no-delay and
 * keep-alive calls are accepted and ignored: the forwarding layer bounds the
 * connection's life itself) and report the client's address.
 */
import { Duplex } from "node:stream";

const kPeer = Symbol("peer");
const kWaiting = Symbol("waiting");

export class MemorySocket extends Duplex {
  [kPeer]: MemorySocket | null = null;
  /** The write waiting for the peer to read. */
  [kWaiting]: (() => void) | null = null;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  readonly localAddress = undefined;
  readonly localPort = undefined;
  readonly connecting = false;
  readonly encrypted = undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  /** @internal */
  override _read(): void {
    const peer = this[kPeer];
    const resume = peer?.[kWaiting];
    if (peer && resume) {
      peer[kWaiting] = null;
      resume();
    }
  }

  /** @internal */
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this[kPeer];
    if (peer === null || peer.destroyed) return callback(new Error("the other end of the connection is closed"));
    if (peer.push(chunk)) callback();
    else this[kWaiting] = () => callback();
  }

  /** @internal What one write of the writer's turn (cork/uncork, writev) holds arrives as one chunk. */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers = chunks.map((c) => c.chunk);
    this._write(buffers.length === 1 ? buffers[0] : Buffer.concat(buffers), "binary", callback);
  }

  /** @internal */
  override _final(callback: (error?: Error | null) => void): void {
    const peer = this[kPeer];
    if (peer !== null && !peer.destroyed) peer.push(null);
    callback();
  }

  /** @internal */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this[kPeer];
    this[kPeer] = null;
    const waiting = this[kWaiting];
    this[kWaiting] = null;
    if (waiting) waiting();
    // The peer sees the connection go as a client would: closed, without an error.
    if (peer !== null && !peer.destroyed) process.nextTick(() => peer.destroy());
    callback(error);
  }

  setTimeout(_ms: number, callback?: () => void): this {
    if (callback) this.once("timeout", callback);
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): Record<string, never> {
    return {};
  }

  destroySoon(): void {
    this.end();
  }
}

/** Two connected ends: `[client, server]`; the server end reports `remote` as its peer's address. */
export function memoryConnection(remote?: { address?: string; port?: number }): [MemorySocket, MemorySocket] {
  const client = new MemorySocket();
  const server = new MemorySocket();
  client[kPeer] = server;
  server[kPeer] = client;
  if (remote?.address !== undefined) {
    server.remoteAddress = remote.address;
    server.remoteFamily = remote.address.includes(":") ? "IPv6" : "IPv4";
  }
  server.remotePort = remote?.port;
  return [client, server];
}
