/**
 * The bus of @socket.io/redis-streams-adapter 0.3 as a BusTransport: what
 * must survive (broadcasts, room changes, disconnections) is appended to the
 * namespace's stream (`XADD <stream> MAXLEN ~ <maxLen> * uid nsp type data`)
 * and read back by every node, this one included, in stream order; requests
 * that need no log go over pub/sub on `<channelPrefix>#<nsp>#`, responses on
 * `<channelPrefix>#<nsp>#<uid>#`. Nodes are counted as subscribers of the
 * namespace channel, as the reference does.
 */
import { logger } from "../core/debug.js";
import { withDeadline, type BusHost, type BusTransport, type ClusterMessage } from "../adapter/bus/index.js";
import { withLocalHandover } from "../cluster/local-first.js";
import type { NodeLink } from "../forward/index.js";
import type { MessageHandler } from "../redis/client.js";
import { RedisLink } from "../redis/forward-link.js";
import { entryCodec, isEphemeral, pubsubCodec } from "./codec.js";
import type { StreamEntry } from "./commands.js";
import type { StreamsContext } from "./context.js";

const log = logger("redis-streams", "transport");

export class StreamsTransport implements BusTransport {
  readonly ordered = true;
  readonly stream: string;
  readonly channel: string;
  readonly responseChannel: string;
  readonly #host: BusHost;
  readonly #ctx: StreamsContext;
  readonly #codec: ReturnType<typeof entryCodec>;
  readonly #kind: "channel" | "shard";
  #ready: Promise<void> | null = null;
  #closed = false;

  constructor(host: BusHost, ctx: StreamsContext, stream: string) {
    this.#host = host;
    this.#ctx = ctx;
    this.stream = stream;
    const o = ctx.opts;
    this.#codec = entryCodec(o.onlyPlaintext);
    this.#kind = o.useShardedPubSub ? "shard" : "channel";
    this.channel = `${o.channelPrefix}#${host.nsp}#`;
    this.responseChannel = `${this.channel}${host.uid}#`;
  }

  init(): Promise<void> {
    this.#ready ??= Promise.all([
      this.#ctx.pubsub.then((p) => p.subscribe(this.#kind, this.channel, this.#onPubSub)),
      this.#ctx.pubsub.then((p) => p.subscribe(this.#kind, this.responseChannel, this.#onPubSub)),
      this.#ctx.reader.add(this.stream, this.#host.nsp, this.#onEntry),
    ]).then(
      () => log("[%s] reading %s and subscribed to the channels of namespace %s", this.#host.uid, this.stream, this.#host.nsp),
      (err) => log("[%s] starting failed (is the client connected?): %s", this.#host.uid, err?.message ?? err),
    );
    return this.#ready;
  }

  publish(message: ClusterMessage): Promise<string> {
    if (isEphemeral(message)) return this.#publish(this.channel, pubsubCodec.encode(message)).then(() => "");
    const fields = this.#codec.encode(message);
    return this.#ctx.bounded(fields.data?.length ?? 0, () => this.#ctx.cmds.xadd(this.stream, this.#ctx.opts.maxLen, fields));
  }

  publishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    return this.#publish(`${this.channel}${requesterUid}#`, pubsubCodec.encode(response));
  }

  #publish(channel: string, payload: Buffer): Promise<void> {
    return this.#ctx.pubsub.then((p) => p.publish(channel, payload, this.#kind === "shard")).then(() => undefined);
  }

  /** Session forwarding between the nodes: a pub/sub channel per node, `<channelPrefix>-forward#<tag>#` (IPC handover between workers of a machine). */
  link(): NodeLink {
    return withLocalHandover(new RedisLink(this.#ctx.pubsub, this.#ctx.opts.channelPrefix, this.#kind === "shard"));
  }

  serverCount(): Promise<number> {
    const t = this.#ctx.opts.requestsTimeout;
    const command = this.#kind === "shard" ? "SHARDNUMSUB" : "NUMSUB";
    const count = (this.#ready ?? Promise.resolve()).then(() => this.#ctx.pubsub).then((p) => p.countSubscribers(command, this.channel));
    return withDeadline(count, t, `Redis did not answer PUBSUB ${command} within ${t} ms (requestsTimeout); is Redis reachable?`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.reader.remove(this.stream, this.#host.nsp);
    const p = await this.#ctx.pubsub;
    await Promise.all([
      p.unsubscribe(this.#kind, this.channel, this.#onPubSub),
      p.unsubscribe(this.#kind, this.responseChannel, this.#onPubSub),
    ]).catch((err) => log("[%s] unsubscribing failed: %s", this.#host.uid, err?.message ?? err));
  }

  #onPubSub: MessageHandler = (raw, channel) => {
    if (this.#closed) return;
    let message: ClusterMessage;
    try {
      message = pubsubCodec.decode(raw);
    } catch (err) {
      return log("[%s] ignoring malformed message on %s: %s", this.#host.uid, channel, (err as Error).message);
    }
    if (channel === this.responseChannel) this.#host.receiveResponse(message);
    else this.#host.receive(message);
  };

  #onEntry = (entry: StreamEntry): void => {
    if (this.#closed) return;
    let message: ClusterMessage;
    try {
      message = this.#codec.decode(entry.fields);
    } catch (err) {
      return log("[%s] ignoring malformed stream entry %s: %s", this.#host.uid, entry.id, (err as Error).message);
    }
    this.#host.receive(message, entry.id);
  };
}

