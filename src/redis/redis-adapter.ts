import { logger } from "../core/debug.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";
import { Adapter } from "../adapter/adapter.js";
import {
  AckRequests,
  RequestTable,
  RequestTimeoutError,
  describeSocket,
  fromBroadcastOptions,
  isBroadcastablePacket,
  isObject,
  isRoomList,
  isServerSideEvent,
  isSocketDetails,
  nodeId,
  runListener,
  toBroadcastOptions,
  withDeadline,
  type SocketDetails,
} from "../adapter/cluster-adapter.js";
import type { AdapterNamespace, AdapterPacket, BroadcastOptions, Room, SocketId } from "../adapter/types.js";
import { acquirePubSub, type PubSub, type RedisClient } from "./client.js";
import { resolveRedisOptions, type RedisAdapterOptions } from "./options.js";
import { RequestType, channelsOf, decodeMessage, encodeMessage, type Parser } from "./protocol.js";

const log = logger("redis", "adapter");

const isNumeric = (s: string) => s !== "" && !Number.isNaN(Number(s)) && !Number.isNaN(parseFloat(s));

/**
 * Fan-out over Redis pub/sub, wire-compatible with @socket.io/redis-adapter
 * 8.3 and @socket.io/redis-emitter (see protocol.ts for the channels).
 *
 * Every operation runs on this node at once and is published for the others
 * (unless `local`). A broadcast reaches another node as one message that it
 * encodes once for all its recipients; a node without members of the target
 * rooms does not even encode it. Requests (fetchSockets, allRooms,
 * serverSideEmit with ack, allSockets) wait for the number of nodes Redis
 * reports (`PUBSUB NUMSUB`), at most `requestsTimeout`.
 */
export class RedisAdapter extends Adapter {
  readonly uid: string = nodeId(6);
  readonly pubClient: RedisClient;
  readonly subClient: RedisClient;
  readonly requestsTimeout: number;
  readonly publishOnSpecificResponseChannel: boolean;
  readonly parser: Parser;
  readonly channel: string;
  readonly requestChannel: string;
  readonly responseChannel: string;
  readonly specificResponseChannel: string;
  readonly #pubsub: PubSub;
  readonly #release: () => void;
  readonly #requests: RequestTable;
  readonly #ackRequests = new AckRequests();
  readonly #ready: Promise<void>;
  #closed = false;

  constructor(nsp: AdapterNamespace, pubClient: RedisClient, subClient: RedisClient, opts: RedisAdapterOptions = {}) {
    super(nsp);
    const o = resolveRedisOptions(opts);
    this.pubClient = pubClient;
    this.subClient = subClient;
    this.requestsTimeout = o.requestsTimeout;
    this.publishOnSpecificResponseChannel = o.publishOnSpecificResponseChannel;
    this.parser = o.parser;
    const ch = channelsOf(o.key, nsp.name, this.uid);
    this.channel = ch.broadcast;
    this.requestChannel = ch.request;
    this.responseChannel = ch.response;
    this.specificResponseChannel = ch.specificResponse;
    const { pubsub, release } = acquirePubSub(pubClient, subClient, { maxPendingPublishBytes: o.limits.pendingPublishBytes });
    this.#pubsub = pubsub;
    this.#release = release;
    this.#requests = new RequestTable(o.limits.pendingRequests);
    this.#ready = Promise.all([
      pubsub.subscribe("pattern", ch.pattern, this.#onBroadcastMessage),
      pubsub.subscribe("channel", ch.request, this.#onRequestMessage),
      pubsub.subscribe("channel", ch.response, this.#onResponseMessage),
      pubsub.subscribe("channel", ch.specificResponse, this.#onResponseMessage),
    ]).then(
      () => log("[%s] subscribed to the channels of namespace %s", this.uid, nsp.name),
      (err) =>
        log("[%s] subscribing failed (is the subscriber client connected? call connect() first): %s", this.uid, err?.message ?? err),
    );
  }

  /** Resolves once the subscriptions are in place (failures are logged, never rejected). */
  override init(): Promise<void> {
    return this.#ready;
  }

  // ---- outgoing -------------------------------------------------------------

  override broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    packet.nsp = this.nsp.name;
    if (!opts.flags?.local) {
      const payload = this.parser.encode([this.uid, packet, fromBroadcastOptions(opts)]);
      // A single room has its own channel, so nodes without it can skip the message unread.
      const channel = opts.rooms.size === 1 ? this.channel + opts.rooms.values().next().value + "#" : this.channel;
      this.#publish(channel, payload, "broadcast");
    }
    super.broadcast(packet, opts);
  }

  override broadcastWithAck(
    packet: AdapterPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: any[]) => void,
  ): void {
    packet.nsp = this.nsp.name;
    if (!opts.flags?.local) {
      const requestId = nodeId(6);
      const payload = this.parser.encode({
        uid: this.uid,
        requestId,
        type: RequestType.BROADCAST,
        packet,
        opts: fromBroadcastOptions(opts),
      });
      this.#ackRequests.add(requestId, clientCountCallback, ack, opts.flags?.timeout);
      this.#publish(this.requestChannel, payload, "broadcast with ack");
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  override addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.#publishRequest({ type: RequestType.REMOTE_JOIN, opts: wireTargets(opts), rooms: [...rooms] });
    super.addSockets(opts, rooms);
  }

  override delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    if (!opts.flags?.local) this.#publishRequest({ type: RequestType.REMOTE_LEAVE, opts: wireTargets(opts), rooms: [...rooms] });
    super.delSockets(opts, rooms);
  }

