import { logger } from "../core/debug.js";
import { ClusterAdapter, MessageType, withDeadline, type ClusterMessage } from "../adapter/cluster-adapter.js";
import type { AdapterNamespace, Room } from "../adapter/types.js";
import { acquirePubSub, type MessageHandler, type PubSub, type RedisClient } from "./client.js";
import { decode, encode } from "./msgpack/index.js";
import { resolveShardedOptions, type ShardedRedisAdapterOptions } from "./options.js";
import { hasBinary } from "./protocol.js";

const log = logger("redis", "sharded");

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

/**
 * socket.io-adapter's cluster protocol over Redis 7 sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE), wire-compatible with @socket.io/redis-adapter's
 * createShardedAdapter. Channels: `<prefix>#<nsp>#` for the namespace,
 * `<prefix>#<nsp>#<room>#` for rooms with their own channel (see
 * subscriptionMode), `<prefix>#<nsp>#<uid>#` for responses to this node.
 * Messages are JSON unless they carry binary (then MessagePack, raw bytes).
 */
export class ShardedRedisAdapter extends ClusterAdapter {
  readonly pubClient: RedisClient;
  readonly subClient: RedisClient;
  readonly channel: string;
  readonly responseChannel: string;
  readonly #mode: "static" | "dynamic" | "dynamic-private";
  readonly #pubsub: PubSub;
  readonly #release: () => void;
  readonly #ready: Promise<void>;
  readonly #roomChannels = new Set<string>();
  /** Collects the subscriptions started by one addAll() call. */
  #newSubscriptions: Array<Promise<void>> | null = null;
  #closed = false;

  constructor(nsp: AdapterNamespace, pubClient: RedisClient, subClient: RedisClient, opts: ShardedRedisAdapterOptions = {}) {
    const o = resolveShardedOptions(opts);
    super(nsp, { requestsTimeout: o.requestsTimeout, maxPendingRequests: o.limits.pendingRequests });
    this.pubClient = pubClient;
    this.subClient = subClient;
    this.#mode = o.subscriptionMode;
    this.channel = `${o.channelPrefix}#${nsp.name}#`;
    this.responseChannel = `${this.channel}${this.uid}#`;
    const { pubsub, release } = acquirePubSub(pubClient, subClient, { maxPendingPublishBytes: o.limits.pendingPublishBytes });
    this.#pubsub = pubsub;
    this.#release = release;
    this.#ready = Promise.all([
      pubsub.subscribe("shard", this.channel, this.#onRawMessage),
      pubsub.subscribe("shard", this.responseChannel, this.#onRawMessage),
    ]).then(
      () => log("[%s] subscribed to the shard channels of namespace %s", this.uid, nsp.name),
      (err) => log("[%s] subscribing failed (is the subscriber client connected?): %s", this.uid, err?.message ?? err),
    );
    if (this.#mode !== "static") {
      this.on("create-room", (room: Room) => {
        if (!this.#ownChannel(room)) return;
        const channel = this.#roomChannel(room);
        this.#roomChannels.add(channel);
        const subscribed = this.#pubsub.subscribe("shard", channel, this.#onRawMessage).catch((err) =>
          log("[%s] subscribing to %s failed: %s", this.uid, channel, err?.message ?? err),
        );
        this.#newSubscriptions?.push(subscribed);
      });
      this.on("delete-room", (room: Room) => {
        const channel = this.#roomChannel(room);
        if (!this.#roomChannels.delete(channel)) return;
        this.#pubsub.unsubscribe("shard", channel, this.#onRawMessage).catch((err) => log("[%s] unsubscribing from %s failed: %s", this.uid, channel, err?.message ?? err));
      });
    }
  }

  override init(): Promise<void> {
    return this.#ready;
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

  #roomChannel(room: Room): string {
    return this.channel + room + "#";
  }

  protected override doPublish(message: ClusterMessage): Promise<string> {
    return this.#pubsub.publish(this.#channelFor(message), this.#encode(message), true).then(() => "");
  }

  protected override doPublishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    return this.#pubsub.publish(`${this.channel}${requesterUid}#`, this.#encode(response), true).then(() => undefined);
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
    const useRoomChannel =
      this.#mode === "dynamic-private" || (this.#mode === "dynamic" && !looksLikeASocketId(rooms[0]));
    return useRoomChannel ? this.#roomChannel(rooms[0]) : this.channel;
  }

  #encode(message: ClusterMessage): string | Buffer {
    return MAY_CARRY_BINARY.has(message.type) && hasBinary(message.data) ? encode(message) : JSON.stringify(message);
  }

  #onRawMessage: MessageHandler = (raw, channel) => {
    if (this.#closed) return;
    let message: unknown;
    try {
      message = raw[0] === 0x7b ? JSON.parse(raw.toString()) : decode(raw);
    } catch (err) {
      return log("[%s] ignoring malformed message on %s: %s", this.uid, channel, (err as Error).message);
    }
    try {
      if (channel === this.responseChannel) this.onResponse(message);
      else this.onMessage(message);
    } catch (err) {
      log("[%s] message on %s failed: %s", this.uid, channel, (err as Error).message);
    }
  };

  override serverCount(): Promise<number> {
    const count = this.#ready.then(() => this.#pubsub.countSubscribers("SHARDNUMSUB", this.channel));
    return withDeadline(count, this.requestsTimeout, `Redis did not answer PUBSUB SHARDNUMSUB within ${this.requestsTimeout} ms (requestsTimeout); is Redis reachable?`);
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    super.close();
    const channels = [this.channel, this.responseChannel, ...this.#roomChannels];
    this.#roomChannels.clear();
    await Promise.all(channels.map((c) => this.#pubsub.unsubscribe("shard", c, this.#onRawMessage))).catch((err) =>
      log("[%s] unsubscribing failed: %s", this.uid, err?.message ?? err),
    );
    this.#release();
  }
}
