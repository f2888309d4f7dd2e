import { BusAdapter, nodeId } from "../adapter/bus/index.js";
import type { AdapterNamespace } from "../adapter/types.js";
import { ClassicTransport } from "./classic-transport.js";
import type { RedisClient } from "./client.js";
import { resolveRedisOptions, type RedisAdapterOptions } from "./options.js";
import type { Parser } from "./protocol.js";

/**
 * Fan-out over Redis pub/sub, wire-compatible with @socket.io/redis-adapter
 * 8.3 and @socket.io/redis-emitter (see protocol.ts for the channels): the
 * cluster core (adapter/bus) over the classic transport.
 *
 * Every operation runs on this node at once and is published for the others
 * (unless `local`). A broadcast reaches another node as one message that it
 * encodes once for all its recipients; a node without members of the target
 * rooms does not even encode it. Requests (fetchSockets, allRooms,
 * serverSideEmit with ack, allSockets) wait for the number of nodes Redis
 * reports (`PUBSUB NUMSUB`), at most `requestsTimeout`.
 */
export class RedisAdapter extends BusAdapter<ClassicTransport> {
  readonly pubClient: RedisClient;
  readonly subClient: RedisClient;
  readonly publishOnSpecificResponseChannel: boolean;
  readonly parser: Parser;
  readonly channel: string;
  readonly requestChannel: string;
  readonly responseChannel: string;
  readonly specificResponseChannel: string;

  constructor(nsp: AdapterNamespace, pubClient: RedisClient, subClient: RedisClient, opts: RedisAdapterOptions = {}) {
    const o = resolveRedisOptions(opts);
    super(nsp, (host) => new ClassicTransport(host, pubClient, subClient, o), {
      uid: nodeId(6),
      requestsTimeout: o.requestsTimeout,
      maxPendingRequests: o.limits.pendingRequests,
      forwarding: opts.forwarding,
    });
    this.pubClient = pubClient;
    this.subClient = subClient;
    this.publishOnSpecificResponseChannel = o.publishOnSpecificResponseChannel;
    this.parser = o.parser;
    const ch = this.transport.channels;
    this.channel = ch.broadcast;
    this.requestChannel = ch.request;
    this.responseChannel = ch.response;
    this.specificResponseChannel = ch.specificResponse;
  }
}
