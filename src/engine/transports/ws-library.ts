/**
 * The WebSocket transport through a `ws`-compatible object: used when
 * permessage-deflate was negotiated (the compression state lives in ws) or
 * with a custom `wsEngine`. Every other connection uses the built-in framing
 * of ./websocket.ts.
 */
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";
import { encodePacket, decodePacket, PACKET_CODES, type Packet } from "../packet.js";
import { decodePacketV3, encodeBinaryPacketV3, encodePacketV3 } from "../payload-v3.js";
import { largeLeft, runCallbacks, Transport, type LargeFrames } from "./transport.js";

export class WsLibraryTransport extends Transport {
  readonly name = "websocket" as const;
  readonly #ws: WebSocket;
  readonly #raw: Duplex;
  readonly #onMessage: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void;
  readonly #onClose: (code?: number) => void;
  readonly #onError: (err: Error) => void;
  readonly #onDrain: () => void;
  /**
   * Payload sizes ever given to ws (UTF-16 units for text: an estimate of the
   * bytes, as compression makes them smaller anyway), and where the last
   * large write ends in that count, with its size.
   */
  #written = 0;
  #large: LargeFrames | null = null;

  constructor(ws: WebSocket, raw: Duplex, protocol: 3 | 4, supportsBinary: boolean) {
    super(protocol, supportsBinary);
    this.#onMessage = (data, isBinary) => this.#handleMessage(data, isBinary);
    this.#onClose = (code) => {
      if (typeof code === "number") this.peerClose ??= { wsCode: code };
      this.finishClose();
    };
    this.#onError = (err) => this.host?.onTransportError(this, err?.message || "websocket error", err);
    this.#onDrain = () => this.#handleDrain();
    this.#ws = ws;
    this.#raw = raw;
    ws.on("message", this.#onMessage);
    ws.once("close", this.#onClose);
    ws.on("error", this.#onError);
    raw.on("drain", this.#onDrain);
    this.writable = true;
  }

  get pendingBytes(): number {
    return this.#ws.bufferedAmount ?? 0;
  }

  override get largePendingBytes(): number {
    return largeLeft(this.#large, this.#written - this.pendingBytes);
  }

  send(packets: Packet[], callbacks: Array<() => void> | null, closeAfter: boolean, largeFrom = -1, largeTo = -1): void {
    if (this.readyState !== "open") return;
    const ws = this.#ws;
    if (ws.readyState === 1 /* OPEN */) {
      let largeSize = 0;
      const last = packets.length - 1;
      for (let i = 0; i <= last; i++) {
        const packet = packets[i];
        // A packet that cannot be encoded throws: the session closes behind what was sent.
        const payload = this.#encode(packet);
        this.#written += payload.length;
        if (i >= largeFrom && i <= largeTo) {
          largeSize += payload.length;
          if (i === largeTo) this.#large = { end: this.#written, size: largeSize };
        }
        const opts = { binary: typeof payload !== "string", compress: packet.options?.compress !== false };
        if (i === last && callbacks !== null) {
          ws.send(payload, opts, (err?: Error) => {
            if (!err) runCallbacks(callbacks, this);
          });
        } else {
          ws.send(payload, opts);
        }
      }
    }
    if (this.#raw.writableNeedDrain) this.writable = false;
    if (closeAfter) this.close();
  }

  #encode(packet: Packet): string | Buffer {
    const data = packet.data;
    if (!Buffer.isBuffer(data)) return PACKET_CODES[packet.type] + (data ?? "");
    if (!this.supportsBinary) return this.protocol === 4 ? encodePacket(packet) : encodePacketV3(packet);
    return this.protocol === 4 ? data : encodeBinaryPacketV3(packet as Packet & { data: Buffer });
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

  /** Destroys the connection without a closing handshake. */
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
