/**
 * `io.drain()`: takes a node out of service without dropping its clients on
 * the floor. New handshakes are refused (503 + Retry-After, by the engine);
 * the sessions open at the start are closed at the transport level, one at
 * a time, at random moments spread evenly over `durationMs` (`batch` per
 * slot, never bunched), so that the official client
 * reconnects by itself (to another node behind the load balancer) and the
 * other nodes see the reconnections arrive at a steady rate.
 *
 * Per session: wait for the acknowledgements in flight (either way) to
 * settle, or `ackTimeoutMs`; end its sockets with "server shutting down"
 * (connection-state recovery saves each session then) and wait for the
 * session store; then close the transport in the orderly way (the queue is
 * flushed first). The promise resolves when the last session is gone.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { logger } from "../core/debug.js";
import { invalidOption } from "../core/errors.js";
import type { Server as EngineServer, Socket as EngineSocket } from "../engine/index.js";
import { withCause, type CauseRequest } from "../observe/causes.js";
import type { Connection } from "./connection.js";
import type { Namespace } from "./namespace.js";

const log = logger("io", "drain");

/** Options of `io.drain()`. */
export interface DrainOptions {
  /**
   * The closes are spread over this many milliseconds: each batch of
   * clients gets an equal slot, and each client of a batch a random moment
   * of its own part of the slot (so closes never bunch).
   * @default 30000
   */
  durationMs?: number;
  /**
   * `Retry-After` (seconds) of the 503 answered to new handshakes.
   * @default delayMs + durationMs, rounded up to whole seconds (at least 1)
   */
  retryAfterS?: number;
  /**
   * How long to wait, after new handshakes start being refused and `ready`
   * turns false, before the first client is closed: give the load balancer's
   * health check this long to stop sending clients here, so that the
   * clients closed by the drain reconnect to another node at the first try.
   * @default 0
   */
  delayMs?: number;
  /**
   * Clients per slot.
   * @default enough for one slot per 100 ms: ceil(clients / (durationMs / 100))
   */
  batch?: number;
  /**
   * How long a client's close waits for acknowledgements in flight on its
   * connection (the server's emits waiting for the client's ack, and the
   * client's events whose ack the application has not sent yet). Acks with
   * their own `timeout()` settle by it earlier.
   * @default 5000
   */
  ackTimeoutMs?: number;
}

/** How often clients waiting for their acks are looked at again. */
const ACK_POLL_MS = 20;
/** How long a close waits for an asynchronous session store before closing anyway. */
const PERSIST_TIMEOUT_MS = 5000;

const DRAIN_CAUSE: CauseRequest = { code: "server_drain" };

interface Resolved {
  durationMs: number;
  delayMs: number;
  retryAfterS: number;
  batch: number | undefined;
  ackTimeoutMs: number;
}

export function resolveDrainOptions(opts: DrainOptions = {}): Resolved {
  const durationMs = opts.durationMs ?? 30_000;
  if (typeof durationMs !== "number" || !(durationMs >= 0) || !Number.isFinite(durationMs)) {
    throw invalidOption("durationMs", "a number of milliseconds, 0 or more", opts.durationMs);
  }
  const retryAfterS = opts.retryAfterS ?? Math.max(1, Math.ceil(((opts.delayMs ?? 0) + durationMs) / 1000));
  if (!Number.isInteger(retryAfterS) || retryAfterS < 0) {
    throw invalidOption("retryAfterS", "a whole number of seconds, 0 or more", opts.retryAfterS);
  }
  const batch = opts.batch;
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) {
    throw invalidOption("batch", "a whole number of clients, at least 1", batch);
  }
  const delayMs = opts.delayMs ?? 0;
  if (typeof delayMs !== "number" || !(delayMs >= 0) || !Number.isFinite(delayMs)) {
    throw invalidOption("delayMs", "a number of milliseconds, 0 or more", opts.delayMs);
  }
  const ackTimeoutMs = opts.ackTimeoutMs ?? 5000;
  if (typeof ackTimeoutMs !== "number" || !(ackTimeoutMs >= 0)) {
    throw invalidOption("ackTimeoutMs", "a number of milliseconds, 0 or more", opts.ackTimeoutMs);
  }
  return { durationMs, delayMs, retryAfterS, batch, ackTimeoutMs };
}

