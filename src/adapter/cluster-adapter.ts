/**
 * The pieces every multi-node adapter needs: node ids, requests that wait
 * for other nodes' answers with a timeout and partial results, checks for
 * what arrives from the wire, and `ClusterAdapter`, socket.io-adapter's
 * cluster protocol (message types 1..13 in an envelope `{uid, nsp, type,
 * data}`) over any transport a subclass provides with `doPublish` and
 * `doPublishResponse`.
 */
import { randomBytes } from "node:crypto";
import { logger } from "../core/debug.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";
import { timers, type TimerEntry } from "../core/timers.js";
import { Adapter } from "./adapter.js";
import type { AdapterPacket, AdapterSocket, BroadcastFlags, BroadcastOptions, Room } from "./types.js";

const log = logger("adapter", "cluster");

/** A random node id: `bytes` random bytes as hex. */
export function nodeId(bytes = 8): string {
  return randomBytes(bytes).toString("hex");
}

// ---- requests waiting for other nodes ------------------------------------

/** A request ran out of time before every node answered. */
export class RequestTimeoutError extends TidewireError {
  /** The answers that did arrive. */
  responses: unknown[];
  constructor(what: string, received: number, expected: number, timeout: number, responses: unknown[]) {
    super(
      ErrorCodes.ACK_TIMEOUT,
      `timeout reached while waiting for ${what} responses: only ${received} responses received out of ${expected} ` +
        `within ${timeout} ms. A node may be down or overloaded; the answers that arrived are in err.responses.`,
    );
    this.name = "RequestTimeoutError";
    this.responses = responses;
  }
}

interface Pending extends TimerEntry {
  type: number | undefined;
  expected: number;
  answers: unknown[];
  onDone(answers: unknown[]): void;
  onFail(err: Error): void;
}

/**
 * Requests waiting for `expected` answers. Each settles exactly once: with
 * every answer, or with a RequestTimeoutError (carrying the partial answers)
 * after its timeout, or with the error given to `cancelAll`.
 */
export class RequestTable {
  readonly #pending = new Map<string, Pending>();
  readonly #limit: number;

  /** @param limit most requests pending at once; `open` refuses more. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#pending.size;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /**
   * Starts waiting. `what` names the operation in the timeout error.
   * Throws a TidewireError (LIMIT) when too many requests are pending.
   */
  open(
    id: string,
    init: {
      what: string;
      /** Free tag for the caller, returned by typeOf(). */
      type?: number;
      expected: number;
      timeout: number;
      onDone(answers: unknown[]): void;
      onFail(err: Error): void;
    },
  ): void {
    if (this.#pending.size >= this.#limit) {
      throw new TidewireError(
        ErrorCodes.LIMIT,
        `${init.what}: ${this.#pending.size} requests to other nodes are already waiting for answers (limit ${this.#limit}); ` +
          `retry later or raise the adapter's request limit.`,
      );
    }
    const pending: Pending = {
      type: init.type,
      expected: init.expected,
      answers: [],
      onDone: init.onDone,
      onFail: init.onFail,
      onTimeout: () => {
        if (this.#pending.get(id) !== pending) return;
        this.#pending.delete(id);
        pending.onFail(new RequestTimeoutError(init.what, pending.answers.length, pending.expected, init.timeout, pending.answers));
      },
    };
    this.#pending.set(id, pending);
    timers.arm(pending, init.timeout);
  }

  /** The `type` a pending request was opened with. */
  typeOf(id: string): number | undefined {
    return this.#pending.get(id)?.type;
  }

  /** Settles a pending request with an error at once (e.g. its message could not be sent). */
  fail(id: string, err: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    timers.disarm(pending);
    pending.onFail(err);
  }

  /** Records one node's answer. Returns false when no such request waits. */
  answer(id: string, answer: unknown): boolean {
    const pending = this.#pending.get(id);
    if (!pending) return false;
    pending.answers.push(answer);
    if (pending.answers.length >= pending.expected) {
      this.#pending.delete(id);
      timers.disarm(pending);
      pending.onDone(pending.answers);
    }
    return true;
  }

  /** Fails every pending request with `err`. */
  cancelAll(err: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) {
      timers.disarm(pending);
      pending.onFail(err);
    }
  }
}

/** Broadcasts with acks: the callbacks of a request, kept until its timeout. */
export class AckRequests {
  readonly #map = new Map<string, { clientCount(n: number): void; ack(arg: unknown): void } & TimerEntry>();

  has(id: string): boolean {
    return this.#map.has(id);
  }

