import { logger } from "../core/debug.js";
import {
  BusAdapter,
  MessageType,
  withDeadline,
  type BusCodec,
  type BusHost,
  type BusTransport,
  type ClusterMessage,
} from "../adapter/bus/index.js";
import type { AdapterNamespace, Room } from "../adapter/types.js";
import type { NodeLink } from "../forward/index.js";
import { acquirePubSub, type MessageHandler, type PubSub, type RedisClient } from "./client.js";
import { decode, encode } from "./msgpack/index.js";
import { resolveShardedOptions, type ResolvedShardedOptions, type ShardedRedisAdapterOptions } from "./options.js";
import { withLocalHandover } from "../cluster/local-first.js";
import { RedisLink } from "./forward-link.js";
import { hasBinary } from "./protocol.js";

const log = logger("redis", "sharded");

type Mode = "static" | "dynamic" | "dynamic-private";

/** Socket ids are 20 characters: such rooms are private and share the namespace channel in "dynamic" mode. */
const looksLikeASocketId = (room: Room) => typeof room === "string" && room.length === 20;

/** Message types whose data may carry application values (hence binary). */
const MAY_CARRY_BINARY = new Set<number>([
  MessageType.BROADCAST,
  MessageType.BROADCAST_ACK,
  MessageType.FETCH_SOCKETS_RESPONSE,
  MessageType.SERVER_SIDE_EMIT,
  MessageType.SERVER_SIDE_EMIT_RESPONSE,
]);

/** The sharded wire: JSON text, or MessagePack raw bytes when the data carries binary. */
export const shardedCodec: BusCodec<string | Buffer> = {
  encode: (message) => (MAY_CARRY_BINARY.has(message.type) && hasBinary(message.data) ? encode(message) : JSON.stringify(message)),
  decode: (raw) => (typeof raw === "string" ? JSON.parse(raw) : raw[0] === 0x7b ? JSON.parse(raw.toString()) : decode(raw)),
};

/**
 * Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE), wire-compatible with
 * @socket.io/redis-adapter's createShardedAdapter. Channels: `<prefix>#<nsp>#`
 * for the namespace, `<prefix>#<nsp>#<room>#` for rooms with their own channel
 * (see subscriptionMode), `<prefix>#<nsp>#<uid>#` for responses to this node.
 * Nodes are counted as shard subscribers of the namespace channel.
 */
export class ShardedTransport implements BusTransport {
  readonly channel: string;
  readonly responseChannel: string;
  readonly #host: BusHost;
  readonly #mode: Mode;
  readonly #pubsub: PubSub;
  readonly #release: () => void;
  readonly #timeout: number;
  readonly #ready: Promise<void>;
  readonly #roomChannels = new Set<string>();
  readonly #prefix: string;
  #closed = false;

  constructor(host: BusHost, pubClient: RedisClient, subClient: RedisClient, o: ResolvedShardedOptions) {
    this.#host = host;
    this.#mode = o.subscriptionMode;
    this.#timeout = o.requestsTimeout;
    this.#prefix = o.channelPrefix;
    this.channel = `${o.channelPrefix}#${host.nsp}#`;
    this.responseChannel = `${this.channel}${host.uid}#`;
    const { pubsub, release } = acquirePubSub(pubClient, subClient, { maxPendingPublishBytes: o.limits.pendingPublishBytes });
    this.#pubsub = pubsub;
    this.#release = release;
    this.#ready = Promise.all([
      pubsub.subscribe("shard", this.channel, this.#onRawMessage),
      pubsub.subscribe("shard", this.responseChannel, this.#onRawMessage),
    ]).then(
      () => log("[%s] subscribed to the shard channels of namespace %s", host.uid, host.nsp),
      (err) => log("[%s] subscribing failed (is the subscriber client connected?): %s", host.uid, err?.message ?? err),
    );
  }

  init(): Promise<void> {
    return this.#ready;
  }