/** The Connections of the sessions that joined a namespace, found through the namespaces' sockets. */
export type ConnectionFinder = () => Map<EngineSocket, Connection>;

interface Waiting {
  session: EngineSocket;
  connection: Connection;
  deadline: number;
}

interface Planned {
  session: EngineSocket;
  at: number;
}

export class Drain {
  readonly promise: Promise<void>;
  readonly #engine: EngineServer | null;
  readonly #find: ConnectionFinder;
  readonly #opts: Resolved;
  #connections: Map<EngineSocket, Connection> | null = null;
  #plan: Planned[] = [];
  #next = 0;
  #batchSize = 1;
  #slotMs = 0;
  #start = 0;
  #timer: NodeJS.Timeout | null = null;
  /** Sessions whose acks are still in flight, with their deadline. */
  #waiting: Waiting[] = [];
  #ackTimer: NodeJS.Timeout | null = null;
  #remaining = 0;
  #resolve!: () => void;

  constructor(engine: EngineServer | null, find: ConnectionFinder, opts: Resolved) {
    this.#engine = engine;
    this.#find = find;
    this.#opts = opts;
    this.promise = new Promise((resolve) => (this.#resolve = resolve));
  }

  /** The `Retry-After` of the refusals, in seconds. */
  get retryAfterS(): number {
    return this.#opts.retryAfterS;
  }

  start(): void {
    const engine = this.#engine;
    if (engine === null) return this.#finish();
    engine.startDraining(this.#opts.retryAfterS);
    const sessions: EngineSocket[] = [];
    for (const id in engine.clients) sessions.push(engine.clients[id]);
    this.#remaining = sessions.length;
    if (log.enabled) log("draining %d session(s) over %d ms", sessions.length, this.#opts.durationMs);
    if (sessions.length === 0) return this.#finish();
    for (const session of sessions) session.once("close", this.#onSessionClose);
    this.#batchSize = batchSize(sessions.length, this.#opts.durationMs, this.#opts.batch);
    this.#slotMs = this.#opts.durationMs / Math.ceil(sessions.length / this.#batchSize);
    this.#plan = schedule(sessions, this.#opts.durationMs, this.#opts.batch);
    this.#start = Date.now() + this.#opts.delayMs;
    this.#run();
  }

  #onSessionClose = (): void => {
    if (--this.#remaining === 0) this.#finish();
  };

  #finish(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#ackTimer !== null) clearInterval(this.#ackTimer);
    this.#timer = this.#ackTimer = null;
    this.#plan = [];
    this.#waiting = [];
    if (log.enabled) log("drain complete");
    this.#resolve();
  }

  /**
   * Closes the sessions whose moment has come, then sleeps until the next
   * one. At most one batch per run: when the event loop was held up, the
   * backlog goes out a batch per slot rather than all at once (the drain
   * then takes longer, the other nodes never see a burst).
   */
  #run = (): void => {
    this.#timer = null;
    const elapsed = Date.now() - this.#start;
    if (elapsed < 0) {
      this.#timer = setTimeout(this.#run, -elapsed);
      return;
    }
    const plan = this.#plan;
    let closed = 0;
    while (this.#next < plan.length && plan[this.#next].at <= elapsed && closed < this.#batchSize) {
      this.#close(plan[this.#next++].session);
      closed++;
    }
    if (this.#next < plan.length) {
      const behind = closed === this.#batchSize && plan[this.#next].at <= elapsed;
      this.#timer = setTimeout(this.#run, behind ? Math.max(1, this.#slotMs) : Math.max(1, plan[this.#next].at - elapsed));
    }
  };

  #connectionOf(session: EngineSocket): Connection | undefined {
    this.#connections ??= this.#find();
    let connection = this.#connections.get(session);
    // A session may have joined its first namespace after the drain began.
    if (connection === undefined) {
      this.#connections = this.#find();
      connection = this.#connections.get(session);
    }
    return connection;
  }

  #close(session: EngineSocket): void {
    if (session.readyState !== "open") return;
    const connection = this.#connectionOf(session);
    if (connection === undefined) {
      session.close(false, DRAIN_CAUSE);
      return;
    }
    if (connection.hasAcksInFlight() && this.#opts.ackTimeoutMs > 0) {
      this.#waiting.push({ session, connection, deadline: Date.now() + this.#opts.ackTimeoutMs });
      this.#ackTimer ??= setInterval(this.#checkAcks, ACK_POLL_MS);
      return;
    }
    this.#end(session, connection);
  }

  #checkAcks = (): void => {
    const now = Date.now();
    const still: Waiting[] = [];
    for (const entry of this.#waiting) {
      if (entry.session.readyState !== "open") continue;
      if (entry.connection.hasAcksInFlight() && now < entry.deadline) still.push(entry);
      else this.#end(entry.session, entry.connection);
    }
    this.#waiting = still;
    if (still.length === 0 && this.#ackTimer !== null) {
      clearInterval(this.#ackTimer);
      this.#ackTimer = null;
    }
  };

  /** Ends the sockets (saving their sessions), then closes the transport once the store has them. */
  #end(session: EngineSocket, connection: Connection): void {
    const saved = connection.disconnectForDrain(withCause(undefined, { ...DRAIN_CAUSE, transport: session.transport.name }));
    if (saved === undefined) {
      session.close(false, DRAIN_CAUSE);
      return;
    }
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.close(false, DRAIN_CAUSE);
    };
    const timer = setTimeout(close, PERSIST_TIMEOUT_MS);
    saved.then(close, close);
  }
}

