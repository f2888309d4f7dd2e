/**
 * The one cluster core of every bus adapter (tidewire/redis classic and
 * sharded, tidewire/redis-streams, a node:cluster one): socket.io-adapter's
 * cluster protocol over a BusTransport. It owns what used to be written per
 * adapter: requests and their answers, partial results on timeout, acks of
 * broadcasts across nodes, node counting (by the transport, or by
 * heartbeats), serverSideEmit with acks, fetchSockets, and the checks of
 * everything received.
 *
 * Every operation runs on this node at once and is published for the others
 * (unless `local`). Exception: with connection state recovery on and an
 * ordered transport, a recoverable broadcast is delivered here when it comes
 * back from the log, so this node delivers in log order (see
 * BusTransport.ordered).
 */
import { logger } from "../../core/debug.js";
import { ErrorCodes, TidewireError } from "../../core/errors.js";
import { SESSION_ROUTER, type SessionRouter } from "../../core/routing.js";
import { ForwardingRouter, resolveForwardingOptions, type ForwardingOptions } from "../../forward/index.js";
import { Adapter } from "../adapter.js";
import { endScope, FACT_ADAPTER_REQUEST, FACT_REMOTE, facts } from "../../observe/facts.js";
import { actOnRemote, stampContext } from "./context.js";
import type { AdapterNamespace, AdapterPacket, BroadcastOptions, Room, SocketId } from "../types.js";
import { Membership, type MembershipOptions } from "./membership.js";
import { dispatchMessage, receiveResponse, type LocalNode } from "./incoming.js";
import {
  MessageType,
  describeSocket,
  fromBroadcastOptions,
  isObject,
  isRecoverable,
  nodeId,
  type ClusterMessage,
  type SocketDetails,
} from "./messages.js";
import { AckRequests, RequestTable, RequestTimeoutError } from "./requests.js";
import type { BusHost, BusTransport } from "./transport.js";

const log = logger("adapter", "bus");

/** Options of the cluster core, shared by every bus adapter. */
export interface BusAdapterOptions extends MembershipOptions {
  /** How long fetchSockets, serverSideEmit with an ack and other requests wait for other nodes, in ms. @default 5000 */
  requestsTimeout?: number;
  /** Most requests waiting for other nodes at once; past it a request fails at once. @default 1000 */
  maxPendingRequests?: number;
  /** This node's id (a random one by default). */
  uid?: string;
  /**
   * Session forwarding: a polling request or WebSocket upgrade that reaches
   * a node that does not hold its session is handed to the node that does,
   * so no sticky sessions are needed. `false` turns it off.
   * @default true
   */
  forwarding?: boolean | ForwardingOptions;
}

/** Builds the transport of one adapter, given what the core offers it. */
export type TransportFactory<T extends BusTransport = BusTransport> = (host: BusHost) => T;

export class BusAdapter<T extends BusTransport = BusTransport> extends Adapter {
  readonly uid: string;
  readonly requestsTimeout: number;
  /** The transport; subclasses reach their bus-specific parts through it. */
  protected readonly transport: T;
  readonly #requests: RequestTable;
  readonly #acks = new AckRequests();
  /** Set when the transport cannot count nodes. */
  readonly #membership: Membership | null;
  readonly #deferRecoverable: boolean;
  /** The main namespace's adapter forwards sessions for the whole server. */
  readonly #router: ForwardingRouter | null;
  /** What incoming messages may do on this node. */
  readonly #node: LocalNode;
  #closed = false;

