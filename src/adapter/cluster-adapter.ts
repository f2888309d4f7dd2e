/**
 * The pieces every multi-node adapter needs: node ids, requests that wait
 * for other nodes' answers with a timeout and partial results (from
 * cluster-requests.ts), checks for what arrives from the wire, and
 * `ClusterAdapter`, socket.io-adapter's cluster protocol (message types
 * 1..13 in an envelope `{uid, nsp, type, data}`) over any transport a
 * subclass provides with `doPublish` and `doPublishResponse`.
 */
import { randomBytes } from "node:crypto";
import { logger } from "../core/debug.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";
import { Adapter } from "./adapter.js";
import { AckRequests, RequestTable, RequestTimeoutError } from "./cluster-requests.js";
import type { AdapterPacket, AdapterSocket, BroadcastFlags, BroadcastOptions, Room } from "./types.js";

export { AckRequests, RequestTable, RequestTimeoutError, withDeadline } from "./cluster-requests.js";

const log = logger("adapter", "cluster");

/** A random node id: `bytes` random bytes as hex. */
export function nodeId(bytes = 8): string {
  return randomBytes(bytes).toString("hex");
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