  add(id: string, clientCount: (n: number) => void, ack: (arg: unknown) => void, timeout: number | undefined): void {
    // Whether every client answered is known only to the caller; the entry
    // simply lives as long as the caller waits.
    const entry = { clientCount, ack, onTimeout: () => this.#map.delete(id) };
    this.#map.set(id, entry);
    timers.arm(entry, timeout ?? 0);
  }

  clientCount(id: string, n: unknown): void {
    if (typeof n === "number" && Number.isInteger(n) && n >= 0) this.#map.get(id)?.clientCount(n);
  }

  ack(id: string, arg: unknown): void {
    this.#map.get(id)?.ack(arg);
  }

  clear(): void {
    for (const entry of this.#map.values()) timers.disarm(entry);
    this.#map.clear();
  }
}

// ---- what arrives from the wire ------------------------------------------

export function isObject(value: unknown): value is Record<string, any> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isRoom = (r: unknown): r is Room => typeof r === "string" || typeof r === "number";

/** Room lists on the wire: arrays of strings (numbers accepted, as socket.io allows them). */
export function isRoomList(value: unknown): value is Room[] {
  return Array.isArray(value) && value.every(isRoom);
}

/** `{rooms, except, flags}` from the wire as BroadcastOptions, or null when malformed. */
export function toBroadcastOptions(raw: unknown): BroadcastOptions | null {
  if (!isObject(raw) || !isRoomList(raw.rooms)) return null;
  if (raw.except !== undefined && !isRoomList(raw.except)) return null;
  if (raw.flags !== undefined && raw.flags !== null && !isObject(raw.flags)) return null;
  const flags: BroadcastFlags = {};
  const f = raw.flags ?? {};
  if (typeof f.volatile === "boolean") flags.volatile = f.volatile;
  if (typeof f.compress === "boolean") flags.compress = f.compress;
  if (typeof f.timeout === "number" && f.timeout >= 0 && f.timeout < 2 ** 31) flags.timeout = f.timeout;
  if (f.expectSingleResponse === true) flags.expectSingleResponse = true;
  return { rooms: new Set(raw.rooms), except: new Set(raw.except ?? []), flags };
}

/** The wire form of BroadcastOptions. */
export function fromBroadcastOptions(opts: BroadcastOptions): { rooms: Room[]; except: Room[]; flags?: BroadcastFlags } {
  return { rooms: [...opts.rooms], except: [...(opts.except ?? [])], flags: opts.flags };
}

// Names a client refuses to receive as events (its parser rejects them).
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);

/**
 * Whether a packet from another node may go to clients: an event without
 * ack id whose data is `[name, ...args]` with a name clients accept.
 */
export function isBroadcastablePacket(packet: unknown): packet is AdapterPacket & { data: unknown[] } {
  if (!isObject(packet) || (packet.type !== 2 && packet.type !== 5)) return false;
  if ((packet.nsp !== undefined && typeof packet.nsp !== "string") || packet.id !== undefined) return false;
  const data = packet.data;
  if (!Array.isArray(data) || data.length === 0) return false;
  return typeof data[0] === "number" || (typeof data[0] === "string" && !RESERVED.has(data[0]));
}

/** Server-side event data: `[name, ...args]` with a string name. */
export function isServerSideEvent(data: unknown): data is [string, ...unknown[]] {
  return Array.isArray(data) && data.length > 0 && typeof data[0] === "string";
}

/** A socket as another node describes it in a fetchSockets answer. */
export interface SocketDetails {
  id: string;
  handshake: Record<string, any>;
  rooms: Room[];
  data: unknown;
}

export function isSocketDetails(value: unknown): value is SocketDetails {
  return isObject(value) && typeof value.id === "string" && isObject(value.handshake) && isRoomList(value.rooms);
}

/** How a local socket is described to other nodes (the handshake without `sessionStore`, as the reference does). */
export function describeSocket(socket: AdapterSocket, rooms: Set<Room> | undefined): SocketDetails {
  const { sessionStore: _omitted, ...handshake } = socket.handshake ?? {};
  return { id: socket.id, handshake, rooms: rooms ? [...rooms] : [], data: socket.data };
}

// ---- socket.io-adapter's cluster protocol ------------------------------------

export const MessageType = {
  INITIAL_HEARTBEAT: 1,
  HEARTBEAT: 2,
  BROADCAST: 3,
  SOCKETS_JOIN: 4,
  SOCKETS_LEAVE: 5,
  DISCONNECT_SOCKETS: 6,
  FETCH_SOCKETS: 7,
  FETCH_SOCKETS_RESPONSE: 8,
  SERVER_SIDE_EMIT: 9,
  SERVER_SIDE_EMIT_RESPONSE: 10,
  BROADCAST_CLIENT_COUNT: 11,
  BROADCAST_ACK: 12,
  ADAPTER_CLOSE: 13,
} as const;

/** The envelope of every cluster message and response. */
export interface ClusterMessage {
  uid: string;
  nsp: string;
  type: number;
  data?: any;
}

/** Options shared by cluster adapters. */
export interface ClusterAdapterOptions {
  /** How long fetchSockets and serverSideEmit with ack wait for other nodes, in ms. @default 5000 */
  requestsTimeout?: number;
  /** Most requests waiting for other nodes at once. @default 1000 */
  maxPendingRequests?: number;
}

/**
 * socket.io-adapter's ClusterAdapter protocol: every operation is applied
 * locally at once and published to the other nodes (unless `local`);
 * messages from this node or another namespace are ignored, malformed ones
 * are logged and dropped.
 */
export abstract class ClusterAdapter extends Adapter {
  readonly uid: string = nodeId();
  protected readonly requestsTimeout: number;
  readonly #requests: RequestTable;
  readonly #ackRequests = new AckRequests();