/**
 * A readiness check's answer: `200 {"ready":true}`, or `503
 * {"ready":false,"cause":...}` (with `Retry-After` while draining).
 */
export function answerReadiness(res: ServerResponse, cause: string | null, retryAfterS: number | undefined): void {
  const body = JSON.stringify(cause === null ? { ready: true } : { ready: false, cause });
  const headers: OutgoingHttpHeaders = {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  };
  if (retryAfterS !== undefined) headers["Retry-After"] = String(retryAfterS);
  res.writeHead(cause === null ? 200 : 503, headers);
  res.end(body);
}

/** Clients per slot: `batch`, or enough for one slot per 100 ms. */
function batchSize(n: number, durationMs: number, batch: number | undefined): number {
  return batch ?? Math.max(1, Math.ceil(n / Math.max(1, Math.floor(durationMs / 100))));
}

/**
 * When each session closes, in ms from the start (ascending): sessions in
 * random order, `batch` per slot, each at a random moment of its own part
 * of the slot.
 */
export function schedule(sessions: EngineSocket[], durationMs: number, batch: number | undefined): Planned[] {
  const n = sessions.length;
  const size = batchSize(n, durationMs, batch);
  const slots = Math.ceil(n / size);
  const slot = durationMs / slots;
  const order = sessions.slice();
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  // Stratified jitter: the k-th client of a slot closes at a random moment of the slot's k-th
  // sub-slot, so closes are random yet never bunch: any window of one slot holds at most batch + 1.
  const step = slot / size;
  const plan: Planned[] = new Array(n);
  for (let i = 0; i < n; i++) {
    plan[i] = { session: order[i], at: Math.floor(i / size) * slot + ((i % size) + Math.random()) * step };
  }
  return plan;
}

/** The Connection of every session that has a socket (connected or in its middlewares). */
export function connectionsOf(nsps: Iterable<Namespace<any, any, any, any>>): Map<EngineSocket, Connection> {
  const map = new Map<EngineSocket, Connection>();
  for (const nsp of nsps) {
    for (const socket of nsp.sockets.values()) map.set(socket.client.conn, socket.client);
    for (const socket of nsp._preConnectSockets.values()) map.set(socket.client.conn, socket.client);
  }
  return map;
}
