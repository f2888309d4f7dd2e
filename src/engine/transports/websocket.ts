/**
 * The WebSocket transport (protocol.md §5) on the raw socket: frames are
 * parsed by ../ws-frame-reader.ts and built by ../ws-frame.ts, so that a
 * connection costs a few small objects instead of a ws WebSocket with its
 * Receiver stream and Sender, all pending frames of a connection leave in
 * one socket write, and a broadcast's frame is built once for every
 * recipient. Connections with permessage-deflate or a custom `wsEngine` use
 * ./ws-library.ts instead.
 *
 * Closing handshake (RFC 6455 §5.5.1, §7): after sending a close frame
 * nothing else is written; the server ends the TCP connection once a close
 * frame went each way (or after a protocol error), and destroys it if the
 * client has not finished within CLOSE_TIMEOUT.
 */
import type { Duplex } from "node:stream";
import { decodePacket, encodePacket, PACKET_CODES, type Packet } from "../packet.js";
import { decodePacketV3, encodePacketV3 } from "../payload-v3.js";
import { binaryFrame, binaryFrameHeader, controlFrame, OPCODE_CLOSE, OPCODE_PONG, textFrame } from "../ws-frame.js";
import { CLOSE_NO_STATUS, FrameReader, type FrameSink } from "../ws-frame-reader.js";
import { largeLeft, runCallbacks, Transport, type LargeFrames } from "./transport.js";

/** Above this many bytes a batch goes out as one writev instead of being copied into one buffer. */
const COPY_LIMIT = 64 * 1024;
/** How long a closing connection may take to finish the closing handshake (ws's default). */
const CLOSE_TIMEOUT = 30_000;
/** Pongs that may wait unsent before a pinging client that does not read is dropped (ws's limit). */
const MAX_PENDING_PONGS = 60;
/** EIO3 binary frames start with the message type byte. */
const V3_MESSAGE_BYTE = Buffer.from([4]);
/** The frames of packets without data (ping, pong, noop...), built once: frames are never changed once built. */
const DATALESS_FRAMES: Partial<Record<Packet["type"], Buffer>> = {};
/** The server's close frame: no status code (clients see 1005), as engine.io sends. */
const CLOSE_FRAME = controlFrame(OPCODE_CLOSE, Buffer.alloc(0));

const CLOSE_SENT = 1;
/** A close frame arrived, or the client broke the protocol: nothing more is read. */
const READ_DONE = 2;

/** The transport of a raw socket, found by the socket's shared listeners. */
const kTransport = Symbol("tidewire.websocket");

type RawSocket = Duplex & {
  [kTransport]?: WebSocketTransport;
  setNoDelay?: (noDelay?: boolean) => unknown;
  setTimeout?: (ms: number) => unknown;
};

export interface WebSocketLimits {
  /** The largest message a client may send (all fragments together). */
  maxHttpBufferSize: number;
  /** Unsent bytes past which a client that keeps pinging without reading is dropped. */
  maxBufferedBytes: number;
}

export class WebSocketTransport extends Transport implements FrameSink {
  readonly name = "websocket" as const;
  readonly #raw: RawSocket;
  readonly #reader: FrameReader;
  readonly #maxBufferedBytes: number;
  #closing = 0;
  /** Pongs written since the socket last had nothing buffered. */
  #pendingPongs = 0;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Bytes ever handed to the socket; minus its writableLength, the bytes the kernel took. */
  #written = 0;
  /** The frames of the last large write. */
  #large: LargeFrames | null = null;
  /** Callback batches of writes, in write order (net.Socket completes writes in order). */
  #writtenCallbacks: Array<Array<() => void>> | null = null;
  #onWritten: ((err?: Error | null) => void) | null = null;

