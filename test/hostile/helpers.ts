/**
 * Tools of the hostile suite: a tidewire server with an echo handler, an
 * official socket.io-client canary that must keep getting echo round-trips
 * while an attack runs and after it, raw attackers (HTTP over a bare TCP
 * socket, a hand-written WebSocket client that can send invalid frames, stop
 * reading or reset), and leak checks (forced GC: the hostile vitest project
 * runs with --expose-gc).
 *
 * Everything opened here is closed by `closeAll()` from ../helpers/io.js,
 * which every file runs in afterEach.
 */
import { randomBytes } from "node:crypto";
import * as http from "node:http";
import * as net from "node:net";
import { expect } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import { Server, type ServerOptions } from "../../src/index.js";
import {
  closeAll,
  closeHttpServer,
  connectClient,
  listen,
  onClose,
  withTimeout,
  type ClientOptions,
  type TransportMode,
} from "../helpers/io.js";

export { closeAll, onClose, withTimeout };

export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// ---- server and canary -------------------------------------------------------

/** A tidewire server attached to an http server on 127.0.0.1. */
export interface IoServerHandle {
  io: Server;
  httpServer: http.Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
}

/** A tidewire server on 127.0.0.1:0 whose sockets answer `echo` with what they got; closed by closeAll(). */
export async function echoServer(opts: ServerOptions = {}): Promise<IoServerHandle> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, opts);
  onClose(async () => {
    await withTimeout(io.close(), 3000, "io.close()").catch(() => undefined);
    await closeHttpServer(httpServer);
  });
  const port = await listen(httpServer);
  const handle: IoServerHandle = { io, httpServer, port, url: `http://127.0.0.1:${port}` };
  handle.io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack?: unknown) => {
      if (typeof ack === "function") ack(value);
    });
  });
  return handle;
}

/**
 * A well-behaved official client. `during(attack)` keeps doing echo
 * round-trips, one after the other, for as long as the attack runs, then one
 * more; any failed or wrong round-trip fails the test.
 */
export class Canary {
  readonly client: ClientSocket;
  #n = 0;
  /** Round-trips completed so far. */
  roundTrips = 0;

  private constructor(client: ClientSocket) {
    this.client = client;
  }

  static async connect(handle: IoServerHandle, mode: TransportMode = "websocket", opts: ClientOptions = {}): Promise<Canary> {
    const canary = new Canary(await connectClient(handle.url, mode, opts));
    await canary.echo();
    return canary;
  }

  /** One echo round-trip, checked. */
  async echo(timeoutMs = 5000): Promise<void> {
    const n = ++this.#n;
    const got = await this.client.timeout(timeoutMs).emitWithAck("echo", n);
    if (got !== n) throw new Error(`canary: echo ${n} came back as ${JSON.stringify(got)}`);
    this.roundTrips++;
  }

  async during<T>(attack: () => Promise<T>): Promise<T> {
    let done = false;
    let failure: unknown = null;
    const loop = (async () => {
      while (!done) await this.echo();
    })().catch((err) => {
      failure = err;
    });
    try {
      return await attack();
    } finally {
      done = true;
      await loop;
      if (failure) throw new Error(`the canary lost its echo during the attack: ${(failure as Error).message}`);
      await this.echo();
    }
  }
}

// ---- leak checks -----------------------------------------------------------------

function forceGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") {
    throw new Error("global.gc is missing: the hostile tests must run with --expose-gc (their vitest project sets it)");
  }
  gc();
}

/** Heap in use after full collections, once pending callbacks have run. */
export async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    forceGc();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Waits (forcing collections) until the heap is back within `slackBytes` of
 * `baseline`; fails with the numbers otherwise.
 */
export async function expectHeapNear(baseline: number, slackBytes = 3 * 1024 * 1024, attempts = 20): Promise<void> {
  let heap = 0;
  for (let i = 0; i < attempts; i++) {
    heap = await settledHeap();
    if (heap <= baseline + slackBytes) return;
  }
  const mb = (n: number) => (n / 1048576).toFixed(1) + " MiB";
  expect.fail(`heap after GC is ${mb(heap)}, baseline ${mb(baseline)} (+${mb(heap - baseline)}, allowed ${mb(slackBytes)})`);
}

/**
 * Weak references to the server-side objects of every connection
 * (Engine.IO session and its transports, Socket.IO sockets), to check that
 * none survives its connection.
 */
export class LeakTracker {
  readonly #refs: Array<{ ref: WeakRef<object>; what: string }> = [];

  constructor(handle: IoServerHandle) {
    handle.io.engine.on("connection", (conn: any) => {
      this.track(conn, "engine session");
      this.track(conn.transport, `${conn.transport.name} transport`);
      conn.on("upgrade", (transport: object) => this.track(transport, "upgraded transport"));
    });
    const onSocket = (socket: object) => this.track(socket, "socket");
    handle.io.on("connection", onSocket);
    handle.io.on("new_namespace", (nsp: any) => nsp.on("connection", onSocket));
  }

  track(value: object, what: string): void {
    this.#refs.push({ ref: new WeakRef(value), what });
  }

  get tracked(): number {
    return this.#refs.length;
  }

