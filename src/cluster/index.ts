/**
 * tidewire/cluster: every core of a machine, with node:cluster. Workers
 * share one cluster (broadcasts, rooms, fetchSockets, serverSideEmit),
 * wire-compatible with @socket.io/cluster-adapter 0.3, and a polling
 * request or WebSocket upgrade that reaches the wrong worker is handed to
 * the worker that holds its session: no sticky sessions, no @socket.io/sticky.
 *
 *   if (cluster.isPrimary) {
 *     setupPrimary();
 *     for (let i = 0; i < availableParallelism(); i++) cluster.fork();
 *   } else {
 *     const io = new Server(httpServer, { adapter: createAdapter() });
 *     httpServer.listen(3000);
 *   }
 */
import type { AdapterNamespace } from "../adapter/types.js";
import { resolveForwardingOptions } from "../forward/index.js";
import { WorkerChannel } from "./channel.js";
import { ClusterAdapter, type ClusterAdapterOptions } from "./cluster-adapter.js";

/**
 * The adapter factory for `new Server(..., { adapter })` in a node:cluster
 * worker. Throws when this process is not a worker, or on a bad option.
 */
export function createAdapter(opts: ClusterAdapterOptions = {}): (nsp: AdapterNamespace) => ClusterAdapter {
  WorkerChannel.check();
  resolveForwardingOptions(opts.forwarding);
  return (nsp) => new ClusterAdapter(nsp, opts);
}

export { ClusterAdapter, type ClusterAdapterOptions };
export { setupPrimary, type PrimaryHandle, type PrimaryOptions } from "./primary.js";
export { RequestTimeoutError } from "../adapter/bus/index.js";
export type { ForwardingOptions } from "../forward/index.js";
