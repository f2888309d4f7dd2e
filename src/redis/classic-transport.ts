/**
 * The classic Redis pub/sub bus of @socket.io/redis-adapter 8.3 and
 * @socket.io/redis-emitter (channels and payloads in protocol.ts), as a
 * BusTransport: the codec maps the cluster core's messages to the classic
 * request types 0..9 and `[uid, packet, opts]` broadcasts, and back.
 *
 * A broadcast to exactly one room goes on that room's channel, so a node
 * without members of the room drops it before decoding it. Nodes are counted
 * as subscribers of the request channel (`PUBSUB NUMSUB`).
 */
import { logger } from "../core/debug.js";
import { MessageType, isObject, withDeadline, type BusHost, type BusTransport, type ClusterMessage } from "../adapter/bus/index.js";
import type { NodeLink } from "../forward/index.js";
import type { Room } from "../adapter/types.js";
import { acquirePubSub, type PubSub, type RedisClient } from "./client.js";
import { withLocalHandover } from "../cluster/local-first.js";
import { RedisLink } from "./forward-link.js";
import type { ResolvedRedisOptions } from "./options.js";
import { RequestType, channelsOf, decodeMessage, encodeMessage, type Parser } from "./protocol.js";

const log = logger("redis", "adapter");

const isNumeric = (s: string) => s !== "" && !Number.isNaN(Number(s)) && !Number.isNaN(parseFloat(s));

/** Core request types and their classic numbers. */
const TO_CLASSIC: Record<number, number> = {
  [MessageType.SOCKETS]: RequestType.SOCKETS,
  [MessageType.ALL_ROOMS]: RequestType.ALL_ROOMS,
  [MessageType.SOCKETS_JOIN]: RequestType.REMOTE_JOIN,
  [MessageType.SOCKETS_LEAVE]: RequestType.REMOTE_LEAVE,
  [MessageType.DISCONNECT_SOCKETS]: RequestType.REMOTE_DISCONNECT,
  [MessageType.FETCH_SOCKETS]: RequestType.REMOTE_FETCH,
  [MessageType.SERVER_SIDE_EMIT]: RequestType.SERVER_SIDE_EMIT,
};
const FROM_CLASSIC: Record<number, number> = Object.fromEntries(Object.entries(TO_CLASSIC).map(([k, v]) => [v, Number(k)]));

/** The `{rooms, except}` of classic requests (no flags, as the reference sends them). */
function wireTargets(opts: { rooms: Room[]; except?: Room[] }): { rooms: Room[]; except: Room[] } {
  return { rooms: opts.rooms, except: opts.except ?? [] };
}

/**
 * The classic wire form of the core's messages. `encode*` return the channel
 * and payload; `decode*` return core messages (or null for what is not ours).
 */
export class ClassicCodec {
  readonly #parser: Parser;
  readonly #ch: ReturnType<typeof channelsOf>;
  readonly #nsp: string;

  constructor(parser: Parser, channels: ReturnType<typeof channelsOf>, nsp: string) {
    this.#parser = parser;
    this.#ch = channels;
    this.#nsp = nsp;
  }