  /** Fails unless every tracked object except `keep` can be collected. */
  async expectCollected(keep: object[] = [], attempts = 40): Promise<void> {
    let alive: string[] = [];
    for (let i = 0; i < attempts; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      forceGc();
      alive = this.#refs.filter(({ ref }) => {
        const v = ref.deref();
        return v !== undefined && !keep.includes(v);
      }).map(({ what }) => what);
      if (alive.length === 0) return;
    }
    expect.fail(`${alive.length} server-side object(s) outlived their connection: ${[...new Set(alive)].join(", ")}`);
  }
}

// ---- raw HTTP ----------------------------------------------------------------------

export interface RawExchange {
  /** Everything the server wrote, as latin1 text. */
  text: string;
  status: number;
}

/**
 * Writes `request` on a fresh TCP connection and collects what the server
 * writes until it closes the connection (or `timeoutMs`, then the
 * connection is dropped and what came so far is returned).
 */
export function rawHttp(port: number, request: string | Buffer, timeoutMs = 3000): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ text, status });
    };
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    onClose(() => {
      socket.destroy();
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", done);
    socket.write(request);
  });
}

/** The request line and headers of a WebSocket upgrade (no blank line at the end). */
export function upgradeHead(path: string, extraHeaders = ""): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n${extraHeaders}`
  );
}

export const SIO_WS_PATH = "/socket.io/?EIO=4&transport=websocket";
export const SIO_POLLING_PATH = "/socket.io/?EIO=4&transport=polling";

// ---- a hand-written WebSocket client -------------------------------------------------

/** A client-to-server frame: masked unless told otherwise, any opcode, RSV bits or declared length. */
export function clientFrame(
  opcode: number,
  payload: string | Buffer = Buffer.alloc(0),
  opts: { fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: bigint } = {},
): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload;
  const fin = opts.fin !== false;
  const mask = opts.mask !== false;
  const length = opts.declaredLength ?? BigInt(data.length);
  const head: number[] = [(fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  if (length < 126n) head.push((mask ? 0x80 : 0) | Number(length));
  else if (length < 65536n) head.push((mask ? 0x80 : 0) | 126, Number(length >> 8n), Number(length & 0xffn));
  else {
    head.push((mask ? 0x80 : 0) | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) head.push(Number((length >> shift) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = randomBytes(4);
  const masked = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i]! ^ key[i & 3]!;
  return Buffer.concat([Buffer.from(head), key, masked]);
}

export const OP = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/**
 * A WebSocket client on a bare TCP socket: it sends whatever frames it is
 * told to (valid or not), can stop reading, and reports the messages and
 * the close code the server sends. Server pings are answered unless
 * `answerPings` is false (Engine.IO pings are messages, not these).
 */
export class RawWebSocket {
  readonly socket: net.Socket;
  /** The HTTP response head (status line and headers). */
  response = "";
  status = 0;
  /** Close code from the server's close frame (1005 for a close frame without one), or null. */
  closeCode: number | null = null;
  readonly closed: Promise<void>;
  answerPings = true;
  #buffer: Buffer = Buffer.alloc(0);
  #discard = false;
  #headDone = false;
  #fragments: Buffer[] = [];
  #fragmentOpcode = 0;
  readonly #inbox: Array<string | Buffer> = [];
  readonly #waiters: Array<{ resolve: (m: string | Buffer) => void; reject: (e: Error) => void }> = [];
  #opened!: (ok: boolean) => void;
  readonly #openPromise: Promise<boolean>;

  private constructor(port: number, head: string) {
    this.socket = net.connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.socket.on("error", () => {});
    this.#openPromise = new Promise((resolve) => (this.#opened = resolve));
    this.closed = new Promise((resolve) =>
      this.socket.once("close", () => {
        this.#opened(false);
        for (const w of this.#waiters.splice(0)) w.reject(new Error("the connection closed"));
        resolve();
      }),
    );
    this.socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    onClose(() => {
      this.socket.destroy();
    });
    this.socket.write(head + "\r\n");
  }

  /** Connects and completes the handshake; rejects unless the server answers 101. */
  static async open(port: number, path = SIO_WS_PATH, extraHeaders = ""): Promise<RawWebSocket> {
    const ws = new RawWebSocket(port, upgradeHead(path, extraHeaders));
    const ok = await withTimeout(ws.#openPromise, 3000, `WebSocket handshake on ${path}`);
    if (!ok || ws.status !== 101) throw new Error(`no 101 for ${path}: ${JSON.stringify(ws.response.slice(0, 200))}`);
    return ws;
  }

  /** A Socket.IO client on "/" over a raw WebSocket: open packet read, CONNECT answered. */
  static async socketIo(port: number, nsp = "/"): Promise<RawWebSocket> {
    const ws = await RawWebSocket.open(port);
    const open = await ws.next();
    if (typeof open !== "string" || !open.startsWith("0{")) throw new Error(`unexpected open packet ${String(open)}`);
    ws.sendText(nsp === "/" ? "40" : `40${nsp},`);
    const reply = await ws.next();
    if (typeof reply !== "string" || !reply.startsWith(nsp === "/" ? "40{" : `40${nsp},{`)) {
      throw new Error(`CONNECT refused: ${String(reply)}`);
    }
    return ws;
  }

  send(frame: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  sendText(text: string): void {
    this.send(clientFrame(OP.TEXT, text));
  }

  sendBinary(data: Buffer): void {
    this.send(clientFrame(OP.BINARY, data));
  }

  /** Stops reading: the server's writes pile up in the kernel, then in its own buffers. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Reads again but throws away whatever arrives (to see the end of a flooded connection). */
  drain(): void {
    this.#discard = true;
    this.#buffer = Buffer.alloc(0);
    this.#inbox.length = 0;
    this.socket.resume();
  }

  /** A TCP reset (RST), not an orderly close. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** The next message (text as string, binary as Buffer). */
  next(timeoutMs = 3000): Promise<string | Buffer> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.socket.destroyed) return Promise.reject(new Error("the connection is closed"));
    return withTimeout(
      new Promise<string | Buffer>((resolve, reject) => this.#waiters.push({ resolve, reject })),
      timeoutMs,
      "a WebSocket message",
    );
  }

  /** The next message that is not an Engine.IO ping/noop (pings are answered with a pong). */
  async nextMessage(timeoutMs = 3000): Promise<string | Buffer> {
    for (;;) {
      const m = await this.next(timeoutMs);
      if (m === "2") {
        this.sendText("3");
        continue;
      }
      if (m !== "6") return m;
    }
  }

  #deliver(message: string | Buffer): void {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(message);
    else this.#inbox.push(message);
  }

  #onData(chunk: Buffer): void {
    if (this.#discard) return;
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    if (!this.#headDone) {
      const end = this.#buffer.indexOf("\r\n\r\n");
      if (end === -1) return;
      this.response = this.#buffer.subarray(0, end).toString("latin1");
      this.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(this.response)?.[1] ?? 0);
      this.#buffer = this.#buffer.subarray(end + 4);
      this.#headDone = true;
      this.#opened(this.status === 101);
      if (this.status !== 101) return;
    }
    this.#parseFrames();
  }

  #parseFrames(): void {
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + length) return;
      const payload = b.subarray(offset, offset + length);
      this.#buffer = b.subarray(offset + length);
      this.#onFrame(fin, opcode, Buffer.from(payload));
    }
  }

  #onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === OP.CLOSE) {
      this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      this.send(clientFrame(OP.CLOSE, payload.subarray(0, 2)));
      this.socket.end();
      return;
    }
    if (opcode === OP.PING) {
      if (this.answerPings) this.send(clientFrame(OP.PONG, payload));
      return;
    }
    if (opcode === OP.PONG) return;
    if (opcode !== OP.CONTINUATION) this.#fragmentOpcode = opcode;
    this.#fragments.push(payload);
    if (!fin) return;
    const data = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments);
    this.#fragments = [];
    this.#deliver(this.#fragmentOpcode === OP.TEXT ? data.toString("utf8") : data);
  }
}

// ---- raw polling -----------------------------------------------------------------

/** A polling handshake on the Socket.IO path; returns the session id. */
export async function pollingHandshake(port: number, query = ""): Promise<string> {
  const res = await fetchText(port, `${SIO_POLLING_PATH}${query}`);
  if (res.status !== 200 || !res.body.startsWith("0{")) throw new Error(`handshake failed: ${res.status} ${res.body}`);
  return JSON.parse(res.body.slice(1).split("\x1e")[0]!).sid;
}

export interface TextResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request to 127.0.0.1 on its own connection (no keep-alive), bounded in time. */
export function fetchText(
  port: number,
  path: string,
  init: { method?: string; body?: string | Buffer; headers?: http.OutgoingHttpHeaders } = {},
  timeoutMs = 5000,
): Promise<TextResponse> {
  return withTimeout(
    new Promise<TextResponse>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method: init.method ?? "GET", headers: init.headers, agent: false });
      onClose(() => {
        req.destroy();
      });
      req.on("error", reject);
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.end(init.body);
    }),
    timeoutMs,
    `${init.method ?? "GET"} ${path}`,
  );
}

/**
 * The leak check every class ends with: one warm-up round of `attack`
 * (compiles code paths, fills lazy caches), a heap baseline, `rounds` more
 * rounds while the canary keeps echoing, then every server-side object of
 * the attack's connections must be collectable and the heap back near its
 * baseline. `settle` waits for the server to finish with the attack.
 */
export async function expectNoLeak(
  handle: IoServerHandle,
  canary: Canary,
  attack: () => Promise<void>,
  { rounds = 5, minTracked = 1, settle }: { rounds?: number; minTracked?: number; settle?: () => Promise<void> } = {},
): Promise<void> {
  await attack();
  await settle?.();
  const baseline = await settledHeap();
  const tracker = new LeakTracker(handle);
  await canary.during(async () => {
    for (let i = 0; i < rounds; i++) await attack();
  });
  await settle?.();
  expect(tracker.tracked).toBeGreaterThanOrEqual(minTracked);
  await tracker.expectCollected();
  await expectHeapNear(baseline);
}
