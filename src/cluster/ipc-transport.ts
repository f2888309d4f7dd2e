/**
 * The cluster core's transport over node:cluster IPC, in
 * @socket.io/cluster-adapter 0.3's format (see protocol.ts): messages are
 * objects (no codec; the channel serializes them), nodes are counted by
 * heartbeats, responses carry the requester's uid for the primary to route.
 */
import type { BusHost, BusTransport, ClusterMessage } from "../adapter/bus/index.js";
import type { NodeLink } from "../forward/index.js";
import { channel } from "./channel.js";
import { IpcLink } from "./ipc-link.js";
import { ADAPTER_SOURCE } from "./protocol.js";

export class IpcTransport implements BusTransport {
  readonly #host: BusHost;

  constructor(host: BusHost) {
    this.#host = host;
  }

  publish(message: ClusterMessage): Promise<string> {
    return sendNow({ ...message, source: ADAPTER_SOURCE }).then(() => "");
  }

  publishResponse(requesterUid: string, response: ClusterMessage): Promise<void> {
    return sendNow({ ...response, source: ADAPTER_SOURCE, requesterUid });
  }

  link(): NodeLink {
    return new IpcLink();
  }

  init(): Promise<void> {
    channel.addHost(this.#host);
    return Promise.resolve();
  }

  close(): Promise<void> {
    channel.removeHost(this.#host);
    return Promise.resolve();
  }
}

/** Sends at once (process.send serializes synchronously: what cannot be serialized throws here); settles once written. */
function sendNow(message: object): Promise<void> {
  let settle!: (err: Error | null) => void;
  const written = new Promise<void>((resolve, reject) => (settle = (err) => (err ? reject(err) : resolve())));
  channel.send(message, undefined, settle);
  return written;
}
