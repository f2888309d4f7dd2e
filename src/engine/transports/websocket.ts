/**
 * The WebSocket transport (protocol.md §5), the only module importing `ws`.
 *
 * `ws` does the handshake, parses client frames, answers client pings and
 * runs the closing handshake. Outgoing frames are built here and all frames
 * pending for a connection go to the raw socket in one write; ws's own
 * sender is only used when permessage-deflate was negotiated (the
 * compression state lives in ws) or with a custom `wsEngine`.
 *
 * Ordering invariant for direct writes: without permessage-deflate ws never
 * queues frames internally, so its control frames (pong, close) and ours
 * reach the socket in call order and whole.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { encodePacket, decodePacket, PACKET_CODES, type Packet } from "../packet.js";
import { decodePacketV3, encodeBinaryPacketV3, encodePacketV3 } from "../payload-v3.js";
import type { ResolvedOptions } from "../options.js";
import { binaryFrame, binaryFrameHeader, textFrame } from "../ws-frame.js";
import { runCallbacks, Transport } from "./transport.js";

/** Above this many bytes a batch goes out as one writev instead of being copied into one buffer. */
const COPY_LIMIT = 64 * 1024;

/** EIO3 binary frames start with the message type byte. */
const V3_MESSAGE_BYTE = Buffer.from([4]);

/** Accepts upgrades through a ws server (the bundled one, or `wsEngine`). */
export class WebSocketAcceptor {
  readonly #opts: ResolvedOptions;
  readonly #onHeaders: (headers: string[], req: IncomingMessage) => void;
  #server: any = null;

  constructor(opts: ResolvedOptions, onHeaders: (headers: string[], req: IncomingMessage) => void) {
    this.#opts = opts;
    this.#onHeaders = onHeaders;
  }

  /** Completes the handshake; `cb` runs with the new WebSocket (not at all if the client left). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket, direct: boolean) => void): void {
    if (this.#server === null) {
      const Engine = this.#opts.wsEngine ?? WebSocketServer;
      this.#server = new Engine({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: this.#opts.perMessageDeflate,
        maxPayload: this.#opts.maxHttpBufferSize,
      });
      if (typeof this.#server.on === "function") this.#server.on("headers", this.#onHeaders);
    }
    const builtIn = this.#opts.wsEngine === undefined;
    this.#server.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      cb(ws, builtIn && !ws.extensions);
    });
  }

  /** Closes the ws server; a later upgrade creates a new one (the http server may listen again). */
  close(): void {
    const server = this.#server;
    this.#server = null;
    if (server !== null) server.close();
  }
}

export class WebSocketTransport extends Transport {
  readonly name = "websocket" as const;
  readonly #ws: WebSocket;
  readonly #raw: Duplex;
  readonly #direct: boolean;
  /** Callback batches of direct writes, in write order (net.Socket completes writes in order). */
  readonly #written: Array<Array<() => void>> = [];
  /*
   * Listeners, created in the constructor: an arrow in a field initializer
   * gets its name set at run time by the bundle (keepNames), which gives
   * every instance's closure its own property store (about 256 bytes each).
   */
  readonly #onWritten: (err?: Error | null) => void;
  readonly #onDrain: () => void;
  readonly #onMessage: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void;
  readonly #onClose: () => void;
  readonly #onError: (err: Error) => void;

