import { Adapter } from "../adapter/adapter.js";
import type { AdapterPacket, BroadcastOptions } from "../adapter/types.js";
import type { RemoteSocket } from "./broadcast-operator.js";
import { Namespace } from "./namespace.js";
import type { Server } from "./server.js";
import type { DefaultEventsMap, EventNamesWithoutAck, EventParams, EventsMap } from "./typed-events.js";
import { ErrorCodes, TidewireError } from "../core/errors.js";

/** Decides whether a dynamic namespace name is accepted: `next(err, allow)`. */
export type ParentNspNameMatchFn = (
  name: string,
  auth: { [key: string]: any },
  fn: (err: Error | null, success: boolean) => void,
) => void;

/**
 * The namespace returned by `io.of(regex | fn)`. It has no sockets of its
 * own: names it accepts become child namespaces that inherit its middleware
 * and connection listeners, and its broadcasts reach every child.
 */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  static #count = 0;
  readonly children: Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = new Set();

  constructor(server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) {
    super(server, "/_" + ParentNamespace.#count++);
  }

  override _initAdapter(): void {
    this.adapter = new ParentBroadcastAdapter(this as unknown as ParentNamespace);
  }

  // @ts-ignore -- typed override of EventEmitter#emit
  override emit<Ev extends EventNamesWithoutAck<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    for (const child of this.children) child.emit(ev, ...args);
    return true;
  }

  /** @internal Creates the child namespace `name`. */
  createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this.server, name);
    child._fns = this._fns.slice();
    for (const event of ["connect", "connection"] as const) {
      for (const listener of this.listeners(event)) child.on(event, listener as any);
    }
    child.parent = this;
    this.children.add(child);
    this.server._nsps.set(name, child);
    this.server.sockets.emitNewNamespace(child);
    return child;
  }

  /** @internal An empty child is dropped when cleanupEmptyChildNamespaces is set. */
  removeChild(child: Namespace<any, any, any, any>): void {
    if (!this.children.delete(child)) return;
    if (this.server._nsps.get(child.name) === child) this.server._nsps.delete(child.name);
    Promise.resolve(child.adapter.close()).catch(() => {});
  }

  override fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    // Children may live on several nodes with separate adapters.
    throw new TidewireError(ErrorCodes.UNSUPPORTED, "fetchSockets() is not supported on parent namespaces");
  }
}

/** Forwards broadcasts on a parent namespace to each child's adapter. */
class ParentBroadcastAdapter extends Adapter {
  readonly #parent: ParentNamespace;

  constructor(parent: ParentNamespace) {
    super(parent as any);
    this.#parent = parent;
  }

  override broadcast(packet: AdapterPacket, opts: BroadcastOptions): void {
    for (const child of this.#parent.children) child.adapter.broadcast({ ...packet }, opts);
  }
}