  /** Session forwarding between the nodes: one shard channel per node, `<channelPrefix>-forward#<tag>#` (IPC handover between workers of a machine). */
  link(): NodeLink {
    return withLocalHandover(new RedisLink(this.#pubsub, this.#prefix, true));
  }

  roomChannel(room: Room): string {
    return this.channel + room + "#";
  }

  /** Listens to a room's channel; resolves once Redis confirmed (failures are logged). */
  subscribeRoom(room: Room): Promise<void> {
    const channel = this.roomChannel(room);
    this.#roomChannels.add(channel);
    return this.#pubsub.subscribe("shard", channel, this.#onRawMessage).catch((err) =>
      log("[%s] subscribing to %s failed: %s", this.#host.uid, channel, err?.message ?? err),
    );
  }

  unsubscribeRoom(room: Room): void {
    const channel = this.roomChannel(room);
    if (!this.#roomChannels.delete(channel)) return;
    this.#pubsub.unsubscribe("shard", channel, this.#onRawMessage).catch((err) => log("[%s] unsubscribing from %s failed: %s", this.#host.uid, channel, err?.message ?? err));
  }

  publish(message: ClusterMessage): Promise<string> {
    return this.#pubsub.publish(this.#channelFor(message), shardedCodec.encode(message), true).then(() => "");
  }

  publishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    return this.#pubsub.publish(`${this.channel}${requesterUid}#`, shardedCodec.encode(response), true).then(() => undefined);
  }

  serverCount(): Promise<number> {
    const count = this.#ready.then(() => this.#pubsub.countSubscribers("SHARDNUMSUB", this.channel));
    return withDeadline(count, this.#timeout, `Redis did not answer PUBSUB SHARDNUMSUB within ${this.#timeout} ms (requestsTimeout); is Redis reachable?`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const channels = [this.channel, this.responseChannel, ...this.#roomChannels];
    this.#roomChannels.clear();
    await Promise.all(channels.map((c) => this.#pubsub.unsubscribe("shard", c, this.#onRawMessage))).catch((err) =>
      log("[%s] unsubscribing failed: %s", this.#host.uid, err?.message ?? err),
    );
    this.#release();
  }

  /**
   * A broadcast without ack to exactly one room goes on that room's channel
   * when the mode gives rooms channels. Broadcasts with ack stay on the
   * namespace channel: every node must answer with its client count.
   */
  #channelFor(message: ClusterMessage): string {
    if (message.type !== MessageType.BROADCAST || message.data.requestId !== undefined) return this.channel;
    const rooms = message.data.opts.rooms as Room[];
    if (rooms.length !== 1) return this.channel;
    const useRoomChannel = this.#mode === "dynamic-private" || (this.#mode === "dynamic" && !looksLikeASocketId(rooms[0]));
    return useRoomChannel ? this.roomChannel(rooms[0]) : this.channel;
  }

  #onRawMessage: MessageHandler = (raw, channel) => {
    if (this.#closed) return;
    let message: unknown;
    try {
      message = shardedCodec.decode(raw);
    } catch (err) {
      return log("[%s] ignoring malformed message on %s: %s", this.#host.uid, channel, (err as Error).message);
    }
    if (channel === this.responseChannel) this.#host.receiveResponse(message);
    else this.#host.receive(message);
  };
}

/**
 * socket.io-adapter's cluster protocol over Redis 7 sharded pub/sub: the
 * cluster core over ShardedTransport. In "dynamic" modes a room gets its own
 * channel while it has members here.
 */
export class ShardedRedisAdapter extends BusAdapter<ShardedTransport> {
  readonly pubClient: RedisClient;
  readonly subClient: RedisClient;
  readonly channel: string;
  readonly responseChannel: string;
  readonly #mode: Mode;
  /** Collects the subscriptions started by one addAll() call. */
  #newSubscriptions: Array<Promise<void>> | null = null;

  constructor(nsp: AdapterNamespace, pubClient: RedisClient, subClient: RedisClient, opts: ShardedRedisAdapterOptions = {}) {
    const o = resolveShardedOptions(opts);
    super(nsp, (host) => new ShardedTransport(host, pubClient, subClient, o), {
      requestsTimeout: o.requestsTimeout,
      maxPendingRequests: o.limits.pendingRequests,
      forwarding: opts.forwarding,
    });
    this.pubClient = pubClient;
    this.subClient = subClient;
    this.#mode = o.subscriptionMode;
    this.channel = this.transport.channel;
    this.responseChannel = this.transport.responseChannel;
    if (this.#mode !== "static") {
      this.on("create-room", (room: Room) => {
        if (this.#ownChannel(room)) this.#newSubscriptions?.push(this.transport.subscribeRoom(room));
      });
      this.on("delete-room", (room: Room) => this.transport.unsubscribeRoom(room));
    }
  }

  /**
   * Joins rooms; when a room gets its own shard channel here, the returned
   * promise resolves once Redis confirmed the subscription, so after
   * `await socket.join(room)` broadcasts to the room from any node arrive.
   */
  override addAll(id: string, rooms: Set<Room>): Promise<void> | void {
    const started: Array<Promise<void>> = [];
    this.#newSubscriptions = started;
    try {
      super.addAll(id, rooms);
    } finally {
      this.#newSubscriptions = null;
    }
    return started.length > 0 ? Promise.all(started).then(() => undefined) : undefined;
  }

  /** Whether a room gets its own shard channel. Decided when the room is created. */
  #ownChannel(room: Room): boolean {
    if (this.#mode === "dynamic-private") return true;
    // A room named after a socket id is that socket's private room.
    return this.#mode === "dynamic" && !this.sids.has(room);
  }
}
