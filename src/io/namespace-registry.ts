/**
 * The namespaces of one Socket.IO server: `io.of(name | regex | fn)` and the
 * lookup of dynamic namespaces (parent namespaces asked in registration
 * order) when a client connects to a name nobody created.
 */
import { Namespace } from "./namespace.js";
import { ParentNamespace, type ParentNspNameMatchFn } from "./parent-namespace.js";
import type { Server } from "./server.js";
import type { Socket } from "./socket.js";
import type { EventsMap } from "./typed-events.js";

export class NamespaceRegistry<ListenEvents extends EventsMap, EmitEvents extends EventsMap, ServerSideEvents extends EventsMap, SocketData> {
  readonly #server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly #parentNsps = new Map<ParentNspNameMatchFn, ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  readonly #parentNamespacesFromRegExp = new Map<RegExp, ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();

  constructor(server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) {
    this.#server = server;
  }

  /** Gets or creates a namespace; a RegExp or function creates a parent of dynamic namespaces. */
  of(
    name: string | RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const server = this.#server;
    if (typeof name === "function" || name instanceof RegExp) {
      const parent = new ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(server);
      if (typeof name === "function") {
        this.#parentNsps.set(name, parent);
      } else {
        if (name.global || name.sticky) {
          throw new TypeError("stateful regular expressions are not supported");
        }
        const re = name;
        this.#parentNsps.set((nsp, _auth, next) => next(null, re.test(nsp)), parent);
        this.#parentNamespacesFromRegExp.set(re, parent);
      }
      if (fn) parent.on("connect", fn);
      return parent;
    }
    let nspName = String(name);
    if (nspName[0] !== "/") nspName = "/" + nspName;
    let nsp = server._nsps.get(nspName);
    if (!nsp) {
      for (const [re, parent] of this.#parentNamespacesFromRegExp) {
        if (re.test(nspName)) {
          nsp = parent.createChild(nspName);
          break;
        }
      }
    }
    if (!nsp) {
      nsp = new Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(server, nspName);
      server._nsps.set(nspName, nsp);
      if (nspName !== "/") server.sockets.emitNewNamespace(nsp);
    }
    if (fn) nsp.on("connect", fn);
    return nsp;
  }

  /**
   * Asks the parent namespaces, in registration order, whether `name` is
   * acceptable; `fn` gets the created child, or false.
   */
  check(
    name: string,
    auth: Record<string, unknown>,
    fn: (nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | false) => void,
  ): void {
    const entries = [...this.#parentNsps];
    const nsps = this.#server._nsps;
    let index = 0;
    const next = (): void => {
      if (index >= entries.length) return fn(false);
      const [match, parent] = entries[index++];
      let answered = false;
      match(name, auth, (err, allow) => {
        if (answered) return;
        answered = true;
        if (err || !allow) return next();
        // Created concurrently by another connection: reuse it.
        const existing = nsps.get(name);
        fn(existing ?? parent.createChild(name));
      });
    };
    next();
  }
}
