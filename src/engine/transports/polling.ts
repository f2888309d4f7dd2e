/**
 * HTTP long-polling (protocol.md §4). GET receives: a pending GET is answered
 * with the whole queue as one payload. POST sends: the body is collected as
 * Buffer chunks, bounded by maxHttpBufferSize while it is read.
 *
 * Invariants: at most one pending GET and one pending POST; `writable` is
 * true exactly while a GET is pending and no answer has been started.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { initTimerEntry, timers, type TimerEntry } from "../../core/timers.js";
import type { ZlibOptions } from "node:zlib";
import { compressBody, negotiateEncoding } from "../compression.js";
import type { DecodedPacket, Packet } from "../packet.js";
import { decodePayload, encodePayload } from "../payload.js";
import {
  decodePayloadV3Binary,
  decodePayloadV3Text,
  encodePayloadV3Binary,
  encodePayloadV3Text,
  hasBinary,
} from "../payload-v3.js";
import { runCallbacks, Transport, type EngineContext } from "./transport.js";

/** How long a server-side close waits for the GET that carries the close packet. */
export const CLOSE_TIMEOUT = 30_000;

/**
 * Body chunks after the first that are smaller than this are copied into
 * blocks of BODY_BLOCK bytes: a body trickled in one-byte chunks would
 * otherwise cost a Buffer object (~200 bytes of heap) per byte received.
 */
const SMALL_CHUNK = 2048;
const BODY_BLOCK = 16 * 1024;

/**
 * Packets of one POST delivered per event-loop turn: a 1 MB body of tiny
 * packets (over 100,000) must not hold the loop for hundreds of
 * milliseconds. A payload within one slice is delivered synchronously.
 */
const DELIVERY_SLICE = 1000;

const CLOSE_PACKET: Packet = Object.freeze({ type: "close" }) as Packet;
const NOOP_PACKET: Packet = Object.freeze({ type: "noop" }) as Packet;

export class PollingTransport extends Transport implements TimerEntry {
  readonly name = "polling" as const;
  readonly #ctx: EngineContext;
  #req: IncomingMessage | null = null;
  #res: ServerResponse | null = null;
  #dataReq: IncomingMessage | null = null;
  #dataRes: ServerResponse | null = null;
  #dataBinary = false;
  #chunks: Buffer[] = [];
  #dataBytes = 0;
  /** The block small chunks are copied into, and how much of it is used. */
  #block: Buffer | null = null;
  #blockUsed = 0;
  /** A POST whose packets are being delivered over several turns (its answer waits). */
  #delivering = false;
  /** The close packet must go out with the next GET. */
  #shouldClose = false;
  /*
   * Listeners, created in the constructor: an arrow in a field initializer
   * gets its name set at run time by the bundle (keepNames), which gives
   * every instance's closure its own property store (about 256 bytes each).
   */
  readonly #onPollClose: () => void;
  readonly #onPostData: (chunk: Buffer | string) => void;
  readonly #onPostEnd: () => void;
  readonly #onPostClose: () => void;

  constructor(ctx: EngineContext, protocol: 3 | 4, supportsBinary: boolean) {
    super(protocol, supportsBinary);
    this.#onPollClose = () => this.#handlePollClose();
    this.#onPostData = (chunk) => this.#handlePostData(chunk);
    this.#onPostEnd = () => this.#handlePostEnd();
    this.#onPostClose = () => this.#handlePostClose();
    this.#ctx = ctx;
    initTimerEntry(this); // the close timeout
  }

  get pendingBytes(): number {
    return 0;
  }