  constructor(nsp: ConstructorParameters<typeof Adapter>[0], opts: ClusterAdapterOptions = {}) {
    super(nsp);
    this.requestsTimeout = opts.requestsTimeout ?? 5000;
    this.#requests = new RequestTable(opts.maxPendingRequests ?? 1000);
  }

  /** Sends a message to every other node; resolves with a recovery offset ("" when none). */
  protected abstract doPublish(message: ClusterMessage): Promise<string>;
  /** Sends a response to the node `requesterUid`. */
  protected abstract doPublishResponse(requesterUid: string, response: ClusterMessage): Promise<void>;

  /** Handles a message from another node. */
  onMessage(message: unknown): void {
    if (!isObject(message) || typeof message.uid !== "string" || typeof message.type !== "number") {
      return log("[%s] ignoring malformed message", this.uid);
    }
    if (message.uid === this.uid) return;
    if (message.nsp !== this.nsp.name) return;
    const data = message.data;
    if (message.type >= MessageType.FETCH_SOCKETS_RESPONSE && message.type !== MessageType.SERVER_SIDE_EMIT && message.type <= MessageType.BROADCAST_ACK) {
      return this.onResponse(message);
    }
    const opts = isObject(data) ? toBroadcastOptions(data.opts) : null;
    switch (message.type) {
      case MessageType.BROADCAST: {
        if (!opts || !isBroadcastablePacket(data.packet)) break;
        const packet = data.packet;
        if (data.requestId === undefined) return super.broadcast(packet, opts);
        if (typeof data.requestId !== "string") break;
        return super.broadcastWithAck(
          packet,
          opts,
          (clientCount) =>
            this.publishResponse(message.uid, { type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: data.requestId, clientCount } }),
          (arg) => this.publishResponse(message.uid, { type: MessageType.BROADCAST_ACK, data: { requestId: data.requestId, packet: arg } }),
        );
      }
      case MessageType.SOCKETS_JOIN:
      case MessageType.SOCKETS_LEAVE:
        if (!opts || !isRoomList(data.rooms)) break;
        if (message.type === MessageType.SOCKETS_JOIN) return super.addSockets(opts, data.rooms);
        return super.delSockets(opts, data.rooms);
      case MessageType.DISCONNECT_SOCKETS:
        if (!opts) break;
        return super.disconnectSockets(opts, data.close === true);
      case MessageType.FETCH_SOCKETS: {
        if (!opts || typeof data.requestId !== "string") break;
        const sockets: SocketDetails[] = [];
        this.apply(opts, (socket) => sockets.push(describeSocket(socket, this.sids.get(socket.id))));
        return this.publishResponse(message.uid, { type: MessageType.FETCH_SOCKETS_RESPONSE, data: { requestId: data.requestId, sockets } });
      }
      case MessageType.SERVER_SIDE_EMIT: {
        if (!isObject(data) || !isServerSideEvent(data.packet)) break;
        const args: unknown[] = [...data.packet];
        if (data.requestId !== undefined) {
          let called = false;
          args.push((arg: unknown) => {
            if (called) return;
            called = true;
            this.publishResponse(message.uid, { type: MessageType.SERVER_SIDE_EMIT_RESPONSE, data: { requestId: data.requestId, packet: arg } });
          });
        }
        return runListener(() => this.nsp._onServerSideEmit?.(args));
      }
      case MessageType.INITIAL_HEARTBEAT:
      case MessageType.HEARTBEAT:
      case MessageType.ADAPTER_CLOSE:
        return;
    }
    log("[%s] ignoring malformed or unknown message of type %s", this.uid, message.type);
  }

  /** Handles a response to one of this node's requests. */
  onResponse(response: unknown): void {
    if (!isObject(response) || !isObject(response.data) || typeof response.data.requestId !== "string") {
      return log("[%s] ignoring malformed response", this.uid);
    }
    const { requestId } = response.data;
    switch (response.type) {
      case MessageType.BROADCAST_CLIENT_COUNT:
        return this.#ackRequests.clientCount(requestId, response.data.clientCount);
      case MessageType.BROADCAST_ACK:
        return this.#ackRequests.ack(requestId, response.data.packet);
      case MessageType.FETCH_SOCKETS_RESPONSE: {
        const sockets = response.data.sockets;
        if (!Array.isArray(sockets)) break;
        this.#requests.answer(requestId, sockets.filter(isSocketDetails));
        return;
      }
      case MessageType.SERVER_SIDE_EMIT_RESPONSE:
        this.#requests.answer(requestId, response.data.packet);
        return;
    }
    log("[%s] ignoring malformed response of type %s", this.uid, response.type);
  }