  constructor(nsp: AdapterNamespace, transport: TransportFactory<T>, opts: BusAdapterOptions = {}) {
    super(nsp);
    this.uid = opts.uid ?? nodeId();
    this.requestsTimeout = opts.requestsTimeout ?? 5000;
    this.#requests = new RequestTable(opts.maxPendingRequests ?? 1000);
    this.#node = this.#localNode();
    const host: BusHost = {
      uid: this.uid,
      nsp: nsp.name,
      hasRoom: (room) => this.rooms.has(room),
      receive: (message, offset) => this.#receive(message, offset),
      receiveResponse: (response) => this.#receiveResponse(response),
      requestType: (id) => this.#requests.typeOf(id) ?? (this.#acks.has(id) ? MessageType.BROADCAST : undefined),
    };
    this.transport = transport(host);
    this.#membership =
      typeof this.transport.serverCount === "function"
        ? null
        : new Membership(opts, () => this.publish({ type: MessageType.HEARTBEAT }), (uid) => this.#requests.nodeGone(uid));
    const server = nsp.server as { opts?: any; _opts?: any };
    this.#deferRecoverable = this.transport.ordered === true && Boolean((server._opts ?? server.opts)?.connectionStateRecovery);
    const forwarding = nsp.name === "/" && typeof this.transport.link === "function" ? resolveForwardingOptions(opts.forwarding) : null;
    this.#router = forwarding !== null ? new ForwardingRouter((this.transport.link as () => any)(), forwarding) : null;
  }

  /** The session router the Socket.IO server hands to its engine (main namespace only). */
  get [SESSION_ROUTER](): SessionRouter | null {
    return this.#router;
  }

  /** Whether connection state recovery is on and broadcasts carry offsets of the transport's log. */
  protected get recoversFromLog(): boolean {
    return this.#deferRecoverable;
  }

  /** Resolves once the transport receives (failures are logged, never rejected). */
  override init(): Promise<void> {
    const joined = this.transport.init().then(() => {
      if (!this.#membership || this.#closed) return;
      this.#membership.start();
      this.publish({ type: MessageType.INITIAL_HEARTBEAT });
    });
    return this.#router === null ? joined : Promise.all([joined, this.#router.start()]).then(() => undefined);
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#membership) {
      this.publish({ type: MessageType.ADAPTER_CLOSE });
      this.#membership.stop();
    }
    this.#requests.cancelAll(new TidewireError(ErrorCodes.NOT_RUNNING, "the adapter was closed before the other nodes answered"));
    this.#acks.clear();
    await Promise.all([this.transport.close(), this.#router?.close()]);
  }

  // ---- outgoing -------------------------------------------------------------

  override broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    if (opts.flags?.local) return super.broadcast(packet, opts);
    // The packet is published as given (without nsp, as the reference does).
    this.publish({ type: MessageType.BROADCAST, data: { packet, opts: fromBroadcastOptions(opts) } });
    // Delivered here when read back from the log, in log order.
    if (this.#deferRecoverable && isRecoverable(packet, opts)) return;
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
      this.#acks.add(requestId, clientCountCallback, ack, opts.flags?.timeout);
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

  /** The sockets matched by `opts` on every node: local Socket objects first, then other nodes' details. */
  override async fetchSockets(opts: BroadcastOptions): Promise<any[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const timeout = opts.flags?.timeout ?? this.requestsTimeout;
    try {
      const answers = await this.request("fetchSockets", MessageType.FETCH_SOCKETS, timeout, { opts: fromBroadcastOptions(opts) });
      return local.concat(...(answers as SocketDetails[][]));
    } catch (err) {
      if (err instanceof RequestTimeoutError) err.responses = local.concat(...(err.responses as SocketDetails[][]));
      throw err;
    }
  }

  override serverSideEmit(packet: any[]): void {
    if (typeof packet[packet.length - 1] !== "function") {
      this.publish({ type: MessageType.SERVER_SIDE_EMIT, data: { packet } });
      return;
    }
    const ack = packet.pop() as (err: Error | null, responses: unknown[]) => void;
    this.request("serverSideEmit", MessageType.SERVER_SIDE_EMIT, this.requestsTimeout, { packet }).then(
      (responses) => ack(null, responses),
      (err) => ack(err, err instanceof RequestTimeoutError ? err.responses : []),
    );
  }

  /** Ids of the sockets in any of `rooms` (all when empty), on every node the transport can ask. */
  override async sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = await super.sockets(rooms);
    if (!this.transport.extendedRequests) return ids;
    const answers = await this.request("allSockets", MessageType.SOCKETS, this.requestsTimeout, { rooms: [...rooms] });
    for (const list of answers as string[][]) for (const id of list) ids.add(id);
    return ids;
  }

  /** Every room that exists on any node the transport can ask. */
  async allRooms(): Promise<Set<Room>> {
    const rooms = new Set<Room>(this.rooms.keys());
    if (!this.transport.extendedRequests) return rooms;
    const answers = await this.request("allRooms", MessageType.ALL_ROOMS, this.requestsTimeout, {});
    for (const list of answers as Room[][]) for (const room of list) rooms.add(room);
    return rooms;
  }

  /** Nodes serving this namespace, this one included. */
  override serverCount(): Promise<number> {
    if (this.#membership) return Promise.resolve(1 + this.#membership.size);
    return (this.transport.serverCount as () => Promise<number>)();
  }

  /**
   * Publishes a request and waits for the other nodes' answers: as many as
   * the transport counts, or one from each node known by heartbeat.
   */
  protected async request(what: string, type: number, timeout: number, data: Record<string, unknown>): Promise<unknown[]> {
    let expected: number | string[];
    if (this.#membership) expected = [...this.#membership.others];
    else expected = Math.max(0, (await this.serverCount()) - 1);
    if (expected === 0 || (Array.isArray(expected) && expected.length === 0)) return [];
    const requestId = nodeId();
    const scope =
      (facts.mask & FACT_ADAPTER_REQUEST) !== 0
        ? facts.adapterRequest({ namespace: this.nsp.name, request: what, requestId, timeoutMs: timeout })
        : undefined;
    const answered = new Promise<unknown[]>((resolve, reject) => {
      this.#requests.open(requestId, { what, type, expected, timeout, onDone: resolve, onFail: reject });
      const message = { uid: this.uid, nsp: this.nsp.name, type, data: { ...data, requestId } };
      this.#membership?.published();
      const publish = () =>
        run(() => {
          stampContext(message);
          return this.transport.publish(message);
        });
      (scope?.run ? scope.run(publish) : publish()).catch((err) => {
        log("[%s] %s request could not be published: %s", this.uid, what, err?.message ?? err);
        this.#requests.fail(requestId, err instanceof Error ? err : new Error(String(err)));
      });
    });
    if (scope === undefined) return answered;
    answered.then(
      () => endScope(scope),
      (err) => endScope(scope, err),
    );
    return answered;
  }

  /** Publishes a message; failures are logged (the operation already ran locally). */
  protected publish(message: Omit<ClusterMessage, "uid" | "nsp">): void {
    const full = { uid: this.uid, nsp: this.nsp.name, ...message } as ClusterMessage;
    stampContext(full);
    this.#membership?.published();
    run(() => this.transport.publish(full)).catch((err) =>
      log("[%s] publishing a message of type %d failed: %s", this.uid, message.type, err?.message ?? err),
    );
  }

  protected publishResponse(requesterUid: string, response: Omit<ClusterMessage, "uid" | "nsp">): void {
    const full = { uid: this.uid, nsp: this.nsp.name, ...response } as ClusterMessage;
    let sent: Promise<void>;
    try {
      sent = this.transport.publishResponse(requesterUid, full);
    } catch (err) {
      if (response.type !== MessageType.FETCH_SOCKETS_RESPONSE) {
        return log("[%s] response of type %d not encodable: %s", this.uid, response.type, (err as Error).message);
      }
      // socket.data that cannot be serialized must not cost the requester its whole answer.
      console.warn(`tidewire: socket.data of a fetched socket cannot be serialized (${(err as Error).message}); sending it as null`);
      const sockets = (response.data.sockets as SocketDetails[]).map((s) => ({ ...s, data: null }));
      sent = run(() => this.transport.publishResponse(requesterUid, { ...full, data: { ...response.data, sockets } }));
    }
    sent.catch((err) => log("[%s] publishing a response of type %d failed: %s", this.uid, response.type, err?.message ?? err));
  }

  /**
   * Delivers a broadcast from the bus to this node's sockets. `offset` is
   * its position in the transport's log, if any. Subclasses that keep
   * recovery state see every logged broadcast here, even those with no
   * recipient on this node.
   */
  protected deliver(packet: AdapterPacket & { data: unknown[] }, opts: BroadcastOptions, offset: string | undefined): void {
    if (offset !== undefined && this.#deferRecoverable && isRecoverable(packet, opts)) packet.data.push(offset);
    // Without a member of any target room here, not even the encoding is needed.
    if (opts.rooms.size > 0 && !this.#hasAnyRoom(opts.rooms)) return;
    super.broadcast(packet, opts);
  }

  #hasAnyRoom(rooms: Set<Room>): boolean {
    for (const room of rooms) if (this.rooms.has(room)) return true;
    return false;
  }

  // ---- incoming -------------------------------------------------------------

  #receive(message: unknown, offset: string | undefined): void {
    if (this.#closed) return;
    if (!isObject(message) || typeof message.uid !== "string" || typeof message.type !== "number") {
      return log("[%s] ignoring malformed message", this.uid);
    }
    if (message.uid === this.uid) {
      // Own broadcasts come back from an ordered log; with recovery they are delivered now.
      if (offset === undefined || !this.#deferRecoverable || message.type !== MessageType.BROADCAST) return;
      const data = message.data;
      if (!isObject(data) || data.requestId !== undefined || !isObject(data.packet) || !isRecoverable(data.packet as AdapterPacket, data.opts ?? {})) return;
    } else {
      this.#membership?.seen(message.uid);
    }
    if (message.nsp !== this.nsp.name) return;
    try {
      const done =
        (facts.mask & FACT_REMOTE) !== 0
          ? actOnRemote(message as ClusterMessage, () => dispatchMessage(this.#node, message as ClusterMessage, offset))
          : dispatchMessage(this.#node, message as ClusterMessage, offset);
      if (!done) log("[%s] ignoring malformed or unknown message of type %s", this.uid, message.type);
    } catch (err) {
      log("[%s] message of type %d failed: %s", this.uid, message.type, (err as Error).message);
    }
  }

  #receiveResponse(response: unknown): void {
    if (this.#closed) return;
    receiveResponse(this.#node, response);
  }

  /** This node as incoming messages see it: its own parts of the operations, and its replies. */
  #localNode(): LocalNode {
    const adapter = this;
    return {
      uid: this.uid,
      get membership() {
        return adapter.#membership;
      },
      requests: this.#requests,
      acks: this.#acks,
      deliver: (packet, opts, offset) => this.deliver(packet, opts, offset),
      broadcastWithAck: (packet, opts, clientCountCallback, ack) => super.broadcastWithAck(packet, opts, clientCountCallback, ack),
      addSockets: (opts, rooms) => super.addSockets(opts, rooms),
      delSockets: (opts, rooms) => super.delSockets(opts, rooms),
      disconnectSockets: (opts, close) => super.disconnectSockets(opts, close),
      describeSockets: (opts) => {
        const sockets: SocketDetails[] = [];
        this.apply(opts, (socket) => sockets.push(describeSocket(socket, this.sids.get(socket.id))));
        return sockets;
      },
      socketIds: (rooms) => {
        const sockets: SocketId[] = [];
        this.apply({ rooms: new Set(rooms) }, (socket) => sockets.push(socket.id));
        return sockets;
      },
      roomNames: () => [...this.rooms.keys()],
      serverSideEmit: (args) => this.nsp._onServerSideEmit?.(args),
      publish: (message) => this.publish(message),
      publishResponse: (requesterUid, response) => this.publishResponse(requesterUid, response),
    };
  }
}

function run<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}