  encode(message: ClusterMessage): { channel: string; payload: string | Buffer } | null {
    const { uid, data } = message;
    if (message.type === MessageType.BROADCAST) {
      const packet = data.packet;
      packet.nsp = this.#nsp;
      if (data.requestId === undefined) {
        const rooms: Room[] = data.opts.rooms;
        // A single room has its own channel, so nodes without it can skip the message unread.
        const channel = rooms.length === 1 ? this.#ch.broadcast + rooms[0] + "#" : this.#ch.broadcast;
        // The trace context rides as a fourth element, which official nodes do not read.
        const wire = message.trace === undefined ? [uid, packet, data.opts] : [uid, packet, data.opts, message.trace];
        return { channel, payload: this.#parser.encode(wire) };
      }
      const request: Record<string, unknown> = { uid, requestId: data.requestId, type: RequestType.BROADCAST, packet, opts: data.opts };
      if (message.trace !== undefined) request.trace = message.trace;
      return { channel: this.#ch.request, payload: this.#parser.encode(request) };
    }
    const type = TO_CLASSIC[message.type];
    if (type === undefined) return null;
    const request: Record<string, unknown> = { uid, type };
    if (data?.requestId !== undefined) request.requestId = data.requestId;
    // An extra key official nodes do not read.
    if (message.trace !== undefined) request.trace = message.trace;
    switch (message.type) {
      case MessageType.SOCKETS_JOIN:
      case MessageType.SOCKETS_LEAVE:
        request.opts = wireTargets(data.opts);
        request.rooms = [...data.rooms];
        break;
      case MessageType.DISCONNECT_SOCKETS:
        request.opts = wireTargets(data.opts);
        request.close = data.close;
        break;
      case MessageType.FETCH_SOCKETS:
        request.opts = wireTargets(data.opts);
        break;
      case MessageType.SERVER_SIDE_EMIT:
        request.data = data.packet;
        break;
      case MessageType.SOCKETS:
        request.rooms = data.rooms;
        break;
    }
    return { channel: this.#ch.request, payload: encodeMessage(request, this.#parser) };
  }

  /** A response's payload: JSON unless binary; acknowledgements always through the parser. */
  encodeResponse(response: ClusterMessage): string | Buffer | null {
    const { requestId } = response.data;
    switch (response.type) {
      case MessageType.BROADCAST_CLIENT_COUNT:
        return encodeMessage({ type: RequestType.BROADCAST_CLIENT_COUNT, requestId, clientCount: response.data.clientCount }, this.#parser);
      case MessageType.BROADCAST_ACK:
        return this.#parser.encode({ type: RequestType.BROADCAST_ACK, requestId, packet: response.data.packet });
      case MessageType.FETCH_SOCKETS_RESPONSE:
      case MessageType.SOCKETS_RESPONSE:
        return encodeMessage({ requestId, sockets: response.data.sockets }, this.#parser);
      case MessageType.ALL_ROOMS_RESPONSE:
        return encodeMessage({ requestId, rooms: response.data.rooms }, this.#parser);
      case MessageType.SERVER_SIDE_EMIT_RESPONSE:
        return encodeMessage({ type: RequestType.SERVER_SIDE_EMIT, requestId, data: response.data.packet }, this.#parser);
    }
    return null;
  }

  /** A broadcast from the pattern subscription: `[uid, packet, opts]`. */
  decodeBroadcast(raw: Buffer): ClusterMessage {
    const message = this.#parser.decode(raw);
    if (!Array.isArray(message) || message.length < 3) throw new Error("not [uid, packet, opts]");
    const [uid, packet, opts, trace] = message;
    if (typeof uid !== "string") throw new Error("no uid");
    if (isObject(packet) && packet.nsp === undefined) packet.nsp = "/";
    const decoded = { uid, nsp: isObject(packet) ? packet.nsp : undefined, type: MessageType.BROADCAST, data: { packet, opts } } as ClusterMessage;
    if (trace !== undefined) decoded.trace = trace;
    return decoded;
  }

  /** A request from the request channel; legacy `{sid, room}` updates are turned into targeted ones. */
  decodeRequest(raw: Buffer): ClusterMessage {
    const req = decodeMessage(raw, this.#parser);
    if (!isObject(req) || typeof req.type !== "number") throw new Error("not a request");
    const uid = typeof req.uid === "string" ? req.uid : "";
    const trace = req.trace;
    const out = (type: number, data: Record<string, unknown>): ClusterMessage =>
      trace === undefined ? { uid, nsp: this.#nsp, type, data } : { uid, nsp: this.#nsp, type, data, trace };
    const requestId = req.requestId;
    if (req.type === RequestType.BROADCAST) return out(MessageType.BROADCAST, { packet: req.packet, requestId, opts: req.opts });
    const type = FROM_CLASSIC[req.type];
    if (type === undefined) throw new Error(`unknown request type ${req.type}`);
    switch (type) {
      case MessageType.SOCKETS_JOIN:
      case MessageType.SOCKETS_LEAVE:
      case MessageType.DISCONNECT_SOCKETS:
        if (req.opts === undefined && typeof req.sid === "string") {
          // Legacy form: one socket, one room.
          const opts = { rooms: [req.sid], except: [] };
          // Its sender waits for an empty answer: `legacyAck` tells the transport to send it.
          const legacyAck = typeof requestId === "string" ? requestId : undefined;
          return out(type, type === MessageType.DISCONNECT_SOCKETS ? { opts, close: req.close, legacyAck } : { opts, rooms: [req.room], legacyAck });
        }
        return out(type, { opts: req.opts, rooms: req.rooms, close: req.close });
      case MessageType.FETCH_SOCKETS:
        return out(type, { opts: req.opts, requestId });
      case MessageType.SERVER_SIDE_EMIT:
        return out(type, { packet: req.data, requestId });
      case MessageType.SOCKETS:
        return out(type, { rooms: req.rooms ?? [], requestId });
      default:
        return out(type, { requestId });
    }
  }

  /** A response: its type comes from the pending request it answers (classic responses carry none, or another numbering). */
  decodeResponse(raw: Buffer, requestType: (id: string) => number | undefined): ClusterMessage | null {
    const res = decodeMessage(raw, this.#parser);
    if (!isObject(res) || typeof res.requestId !== "string") throw new Error("not a response");
    const requestId = res.requestId;
    const out = (type: number, data: Record<string, unknown>): ClusterMessage => ({ uid: "", nsp: this.#nsp, type, data: { requestId, ...data } });
    switch (requestType(requestId)) {
      case MessageType.BROADCAST:
        if (res.type === RequestType.BROADCAST_CLIENT_COUNT) return out(MessageType.BROADCAST_CLIENT_COUNT, { clientCount: res.clientCount });
        if (res.type === RequestType.BROADCAST_ACK) return out(MessageType.BROADCAST_ACK, { packet: res.packet });
        return null;
      case MessageType.SOCKETS:
        return out(MessageType.SOCKETS_RESPONSE, { sockets: res.sockets });
      case MessageType.FETCH_SOCKETS:
        return out(MessageType.FETCH_SOCKETS_RESPONSE, { sockets: res.sockets });
      case MessageType.ALL_ROOMS:
        return out(MessageType.ALL_ROOMS_RESPONSE, { rooms: res.rooms });
      case MessageType.SERVER_SIDE_EMIT:
        return out(MessageType.SERVER_SIDE_EMIT_RESPONSE, { packet: res.data });
    }
    // Answers to other nodes' requests share the channel: nothing to do.
    return null;
  }
}

export class ClassicTransport implements BusTransport {
  readonly extendedRequests = true;
  readonly channels: ReturnType<typeof channelsOf>;
  readonly #host: BusHost;
  readonly #codec: ClassicCodec;
  readonly #pubsub: PubSub;
  readonly #release: () => void;
  readonly #timeout: number;
  readonly #specificResponses: boolean;
  readonly #key: string;
  #ready: Promise<void> | null = null;
  #closed = false;

  constructor(host: BusHost, pubClient: RedisClient, subClient: RedisClient, o: ResolvedRedisOptions) {
    this.#host = host;
    this.channels = channelsOf(o.key, host.nsp, host.uid);
    this.#codec = new ClassicCodec(o.parser, this.channels, host.nsp);
    this.#timeout = o.requestsTimeout;
    this.#specificResponses = o.publishOnSpecificResponseChannel;
    this.#key = o.key;
    const { pubsub, release } = acquirePubSub(pubClient, subClient, { maxPendingPublishBytes: o.limits.pendingPublishBytes });
    this.#pubsub = pubsub;
    this.#release = release;
    this.init();
  }

  init(): Promise<void> {
    const ch = this.channels;
    this.#ready ??= Promise.all([
      this.#pubsub.subscribe("pattern", ch.pattern, this.#onBroadcast),
      this.#pubsub.subscribe("channel", ch.request, this.#onRequest),
      this.#pubsub.subscribe("channel", ch.response, this.#onResponse),
      this.#pubsub.subscribe("channel", ch.specificResponse, this.#onResponse),
    ]).then(
      () => log("[%s] subscribed to the channels of namespace %s", this.#host.uid, this.#host.nsp),
      (err) =>
        log("[%s] subscribing failed (is the subscriber client connected? call connect() first): %s", this.#host.uid, err?.message ?? err),
    );
    return this.#ready;
  }

  /** Session forwarding between the nodes: one channel per node, `<key>-forward#<tag>#` (IPC handover between workers of a machine). */
  link(): NodeLink {
    return withLocalHandover(new RedisLink(this.#pubsub, this.#key, false));
  }

  publish(message: ClusterMessage): Promise<string> {
    const wire = this.#codec.encode(message);
    if (!wire) return Promise.resolve("");
    return this.#pubsub.publish(wire.channel, wire.payload).then(() => "");
  }

  publishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    const payload = this.#codec.encodeResponse(response);
    if (payload === null) return Promise.resolve();
    const channel = this.#specificResponses && requesterUid !== "" ? `${this.channels.response}${requesterUid}#` : this.channels.response;
    return this.#pubsub.publish(channel, payload).then(() => undefined);
  }

  /** Nodes serving this namespace, this one included (subscribers of the request channel). */
  serverCount(): Promise<number> {
    const count = (this.#ready ?? Promise.resolve()).then(() => this.#pubsub.countSubscribers("NUMSUB", this.channels.request));
    return withDeadline(count, this.#timeout, `Redis did not answer PUBSUB NUMSUB within ${this.#timeout} ms (requestsTimeout); is Redis reachable?`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#pubsub;
    const ch = this.channels;
    await Promise.all([
      p.unsubscribe("pattern", ch.pattern, this.#onBroadcast),
      p.unsubscribe("channel", ch.request, this.#onRequest),
      p.unsubscribe("channel", ch.response, this.#onResponse),
      p.unsubscribe("channel", ch.specificResponse, this.#onResponse),
    ]).catch((err) => log("[%s] unsubscribing failed: %s", this.#host.uid, err?.message ?? err));
    this.#release();
  }

  #hasRoom(room: Room): boolean {
    const host = this.#host;
    return host.hasRoom(room) || (isNumeric(room) && host.hasRoom(parseFloat(room) as any));
  }

  #onBroadcast = (raw: Buffer, channel: string): void => {
    const prefix = this.channels.broadcast;
    if (this.#closed || !channel.startsWith(prefix)) return;
    if (channel.length > prefix.length) {
      if (!channel.endsWith("#")) return log("[%s] ignoring message on foreign channel %s", this.#host.uid, channel);
      if (!this.#hasRoom(channel.slice(prefix.length, -1))) return;
    }
    let message: ClusterMessage;
    try {
      message = this.#codec.decodeBroadcast(raw);
    } catch (err) {
      return log("[%s] ignoring malformed broadcast on %s: %s", this.#host.uid, channel, (err as Error).message);
    }
    this.#host.receive(message);
  };

  #onRequest = (raw: Buffer, channel: string): void => {
    if (this.#closed || channel !== this.channels.request) return;
    let message: ClusterMessage;
    try {
      message = this.#codec.decodeRequest(raw);
    } catch (err) {
      return log("[%s] ignoring malformed request: %s", this.#host.uid, (err as Error).message);
    }
    this.#host.receive(message);
    const legacyAck = message.data?.legacyAck;
    if (legacyAck !== undefined && message.uid !== this.#host.uid) {
      const channel = this.#specificResponses && message.uid !== "" ? `${this.channels.response}${message.uid}#` : this.channels.response;
      this.#pubsub.publish(channel, JSON.stringify({ requestId: legacyAck })).catch((err) => log("[%s] answer not published: %s", this.#host.uid, err?.message ?? err));
    }
  };

  #onResponse = (raw: Buffer): void => {
    if (this.#closed) return;
    let response: ClusterMessage | null;
    try {
      response = this.#codec.decodeResponse(raw, this.#host.requestType);
    } catch (err) {
      return log("[%s] ignoring malformed response: %s", this.#host.uid, (err as Error).message);
    }
    if (response) this.#host.receiveResponse(response);
  };
}
