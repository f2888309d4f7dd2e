import { BusAdapter, type BusAdapterOptions } from "../adapter/bus/index.js";
import type { AdapterNamespace } from "../adapter/types.js";
import { IpcTransport } from "./ipc-transport.js";

/** Options of the node:cluster adapter. */
export interface ClusterAdapterOptions {
  /** How often a worker that publishes nothing else says it is alive, in ms. @default 5000 */
  heartbeatInterval?: number;
  /** How long a silent worker is still counted, in ms. @default 10000 */
  heartbeatTimeout?: number;
  /** How long fetchSockets, serverSideEmit with an ack and other requests wait for other workers, in ms. @default 5000 */
  requestsTimeout?: number;
  /** Most requests waiting for other workers at once; past it a request fails at once. @default 1000 */
  maxPendingRequests?: number;
  /**
   * Session forwarding between the workers (see docs/scaling.md): a polling
   * request or WebSocket upgrade that reaches a worker that does not hold its
   * session is handed to the worker that does. Needs tidewire's
   * setupPrimary() in the primary. `false` turns it off.
   * @default true
   */
  forwarding?: BusAdapterOptions["forwarding"];
}

/**
 * Fan-out between the workers of a node:cluster primary over their IPC
 * channels, wire-compatible with @socket.io/cluster-adapter 0.3: the cluster
 * core (adapter/bus) over the IPC transport. Workers are counted by
 * heartbeats; every operation runs here at once and is sent to the others
 * through the primary.
 */
export class ClusterAdapter extends BusAdapter<IpcTransport> {
  constructor(nsp: AdapterNamespace, opts: ClusterAdapterOptions = {}) {
    super(nsp, (host) => new IpcTransport(host), opts);
  }
}