  /** Routes one request of this session. @internal */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === "GET") this.#onPoll(req, res);
    else if (req.method === "POST") this.#onData(req, res);
    else {
      res.writeHead(500);
      res.end();
    }
  }

  #onPoll(req: IncomingMessage, res: ServerResponse): void {
    if (this.#res !== null) {
      // The session closes (answering the pending GET with a close packet), then this one fails.
      this.host?.onTransportError(this, "overlap from client");
      res.writeHead(400);
      res.end();
      return;
    }
    if (this.readyState === "closed") {
      res.writeHead(400);
      res.end();
      return;
    }
    this.#req = req;
    this.#res = res;
    res.on("close", this.#onPollClose);
    this.writable = true;
    this.host?.onTransportReady(this);
    // A close requested while no GET was pending goes out now (after a noop).
    if (this.writable && this.#shouldClose) this.send([NOOP_PACKET], null, false);
  }

  #handlePollClose(): void {
    const res = this.#res;
    if (res === null) return;
    res.removeListener("close", this.#onPollClose);
    this.#req = this.#res = null;
    this.writable = false;
    this.host?.onTransportError(this, "poll connection closed prematurely");
  }

  send(packets: Packet[], callbacks: Array<() => void> | null, closeAfter: boolean): void {
    const req = this.#req;
    const res = this.#res;
    if (req === null || res === null || !this.writable) return;
    // The close packet never shares a payload with messages: socket.io-client
    // dispatches decoded packets a tick later, so a close read in the same
    // payload would overtake them (a DISCONNECT would read as "transport close").
    const closing = this.#shouldClose;
    const batch = closing ? packets.concat(CLOSE_PACKET) : packets;
    // Encoded before anything changes: if it throws (a payload longer than a
    // string can be), the GET is still pending for the session's close packet.
    // A text body stays a string: Node then sends the response head and body in one write.
    let body: string | Buffer;
    let contentType = "text/plain; charset=UTF-8";
    if (this.protocol === 4) {
      body = encodePayload(batch);
    } else if (this.supportsBinary && hasBinary(batch)) {
      body = encodePayloadV3Binary(batch);
      contentType = "application/octet-stream";
    } else {
      body = encodePayloadV3Text(batch);
    }
    this.writable = false;
    if (closing) {
      this.#shouldClose = false;
      timers.disarm(this);
    }
    let compress = false;
    for (let i = 0; i < batch.length && !compress; i++) compress = batch[i].options?.compress !== false;
    this.#respond(req, res, body, contentType, compress, callbacks);
    if (closing) this.finishClose();
    else if (closeAfter) this.close();
  }

  #respond(
    req: IncomingMessage,
    res: ServerResponse,
    body: string | Buffer,
    contentType: string,
    compress: boolean,
    callbacks: Array<() => void> | null,
  ): void {
    const headers: OutgoingHttpHeaders = { "Content-Type": contentType };
    const hc = this.#ctx.opts.httpCompression;
    if (hc && compress && (typeof body === "string" ? Buffer.byteLength(body) : body.length) >= hc.threshold) {
      const encoding = negotiateEncoding(req.headers["accept-encoding"]);
      if (encoding !== null) {
        const raw = typeof body === "string" ? Buffer.from(body, "utf8") : body;
        compressBody(encoding, raw, hc as ZlibOptions, (err, compressed) => {
          // The client may have gone while zlib worked: then #onPollClose reported it.
          if (this.#res !== res) return;
          if (!err) headers["Content-Encoding"] = encoding;
          this.#end(req, res, headers, err ? raw : compressed, callbacks);
        });
        return;
      }
    }
    this.#end(req, res, headers, body, callbacks);
  }

  #end(
    req: IncomingMessage,
    res: ServerResponse,
    headers: OutgoingHttpHeaders,
    body: string | Buffer,
    callbacks: Array<() => void> | null,
  ): void {
    res.removeListener("close", this.#onPollClose);
    if (this.#res === res) this.#req = this.#res = null;
    if (res.headersSent || res.writableEnded) return;
    headers["Content-Length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    res.writeHead(200, this.#headers(req, headers));
    if (callbacks === null) res.end(body);
    else res.end(body, () => runCallbacks(callbacks, this));
  }

  #headers(req: IncomingMessage, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
    // Old Internet Explorer flags these responses as XSS without this.
    const ua = req.headers["user-agent"];
    if (ua && (ua.includes(";MSIE") || ua.includes("Trident/"))) headers["X-XSS-Protection"] = "0";
    headers["cache-control"] = "no-store";
    this.#ctx.emitResponseHeaders(headers, req, this.sid);
    return headers;
  }

  #onData(req: IncomingMessage, res: ServerResponse): void {
    if (this.#dataReq !== null || this.#delivering) {
      this.host?.onTransportError(this, "data request overlap from client");
      res.writeHead(400);
      res.end();
      return;
    }
    const binary = req.headers["content-type"] === "application/octet-stream";
    if (binary && this.protocol === 4) {
      this.host?.onTransportError(this, "invalid content");
      res.writeHead(400);
      res.end();
      return;
    }
    if (Number(req.headers["content-length"]) > this.#ctx.opts.maxHttpBufferSize) {
      tooLarge(req, res);
      return;
    }
    this.#dataReq = req;
    this.#dataRes = res;
    this.#dataBinary = binary;
    this.#chunks = [];
    this.#dataBytes = 0;
    this.#block = null;
    this.#blockUsed = 0;
    req.on("data", this.#onPostData);
    req.on("end", this.#onPostEnd);
    req.on("close", this.#onPostClose);
  }

  #handlePostData(chunk: Buffer | string): void {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#dataBytes += buf.length;
    if (this.#dataBytes > this.#ctx.opts.maxHttpBufferSize) {
      // 413 at once; the session itself stays open (the official client closes it).
      const req = this.#dataReq as IncomingMessage;
      const res = this.#dataRes as ServerResponse;
      this.#cleanupPost();
      tooLarge(req, res);
      return;
    }
    // The first chunk (usually the whole body) is kept as it came.
    if (buf.length >= SMALL_CHUNK || this.#dataBytes === buf.length) {
      this.#sealBlock();
      this.#chunks.push(buf);
      return;
    }
    if (this.#block === null || this.#blockUsed + buf.length > this.#block.length) {
      this.#sealBlock();
      this.#block = Buffer.allocUnsafe(BODY_BLOCK);
    }
    buf.copy(this.#block, this.#blockUsed);
    this.#blockUsed += buf.length;
  }

  /** Moves the used part of the current block to the chunk list. */
  #sealBlock(): void {
    if (this.#block !== null && this.#blockUsed > 0) this.#chunks.push(this.#block.subarray(0, this.#blockUsed));
    this.#block = null;
    this.#blockUsed = 0;
  }

  #handlePostEnd(): void {
    const req = this.#dataReq as IncomingMessage;
    const res = this.#dataRes as ServerResponse;
    const size = this.#dataBytes;
    const binary = this.#dataBinary;
    this.#sealBlock();
    const chunks = this.#chunks;
    this.#cleanupPost();
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
    let packets: DecodedPacket[];
    if (this.protocol === 4) packets = decodePayload(body.toString("utf8"));
    else if (binary) packets = decodePayloadV3Binary(body);
    else packets = decodePayloadV3Text(body.toString("utf8"));
    this.#deliverFrom(packets, 0, req, res);
  }

  /**
   * Delivers `packets` from `start`, at most DELIVERY_SLICE per turn, then
   * answers the POST. Until then a new POST counts as an overlap, so the
   * packets of two POSTs are never interleaved.
   */
  #deliverFrom(packets: DecodedPacket[], start: number, req: IncomingMessage, res: ServerResponse): void {
    const end = Math.min(packets.length, start + DELIVERY_SLICE);
    const more = this.#deliver(packets, start, end) && end < packets.length;
    this.#delivering = more;
    if (more) {
      setImmediate(() => this.#deliverFrom(packets, end, req, res));
      return;
    }
    this.host?.onTransportDelivered(this);
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    // text/html rather than text/plain: some user agents offered a download otherwise.
    res.writeHead(200, this.#headers(req, { "Content-Type": "text/html", "Content-Length": "2" }));
    res.end("ok");
  }

  #handlePostClose(): void {
    if (this.#dataReq === null) return;
    this.#cleanupPost();
    this.host?.onTransportError(this, "data request connection closed prematurely");
  }

  #cleanupPost(): void {
    const req = this.#dataReq;
    if (req !== null) {
      req.removeListener("data", this.#onPostData);
      req.removeListener("end", this.#onPostEnd);
      req.removeListener("close", this.#onPostClose);
    }
    this.#dataReq = this.#dataRes = null;
    this.#chunks = [];
    this.#block = null;
    this.#blockUsed = 0;
  }

  /** Delivers packets[start..end); false once the transport closed or the client sent a close packet. */
  #deliver(packets: DecodedPacket[], start: number, end: number): boolean {
    for (let i = start; i < end; i++) {
      if (this.readyState === "closed") return false;
      const packet = packets[i];
      if (packet.type === "close") {
        this.#onClientClose();
        return false;
      }
      this.host?.onTransportPacket(this, packet);
    }
    return this.readyState !== "closed";
  }

  /** A close packet from the client: release the pending GET, then close. */
  #onClientClose(): void {
    if (this.writable) this.send([NOOP_PACKET], null, false);
    this.finishClose();
  }

  close(): void {
    if (this.readyState !== "open") return;
    this.readyState = "closing";
    const dataReq = this.#dataReq;
    if (dataReq !== null) {
      this.#cleanupPost();
      dataReq.destroy();
    }
    if (this.writable) {
      this.#shouldClose = true;
      this.send([], null, false);
    } else if (this.discarded) this.finishClose();
    else {
      this.#shouldClose = true;
      timers.arm(this, CLOSE_TIMEOUT);
    }
  }

  /** A discarded transport stops waiting for the GET that would carry the close packet. */
  override discard(): void {
    super.discard();
    if (this.readyState === "closing" && this.#shouldClose) {
      this.#shouldClose = false;
      this.finishClose();
    }
  }

  /** The close timeout: the client never came back for the close packet. */
  onTimeout(): void {
    this.#shouldClose = false;
    this.finishClose();
  }

  protected override finishClose(): void {
    timers.disarm(this);
    super.finishClose();
  }
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) return;
  // Unread body bytes would be taken for the next request: end the HTTP/1 connection.
  res.writeHead(413, req.httpVersionMajor === 1 ? { Connection: "close" } : undefined);
  res.end();
}
