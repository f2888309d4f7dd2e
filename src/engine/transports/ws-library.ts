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
import { runCallbacks, Transport } from "./transport.js";

export class WsLibraryTransport extends Transport {
  readonly name = "websocket" as const;
  readonly #ws: WebSocket;
  readonly #raw: Duplex;
  readonly #onMessage: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void;
  readonly #onClose: (code?: number) => void;
  readonly #onError: (err: Error) => void;
  readonly #onDrain: () => void;

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

  send(packets: Packet[], callbacks: Array<() => void> | null, closeAfter: boolean): void {
    if (this.readyState !== "open") return;
    const ws = this.#ws;
    if (ws.readyState === 1 /* OPEN */) {
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
    if (this.#raw.writableNeedDrain) this.writable = false;
    if (closeAfter) this.close();
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