  /** Takes over `raw` after the 101 was written; `head` is what the client sent after its request. */
  constructor(raw: Duplex, head: Buffer, protocol: 3 | 4, supportsBinary: boolean, limits: WebSocketLimits) {
    super(protocol, supportsBinary);
    const socket = raw as RawSocket;
    this.#raw = socket;
    this.#reader = new FrameReader(this, limits.maxHttpBufferSize);
    this.#maxBufferedBytes = limits.maxBufferedBytes;
    socket[kTransport] = this;
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
    if (head.length > 0) socket.unshift(head);
    // Shared listeners (no closure per connection): they find this transport on the socket.
    socket.on("data", WebSocketTransport.#onData);
    socket.on("end", WebSocketTransport.#onEnd);
    socket.on("close", WebSocketTransport.#onSocketClose);
    socket.on("error", WebSocketTransport.#onSocketError);
    socket.on("drain", WebSocketTransport.#onDrain);
    this.writable = true;
  }

  static #onData(this: RawSocket, chunk: Buffer): void {
    const transport = this[kTransport];
    if (transport !== undefined) transport.#reader.feed(chunk);
  }

  /** The client ended its side: end ours (the http server keeps sockets half-open). */
  static #onEnd(this: RawSocket): void {
    this.end();
  }

  static #onSocketClose(this: RawSocket): void {
    const transport = this[kTransport];
    if (transport === undefined) return;
    if (transport.#closeTimer !== null) clearTimeout(transport.#closeTimer);
    transport.#closeTimer = null;
    transport.#reader.stop();
    transport.finishClose();
  }

  static #onSocketError(this: RawSocket, err?: Error & { code?: unknown }): void {
    const transport = this[kTransport];
    if (transport !== undefined && transport.peerClose === null && typeof err?.code === "string") {
      transport.peerClose = { errno: err.code };
    }
    this.destroy();
  }

  static #onDrain(this: RawSocket): void {
    const transport = this[kTransport];
    if (transport === undefined) return;
    transport.#pendingPongs = 0;
    if (transport.readyState !== "open" || transport.writable) return;
    transport.writable = true;
    transport.host?.onTransportReady(transport);
  }

  get pendingBytes(): number {
    return this.#raw.writableLength ?? 0;
  }

  override get largePendingBytes(): number {
    // A chunk leaves writableLength once the kernel took all of it: it counts whole until then.
    return largeLeft(this.#large, this.#written - (this.#raw.writableLength ?? 0));
  }

  send(packets: Packet[], callbacks: Array<() => void> | null, closeAfter: boolean, largeFrom = -1, largeTo = -1): void {
    if (this.readyState !== "open") return;
    this.#writeFrames(packets, callbacks, largeFrom, largeTo);
    if (this.#raw.writableNeedDrain) this.writable = false;
    if (closeAfter) this.close();
  }

  /** Frames are all built before the first write: a packet that cannot be encoded throws with nothing written. */
  #writeFrames(packets: Packet[], callbacks: Array<() => void> | null, largeFrom: number, largeTo: number): void {
    const raw = this.#raw;
    // Nothing may follow a close frame, ours or the client's (§5.5.1).
    if (this.#closing !== 0 || !raw.writable) return;
    if (packets.length === 1 && !needsSplit(packets[0], this)) {
      const frame = this.#frame(packets[0]);
      if (largeFrom === 0) this.#trackLarge(this.#written + frame.length, frame.length);
      this.#written += frame.length;
      raw.write(frame, this.#afterWrite(callbacks));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    let largeSize = 0;
    for (let i = 0; i < packets.length; i++) {
      const size = this.#pushFrame(packets[i], chunks);
      total += size;
      if (i >= largeFrom && i <= largeTo) {
        largeSize += size;
        if (i === largeTo) this.#trackLarge(this.#written + total, largeSize);
      }
    }
    this.#written += total;
    const onWritten = this.#afterWrite(callbacks);
    if (chunks.length === 1) {
      raw.write(chunks[0], onWritten);
      return;
    }
    if (total <= COPY_LIMIT) {
      // Measured: for small frames one concatenated write costs less CPU than cork/uncork.
      raw.write(concatBatch(packets, chunks, total), onWritten);
      return;
    }
    // Large payloads: one writev without copying them.
    raw.cork();
    try {
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) raw.write(chunks[i]);
      raw.write(chunks[last], onWritten);
    } finally {
      raw.uncork();
    }
  }

  #trackLarge(end: number, size: number): void {
    this.#large = { end, size };
  }

  /** The write callback for a batch with send callbacks (they run in write order). */
  #afterWrite(callbacks: Array<() => void> | null): ((err?: Error | null) => void) | undefined {
    if (callbacks === null) return undefined;
    (this.#writtenCallbacks ??= []).push(callbacks);
    return (this.#onWritten ??= (err) => this.#handleWritten(err));
  }

  /** Appends the frame bytes of one packet (binary payloads are not copied); returns their length. */
  #pushFrame(packet: Packet, chunks: Buffer[]): number {
    const pre = packet.options?.wsPreEncodedFrame;
    if (pre !== undefined && this.protocol === 4 && this.supportsBinary) {
      let size = 0;
      for (let i = 0; i < pre.length; i++) {
        chunks.push(pre[i]);
        size += pre[i].length;
      }
      return size;
    }
    const data = packet.data;
    if (Buffer.isBuffer(data) && this.supportsBinary && packet.options?.cache === undefined) {
      const header = binaryFrameHeader(this.protocol === 4 ? data.length : data.length + 1);
      if (this.protocol === 4) chunks.push(header, data);
      else chunks.push(header, V3_MESSAGE_BYTE, data);
      return header.length + data.length + (this.protocol === 4 ? 0 : 1);
    }
    const frame = this.#frame(packet);
    chunks.push(frame);
    return frame.length;
  }

  /** The complete frame of one packet, from (or into) the broadcast cache when there is one. */
  #frame(packet: Packet): Buffer {
    const cache = packet.options?.cache;
    // The cached frame is the EIO4 one; v3 and b64 clients share it for text only.
    const shareable =
      cache !== undefined &&
      packet.type === "message" &&
      ((this.protocol === 4 && this.supportsBinary) || typeof packet.data === "string");
    if (shareable) return (cache.ws ??= this.#buildFrame(packet));
    return this.#buildFrame(packet);
  }

  #buildFrame(packet: Packet): Buffer {
    const data = packet.data;
    if (typeof data === "string") return textFrame(PACKET_CODES[packet.type], data);
    if (data === undefined) return (DATALESS_FRAMES[packet.type] ??= textFrame("", PACKET_CODES[packet.type]));
    if (!this.supportsBinary) {
      return textFrame("", this.protocol === 4 ? encodePacket(packet) : encodePacketV3(packet));
    }
    return this.protocol === 4 ? binaryFrame(data) : binaryFrame(data, 4);
  }

  #handleWritten(err?: Error | null): void {
    const callbacks = this.#writtenCallbacks?.shift();
    if (!err && callbacks !== undefined) runCallbacks(callbacks, this);
  }

  /** @internal FrameSink */
  onWsMessage(data: Buffer, binary: boolean): void {
    const host = this.host;
    if (host === null || this.readyState !== "open") return;
    const input = binary ? data : data.toString();
    host.onTransportPacket(this, this.protocol === 4 ? decodePacket(input) : decodePacketV3(input));
  }

  /** @internal FrameSink: a pong with the same payload (§5.5.2). */
  onWsPing(payload: Buffer): void {
    const raw = this.#raw;
    if (this.#closing !== 0 || !raw.writable) return;
    // A client that pings without reading the answers would grow the socket's buffer forever.
    if (raw.writableLength === 0) this.#pendingPongs = 0;
    const unsent = raw.writableLength - this.largePendingBytes;
    if (++this.#pendingPongs > MAX_PENDING_PONGS || unsent > this.#maxBufferedBytes) {
      this.#protocolFailure(`more than ${MAX_PENDING_PONGS} pongs wait unsent: the client pings but does not read`);
      this.abort();
      return;
    }
    this.#write(controlFrame(OPCODE_PONG, payload));
  }

  /** @internal FrameSink: the client closes; answer with its code (§5.5.1) and end the connection. */
  onWsClose(code: number, reason: Buffer): void {
    this.#closing |= READ_DONE;
    this.peerClose ??= { wsCode: code };
    if ((this.#closing & CLOSE_SENT) === 0) {
      this.#closing |= CLOSE_SENT;
      this.#write(code === CLOSE_NO_STATUS ? CLOSE_FRAME : closePayloadFrame(code, reason));
    }
    this.#raw.end();
    this.#armCloseTimer();
  }

  /** @internal FrameSink: a protocol violation; close with its code. */
  onWsError(code: number, message: string): void {
    this.#closing |= READ_DONE;
    this.peerClose ??= { wsCode: code };
    if ((this.#closing & CLOSE_SENT) === 0) {
      this.#closing |= CLOSE_SENT;
      this.#write(closePayloadFrame(code, Buffer.alloc(0)));
    }
    this.#raw.end();
    this.#armCloseTimer();
    this.#protocolFailure(message);
  }

  #protocolFailure(message: string): void {
    const host = this.host;
    if (host !== null && this.readyState === "open") host.onTransportError(this, message, new Error(message));
    // Without a host (an upgrade being refused) nothing else would end the connection.
    else if (host === null) this.abort();
  }

  #write(frame: Buffer): void {
    if (!this.#raw.writable) return;
    this.#written += frame.length;
    this.#raw.write(frame);
  }

  #armCloseTimer(): void {
    if (this.#closeTimer !== null || this.#raw.destroyed) return;
    this.#closeTimer = setTimeout(destroySocket, CLOSE_TIMEOUT, this.#raw);
    this.#closeTimer.unref();
  }

  /** Destroys the connection without a closing handshake: the unsent frames are released now. */
  override abort(): void {
    if (this.readyState === "closed") return;
    this.discard();
    this.readyState = "closing";
    this.#reader.stop();
    this.#raw.destroy();
    this.finishClose();
  }

  /** Orderly close: a close frame without status code (clients see 1005), as engine.io does. */
  close(): void {
    if (this.readyState !== "open") return;
    this.readyState = "closing";
    if ((this.#closing & CLOSE_SENT) === 0) {
      this.#closing |= CLOSE_SENT;
      this.#write(CLOSE_FRAME);
    }
    if ((this.#closing & READ_DONE) !== 0) this.#raw.end();
    this.#armCloseTimer();
    this.finishClose();
  }
}

/**
 * The last batch made only of broadcast frames, and its bytes: the
 * recipients of the same broadcasts in one turn get the same frames in the
 * same order, and share one buffer instead of a copy each. Broadcast frames
 * are built once and never changed, so equal frames mean equal bytes. It
 * keeps at most COPY_LIMIT bytes alive until the next batch.
 */
let lastShared: Buffer[] = [];
let lastSharedBytes: Buffer | null = null;

/** The frames of one batch in one buffer, shared with the previous batch when it had the same broadcast frames. */
function concatBatch(packets: Packet[], chunks: Buffer[], total: number): Buffer {
  const n = chunks.length;
  let shared = n === packets.length;
  for (let i = 0; shared && i < n; i++) shared = packets[i].options?.cache?.ws === chunks[i];
  if (!shared) return Buffer.concat(chunks, total);
  const last = lastShared;
  if (lastSharedBytes !== null && last.length === n) {
    let same = true;
    for (let i = 0; same && i < n; i++) same = last[i] === chunks[i];
    if (same) return lastSharedBytes;
  }
  lastShared = chunks;
  return (lastSharedBytes = Buffer.concat(chunks, total));
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}

/** A close frame carrying `code` and `reason` (at most 123 bytes, as a control frame allows). */
function closePayloadFrame(code: number, reason: Buffer): Buffer {
  const payload = Buffer.allocUnsafe(2 + Math.min(reason.length, 123));
  payload.writeUInt16BE(code, 0);
  reason.copy(payload, 2, 0, payload.length - 2);
  return controlFrame(OPCODE_CLOSE, payload);
}

/** Whether a single packet's frame is better written as several chunks (large binary, pre-encoded). */
function needsSplit(packet: Packet, transport: WebSocketTransport): boolean {
  if (packet.options?.wsPreEncodedFrame !== undefined) return true;
  return Buffer.isBuffer(packet.data) && transport.supportsBinary && packet.options?.cache === undefined;
}