  override disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    if (!opts.flags?.local) this.#publishRequest({ type: RequestType.REMOTE_DISCONNECT, opts: wireTargets(opts), close });
    super.disconnectSockets(opts, close);
  }

  override serverSideEmit(packet: any[]): void {
    if (typeof packet[packet.length - 1] !== "function") {
      this.#publishRequest({ type: RequestType.SERVER_SIDE_EMIT, data: packet });
      return;
    }
    const ack = packet.pop() as (err: Error | null, responses: unknown[]) => void;
    this.#otherNodes()
      .then((expected) => (expected === 0 ? [] : this.#request("serverSideEmit", RequestType.SERVER_SIDE_EMIT, expected, this.requestsTimeout, { data: packet })))
      .then(
        (responses) => ack(null, responses),
        (err) => ack(err, err instanceof RequestTimeoutError ? err.responses : []),
      );
  }

  /** The sockets matched by `opts` on every node: local Socket objects first, then other nodes' details. */
  override async fetchSockets(opts: BroadcastOptions): Promise<any[]> {
    const local = await super.fetchSockets(opts);
    if (opts.flags?.local) return local;
    const expected = await this.#otherNodes();
    if (expected === 0) return local;
    const timeout = opts.flags?.timeout ?? this.requestsTimeout;
    try {
      const answers = await this.#request("fetchSockets", RequestType.REMOTE_FETCH, expected, timeout, { opts: wireTargets(opts) });
      return local.concat(...(answers as SocketDetails[][]));
    } catch (err) {
      if (err instanceof RequestTimeoutError) err.responses = local.concat(...(err.responses as SocketDetails[][]));
      throw err;
    }
  }

  /** Ids of the sockets in any of `rooms` (all when empty), on every node. */
  override async sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = await super.sockets(rooms);
    const expected = await this.#otherNodes();
    if (expected === 0) return ids;
    const answers = await this.#request("allSockets", RequestType.SOCKETS, expected, this.requestsTimeout, { rooms: [...rooms] });
    for (const list of answers as string[][]) for (const id of list) ids.add(id);
    return ids;
  }

  /** Every room that exists on any node. */
  async allRooms(): Promise<Set<Room>> {
    const rooms = new Set<Room>(this.rooms.keys());
    const expected = await this.#otherNodes();
    if (expected === 0) return rooms;
    const answers = await this.#request("allRooms", RequestType.ALL_ROOMS, expected, this.requestsTimeout, {});
    for (const list of answers as Room[][]) for (const room of list) rooms.add(room);
    return rooms;
  }

  /** Nodes serving this namespace, this one included (subscribers of the request channel). */
  override async serverCount(): Promise<number> {
    const count = this.#ready.then(() => this.#pubsub.countSubscribers("NUMSUB", this.requestChannel));
    return withDeadline(count, this.requestsTimeout, `Redis did not answer PUBSUB NUMSUB within ${this.requestsTimeout} ms (requestsTimeout); is Redis reachable?`);
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.cancelAll(new TidewireError(ErrorCodes.NOT_RUNNING, "the Redis adapter was closed before the other nodes answered"));
    this.#ackRequests.clear();
    const p = this.#pubsub;
    await Promise.all([
      p.unsubscribe("pattern", this.channel + "*", this.#onBroadcastMessage),
      p.unsubscribe("channel", this.requestChannel, this.#onRequestMessage),
      p.unsubscribe("channel", this.responseChannel, this.#onResponseMessage),
      p.unsubscribe("channel", this.specificResponseChannel, this.#onResponseMessage),
    ]).catch((err) => log("[%s] unsubscribing failed: %s", this.uid, err?.message ?? err));
    this.#release();
  }

  async #otherNodes(): Promise<number> {
    return Math.max(0, (await this.serverCount()) - 1);
  }

  /** Publishes a request and waits for `expected` answers. */
  #request(what: string, type: number, expected: number, timeout: number, body: object): Promise<unknown[]> {
    const requestId = nodeId(6);
    return new Promise((resolve, reject) => {
      this.#requests.open(requestId, { what, type, expected, timeout, onDone: resolve, onFail: reject });
      let payload: string | Buffer;
      try {
        payload = encodeMessage({ uid: this.uid, requestId, type, ...body }, this.parser);
      } catch (err) {
        return this.#requests.fail(requestId, err as Error);
      }
      this.#pubsub.publish(this.requestChannel, payload).catch((err) => {
        log("[%s] %s request could not be published: %s", this.uid, what, err?.message ?? err);
        this.#requests.fail(requestId, err);
      });
    });
  }

  #publishRequest(body: { type: number; [key: string]: unknown }): void {
    this.#publish(this.requestChannel, encodeMessage({ uid: this.uid, ...body }, this.parser), `request of type ${body.type}`);
  }

  #publish(channel: string, payload: string | Buffer, what: string): void {
    this.#pubsub.publish(channel, payload).catch((err) => log("[%s] %s not published: %s", this.uid, what, err?.message ?? err));
  }

  /** Answers a request on the shared response channel, or the requester's own one. */
  #respond(request: Record<string, any>, response: Record<string, any>, binary = false): void {
    const channel =
      this.publishOnSpecificResponseChannel && typeof request.uid === "string"
        ? `${this.responseChannel}${request.uid}#`
        : this.responseChannel;
    let payload: string | Buffer;
    try {
      payload = binary ? this.parser.encode(response) : encodeMessage(response, this.parser);
    } catch (err) {
      if (!Array.isArray(response.sockets)) return log("[%s] response not encodable: %s", this.uid, (err as Error).message);
      // socket.data that cannot be serialized must not cost the requester its whole answer.
      console.warn(`tidewire/redis: socket.data of a fetched socket cannot be serialized (${(err as Error).message}); sending it as null`);
      payload = encodeMessage({ ...response, sockets: response.sockets.map((s: SocketDetails) => ({ ...s, data: null })) }, this.parser);
    }
    this.#publish(channel, payload, "response");
  }

  // ---- incoming -------------------------------------------------------------

  #hasRoom(room: Room): boolean {
    return this.rooms.has(room) || (typeof room === "string" && isNumeric(room) && this.rooms.has(parseFloat(room) as any));
  }

  #onBroadcastMessage = (raw: Buffer, channel: string): void => {
    if (this.#closed || !channel.startsWith(this.channel)) return;
    if (channel.length > this.channel.length) {
      if (!channel.endsWith("#")) return log("[%s] ignoring message on foreign channel %s", this.uid, channel);
      const room = channel.slice(this.channel.length, -1);
      if (!this.#hasRoom(room)) return;
    }
    try {
      const message = this.parser.decode(raw);
      if (!Array.isArray(message) || message.length < 3) throw new Error("not [uid, packet, opts]");
      const [uid, packet, rawOpts] = message;
      if (uid === this.uid) return;
      if (isObject(packet) && packet.nsp === undefined) packet.nsp = "/";
      if (isObject(packet) && packet.nsp !== this.nsp.name) return;
      if (!isBroadcastablePacket(packet)) throw new Error("not an event packet");
      const opts = toBroadcastOptions(rawOpts);
      if (!opts) throw new Error("invalid broadcast options");
      if (opts.rooms.size > 0 && ![...opts.rooms].some((room) => this.#hasRoom(room))) return;
      super.broadcast(packet, opts);
    } catch (err) {
      log("[%s] ignoring malformed broadcast on %s: %s", this.uid, channel, (err as Error).message);
    }
  };

  #onRequestMessage = (raw: Buffer, channel: string): void => {
    if (this.#closed || channel !== this.requestChannel) return;
    let request: unknown;
    try {
      request = decodeMessage(raw, this.parser);
    } catch (err) {
      return log("[%s] ignoring malformed request: %s", this.uid, (err as Error).message);
    }
    if (!isObject(request) || typeof request.type !== "number") return log("[%s] ignoring malformed request", this.uid);
    try {
      if (!this.#handleRequest(request)) log("[%s] ignoring malformed or unknown request of type %s", this.uid, request.type);
    } catch (err) {
      log("[%s] request of type %d failed: %s", this.uid, request.type, (err as Error).message);
    }
  };

  /** Acts on a request from another node (or an emitter). Returns false when it was malformed. */
  #handleRequest(req: Record<string, any>): boolean {
    const own = req.uid === this.uid;
    const requestId = req.requestId;
    switch (req.type) {
      case RequestType.SOCKETS: {
        if (own || typeof requestId !== "string" || !isRoomList(req.rooms ?? [])) return own;
        const ids: SocketId[] = [];
        this.apply({ rooms: new Set(req.rooms ?? []) }, (socket) => ids.push(socket.id));
        this.#respond(req, { requestId, sockets: ids });
        return true;
      }
      case RequestType.ALL_ROOMS:
        if (own || typeof requestId !== "string") return own;
        this.#respond(req, { requestId, rooms: [...this.rooms.keys()] });
        return true;
      case RequestType.REMOTE_JOIN:
      case RequestType.REMOTE_LEAVE:
      case RequestType.REMOTE_DISCONNECT:
        return own || this.#handleRemoteUpdate(req);
      case RequestType.REMOTE_FETCH: {
        const opts = toBroadcastOptions(req.opts);
        if (own || typeof requestId !== "string" || !opts) return own;
        const sockets: SocketDetails[] = [];
        this.apply(opts, (socket) => sockets.push(describeSocket(socket, this.sids.get(socket.id))));
        this.#respond(req, { requestId, sockets });
        return true;
      }
      case RequestType.SERVER_SIDE_EMIT: {
        if (own) return true;
        if (!isServerSideEvent(req.data)) return false;
        const args: unknown[] = [...req.data];
        if (requestId !== undefined) {
          let called = false;
          args.push((arg: unknown) => {
            if (called) return;
            called = true;
            this.#respond(req, { type: RequestType.SERVER_SIDE_EMIT, requestId, data: arg });
          });
        }
        runListener(() => this.nsp._onServerSideEmit?.(args));
        return true;
      }
      case RequestType.BROADCAST: {
        if (own || this.#ackRequests.has(requestId)) return true;
        const opts = toBroadcastOptions(req.opts);
        if (typeof requestId !== "string" || !opts || !isBroadcastablePacket(req.packet)) return false;
        super.broadcastWithAck(
          req.packet,
          opts,
          (clientCount) => this.#respond(req, { type: RequestType.BROADCAST_CLIENT_COUNT, requestId, clientCount }),
          (arg) => this.#respond(req, { type: RequestType.BROADCAST_ACK, requestId, packet: arg }, true),
        );
        return true;
      }
    }
    return false;
  }

  /** socketsJoin / socketsLeave / disconnectSockets from elsewhere, current or legacy (`{sid, room}`) form. */
  #handleRemoteUpdate(req: Record<string, any>): boolean {
    if (req.opts !== undefined) {
      const opts = toBroadcastOptions(req.opts);
      if (!opts) return false;
      if (req.type === RequestType.REMOTE_DISCONNECT) {
        super.disconnectSockets(opts, req.close === true);
        return true;
      }
      if (!isRoomList(req.rooms)) return false;
      if (req.type === RequestType.REMOTE_JOIN) super.addSockets(opts, req.rooms);
      else super.delSockets(opts, req.rooms);
      return true;
    }
    if (typeof req.sid !== "string") return false;
    const socket = this.nsp.sockets.get(req.sid);
    if (!socket) return true;
    if (req.type === RequestType.REMOTE_DISCONNECT) socket.disconnect(req.close === true);
    else if (typeof req.room !== "string") return false;
    else if (req.type === RequestType.REMOTE_JOIN) socket.join(req.room);
    else socket.leave(req.room);
    if (typeof req.requestId === "string") this.#respond(req, { requestId: req.requestId });
    return true;
  }

  #onResponseMessage = (raw: Buffer): void => {
    if (this.#closed) return;
    let response: unknown;
    try {
      response = decodeMessage(raw, this.parser);
    } catch (err) {
      return log("[%s] ignoring malformed response: %s", this.uid, (err as Error).message);
    }
    if (!isObject(response) || typeof response.requestId !== "string") return log("[%s] ignoring malformed response", this.uid);
    const id = response.requestId;
    if (this.#ackRequests.has(id)) {
      if (response.type === RequestType.BROADCAST_CLIENT_COUNT) this.#ackRequests.clientCount(id, response.clientCount);
      else if (response.type === RequestType.BROADCAST_ACK) this.#ackRequests.ack(id, response.packet);
      return;
    }
    switch (this.#requests.typeOf(id)) {
      case RequestType.SOCKETS:
        if (Array.isArray(response.sockets)) this.#requests.answer(id, response.sockets.filter((s: unknown) => typeof s === "string"));
        return;
      case RequestType.REMOTE_FETCH:
        if (Array.isArray(response.sockets)) this.#requests.answer(id, response.sockets.filter(isSocketDetails));
        return;
      case RequestType.ALL_ROOMS:
        if (isRoomList(response.rooms)) this.#requests.answer(id, response.rooms);
        return;
      case RequestType.SERVER_SIDE_EMIT:
        this.#requests.answer(id, response.data);
        return;
    }
    // Answers to other nodes' requests share the channel: nothing to do.
  };
}

/** The `{rooms, except}` of legacy-compatible requests (no flags, as the reference sends them). */
function wireTargets(opts: BroadcastOptions): { rooms: Room[]; except: Room[] } {
  return { rooms: [...opts.rooms], except: [...(opts.except ?? [])] };
}