  constructor(ws: WebSocket, raw: Duplex, protocol: 3 | 4, supportsBinary: boolean, direct: boolean) {
    super(protocol, supportsBinary);
    this.#onWritten = (err) => this.#handleWritten(err);
    this.#onDrain = () => this.#handleDrain();
    this.#onMessage = (data, isBinary) => this.#handleMessage(data, isBinary);
    this.#onClose = () => this.#handleClose();
    this.#onError = (err) => this.#handleError(err);
    this.#ws = ws;
    this.#raw = raw;
    this.#direct = direct;
    ws.on("message", this.#onMessage);
    ws.once("close", this.#onClose);
    ws.on("error", this.#onError);
    raw.on("drain", this.#onDrain);
    this.writable = true;
  }

  get pendingBytes(): number {
    // Through ws, frames may also wait in its sender (permessage-deflate).
    return this.#direct ? (this.#raw.writableLength ?? 0) : this.#ws.bufferedAmount;
  }

  /** The client's IP address. */
  get remoteAddress(): string | undefined {
    return (this.#raw as { remoteAddress?: string }).remoteAddress;
  }

  send(packets: Packet[], callbacks: Array<() => void> | null, closeAfter: boolean): void {
    if (this.readyState !== "open") return;
    if (this.#direct) this.#writeFrames(packets, callbacks);
    else this.#sendThroughWs(packets, callbacks);
    if (this.#raw.writableNeedDrain) this.writable = false;
    if (closeAfter) this.close();
  }

  #writeFrames(packets: Packet[], callbacks: Array<() => void> | null): void {
    const raw = this.#raw;
    // Nothing may follow a close frame (ws sends one when the client starts closing).
    if (!raw.writable || this.#ws.readyState !== 1 /* OPEN */) return;
    const onWritten = callbacks === null ? undefined : this.#onWritten;
    if (callbacks !== null) this.#written.push(callbacks);
    if (packets.length === 1 && !needsSplit(packets[0], this)) {
      raw.write(this.#frame(packets[0]), onWritten);
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (let i = 0; i < packets.length; i++) total += this.#pushFrame(packets[i], chunks);
    if (total <= COPY_LIMIT || chunks.length === 1) {
      // Measured: for small frames one concatenated write costs less CPU than cork/uncork.
      raw.write(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), onWritten);
      return;
    }
    // Large payloads: one writev without copying them.
    raw.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) raw.write(chunks[i]);
    raw.write(chunks[last], onWritten);
    raw.uncork();
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
    if (data === undefined) return textFrame("", PACKET_CODES[packet.type]);
    if (!this.supportsBinary) {
      return textFrame("", this.protocol === 4 ? encodePacket(packet) : encodePacketV3(packet));
    }
    return this.protocol === 4 ? binaryFrame(data) : binaryFrame(data, 4);
  }

  #sendThroughWs(packets: Packet[], callbacks: Array<() => void> | null): void {
    const ws = this.#ws;
    if (ws.readyState !== 1 /* OPEN */) return;
    const last = packets.length - 1;
    for (let i = 0; i <= last; i++) {
      const packet = packets[i];
      const data = packet.data;
      let payload: string | Buffer;
      let binary = false;
      if (Buffer.isBuffer(data)) {
        if (!this.supportsBinary) payload = this.protocol === 4 ? encodePacket(packet) : encodePacketV3(packet);
        else {
          binary = true;
          payload = this.protocol === 4 ? data : encodeBinaryPacketV3(packet as Packet & { data: Buffer });
        }
      } else {
        payload = PACKET_CODES[packet.type] + (data ?? "");
      }
      const opts = { binary, compress: packet.options?.compress !== false };
      if (i === last && callbacks !== null) {
        ws.send(payload, opts, (err?: Error) => {
          if (!err) runCallbacks(callbacks, this);
        });
      } else {
        ws.send(payload, opts);
      }
    }
  }

  #handleWritten(err?: Error | null): void {
    const callbacks = this.#written.shift();
    if (!err && callbacks !== undefined) runCallbacks(callbacks, this);
  }

  #handleDrain(): void {
    if (this.readyState !== "open" || this.writable) return;
    this.writable = true;
    this.host?.onTransportReady(this);
  }

  #handleMessage(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    const host = this.host;
    if (host === null) return;
    const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const input = isBinary ? buf : buf.toString();
    host.onTransportPacket(this, this.protocol === 4 ? decodePacket(input) : decodePacketV3(input));
  }

  #handleClose(): void {
    this.finishClose();
  }

  #handleError(err: Error): void {
    this.host?.onTransportError(this, err?.message || "websocket error", err);
  }

  /** Destroys the connection without a closing handshake: the unsent frames are released now. */
  override abort(): void {
    if (this.readyState !== "open") return;
    this.discard();
    this.readyState = "closing";
    this.#ws.terminate();
    this.finishClose();
  }

  /** Closes with a close frame without status code (clients see 1005), as engine.io does. */
  close(): void {
    if (this.readyState !== "open") return;
    this.readyState = "closing";
    try {
      this.#ws.close();
    } catch {
      this.#raw.destroy();
    }
    this.finishClose();
  }
}

/** Whether a single packet's frame is better written as several chunks (large binary, pre-encoded). */
function needsSplit(packet: Packet, transport: WebSocketTransport): boolean {
  if (packet.options?.wsPreEncodedFrame !== undefined) return true;
  return Buffer.isBuffer(packet.data) && transport.supportsBinary && packet.options?.cache === undefined;
}