  // The packet is published as given (without nsp, as the reference does);
  // the local broadcast then sets packet.nsp.
  override broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    if (!opts.flags?.local) this.publish({ type: MessageType.BROADCAST, data: { packet, opts: fromBroadcastOptions(opts) } });
    super.broadcast(packet, opts);
  }

  override broadcastWithAck(
    packet: AdapterPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: any[]) => void,
  ): void {
    if (!opts.flags?.local) {
      const requestId = nodeId();
      this.#ackRequests.add(requestId, clientCountCallback, ack, opts.flags?.timeout);
      this.publish({ type: MessageType.BROADCAST, data: { packet, requestId, opts: fromBroadcastOptions(opts) } });
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.publish({ type: MessageType.SOCKETS_JOIN, data: { opts: fromBroadcastOptions(opts), rooms } });
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.publish({ type: MessageType.SOCKETS_LEAVE, data: { opts: fromBroadcastOptions(opts), rooms } });
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local) this.publish({ type: MessageType.DISCONNECT_SOCKETS, data: { opts: fromBroadcastOptions(opts), close } });
    super.disconnectSockets(opts, close);
  }

  override async fetchSockets(opts: BroadcastOptions): Promise<any[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const expected = (await this.serverCount()) - 1;
    if (expected <= 0) return local;
    const requestId = nodeId();
    return new Promise((resolve, reject) => {
      this.#requests.open(requestId, {
        what: "fetchSockets",
        expected,
        timeout: opts.flags?.timeout ?? this.requestsTimeout,
        onDone: (answers) => resolve(local.concat(...(answers as SocketDetails[][]))),
        onFail: (err) => {
          if (err instanceof RequestTimeoutError) (err as any).responses = local.concat(...(err.responses as SocketDetails[][]));
          reject(err);
        },
      });
      this.publish({ type: MessageType.FETCH_SOCKETS, data: { opts: fromBroadcastOptions(opts), requestId } });
    });
  }

  override serverSideEmit(packet: any[]): void {
    if (typeof packet[packet.length - 1] !== "function") {
      this.publish({ type: MessageType.SERVER_SIDE_EMIT, data: { packet } });
      return;
    }
    const ack = packet.pop() as (err: Error | null, responses: unknown[]) => void;
    this.serverCount().then(
      (count) => {
        const expected = count - 1;
        if (expected <= 0) return ack(null, []);
        const requestId = nodeId();
        this.#requests.open(requestId, {
          what: "serverSideEmit",
          expected,
          timeout: this.requestsTimeout,
          onDone: (answers) => ack(null, answers),
          onFail: (err) => ack(err, (err as RequestTimeoutError).responses ?? []),
        });
        this.publish({ type: MessageType.SERVER_SIDE_EMIT, data: { requestId, packet } });
      },
      (err) => ack(err instanceof Error ? err : new Error(String(err)), []),
    ).catch((err) => ack(err, []));
  }

  override close(): Promise<void> | void {
    this.#requests.cancelAll(new TidewireError(ErrorCodes.NOT_RUNNING, "the adapter was closed before other nodes answered"));
    this.#ackRequests.clear();
  }

  /** Publishes a message; failures are logged (the operation already ran locally). */
  protected publish(message: Omit<ClusterMessage, "uid" | "nsp">): void {
    const full = { uid: this.uid, nsp: this.nsp.name, ...message } as ClusterMessage;
    run(() => this.doPublish(full)).catch((err) => log("[%s] publishing a message of type %d failed: %s", this.uid, message.type, err?.message ?? err));
  }

  protected publishResponse(requesterUid: string, response: Omit<ClusterMessage, "uid" | "nsp">): void {
    const full = { uid: this.uid, nsp: this.nsp.name, ...response } as ClusterMessage;
    run(() => this.doPublishResponse(requesterUid, full)).catch((err) =>
      log("[%s] publishing a response of type %d failed: %s", this.uid, response.type, err?.message ?? err),
    );
  }
}

/** `promise`, or a TidewireError (ACK_TIMEOUT) with `message` after `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TidewireError(ErrorCodes.ACK_TIMEOUT, message)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Runs an application listener outside the transport's callback: an
 * exception it throws surfaces as any listener exception would, without
 * leaving the Redis client (or other transport) mid-dispatch.
 */
export function runListener(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}
